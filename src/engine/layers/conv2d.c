/* conv2d.c: 2-D convolution layer (optionally grouped / depthwise) with fused bias and act.
 *
 * Weights (K, C/groups, R, S), bias (K), PyTorch's layouts. The math goes through the backend
 * seam (pf_conv2d_*), which caches its primitives in conv_state. backward_weights overwrites
 * its outputs, so it writes into scratch buffers made in init and the layer adds them into the
 * gradients (layer gradients accumulate). SAME padding follows TensorFlow (pf_window_resolve).
 * count(): MACs = K * (C/groups) * R * S * OH * OW; other_ops = bias adds + act, one per output.
 * prune_channels: a dense conv (groups 1) loses output (axis 0) or input (axis 1) channels; a
 * depthwise conv (groups = C) loses input channel c together with its output channels (and
 * groups shrinks with C); grouped convs (1 < groups < C) are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct conv2d_priv {
    struct pf_window win; /* kernel, stride, padding; resolved for l->in[0] */
    int groups;           /* 1 = dense conv, C = depthwise */
    bool depthwise;       /* groups == C > 1: stays depthwise when channels are removed */
    bool bias;            /* has a bias param */
    void *conv_state;     /* backend cache, freed with pf_conv_state_free */
    float *dw;            /* (K, C/groups, R, S) scratch for backward_weights */
    float *db;            /* (K) scratch, NULL without bias */
};

static const char *const conv2d_keys[] = {"filters", "kernel", "stride", "pad",
                                          "groups",  "bias",   "act",    NULL};

static int conv2d_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct conv2d_priv *p = l->priv;
    long filters = 0, groups = 1;
    int rc;
    p->bias = true;
    if ((rc = pf_layer_key_int(l, cfg, "filters", true, 1, 1 << 20, &filters)) < 0 ||
        (rc = pf_layer_key_int(l, cfg, "groups", false, 1, 1 << 20, &groups)) < 0 ||
        (rc = pf_layer_key_bool(l, cfg, "bias", &p->bias)) < 0 ||
        (rc = pf_layer_parse_act(l, cfg)) < 0 ||
        (rc = pf_window_parse(&p->win, cfg, l->name, 0)) < 0)
        return rc;
    int C = l->in[0].c;
    if (C % groups || filters % groups)
        return pf_cfg_err(pf_cfg_get(cfg, "groups") ? pf_cfg_get(cfg, "groups") : cfg,
                          "%s: groups %ld must divide the input "
                          "channels %d and filters %ld",
                          l->name, groups, C, filters);
    if ((rc = pf_window_resolve(&p->win, l->in[0].h, l->in[0].w, cfg, l->name)) < 0)
        return rc;
    p->groups = (int)groups;
    p->depthwise = groups > 1 && groups == C;
    int K = (int)filters;
    l->out = (struct pf_shape){K, p->win.oh, p->win.ow};
    int wshape[4] = {K, C / p->groups, p->win.kh, p->win.kw};
    if (!pf_layer_add_param(l, "weight", 4, wshape, true, true, 0, 1))
        return PF_ERR(PF_ENOMEM, "%s: cannot allocate weight", l->name);
    if (p->bias && !pf_layer_add_param(l, "bias", 1, &K, true, false, 0, -1))
        return PF_ERR(PF_ENOMEM, "%s: cannot allocate bias", l->name);
    p->dw = pf_malloc(pf_tensor_numel(&l->params[0].w) * sizeof(float));
    if (!p->dw)
        return -PF_ENOMEM;
    if (p->bias && !(p->db = pf_malloc((size_t)K * sizeof(float))))
        return -PF_ENOMEM;
    return 0;
}

