/* profile.c: the per-layer profiler (see profile.h for the counting and resolution rules).
 *
 * A layer's numbers "after" a plan come from its kind's own count() called on a shallow copy of
 * the layer whose shapes are replaced by the after-shapes, so every kind is counted by one
 * formula, its own. After-shapes follow from the channel groups: a layer's output has
 * sum(keep[group] * mult) channels over its segments and its original height and width (pruning
 * never changes spatial sizes). Incremental update: an edit to layer i's prune ratio can only
 * change the keep count of the groups its input reads, and only the layers in those groups'
 * touch lists read or write them; totals are kept by subtracting the old row and adding the new. */
#include "engine/model/profile.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

struct prof_priv {
    int *keep;                 /* per group: channels kept after the plan */
    bool *pattern_skip;        /* per layer: matched a skip_op_names pattern */
    struct pf_plan_layer *eff; /* per layer: the (clamped) entry the rows were computed with */
    int first_w, last_w;       /* first / last conv2d-or-dense layer, -1 if none */
    int *bad;                  /* per layer: entry refused at its last check */
    int n_bad;
};

bool pf_profile_group_odd(const struct pf_profile *p, int gi)
{
    if (gi < 0 || gi >= p->n_groups)
        return false;
    const struct pf_prof_group *g = &p->groups[gi];
    return g->keep < g->channels && pf_blk_partial(g->keep);
}

int pf_profile_n_odd(const struct pf_profile *p)
{
    int n = 0;
    for (int gi = 0; gi < p->n_groups; gi++)
        n += pf_profile_group_odd(p, gi);
    return n;
}

uint64_t pf_profile_weight_bytes(uint64_t n, int bits, double sparsity)
{
    if (bits < 1)
        bits = 1;
    if (bits > 32)
        bits = 32;
    uint64_t zeros = sparsity > 0 ? (uint64_t)llround((double)n * sparsity) : 0;
    if (zeros > n)
        zeros = n;
    uint64_t nnz = n - zeros;
    uint64_t bytes = (nnz * (uint64_t)bits + 7) / 8;
    if (zeros > 0)
        bytes += (n + 7) / 8; /* 1-bit mask over every position */
    if (bits <= 8)
        bytes += ((uint64_t)1 << bits) * 4; /* codebook of 2^bits float32 values */
    else if (bits < 32)
        bytes += 8; /* scale and zero point */
    return bytes;
}

/* ---- effective entries ---- */

static bool is_skipped(const struct pf_profile *p, int i)
{
    const struct prof_priv *q = p->priv;
    const struct pf_plan *pl = p->plan;
    return pl->layers[i].skip || q->pattern_skip[i] || (pl->skip_first && i == q->first_w) ||
           (pl->skip_last && i == q->last_w);
}

/* Clamps the layer's entry into range (the profile must stay computable) and checks it. */
static int effective(struct pf_profile *p, int i, struct pf_plan_layer *e)
{
    const struct pf_layer *l = &p->m->layers[i];
    *e = p->plan->layers[i];
    int rc = 0;
    if (is_skipped(p, i)) {
        *e = (struct pf_plan_layer){0.0, 0.0, PF_PLAN_BITS_FULL, PF_PLAN_BITS_FULL, true};
    } else {
        rc = pf_plan_check_entry(e, p->m, p->g, i);
    }
    if (!pf_plan_has_weights(l)) {
        e->prune_ratio = 0;
        e->sparsity = 0;
        e->w_bits = PF_PLAN_BITS_FULL;
    }
    if (!(e->prune_ratio >= 0))
        e->prune_ratio = 0;
    if (e->prune_ratio > 1)
        e->prune_ratio = 1; /* per group the keep count is then clamped to 1 */
    if (!(e->sparsity >= 0))
        e->sparsity = 0;
    if (e->sparsity > 0.999999)
        e->sparsity = 0.999999;
    e->w_bits = e->w_bits < 1 ? 1 : e->w_bits > 32 ? 32 : e->w_bits;
    e->a_bits = e->a_bits < 1 ? 1 : e->a_bits > 32 ? 32 : e->a_bits;
    return rc;
}

/* ---- groups ---- */

/* Recomputes group gi's keep count from its consumers' entries; returns true if it changed. */
static bool resolve_group(struct pf_profile *p, int gi)
{
    struct prof_priv *q = p->priv;
    const struct pf_group *gr = &p->g->groups[gi];
    struct pf_prof_group *pg = &p->groups[gi];
    int C = gr->channels, k = C, first_k = -1;
    pg->channels = C;
    pg->n_requests = 0;
    pg->min_ratio = pg->max_ratio = 0;
    pg->conflict = false;
    for (int j = 0; j < gr->n_consumers && !gr->fixed; j++) {
        double r = q->eff[gr->consumers[j]].prune_ratio;
        if (r <= 0)
            continue;
        int kk = pf_plan_keep_count(C, r);
        kk = kk < 1 ? 1 : kk;
        if (pg->n_requests == 0 || r < pg->min_ratio)
            pg->min_ratio = r;
        if (pg->n_requests == 0 || r > pg->max_ratio)
            pg->max_ratio = r;
        if (first_k >= 0 && kk != first_k)
            pg->conflict = true;
        if (first_k < 0)
            first_k = kk;
        pg->n_requests++;
        k = kk < k ? kk : k; /* the smallest keep count wins */
    }
    int N = p->plan->round_to;
    if (k < C && N > 1) {
        k = (int)lround((double)k / N) * N;
        k = k < N ? N : k;
        k = k > C ? C : k;
    }
    bool changed = q->keep[gi] != k;
    q->keep[gi] = k;
    pg->keep = k;
    return changed;
}

