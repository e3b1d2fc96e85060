/* compress.c: targets, plan lookups, compact sizes and metrics shared by the sparsity and
 * quantization learners (see compress.h). */
#include "learners/common/compress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/plan.h"
#include "learners/common/masks.h"

int pf_wtargets_list(struct pf_model *m, struct pf_wtarget **out, int *n)
{
    *out = NULL;
    *n = 0;
    int count = 0;
    for (int i = 0; i < m->n_layers; i++)
        count += pf_plan_has_weights(&m->layers[i]) && pf_layer_param(&m->layers[i], "weight");
    if (!count)
        return 0;
    struct pf_wtarget *t = pf_calloc((size_t)count, sizeof *t);
    if (!t)
        return -PF_ENOMEM;
    int k = 0;
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_param *p = pf_layer_param(&m->layers[i], "weight");
        if (!pf_plan_has_weights(&m->layers[i]) || !p)
            continue;
        t[k].layer = i;
        t[k].p = p;
        t[k].numel = pf_tensor_numel(&p->w);
        t[k].channels = p->w.shape[0];
        t[k].w_bits = 32;
        k++;
    }
    *out = t;
    *n = count;
    return 0;
}

bool pf_plan_drives(const struct pf_run *r, char what)
{
    const struct pf_plan *p = r->plan;
    if (!p || p->n_layers != r->model->n_layers)
        return false;
    for (int i = 0; i < p->n_layers; i++) {
        const struct pf_plan_layer *e = &p->layers[i];
        bool w = pf_plan_has_weights(&r->model->layers[i]);
        if ((what == 's' && w && e->sparsity > 0.0) || (what == 'w' && w && e->w_bits < 32) ||
            (what == 'a' && e->a_bits < 32))
            return true;
    }
    return false;
}

size_t pf_model_compact_bytes(const struct pf_model *m, size_t *dense)
{
    size_t total = 0, full = 0;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            const struct pf_param *p = &m->layers[i].params[j];
            size_t n = pf_tensor_numel(&p->w);
            full += n * sizeof(float);
            if (p->quant) {
                total += pf_qtensor_stored_bytes(p->quant);
            } else if (p->mask) {
                size_t nnz = 0;
                for (size_t k = 0; k < n; k++)
                    nnz += p->mask[k] != 0;
                total += nnz * sizeof(float) + (n + 7) / 8;
            } else {
                total += n * sizeof(float);
            }
        }
    if (dense)
        *dense = full;
    return total;
}

void pf_emit_compression(struct pf_run *r, long step, const struct pf_wtarget *t, int n, bool bits)
{
    size_t zeros = 0, all = 0, dense = 0;
    char name[PF_NAME_MAX + 16];
    for (int k = 0; k < n; k++) {
        const float *w = pf_tensor_f32(&t[k].p->w);
        double z = pf_zero_fraction(w, t[k].numel);
        zeros += (size_t)(z * (double)t[k].numel + 0.5);
        all += t[k].numel;
        const char *ln = r->model->layers[t[k].layer].name;
        snprintf(name, sizeof name, "sparsity/%s", ln);
        pf_run_metric(r, step, name, z);
        if (bits) {
            snprintf(name, sizeof name, "bits/%s", ln);
            pf_run_metric(r, step, name, t[k].w_bits);
        }
    }
    size_t compact = pf_model_compact_bytes(r->model, &dense);
    pf_run_metric(r, step, "sparsity", all ? (double)zeros / (double)all : 0.0);
    pf_run_metric(r, step, "model_bytes", (double)compact);
    pf_run_metric(r, step, "size_ratio", compact ? (double)dense / (double)compact : 0.0);
}

void pf_train_cfg_set_epochs(struct pf_train_cfg *c, double epochs)
{
    for (int i = 0; i < c->sched.n_decay; i++)
        c->sched.decay_epochs[i] = c->epochs > 0.0 ? c->sched.decay_epochs[i] * epochs / c->epochs
                                                   : epochs * (i == 0 ? 0.5 : 0.75);
    c->epochs = epochs;
}