/* The backend descriptor for a batch of N. */
static struct pf_conv_desc conv2d_desc(const struct pf_layer *l, int N)
{
    const struct conv2d_priv *p = l->priv;
    struct pf_conv_desc d = {
        .N = N,
        .C = l->in[0].c,
        .H = l->in[0].h,
        .W = l->in[0].w,
        .K = l->out.c,
        .R = p->win.kh,
        .S = p->win.kw,
        .stride_h = p->win.sh,
        .stride_w = p->win.sw,
        .pad_t = p->win.pad_t,
        .pad_b = p->win.pad_b,
        .pad_l = p->win.pad_l,
        .pad_r = p->win.pad_r,
        .groups = p->groups,
    };
    return d;
}

static int conv2d_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    struct conv2d_priv *p = l->priv;
    struct pf_conv_desc d = conv2d_desc(l, N);
    int rc = pf_conv_desc_finish(&d);
    if (rc < 0)
        return rc;
    const float *b = p->bias ? pf_tensor_f32(&l->params[1].w) : NULL;
    /* x (N, C, H, W), w (K, C/groups, R, S) -> y (N, K, OH, OW) */
    if ((rc = pf_conv2d_forward(&d, &p->conv_state, x[0], pf_tensor_f32(&l->params[0].w), b, y)) <
        0)
        return rc;
    pf_act_forward(l->act, y, (size_t)N * pf_shape_numel(l->out));
    return 0;
}

static int conv2d_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                           float *const *dx, int N)
{
    struct conv2d_priv *p = l->priv;
    struct pf_conv_desc d = conv2d_desc(l, N);
    int rc = pf_conv_desc_finish(&d);
    if (rc < 0)
        return rc;
    pf_act_backward(l->act, y, dy, (size_t)N * pf_shape_numel(l->out)); /* dy clobbered */
    /* x is the input of this layer's last forward (the layer contract), so the backend may
     * reuse its copy of it */
    struct pf_param *w = &l->params[0];
    if ((rc = pf_conv2d_backward(&d, &p->conv_state, x[0], dy, pf_tensor_f32(&w->w), dx[0], p->dw,
                                 p->db)) < 0)
        return rc;
    /* backward_weights overwrites; layer gradients accumulate */
    pf_accumulate(pf_tensor_numel(&w->g), pf_tensor_f32(&w->g), p->dw);
    if (p->bias)
        pf_accumulate((size_t)d.K, pf_tensor_f32(&l->params[1].g), p->db);
    return 0;
}

static void conv2d_count(const struct pf_layer *l, struct pf_count *out)
{
    const struct conv2d_priv *p = l->priv;
    /* depthwise: read groups from the input, so a what-if copy with fewer channels counts right */
    int G = p->depthwise ? l->in[0].c : p->groups;
    uint64_t spatial = (uint64_t)l->out.h * l->out.w;
    uint64_t wn = (uint64_t)l->out.c * (uint64_t)(l->in[0].c / G) * p->win.kh * p->win.kw;
    out->macs = wn * spatial;
    out->params = wn + (p->bias ? (uint64_t)l->out.c : 0);
    out->other_ops =
        ((p->bias ? 1u : 0u) + (l->act != PF_ACT_NONE ? 1u : 0u)) * (uint64_t)l->out.c * spatial;
}

static int conv2d_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct conv2d_priv *p = l->priv;
    int used = snprintf(buf, n, ", filters: %d", l->out.c);
    size_t u = (size_t)used;
    used += pf_window_to_yaml(&p->win, u < n ? buf + u : NULL, u < n ? n - u : 0,
                              p->win.sh != 1 || p->win.sw != 1);
    if (p->groups != 1)
        used = pf_layer_yaml_add(buf, n, used, ", groups: %d", p->groups);
    if (!p->bias)
        used = pf_layer_yaml_add(buf, n, used, ", bias: false");
    if (l->act != PF_ACT_NONE)
        used = pf_layer_yaml_add(buf, n, used, ", act: %s", pf_act_name(l->act));
    return used;
}

/* ---- channel removal ---- */