/* ---- rows ---- */

/* Channels of a segment list under keep (NULL keep: the groups' current channels). */
static int seg_channels(const struct pf_profile *p, const struct pf_chan_seg *s, int n,
                        const int *keep)
{
    int c = 0;
    for (int k = 0; k < n; k++)
        c += (keep ? keep[s[k].group] : p->g->groups[s[k].group].channels) * s[k].mult;
    return c;
}

/* Output shape of layer i (-1: the network input) under keep. */
static struct pf_shape out_shape(const struct pf_profile *p, int i, const int *keep)
{
    struct pf_shape s = i < 0 ? p->m->input : p->m->layers[i].out;
    int n;
    const struct pf_chan_seg *sg = pf_groups_out(p->g, i, &n);
    s.c = seg_channels(p, sg, n, keep);
    return s;
}

static void compute_cell(const struct pf_profile *p, int i, const int *keep,
                         const struct pf_plan_layer *e, struct pf_prof_cell *c)
{
    const struct pf_layer *l0 = &p->m->layers[i];
    struct pf_layer t = *l0; /* shallow: count() reads shapes and priv only */
    for (int k = 0; k < t.n_in; k++)
        t.in[k] = out_shape(p, t.in_idx[k], keep);
    t.out = out_shape(p, i, keep);
    struct pf_count cnt = {0};
    if (t.ops->count)
        t.ops->count(&t, &cnt);
    memset(c, 0, sizeof *c);
    c->in = t.in[0];
    c->out = t.out;
    c->params = cnt.params;
    c->macs = cnt.macs;
    c->other_ops = cnt.other_ops;
    c->w_bits = e->w_bits;
    c->a_bits = e->a_bits;
    c->sparsity = e->sparsity;
    c->act_bytes = (pf_shape_numel(t.out) * (uint64_t)e->a_bits + 7) / 8;
    /* vectors (bias, gamma, beta, running stats) scale with the output channels; the weight
     * tensor is whatever the params count leaves */
    uint64_t vec_train = 0, vec_all = 0;
    for (int j = 0; j < l0->n_params; j++) {
        const struct pf_param *pr = &l0->params[j];
        if (pr->w.ndim != 1)
            continue;
        uint64_t n = (uint64_t)pf_tensor_numel(&pr->w) * (uint64_t)t.out.c / (uint64_t)l0->out.c;
        vec_all += n;
        if (pr->trainable)
            vec_train += n;
    }
    uint64_t wn = cnt.params > vec_train ? cnt.params - vec_train : 0;
    c->bytes = 4 * vec_all + (wn ? pf_profile_weight_bytes(wn, e->w_bits, e->sparsity) : 0);
}

static void totals_add(struct pf_prof_totals *t, const struct pf_prof_cell *c, int sign)
{
    t->params += (uint64_t)sign * c->params;
    t->macs += (uint64_t)sign * c->macs;
    t->other_ops += (uint64_t)sign * c->other_ops;
    t->act_bytes += (uint64_t)sign * c->act_bytes;
    t->bytes += (uint64_t)sign * c->bytes;
}

static void recompute_row(struct pf_profile *p, int i)
{
    struct prof_priv *q = p->priv;
    struct pf_prof_row *r = &p->rows[i];
    totals_add(&p->after, &r->after, -1);
    compute_cell(p, i, q->keep, &q->eff[i], &r->after);
    totals_add(&p->after, &r->after, 1);
    r->skipped = is_skipped(p, i);
    r->eff_prune = r->before.in.c ? 1.0 - (double)r->after.in.c / r->before.in.c : 0.0;
    if (!pf_plan_has_weights(&p->m->layers[i]))
        r->eff_prune = 0;
}

/* Records or clears layer i's bad state and the message. */
static void note_bad(struct pf_profile *p, int i, int rc)
{
    struct prof_priv *q = p->priv;
    if (rc < 0 && !q->bad[i]) {
        q->bad[i] = 1;
        q->n_bad++;
    } else if (rc >= 0 && q->bad[i]) {
        q->bad[i] = 0;
        q->n_bad--;
    }
    if (rc < 0)
        p->bad_layer = i;
    else if (p->bad_layer == i || q->n_bad == 0)
        p->bad_layer = -1;
    if (p->bad_layer < 0 && q->n_bad > 0)
        for (int j = 0; j < p->n_layers; j++)
            if (q->bad[j]) {
                p->bad_layer = j;
                break;
            }
}

/* ---- public ---- */

