/* batchnorm.c: per-channel batch normalisation with learned gamma/beta and fused act.
 *
 * Train mode normalises with the batch mean and biased variance over (N, H, W) and updates
 * running = momentum * running + (1 - momentum) * batch, using the UNBIASED batch variance for
 * running_var (as PyTorch does). Eval mode uses the running statistics and changes nothing.
 * Backward is the standard BN backward for whichever mode the last forward ran in; xhat is
 * recomputed from x and the cached per-channel mean / inv std, so no per-sample cache exists.
 * The loops are the backend's (pf_batchnorm_forward / _backward: fused act, one pass over
 * the output and one over dx per channel).
 * count(): other_ops = 2 per element (scale and shift, folded at inference) + 1 per element
 * for the act; params = gamma + beta (running stats excluded).
 * prune_channels: input and output channels are the same; either axis removes them from all
 * four params and the per-channel caches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct batchnorm_priv {
    double eps, momentum;
    float *mean;     /* (C) mean used by the last forward */
    float *invstd;   /* (C) 1 / sqrt(var + eps) used by the last forward */
    float *var;      /* (C) biased batch variance of the last training forward */
    bool last_train; /* mode of the last forward */
};

static const char *const batchnorm_keys[] = {"eps", "momentum", "act", NULL};

enum { BN_GAMMA, BN_BETA, BN_RMEAN, BN_RVAR };

static int batchnorm_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct batchnorm_priv *p = l->priv;
    int rc;
    p->eps = 1e-5;
    p->momentum = 0.9;
    if ((rc = pf_layer_key_float(l, cfg, "eps", 0.0, 1.0, &p->eps)) < 0 ||
        (rc = pf_layer_key_float(l, cfg, "momentum", 0.0, 1.0, &p->momentum)) < 0 ||
        (rc = pf_layer_parse_act(l, cfg)) < 0)
        return rc;
    if (!(p->eps > 0.0))
        return pf_cfg_err(pf_cfg_get(cfg, "eps"), "%s: eps must be > 0", l->name);
    int C = l->in[0].c;
    l->out = l->in[0];
    static const char *const names[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++)
        if (!pf_layer_add_param(l, names[i], 1, &C, i < 2, false, 0, -1))
            return PF_ERR(PF_ENOMEM, "%s: cannot allocate %s", l->name, names[i]);
    /* identity transform until params are loaded or initialised */
    for (int c = 0; c < C; c++) {
        pf_tensor_f32(&l->params[BN_GAMMA].w)[c] = 1.0f;
        pf_tensor_f32(&l->params[BN_RVAR].w)[c] = 1.0f;
    }
    p->mean = pf_calloc((size_t)C, sizeof(float));
    p->invstd = pf_calloc((size_t)C, sizeof(float));
    p->var = pf_calloc((size_t)C, sizeof(float));
    if (!p->mean || !p->invstd || !p->var)
        return -PF_ENOMEM;
    return 0;
}

static int batchnorm_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    struct batchnorm_priv *p = l->priv;
    int C = l->in[0].c, HW = l->in[0].h * l->in[0].w;
    size_t m = (size_t)N * HW;
    const float *gamma = pf_tensor_f32(&l->params[BN_GAMMA].w);
    const float *beta = pf_tensor_f32(&l->params[BN_BETA].w);
    float *rmean = pf_tensor_f32(&l->params[BN_RMEAN].w);
    float *rvar = pf_tensor_f32(&l->params[BN_RVAR].w);
    if (train && m < 2)
        return PF_ERR(PF_ESHAPE,
                      "%s: batch norm in training needs more than one value per "
                      "channel (batch %d, %dx1)",
                      l->name, N, HW);
    p->last_train = train;
    float lo, hi;
    pf_act_bounds(l->act, &lo, &hi);
    /* eval reads the running statistics; train computes the batch's into mean / var */
    float *var = train ? p->var : rvar;
    if (!train)
        memcpy(p->mean, rmean, (size_t)C * sizeof *p->mean);
    /* x, y (N, C, H, W) */
    pf_batchnorm_forward(N, C, HW, x[0], gamma, beta, p->eps, train, lo, hi, p->mean, var,
                         p->invstd, y);
    if (train) {
        /* running_var takes the UNBIASED batch variance, as PyTorch does */
        double mom = p->momentum, unbias = (double)m / (double)(m - 1);
        for (int c = 0; c < C; c++) {
            rmean[c] = (float)(mom * rmean[c] + (1.0 - mom) * p->mean[c]);
            rvar[c] = (float)(mom * rvar[c] + (1.0 - mom) * p->var[c] * unbias);
        }
    }
    return 0;
}

