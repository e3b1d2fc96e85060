/* dropout.c: inverted dropout. Key: rate in [0, 1) (default 0.5).
 *
 * Train: each element is kept with probability 1 - rate and scaled by 1 / (1 - rate), so eval
 * is the identity and needs no rescaling. The keep mask (uint8, sized by set_batch) is what
 * backward applies. The RNG is a pf_rng in priv seeded at init from the FNV-1a hash of the
 * layer name: deterministic per layer, different between layers. (A run seed can be mixed in
 * later without changing this file's callers.) count(): nothing (identity at inference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct dropout_priv {
    double rate; /* probability of dropping an element */
    struct pf_rng rng;
    uint8_t *mask;   /* (cap, C, H, W) 1 = kept, from the last training forward */
    int cap;         /* samples mask holds */
    bool last_train; /* mode of the last forward */
};

static const char *const dropout_keys[] = {"rate", NULL};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static int dropout_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct dropout_priv *p = l->priv;
    p->rate = 0.5;
    int rc = pf_layer_key_float(l, cfg, "rate", 0.0, 1.0, &p->rate);
    if (rc < 0)
        return rc;
    if (p->rate >= 1.0)
        return pf_cfg_err(pf_cfg_get(cfg, "rate"), "%s: rate must be in [0, 1), got %g", l->name,
                          p->rate);
    pf_rng_seed(&p->rng, fnv1a(l->name));
    l->out = l->in[0];
    return 0;
}

static int dropout_set_batch(struct pf_layer *l, int N)
{
    struct dropout_priv *p = l->priv;
    if (N <= p->cap)
        return 0;
    uint8_t *m = pf_realloc_array(p->mask, (size_t)N, pf_shape_numel(l->out));
    if (!m)
        return -PF_ENOMEM;
    p->mask = m;
    p->cap = N;
    return 0;
}

static int dropout_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    struct dropout_priv *p = l->priv;
    size_t n = (size_t)N * pf_shape_numel(l->out);
    p->last_train = train;
    if (!train || p->rate == 0.0) {
        memcpy(y, x[0], n * sizeof(float));
        p->last_train = false;
        return 0;
    }
    if (N > p->cap)
        return PF_ERR(PF_EINVAL, "%s: batch %d exceeds the %d set by set_batch", l->name, N,
                      p->cap);
    float keep = (float)(1.0 - p->rate), scale = 1.0f / keep;
    for (size_t i = 0; i < n; i++) {
        p->mask[i] = pf_rng_uniform(&p->rng) < keep;
        y[i] = p->mask[i] ? x[0][i] * scale : 0.0f;
    }
    return 0;
}

static int dropout_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                            float *const *dx, int N)
{
    (void)x;
    (void)y;
    const struct dropout_priv *p = l->priv;
    if (!dx[0])
        return 0;
    size_t n = (size_t)N * pf_shape_numel(l->out);
    if (!p->last_train) {
        memcpy(dx[0], dy, n * sizeof(float));
        return 0;
    }
    float scale = (float)(1.0 / (1.0 - p->rate));
    for (size_t i = 0; i < n; i++)
        dx[0][i] = p->mask[i] ? dy[i] * scale : 0.0f;
    return 0;
}

static int dropout_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct dropout_priv *p = l->priv;
    return snprintf(buf, n, ", rate: %.9g", p->rate);
}

static void dropout_deinit(struct pf_layer *l)
{
    struct dropout_priv *p = l->priv;
    if (!p)
        return;
    free(p->mask);
    p->mask = NULL;
    p->cap = 0;
}

const struct pf_layer_ops pf_layer_dropout = {
    .name = "dropout",
    .keys = dropout_keys,
    .priv_size = sizeof(struct dropout_priv),
    .init = dropout_init,
    .set_batch = dropout_set_batch,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .to_yaml = dropout_to_yaml,
    .deinit = dropout_deinit,
};
