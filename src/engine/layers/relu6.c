/* relu6.c: the stand-alone ReLU6 layer, y = min(max(x, 0), 6). No keys, no params.
 * The gradient is read from y (0 < y < 6), so at exactly 0 or 6 it is 0, as in PyTorch.
 * count(): other_ops = one per element. */
#include "engine/backend/backend.h"
#include "engine/layers/layer.h"

static int relu6_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    (void)cfg;
    l->out = l->in[0];
    return 0;
}

static int relu6_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    size_t n = (size_t)N * pf_shape_numel(l->out);
    float lo, hi;
    pf_act_bounds(PF_ACT_RELU6, &lo, &hi);
    pf_add_act(n, 1, x, lo, hi, y); /* one fused pass, no copy */
    return 0;
}

static int relu6_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                          float *const *dx, int N)
{
    (void)x;
    if (!dx[0])
        return 0;
    size_t n = (size_t)N * pf_shape_numel(l->out);
    float lo, hi;
    pf_act_bounds(PF_ACT_RELU6, &lo, &hi);
    pf_act_backward_to(n, lo, hi, y, dy, 1, dx);
    return 0;
}

static void relu6_count(const struct pf_layer *l, struct pf_count *out)
{
    out->macs = 0;
    out->other_ops = pf_shape_numel(l->out);
    out->params = 0;
}

static int relu6_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    (void)l;
    if (n)
        buf[0] = '\0';
    return 0;
}

const struct pf_layer_ops pf_layer_relu6 = {
    .name = "relu6",
    .init = relu6_init,
    .forward = relu6_forward,
    .backward = relu6_backward,
    .count = relu6_count,
    .to_yaml = relu6_to_yaml,
};