static int batchnorm_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                              float *const *dx, int N)
{
    struct batchnorm_priv *p = l->priv;
    int C = l->in[0].c, HW = l->in[0].h * l->in[0].w;
    float lo, hi;
    pf_act_bounds(l->act, &lo, &hi);
    /* train: the batch statistics depend on x (two more terms in dx); eval: constants */
    pf_batchnorm_backward(N, C, HW, x[0], y, dy, lo, hi, p->mean, p->invstd,
                          pf_tensor_f32(&l->params[BN_GAMMA].w), p->last_train,
                          pf_tensor_f32(&l->params[BN_GAMMA].g),
                          pf_tensor_f32(&l->params[BN_BETA].g), dx[0]);
    return 0;
}

static void batchnorm_count(const struct pf_layer *l, struct pf_count *out)
{
    uint64_t n = pf_shape_numel(l->out);
    out->macs = 0;
    out->other_ops = (2u + (l->act != PF_ACT_NONE ? 1u : 0u)) * n;
    out->params = 2u * (uint64_t)l->out.c;
}

static int batchnorm_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct batchnorm_priv *p = l->priv;
    int used = 0;
    if (n)
        buf[0] = '\0';
    if (p->eps != 1e-5)
        used = pf_layer_yaml_add(buf, n, used, ", eps: %.9g", p->eps);
    if (p->momentum != 0.9)
        used = pf_layer_yaml_add(buf, n, used, ", momentum: %.9g", p->momentum);
    if (l->act != PF_ACT_NONE)
        used = pf_layer_yaml_add(buf, n, used, ", act: %s", pf_act_name(l->act));
    return used;
}

static void batchnorm_deinit(struct pf_layer *l)
{
    struct batchnorm_priv *p = l->priv;
    if (!p)
        return;
    free(p->var);
    free(p->invstd);
    free(p->mean);
    p->var = p->invstd = p->mean = NULL;
}

static int batchnorm_prune_channels(struct pf_layer *l, int axis, const uint8_t *keep)
{
    (void)axis; /* one channel axis */
    struct batchnorm_priv *p = l->priv;
    int C = l->out.c, n = 0, rc;
    for (int c = 0; c < C; c++)
        n += keep[c] != 0;
    if (n < 1)
        return PF_ERR(PF_EINVAL, "%s: cannot remove every channel", l->name);
    float *mean = pf_calloc((size_t)n, sizeof(float)),
          *invstd = pf_calloc((size_t)n, sizeof(float)), *var = pf_calloc((size_t)n, sizeof(float));
    if (!mean || !invstd || !var) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < l->n_params; i++)
        if ((rc = pf_param_prune_axis(&l->params[i], 0, keep)) < 0)
            goto fail;
    free(p->mean);
    free(p->invstd);
    free(p->var);
    p->mean = mean;
    p->invstd = invstd;
    p->var = var;
    l->in[0].c = l->out.c = n;
    return 0;
fail:
    free(var);
    free(invstd);
    free(mean);
    return rc;
}

const struct pf_layer_ops pf_layer_batchnorm = {
    .name = "batchnorm",
    .keys = batchnorm_keys,
    .priv_size = sizeof(struct batchnorm_priv),
    .init = batchnorm_init,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .count = batchnorm_count,
    .to_yaml = batchnorm_to_yaml,
    .deinit = batchnorm_deinit,
    .prune_channels = batchnorm_prune_channels,
};
