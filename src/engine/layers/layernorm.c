/* layernorm.c: layer normalisation with learned per-channel gamma/beta and fused act.
 *
 * Each sample is normalised over all its D = C*H*W features with its own mean and biased
 * variance, y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]; there are no running
 * statistics, so train and eval compute the same thing. For a flat input (C, 1, 1) this is
 * PyTorch's LayerNorm(C) and TensorFlow's layer_norm (the DDPG agent's dense blocks, PocketFlow's
 * rl_agents/ddpg/actor_critic.py); for (C, H, W) it is GroupNorm(1, C).
 * Keys: eps (default 1e-5), act. Params: gamma (C, init 1) and beta (C, init 0), trainable,
 * no weight decay. set_batch sizes the per-sample mean / inv std cache read by backward.
 * count(): other_ops = 4 per element (mean, variance, normalise, scale and shift) + 1 for the
 * act; params = 2C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct layernorm_priv {
    double eps;
    int cap;       /* samples the caches hold */
    float *mean;   /* (cap) per-sample mean of the last forward */
    float *invstd; /* (cap) per-sample 1 / sqrt(var + eps) of the last forward */
};

static const char *const layernorm_keys[] = {"eps", "act", NULL};

enum { LN_GAMMA, LN_BETA };

static int layernorm_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct layernorm_priv *p = l->priv;
    int rc;
    p->eps = 1e-5;
    if ((rc = pf_layer_key_float(l, cfg, "eps", 0.0, 1.0, &p->eps)) < 0 ||
        (rc = pf_layer_parse_act(l, cfg)) < 0)
        return rc;
    if (!(p->eps > 0.0))
        return pf_cfg_err(pf_cfg_get(cfg, "eps"), "%s: eps must be > 0", l->name);
    if (pf_shape_numel(l->in[0]) > (size_t)1 << 30)
        return pf_cfg_err(cfg, "%s: input of %zu values is too large", l->name,
                          pf_shape_numel(l->in[0]));
    int C = l->in[0].c;
    l->out = l->in[0];
    if (!pf_layer_add_param(l, "gamma", 1, &C, true, false, 0, -1) ||
        !pf_layer_add_param(l, "beta", 1, &C, true, false, 0, -1))
        return PF_ERR(PF_ENOMEM, "%s: cannot allocate gamma and beta", l->name);
    float *gamma = pf_tensor_f32(&l->params[LN_GAMMA].w);
    for (int c = 0; c < C; c++)
        gamma[c] = 1.0f;
    return 0;
}

static int layernorm_set_batch(struct pf_layer *l, int N)
{
    struct layernorm_priv *p = l->priv;
    if (N <= p->cap)
        return 0;
    float *mean = pf_calloc((size_t)N, sizeof(float)),
          *invstd = pf_calloc((size_t)N, sizeof(float));
    if (!mean || !invstd) {
        free(mean);
        free(invstd);
        return PF_ERR(PF_ENOMEM, "%s: out of memory for a batch of %d", l->name, N);
    }
    free(p->mean);
    free(p->invstd);
    p->mean = mean;
    p->invstd = invstd;
    p->cap = N;
    return 0;
}

static int layernorm_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train; /* no running statistics: both modes are the same */
    struct layernorm_priv *p = l->priv;
    if (N > p->cap)
        return PF_ERR(PF_EINVAL, "%s: batch %d but set_batch sized it for %d", l->name, N, p->cap);
    int C = l->in[0].c;
    size_t HW = (size_t)l->in[0].h * l->in[0].w, D = (size_t)C * HW;
    const float *gamma = pf_tensor_f32(&l->params[LN_GAMMA].w);
    const float *beta = pf_tensor_f32(&l->params[LN_BETA].w);
    for (int n = 0; n < N; n++) {
        const float *xn = x[0] + (size_t)n * D;
        float *yn = y + (size_t)n * D;
        /* two passes in double: exact enough for float inputs, no cancellation */
        double s = 0.0, ss = 0.0;
        for (size_t i = 0; i < D; i++)
            s += xn[i];
        double mean = s / (double)D;
        for (size_t i = 0; i < D; i++)
            ss += (xn[i] - mean) * (xn[i] - mean);
        float mu = (float)mean, inv = (float)(1.0 / sqrt(ss / (double)D + p->eps));
        p->mean[n] = mu;
        p->invstd[n] = inv;
        for (int c = 0; c < C; c++)
            for (size_t i = (size_t)c * HW; i < (size_t)(c + 1) * HW; i++)
                yn[i] = (xn[i] - mu) * inv * gamma[c] + beta[c];
    }
    pf_act_forward(l->act, y, (size_t)N * D);
    return 0;
}

