/* dense.c: fully connected layer, y = x W^T + b, with fused act.
 *
 * The input is read flat in (C, H, W) order, whatever its shape, so a dense layer may follow a
 * conv or pool directly. Weight (out, in) and bias (out), PyTorch's layouts. All products go
 * through pf_sgemm (exact BLAS meaning); beta = 1 accumulates dW in place.
 * count(): MACs = in * out; other_ops = bias adds + act, one per output.
 * prune_channels: axis 0 removes units; axis 1 removes input channels, i.e. the H*W features
 * of each channel of a (C, H, W) input (after a flatten, C*H*W channels of one feature). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct dense_priv {
    bool bias; /* has a bias param */
};

static const char *const dense_keys[] = {"units", "bias", "act", NULL};

static int dense_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct dense_priv *p = l->priv;
    long units = 0;
    int rc;
    p->bias = true;
    if ((rc = pf_layer_key_int(l, cfg, "units", true, 1, 1 << 24, &units)) < 0 ||
        (rc = pf_layer_key_bool(l, cfg, "bias", &p->bias)) < 0 ||
        (rc = pf_layer_parse_act(l, cfg)) < 0)
        return rc;
    size_t in = pf_shape_numel(l->in[0]);
    if (in > (size_t)1 << 30)
        return pf_cfg_err(cfg, "%s: input of %zu values is too large", l->name, in);
    int out = (int)units;
    l->out = (struct pf_shape){out, 1, 1};
    int wshape[2] = {out, (int)in};
    if (!pf_layer_add_param(l, "weight", 2, wshape, true, true, 0, 1))
        return PF_ERR(PF_ENOMEM, "%s: cannot allocate weight", l->name);
    if (p->bias && !pf_layer_add_param(l, "bias", 1, &out, true, false, 0, -1))
        return PF_ERR(PF_ENOMEM, "%s: cannot allocate bias", l->name);
    return 0;
}

static int dense_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    const struct dense_priv *p = l->priv;
    int in = (int)pf_shape_numel(l->in[0]), out = l->out.c;
    const float *w = pf_tensor_f32(&l->params[0].w);
    /* x (N, in) . W^T (in, out) -> y (N, out) */
    pf_sgemm(false, true, N, out, in, 1.0f, x[0], in, w, in, 0.0f, y, out);
    if (p->bias) {
        const float *b = pf_tensor_f32(&l->params[1].w);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < out; j++)
                y[(size_t)n * out + j] += b[j];
    }
    pf_act_forward(l->act, y, (size_t)N * out);
    return 0;
}

static int dense_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                          float *const *dx, int N)
{
    const struct dense_priv *p = l->priv;
    int in = (int)pf_shape_numel(l->in[0]), out = l->out.c;
    pf_act_backward(l->act, y, dy, (size_t)N * out); /* dy clobbered */
    struct pf_param *w = &l->params[0];
    /* dW (out, in) += dy^T (out, N) . x (N, in) */
    pf_sgemm(true, false, out, in, N, 1.0f, dy, out, x[0], in, 1.0f, pf_tensor_f32(&w->g), in);
    if (p->bias) {
        float *gb = pf_tensor_f32(&l->params[1].g);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < out; j++)
                gb[j] += dy[(size_t)n * out + j];
    }
    /* dx (N, in) = dy (N, out) . W (out, in) */
    if (dx[0])
        pf_sgemm(false, false, N, in, out, 1.0f, dy, out, pf_tensor_f32(&w->w), in, 0.0f, dx[0],
                 in);
    return 0;
}

static void dense_count(const struct pf_layer *l, struct pf_count *out)
{
    const struct dense_priv *p = l->priv;
    uint64_t in = pf_shape_numel(l->in[0]), o = (uint64_t)l->out.c;
    out->macs = in * o;
    out->params = in * o + (p->bias ? o : 0);
    out->other_ops = ((p->bias ? 1u : 0u) + (l->act != PF_ACT_NONE ? 1u : 0u)) * o;
}

static int dense_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct dense_priv *p = l->priv;
    int used = snprintf(buf, n, ", units: %d", l->out.c);
    if (!p->bias)
        used = pf_layer_yaml_add(buf, n, used, ", bias: false");
    if (l->act != PF_ACT_NONE)
        used = pf_layer_yaml_add(buf, n, used, ", act: %s", pf_act_name(l->act));
    return used;
}

static int dense_prune_channels(struct pf_layer *l, int axis, const uint8_t *keep)
{
    int rc, n = 0;
    if (axis == 0) {
        for (int k = 0; k < l->out.c; k++)
            n += keep[k] != 0;
        if (n < 1)
            return PF_ERR(PF_EINVAL, "%s: cannot remove every unit", l->name);
        for (int i = 0; i < l->n_params; i++)
            if ((rc = pf_param_prune_axis(&l->params[i], 0, keep)) < 0)
                return rc;
        l->out.c = n;
        return 0;
    }
    int C = l->in[0].c;
    size_t hw = (size_t)l->in[0].h * l->in[0].w;
    for (int c = 0; c < C; c++)
        n += keep[c] != 0;
    if (n < 1)
        return PF_ERR(PF_EINVAL, "%s: cannot remove every input channel", l->name);
    /* weight (out, C*H*W): channel c owns features [c*HW, (c+1)*HW) */
    uint8_t *kf = pf_malloc((size_t)C * hw);
    if (!kf)
        return -PF_ENOMEM;
    for (int c = 0; c < C; c++)
        memset(kf + (size_t)c * hw, keep[c] != 0, hw);
    rc = pf_param_prune_axis(&l->params[0], 1, kf);
    free(kf);
    if (rc < 0)
        return rc;
    l->in[0].c = n;
    return 0;
}

const struct pf_layer_ops pf_layer_dense = {
    .name = "dense",
    .keys = dense_keys,
    .priv_size = sizeof(struct dense_priv),
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .count = dense_count,
    .to_yaml = dense_to_yaml,
    .prune_channels = dense_prune_channels,
};