void pf_profile_free(struct pf_profile *p)
{
    if (!p)
        return;
    struct prof_priv *q = p->priv;
    if (q) {
        free(q->bad);
        free(q->eff);
        free(q->pattern_skip);
        free(q->keep);
        free(q);
    }
    free(p->groups);
    free(p->rows);
    free(p);
}

int pf_profile_update_all(struct pf_profile *p)
{
    struct prof_priv *q = p->priv;
    const struct pf_model *m = p->m;
    int rc = 0;
    if (p->plan->n_layers != m->n_layers || p->g->n_layers != m->n_layers)
        return PF_ERR(PF_EINVAL, "profile: plan or channel groups made for another model");
    q->first_w = q->last_w = -1;
    for (int i = 0; i < m->n_layers; i++) {
        if (pf_plan_has_weights(&m->layers[i])) {
            if (q->first_w < 0)
                q->first_w = i;
            q->last_w = i;
        }
        /* pattern matches depend only on the names and the pattern list */
        q->pattern_skip[i] = false;
        for (int k = 0; k < p->plan->n_skip_names && !q->pattern_skip[i]; k++)
            q->pattern_skip[i] = fnmatch(p->plan->skip_names[k], m->layers[i].name, 0) == 0;
    }
    char first_msg[512] = "";
    int first_rc = 0;
    for (int i = 0; i < m->n_layers; i++) {
        int r = effective(p, i, &q->eff[i]);
        note_bad(p, i, r);
        if (r < 0 && !first_rc) {
            first_rc = r;
            snprintf(first_msg, sizeof first_msg, "%s", pf_err_msg());
        }
    }
    for (int gi = 0; gi < p->n_groups; gi++)
        resolve_group(p, gi);
    memset(&p->after, 0, sizeof p->after);
    memset(&p->before, 0, sizeof p->before);
    for (int i = 0; i < m->n_layers; i++) {
        static const struct pf_plan_layer id = {0.0, 0.0, PF_PLAN_BITS_FULL, PF_PLAN_BITS_FULL,
                                                false};
        struct pf_prof_row *r = &p->rows[i];
        compute_cell(p, i, NULL, &id, &r->before);
        totals_add(&p->before, &r->before, 1);
        memset(&r->after, 0, sizeof r->after);
        recompute_row(p, i);
        r->group_in = pf_groups_in_group(p->g, m, i);
        r->group_out = pf_groups_out_group(p->g, i);
    }
    if (first_rc)
        rc = PF_ERR(-first_rc, "%s", first_msg);
    return rc;
}

int pf_profile_new(const struct pf_model *m, const struct pf_groups *g, const struct pf_plan *plan,
                   struct pf_profile **out)
{
    struct pf_profile *p = pf_calloc(1, sizeof *p);
    struct prof_priv *q = NULL;
    *out = NULL;
    if (!p)
        return -PF_ENOMEM;
    p->m = m;
    p->g = g;
    p->plan = plan;
    p->n_layers = m->n_layers;
    p->n_groups = g->n_groups;
    p->bad_layer = -1;
    p->rows = pf_calloc((size_t)m->n_layers, sizeof *p->rows);
    p->groups = pf_calloc((size_t)g->n_groups + 1, sizeof *p->groups);
    p->priv = q = pf_calloc(1, sizeof *q);
    if (!p->rows || !p->groups || !q)
        goto oom;
    q->keep = pf_calloc((size_t)g->n_groups + 1, sizeof *q->keep);
    q->pattern_skip = pf_calloc((size_t)m->n_layers, sizeof *q->pattern_skip);
    q->eff = pf_calloc((size_t)m->n_layers, sizeof *q->eff);
    q->bad = pf_calloc((size_t)m->n_layers, sizeof *q->bad);
    if (!q->keep || !q->pattern_skip || !q->eff || !q->bad)
        goto oom;
    int rc = pf_profile_update_all(p);
    if (rc < 0 && rc != -PF_EINVAL) {
        pf_profile_free(p);
        return rc;
    }
    *out = p;
    return rc;
oom:
    pf_profile_free(p);
    return -PF_ENOMEM;
}

int pf_profile_update(struct pf_profile *p, int layer)
{
    struct prof_priv *q = p->priv;
    if (layer < 0 || layer >= p->n_layers)
        return PF_ERR(PF_EINVAL, "profile: no layer %d", layer);
    struct pf_plan_layer old = q->eff[layer];
    int rc = effective(p, layer, &q->eff[layer]);
    note_bad(p, layer, rc);
    if (q->eff[layer].prune_ratio != old.prune_ratio) {
        int n;
        const struct pf_chan_seg *s = pf_groups_in(p->g, p->m, layer, &n);
        for (int k = 0; k < n; k++) {
            int gi = s[k].group;
            bool dup = false;
            for (int j = 0; j < k; j++)
                dup |= s[j].group == gi;
            if (dup || !resolve_group(p, gi))
                continue;
            const struct pf_group *gr = &p->g->groups[gi];
            for (int t = 0; t < gr->n_touch; t++)
                recompute_row(p, gr->touch[t]);
        }
    }
    recompute_row(p, layer);
    return rc;
}
