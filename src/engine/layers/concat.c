/* concat.c: concatenation of 2 to 8 inputs along channels (equal H and W), fused act.
 * Per sample, the output is input 1's channels, then input 2's, and so on; backward slices the
 * gradient back. No params. count(): other_ops = 1 per element for the act (copies are free). */
#include <stdio.h>
#include <string.h>

#include "engine/layers/layer.h"

static const char *const concat_keys[] = {"act", NULL};

static int concat_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    int rc = pf_layer_parse_act(l, cfg);
    if (rc < 0)
        return rc;
    long c = 0;
    for (int i = 0; i < l->n_in; i++) {
        if (l->in[i].h != l->in[0].h || l->in[i].w != l->in[0].w)
            return pf_cfg_err(cfg,
                              "%s: concat needs inputs of equal height and width: input 1 "
                              "is %dx%d, input %d is %dx%d",
                              l->name, l->in[0].h, l->in[0].w, i + 1, l->in[i].h, l->in[i].w);
        c += l->in[i].c;
    }
    if (c > (1L << 24))
        return pf_cfg_err(cfg, "%s: %ld channels is too many", l->name, c);
    l->out = (struct pf_shape){(int)c, l->in[0].h, l->in[0].w};
    return 0;
}

static int concat_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    size_t out_n = pf_shape_numel(l->out);
    for (int n = 0; n < N; n++) {
        float *yn = y + (size_t)n * out_n;
        for (int i = 0; i < l->n_in; i++) {
            size_t k = pf_shape_numel(l->in[i]);
            memcpy(yn, x[i] + (size_t)n * k, k * sizeof(float));
            yn += k;
        }
    }
    pf_act_forward(l->act, y, (size_t)N * out_n);
    return 0;
}

static int concat_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                           float *const *dx, int N)
{
    (void)x;
    size_t out_n = pf_shape_numel(l->out);
    pf_act_backward(l->act, y, dy, (size_t)N * out_n); /* dy clobbered */
    for (int n = 0; n < N; n++) {
        const float *dyn = dy + (size_t)n * out_n;
        for (int i = 0; i < l->n_in; i++) {
            size_t k = pf_shape_numel(l->in[i]);
            if (dx[i])
                memcpy(dx[i] + (size_t)n * k, dyn, k * sizeof(float));
            dyn += k;
        }
    }
    return 0;
}

static void concat_count(const struct pf_layer *l, struct pf_count *out)
{
    out->macs = 0;
    out->other_ops = l->act != PF_ACT_NONE ? pf_shape_numel(l->out) : 0;
    out->params = 0;
}

static int concat_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    if (l->act != PF_ACT_NONE)
        return snprintf(buf, n, ", act: %s", pf_act_name(l->act));
    if (n)
        buf[0] = '\0';
    return 0;
}

const struct pf_layer_ops pf_layer_concat = {
    .name = "concat",
    .keys = concat_keys,
    .min_inputs = 2,
    .max_inputs = PF_LAYER_MAX_INPUTS,
    .init = concat_init,
    .forward = concat_forward,
    .backward = concat_backward,
    .count = concat_count,
    .to_yaml = concat_to_yaml,
};
