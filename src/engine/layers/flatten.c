/* flatten.c: (C, H, W) -> (C * H * W, 1, 1) in row-major (C, H, W) order; a copy, no keys,
 * no params, no work counted. dense flattens by itself; this layer makes it explicit. */
#include <string.h>

#include "engine/layers/layer.h"

static int flatten_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    size_t n = pf_shape_numel(l->in[0]);
    if (n > (size_t)1 << 30)
        return pf_cfg_err(cfg, "%s: input of %zu values is too large", l->name, n);
    l->out = (struct pf_shape){(int)n, 1, 1};
    return 0;
}

static int flatten_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    memcpy(y, x[0], (size_t)N * pf_shape_numel(l->out) * sizeof(float));
    return 0;
}

static int flatten_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                            float *const *dx, int N)
{
    (void)x;
    (void)y;
    if (dx[0])
        memcpy(dx[0], dy, (size_t)N * pf_shape_numel(l->out) * sizeof(float));
    return 0;
}

static int flatten_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    (void)l;
    if (n)
        buf[0] = '\0';
    return 0;
}

const struct pf_layer_ops pf_layer_flatten = {
    .name = "flatten",
    .init = flatten_init,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .to_yaml = flatten_to_yaml,
};
