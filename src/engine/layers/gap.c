/* gap.c: global average pooling, (C, H, W) -> (C, 1, 1), the mean of each channel plane.
 * No keys, no params. count(): other_ops = one add per input element. */
#include <stddef.h>

#include "engine/layers/layer.h"

static int gap_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    (void)cfg;
    l->out = (struct pf_shape){l->in[0].c, 1, 1};
    return 0;
}

static int gap_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    size_t HW = (size_t)l->in[0].h * l->in[0].w, planes = (size_t)N * l->in[0].c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x[0] + pl * HW;
        double s = 0.0; /* long planes: sum in double */
        for (size_t i = 0; i < HW; i++)
            s += xp[i];
        y[pl] = (float)(s / (double)HW);
    }
    return 0;
}

static int gap_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                        float *const *dx, int N)
{
    (void)x;
    (void)y;
    if (!dx[0])
        return 0;
    size_t HW = (size_t)l->in[0].h * l->in[0].w, planes = (size_t)N * l->in[0].c;
    for (size_t pl = 0; pl < planes; pl++) {
        float g = dy[pl] / (float)HW;
        for (size_t i = 0; i < HW; i++)
            dx[0][pl * HW + i] = g;
    }
    return 0;
}

static void gap_count(const struct pf_layer *l, struct pf_count *out)
{
    out->macs = 0;
    out->other_ops = pf_shape_numel(l->in[0]);
    out->params = 0;
}

static int gap_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    (void)l;
    if (n)
        buf[0] = '\0';
    return 0;
}

const struct pf_layer_ops pf_layer_gap = {
    .name = "gap",
    .init = gap_init,
    .forward = gap_forward,
    .backward = gap_backward,
    .count = gap_count,
    .to_yaml = gap_to_yaml,
};
