/* optim.c: SGD with momentum (PyTorch's form: v = mu v + g; w -= lr v) and Adam. */
#include "engine/model/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

struct collect {
    struct pf_optim *o;
    int count_only;
};

static int collect_param(struct pf_layer *l, struct pf_param *p, void *user)
{
    (void)l;
    struct collect *c = user;
    if (!p->trainable)
        return 0;
    if (!c->count_only)
        c->o->p[c->o->n] = p;
    c->o->n++;
    return 0;
}

int pf_optim_init(struct pf_optim *o, struct pf_model *m, const struct pf_optim_cfg *cfg)
{
    memset(o, 0, sizeof *o);
    struct collect c = {o, 1};
    pf_model_for_each_param(m, collect_param, &c);
    int n = o->n;
    o->n = 0;
    struct pf_param **list = pf_calloc((size_t)n, sizeof *list);
    if (!list)
        return -PF_ENOMEM;
    o->p = list;
    c.count_only = 0;
    pf_model_for_each_param(m, collect_param, &c);
    o->p = NULL;
    int rc = pf_optim_init_params(o, list, n, cfg);
    free(list);
    return rc;
}

int pf_optim_init_params(struct pf_optim *o, struct pf_param *const *params, int n_params,
                         const struct pf_optim_cfg *cfg)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    int n = 0;
    for (int i = 0; i < n_params; i++)
        n += params[i]->trainable;
    o->p = pf_calloc((size_t)n, sizeof *o->p);
    o->m1 = pf_calloc((size_t)n, sizeof *o->m1);
    o->m2 = pf_calloc((size_t)n, sizeof *o->m2);
    if (!o->p || !o->m1 || !o->m2)
        goto oom;
    for (int i = 0; i < n_params; i++)
        if (params[i]->trainable)
            o->p[o->n++] = params[i];
    for (int i = 0; i < n; i++) {
        size_t k = pf_tensor_numel(&o->p[i]->w);
        o->m1[i] = pf_calloc(k, sizeof(float));
        if (!o->m1[i])
            goto oom;
        if (cfg->kind == PF_OPTIM_ADAM && !(o->m2[i] = pf_calloc(k, sizeof(float))))
            goto oom;
    }
    return 0;
oom:
    pf_optim_deinit(o);
    return -PF_ENOMEM;
}

void pf_optim_deinit(struct pf_optim *o)
{
    for (int i = 0; i < o->n; i++) {
        if (o->m1)
            free(o->m1[i]);
        if (o->m2)
            free(o->m2[i]);
    }
    free(o->m1);
    free(o->m2);
    free(o->p);
    memset(o, 0, sizeof *o);
}

void pf_optim_reset(struct pf_optim *o)
{
    for (int i = 0; i < o->n; i++) {
        size_t k = pf_tensor_numel(&o->p[i]->w);
        memset(o->m1[i], 0, k * sizeof(float));
        if (o->m2[i])
            memset(o->m2[i], 0, k * sizeof(float));
    }
    o->t = 0;
}

void pf_optim_step(struct pf_optim *o, float lr)
{
    o->t++;
    const float mu = (float)o->cfg.momentum;
    const float b1 = (float)o->cfg.beta1, b2 = (float)o->cfg.beta2, eps = (float)o->cfg.eps;
    const float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
    for (int i = 0; i < o->n; i++) {
        struct pf_param *p = o->p[i];
        float *w = pf_tensor_f32(&p->w), *g = pf_tensor_f32(&p->g), *v = o->m1[i], *s = o->m2[i];
        const float wd = p->decay ? (float)o->cfg.weight_decay : 0.0f;
        const uint8_t *mask = p->mask;
        size_t k = pf_tensor_numel(&p->w);
        if (o->cfg.kind == PF_OPTIM_SGD) {
            for (size_t j = 0; j < k; j++) {
                float gj = g[j] + wd * w[j];
                v[j] = mu * v[j] + gj;
                w[j] -= lr * v[j];
            }
        } else {
            for (size_t j = 0; j < k; j++) {
                float gj = g[j] + wd * w[j];
                v[j] = b1 * v[j] + (1.0f - b1) * gj;
                s[j] = b2 * s[j] + (1.0f - b2) * gj * gj;
                w[j] -= lr * (v[j] / bc1) / (sqrtf(s[j] / bc2) + eps);
            }
        }
        if (mask)
            for (size_t j = 0; j < k; j++)
                if (!mask[j])
                    w[j] = 0.0f;
    }
}