static int conv2d_prune_channels(struct pf_layer *l, int axis, const uint8_t *keep)
{
    struct conv2d_priv *p = l->priv;
    int C = l->in[0].c, K = l->out.c, rc;
    if (p->groups != 1 && !p->depthwise)
        return PF_ERR(PF_EUNSUPPORTED, "%s: a grouped conv (groups %d) cannot lose channels",
                      l->name, p->groups);
    uint8_t *kout = NULL;
    const uint8_t *ko = NULL; /* over K: output channels to keep */
    int newC = C, newK = 0;
    if (p->depthwise) {
        /* output k reads input k / (K / C): expand the input keep to the outputs */
        int mult = K / C;
        kout = pf_malloc((size_t)K);
        if (!kout)
            return -PF_ENOMEM;
        const uint8_t *kin = keep;
        if (axis == 0) { /* keep over outputs: a channel stays if any of its outputs stays */
            newC = 0;
            for (int c = 0; c < C; c++) {
                int any = 0;
                for (int j = 0; j < mult; j++)
                    any |= keep[c * mult + j] != 0;
                for (int j = 0; j < mult; j++)
                    kout[c * mult + j] = (uint8_t)any;
                newC += any;
            }
        } else {
            newC = 0;
            for (int c = 0; c < C; c++) {
                for (int j = 0; j < mult; j++)
                    kout[c * mult + j] = kin[c] != 0;
                newC += kin[c] != 0;
            }
        }
        ko = kout;
    } else if (axis == 0) {
        ko = keep;
    } else {
        newC = 0;
        for (int c = 0; c < C; c++)
            newC += keep[c] != 0;
        if (newC < 1) {
            return PF_ERR(PF_EINVAL, "%s: cannot remove every input channel", l->name);
        }
        if ((rc = pf_param_prune_axis(&l->params[0], 1, keep)) < 0)
            return rc;
        l->in[0].c = newC;
        return 0;
    }
    for (int k = 0; k < K; k++)
        newK += ko[k] != 0;
    if (newK < 1 || newC < 1) {
        free(kout);
        return PF_ERR(PF_EINVAL, "%s: cannot remove every channel", l->name);
    }
    float *dw = NULL, *db = NULL;
    size_t wn = pf_tensor_numel(&l->params[0].w) / (size_t)K * (size_t)newK;
    dw = pf_malloc(wn * sizeof *dw);
    if (!dw || (p->bias && !(db = pf_malloc((size_t)newK * sizeof *db)))) {
        free(dw);
        free(kout);
        return -PF_ENOMEM;
    }
    for (int i = 0; i < l->n_params; i++)
        if ((rc = pf_param_prune_axis(&l->params[i], 0, ko)) < 0) {
            free(db);
            free(dw);
            free(kout);
            return rc;
        }
    free(kout);
    free(p->dw);
    free(p->db);
    p->dw = dw;
    p->db = db;
    l->out.c = newK;
    if (p->depthwise) {
        l->in[0].c = newC;
        p->groups = newC;
        p->depthwise = newC > 1; /* one channel left: groups 1, an ordinary conv */
    }
    pf_conv_state_free(&p->conv_state); /* shapes changed: the backend rebuilds its primitive */
    return 0;
}

static void conv2d_deinit(struct pf_layer *l)
{
    struct conv2d_priv *p = l->priv;
    if (!p)
        return;
    pf_conv_state_free(&p->conv_state);
    free(p->db);
    p->db = NULL;
    free(p->dw);
    p->dw = NULL;
}

const struct pf_layer_ops pf_layer_conv2d = {
    .name = "conv2d",
    .keys = conv2d_keys,
    .priv_size = sizeof(struct conv2d_priv),
    .init = conv2d_init,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .count = conv2d_count,
    .to_yaml = conv2d_to_yaml,
    .deinit = conv2d_deinit,
    .prune_channels = conv2d_prune_channels,
};

int pf_conv2d_geometry(const struct pf_layer *l, int N, struct pf_conv_desc *d)
{
    if (l->ops != &pf_layer_conv2d)
        return PF_ERR(PF_EINVAL, "%s is a %s layer, not conv2d", l->name, l->ops->name);
    *d = conv2d_desc(l, N);
    return pf_conv_desc_finish(d);
}
