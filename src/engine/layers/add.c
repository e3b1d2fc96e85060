/* add.c: element-wise sum of 2 to 8 inputs of equal shape (residual connections), fused act.
 * Backward gives every input the same gradient (after the act). No params.
 * count(): other_ops = (inputs - 1) adds per element + 1 per element for the act. */
#include <stdio.h>

#include "engine/backend/backend.h"
#include "engine/layers/layer.h"

static const char *const add_keys[] = {"act", NULL};

static int add_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    int rc = pf_layer_parse_act(l, cfg);
    if (rc < 0)
        return rc;
    for (int i = 1; i < l->n_in; i++)
        if (l->in[i].c != l->in[0].c || l->in[i].h != l->in[0].h || l->in[i].w != l->in[0].w)
            return pf_cfg_err(cfg,
                              "%s: add needs inputs of equal shape: input 1 is %dx%dx%d, "
                              "input %d is %dx%dx%d",
                              l->name, l->in[0].c, l->in[0].h, l->in[0].w, i + 1, l->in[i].c,
                              l->in[i].h, l->in[i].w);
    l->out = l->in[0];
    return 0;
}

static int add_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    size_t n = (size_t)N * pf_shape_numel(l->out);
    float lo, hi;
    pf_act_bounds(l->act, &lo, &hi);
    pf_add_act(n, l->n_in, x, lo, hi, y); /* sum and act in one pass */
    return 0;
}

static int add_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                        float *const *dx, int N)
{
    (void)x;
    size_t n = (size_t)N * pf_shape_numel(l->out);
    float lo, hi;
    pf_act_bounds(l->act, &lo, &hi);
    /* every input gets the same gradient: one pass writes them all */
    pf_act_backward_to(n, lo, hi, y, dy, l->n_in, dx);
    return 0;
}

static void add_count(const struct pf_layer *l, struct pf_count *out)
{
    out->macs = 0;
    out->other_ops =
        (uint64_t)(l->n_in - 1 + (l->act != PF_ACT_NONE ? 1 : 0)) * pf_shape_numel(l->out);
    out->params = 0;
}

static int add_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    if (l->act != PF_ACT_NONE)
        return snprintf(buf, n, ", act: %s", pf_act_name(l->act));
    if (n)
        buf[0] = '\0';
    return 0;
}

const struct pf_layer_ops pf_layer_add = {
    .name = "add",
    .keys = add_keys,
    .min_inputs = 2,
    .max_inputs = PF_LAYER_MAX_INPUTS,
    .init = add_init,
    .forward = add_forward,
    .backward = add_backward,
    .count = add_count,
    .to_yaml = add_to_yaml,
};