static int layernorm_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                              float *const *dx, int N)
{
    struct layernorm_priv *p = l->priv;
    int C = l->in[0].c;
    size_t HW = (size_t)l->in[0].h * l->in[0].w, D = (size_t)C * HW;
    const float *gamma = pf_tensor_f32(&l->params[LN_GAMMA].w);
    float *ggamma = pf_tensor_f32(&l->params[LN_GAMMA].g);
    float *gbeta = pf_tensor_f32(&l->params[LN_BETA].g);
    pf_act_backward(l->act, y, dy, (size_t)N * D); /* dy clobbered */
    for (int n = 0; n < N; n++) {
        const float *xn = x[0] + (size_t)n * D;
        const float *dyn = dy + (size_t)n * D;
        float mu = p->mean[n], inv = p->invstd[n];
        /* with g = dy * gamma (the gradient of xhat): dx = inv / D * (D g - sum(g) -
         * xhat * sum(g xhat)), since mean and variance depend on every x of the sample */
        double sg = 0.0, sgx = 0.0;
        for (int c = 0; c < C; c++)
            for (size_t i = (size_t)c * HW; i < (size_t)(c + 1) * HW; i++) {
                float xh = (xn[i] - mu) * inv;
                ggamma[c] += dyn[i] * xh;
                gbeta[c] += dyn[i];
                double g = (double)dyn[i] * gamma[c];
                sg += g;
                sgx += g * xh;
            }
        if (!dx[0])
            continue;
        float *dxn = dx[0] + (size_t)n * D;
        float a = (float)(sg / (double)D), b = (float)(sgx / (double)D);
        for (int c = 0; c < C; c++)
            for (size_t i = (size_t)c * HW; i < (size_t)(c + 1) * HW; i++)
                dxn[i] = inv * (dyn[i] * gamma[c] - a - (xn[i] - mu) * inv * b);
    }
    return 0;
}

static void layernorm_count(const struct pf_layer *l, struct pf_count *out)
{
    uint64_t n = pf_shape_numel(l->out);
    out->macs = 0;
    out->other_ops = (4u + (l->act != PF_ACT_NONE ? 1u : 0u)) * n;
    out->params = 2u * (uint64_t)l->out.c;
}

static int layernorm_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct layernorm_priv *p = l->priv;
    int used = 0;
    if (n)
        buf[0] = '\0';
    if (p->eps != 1e-5)
        used = pf_layer_yaml_add(buf, n, used, ", eps: %.9g", p->eps);
    if (l->act != PF_ACT_NONE)
        used = pf_layer_yaml_add(buf, n, used, ", act: %s", pf_act_name(l->act));
    return used;
}

static void layernorm_deinit(struct pf_layer *l)
{
    struct layernorm_priv *p = l->priv;
    if (!p)
        return;
    free(p->invstd);
    free(p->mean);
    p->invstd = p->mean = NULL;
    p->cap = 0;
}

const struct pf_layer_ops pf_layer_layernorm = {
    .name = "layernorm",
    .keys = layernorm_keys,
    .priv_size = sizeof(struct layernorm_priv),
    .init = layernorm_init,
    .set_batch = layernorm_set_batch,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
    .count = layernorm_count,
    .to_yaml = layernorm_to_yaml,
    .deinit = layernorm_deinit,
};
