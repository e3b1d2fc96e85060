/* chanprune.c: sampling, refits, physical removal and events shared by the channel pruners.
 * See chanprune.h. Ports the extract_features / prune_kernel halves of PocketFlow's
 * learners/channel_pruning/model_wrapper.py and the sampling of
 * learners/channel_pruning_remastered/learner.py, around channel groups. */
#include "learners/common/chanprune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/model_h5.h"
#include "engine/model/profile.h"
#include "learners/common/lasso.h"

#define CHUNK_ROWS       256 /* rows per Gram update: float sums over 256 rows, then double */
#define CPR_LASSO_FACTOR 10  /* PocketFlow CPR: n' = min(n, 10 n / c_o) rows for the LASSO */

static bool is_conv(const struct pf_layer *l)
{
    return l->ops == &pf_layer_conv2d;
}

/* ---- the plan ---- */

/* True if name contains one of the comma-separated substrings of list (PocketFlow's
 * cpr_skip_op_names rule). */
static bool name_listed(const char *name, const char *list)
{
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n) {
            for (const char *s = name; *s; s++)
                if (!strncmp(s, p, n))
                    return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}

int pf_chanprune_plan(struct pf_run *r, double ratio, bool skip_first, bool skip_last,
                      const char *skip_names, int round_to, struct pf_plan *plan)
{
    const struct pf_model *m = r->model;
    if (r->plan)
        return pf_plan_copy(plan, r->plan);
    if (!(ratio >= 0.0 && ratio < 1.0))
        return PF_ERR(PF_EINVAL, "prune ratio %g is outside [0, 1)", ratio);
    int rc = pf_plan_init(plan, m);
    if (rc < 0)
        return rc;
    struct pf_groups *g = NULL;
    if ((rc = pf_groups_build(m, &g)) < 0) {
        pf_plan_deinit(plan);
        return rc;
    }
    plan->round_to = round_to < 1 ? 1 : round_to;
    int first = -1, last = -1;
    for (int i = 0; i < m->n_layers; i++)
        if (is_conv(&m->layers[i])) {
            first = first < 0 ? i : first;
            last = i;
        }
    for (int i = 0; i < m->n_layers; i++) {
        const struct pf_layer *l = &m->layers[i];
        if (!is_conv(l))
            continue;
        int gi = pf_groups_in_group(g, m, i);
        /* a depthwise conv is a member of its input group, not a consumer */
        bool consumer = false;
        for (int k = 0; gi >= 0 && k < g->groups[gi].n_consumers; k++)
            consumer |= g->groups[gi].consumers[k] == i;
        if (gi < 0 || g->groups[gi].fixed || !consumer)
            continue;
        if ((skip_first && i == first) || (skip_last && i == last) ||
            (skip_names && name_listed(l->name, skip_names))) {
            plan->layers[i].skip = true;
            continue;
        }
        plan->layers[i].prune_ratio = ratio;
    }
    pf_groups_free(g);
    return 0;
}

/* ---- set-up ---- */

static void free_maps(struct pf_chanprune *cp)
{
    if (cp->orig && cp->g)
        for (int k = 0; k < cp->g->n_groups; k++)
            free(cp->orig[k]);
    free(cp->orig);
    cp->orig = NULL;
}

/* Identity maps: the reference and the model have the same channels. */
static int reset_maps(struct pf_chanprune *cp)
{
    free_maps(cp);
    if (!(cp->orig = pf_calloc((size_t)cp->g->n_groups, sizeof *cp->orig)))
        return -PF_ENOMEM;
    for (int k = 0; k < cp->g->n_groups; k++) {
        int C = cp->g->groups[k].channels;
        if (!(cp->orig[k] = pf_malloc((size_t)(C > 0 ? C : 1) * sizeof(int))))
            return -PF_ENOMEM;
        for (int c = 0; c < C; c++)
            cp->orig[k][c] = c;
    }
    return 0;
}

void pf_chanprune_deinit(struct pf_chanprune *cp)
{
    free_maps(cp);
    pf_groups_free(cp->g);
    pf_model_free(cp->full);
    free(cp->keep);
    free(cp->order);
    free(cp->smpl);
    memset(cp, 0, sizeof *cp);
}

int pf_chanprune_rebase(struct pf_chanprune *cp)
{
    struct pf_model *f = NULL;
    int rc = pf_model_clone(cp->m, &f);
    if (rc < 0)
        return rc;
    pf_model_free(cp->full);
    cp->full = f;
    return reset_maps(cp);
}

/* The consumer's input is exactly one segment, of `group`. */
static bool reads_group(const struct pf_groups *g, const struct pf_model *m, int layer, int group)
{
    int n;
    const struct pf_chan_seg *s = pf_groups_in(g, m, layer, &n);
    return n == 1 && s[0].group == group;
}

int pf_chanprune_init(struct pf_chanprune *cp, struct pf_run *r, const struct pf_plan *plan,
                      int nb_smpls)
{
    memset(cp, 0, sizeof *cp);
    cp->r = r;
    cp->m = r->model;
    cp->seed = (uint64_t)pf_opts_int(&r->opts, "seed");
    struct pf_profile *prof = NULL;
    int rc = pf_groups_build(cp->m, &cp->g);
    if (rc < 0)
        goto fail;
    if ((rc = pf_profile_new(cp->m, cp->g, plan, &prof)) < 0)
        goto fail;
    int G = cp->g->n_groups;
    cp->keep = pf_malloc((size_t)G * sizeof *cp->keep);
    cp->order = pf_malloc((size_t)G * sizeof *cp->order);
    int *first = pf_malloc((size_t)G * sizeof *first);
    if (!cp->keep || !cp->order || !first) {
        free(first);
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (int k = 0; k < G; k++) {
        const struct pf_group *gr = &cp->g->groups[k];
        cp->keep[k] = prof->groups[k].keep;
        first[k] = cp->m->n_layers;
        if (cp->keep[k] >= gr->channels)
            continue;
        for (int j = 0; j < gr->n_consumers; j++) {
            int q = gr->consumers[j];
            const struct pf_layer *l = &cp->m->layers[q];
            first[k] = q < first[k] ? q : first[k];
            if (!reads_group(cp->g, cp->m, q, k)) {
                rc = PF_ERR(PF_EUNSUPPORTED,
                            "%s: its input mixes several channel groups (a concat); channel "
                            "pruning refits only layers that read one group",
                            l->name);
                free(first);
                goto fail;
            }
        }
        cp->order[cp->n_order++] = k;
    }
    /* order: by first consumer (insertion sort; a few dozen groups) */
    for (int i = 1; i < cp->n_order; i++)
        for (int j = i; j > 0 && first[cp->order[j]] < first[cp->order[j - 1]]; j--) {
            int t = cp->order[j];
            cp->order[j] = cp->order[j - 1];
            cp->order[j - 1] = t;
        }
    free(first);
    struct pf_count c;
    pf_model_count(cp->m, &c);
    cp->macs0 = c.macs;
    if ((rc = pf_chanprune_rebase(cp)) < 0)
        goto fail;
    /* the sample: a seeded shuffle of the training split, nb_smpls of it */
    uint32_t n = r->n_train;
    if (!n) {
        rc = PF_ERR(PF_EINVAL, "channel pruning needs training images");
        goto fail;
    }
    cp->n_smpl = nb_smpls < 1 ? 1 : nb_smpls > (int)n ? (int)n : nb_smpls;
    if (!(cp->smpl = pf_malloc((size_t)n * sizeof *cp->smpl))) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    memcpy(cp->smpl, r->train_idx, (size_t)n * sizeof *cp->smpl);
    struct pf_rng rng;
    pf_rng_seed(&rng, cp->seed ^ 0x5eed5a3b1e5ULL);
    pf_rng_shuffle(&rng, cp->smpl, n);
    pf_profile_free(prof);
    return 0;
fail:
    pf_profile_free(prof);
    pf_chanprune_deinit(cp);
    return rc;
}

/* ---- sampling ---- */

void pf_cp_stats_free(struct pf_cp_stats *s)
{
    for (int u = 0; u < s->n_units; u++) {
        free(s->units[u].A);
        free(s->units[u].Bxy);
        free(s->units[u].W);
        free(s->units[u].FtF);
        free(s->units[u].Fty);
    }
    free(s->units);
    free(s->FtF);
    free(s->Fty);
    memset(s, 0, sizeof *s);
}

/* How one layer (in the model or the reference) turns its input into rows. */
struct geom {
    bool conv;
    struct pf_conv_desc d; /* conv: geometry */
    int Cin, P, m;         /* input channels, columns per input channel, columns */
    int positions;         /* output positions per image (conv: OH x OW; dense: 1) */
};

static int geom_of(const struct pf_layer *l, struct geom *g)
{
    memset(g, 0, sizeof *g);
    g->Cin = l->in[0].c;
    if (is_conv(l)) {
        int rc = pf_conv2d_geometry(l, 1, &g->d);
        if (rc < 0)
            return rc;
        if (g->d.groups != 1)
            return PF_ERR(PF_EUNSUPPORTED, "%s: a grouped conv cannot be refit", l->name);
        g->conv = true;
        g->P = g->d.R * g->d.S;
        g->positions = g->d.OH * g->d.OW;
    } else {
        g->P = l->in[0].h * l->in[0].w;
        g->positions = 1;
    }
    g->m = g->Cin * g->P;
    return 0;
}

/* Row of input x (one image, (Cin, H, W)) at output position pos, in the weight's column order
 * (C, R, S): zero outside the image (the conv's padding). */
static void cut_row(const struct geom *g, const struct pf_shape *in, const float *x, int pos,
                    float *row)
{
    if (!g->conv) {
        memcpy(row, x, (size_t)g->m * sizeof *row);
        return;
    }
    const struct pf_conv_desc *d = &g->d;
    int oh = pos / d->OW, ow = pos % d->OW;
    int y0 = oh * d->stride_h - d->pad_t, x0 = ow * d->stride_w - d->pad_l;
    size_t hw = (size_t)in->h * in->w;
    for (int c = 0; c < g->Cin; c++)
        for (int a = 0; a < d->R; a++)
            for (int b = 0; b < d->S; b++) {
                int yy = y0 + a, xx = x0 + b;
                *row++ = yy < 0 || yy >= in->h || xx < 0 || xx >= in->w
                             ? 0.0f
                             : x[c * hw + (size_t)yy * in->w + xx];
            }
}

/* Per-unit buffers while sampling. */
struct unit_work {
    struct geom cur, ref;
    float *Wref;       /* K x m_ref: the reference's weights for the current output channels */
    float *Wcur;       /* K x m: current weights (float, for the LASSO columns) */
    float *X, *Xf, *Y; /* CHUNK_ROWS x m, x m_ref, x K */
    int nrow;
    float *Xs, *Xfs, *Ys; /* LASSO rows: CHUNK_ROWS x m, x m_ref, x K */
    int nrow_s;
    float *Zt;        /* C x (CHUNK_ROWS K): the LASSO columns, transposed */
    float *tmp;       /* max(m, C) x max(m, K) */
    double keep_prob; /* probability a row joins the LASSO Gram */
    /* residual correction (u->res_add >= 0): the add's input on this unit's path, per current
     * output channel 1 / (batchnorm scale) or 0, and the rows' target corrections */
    int branch;
    double *rscale;  /* K */
    const int *omap; /* reference channel of each current output channel; NULL = identity */
    float *Yc, *Ycs; /* CHUNK_ROWS x K, for X / Y and for Xs / Ys */
};

static void uw_free(struct unit_work *w)
{
    free(w->Wref);
    free(w->Wcur);
    free(w->X);
    free(w->Xf);
    free(w->Y);
    free(w->Xs);
    free(w->Xfs);
    free(w->Ys);
    free(w->Zt);
    free(w->tmp);
    free(w->rscale);
    free(w->Yc);
    free(w->Ycs);
}

/* Adds the chunk's Grams into the unit (float sums over <= CHUNK_ROWS rows, double across). */
static void flush_main(struct pf_cp_unit *u, struct unit_work *w)
{
    int n = w->nrow, m = u->m, K = u->K;
    if (!n)
        return;
    /* targets: Y = Xf Wref' (no bias: the bias stays and cancels) */
    pf_sgemm(false, true, n, K, w->ref.m, 1.0f, w->Xf, w->ref.m, w->Wref, w->ref.m, 0.0f, w->Y, K);
    if (w->Yc)
        for (size_t i = 0; i < (size_t)n * K; i++)
            w->Y[i] += w->Yc[i];
    pf_sgemm(true, false, m, m, n, 1.0f, w->X, m, w->X, m, 0.0f, w->tmp, m);
    for (size_t i = 0; i < (size_t)m * m; i++)
        u->A[i] += w->tmp[i];
    pf_sgemm(true, false, m, K, n, 1.0f, w->X, m, w->Y, K, 0.0f, w->tmp, K);
    for (size_t i = 0; i < (size_t)m * K; i++)
        u->Bxy[i] += w->tmp[i];
    for (size_t i = 0; i < (size_t)n * K; i++)
        u->yy += (double)w->Y[i] * w->Y[i];
    u->rows += n;
    w->nrow = 0;
}

/* LASSO Gram of the chunk's selected rows: column j of F is vec(X_j W_j'), the contribution of
 * group channel j to every output at every row (PocketFlow's feature matrix). */
static void flush_lasso(struct pf_cp_unit *u, struct unit_work *w, int C)
{
    int n = w->nrow_s, m = u->m, K = u->K, B = u->B;
    if (!n)
        return;
    pf_sgemm(false, true, n, K, w->ref.m, 1.0f, w->Xfs, w->ref.m, w->Wref, w->ref.m, 0.0f, w->Ys,
             K);
    if (w->Ycs)
        for (size_t i = 0; i < (size_t)n * K; i++)
            w->Ys[i] += w->Ycs[i];
    size_t nk = (size_t)n * K;
    for (int j = 0; j < C; j++) /* Z_j (n x K) = X[:, jB:(j+1)B] W[:, jB:(j+1)B]' */
        pf_sgemm(false, true, n, K, B, 1.0f, w->Xs + (size_t)j * B, m, w->Wcur + (size_t)j * B, m,
                 0.0f, w->Zt + (size_t)j * nk, K);
    pf_sgemm(false, true, C, C, (int)nk, 1.0f, w->Zt, (int)nk, w->Zt, (int)nk, 0.0f, w->tmp, C);
    for (size_t i = 0; i < (size_t)C * C; i++)
        u->FtF[i] += w->tmp[i];
    for (int j = 0; j < C; j++) {
        double s = 0.0;
        const float *z = w->Zt + (size_t)j * nk;
        for (size_t i = 0; i < nk; i++)
            s += (double)z[i] * w->Ys[i];
        u->Fty[j] += s;
    }
    w->nrow_s = 0;
}

/* ---- residual correction (see chanprune.h; PocketFlow's residual_branch_diff) ---- */

/* The one layer reading layer j's output, or -1 (none or several). */
static int sole_consumer(const struct pf_model *m, int j)
{
    if (m->n_consumers[j] != 1)
        return -1;
    for (int i = j + 1; i < m->n_layers; i++)
        for (int k = 0; k < m->layers[i].n_in; k++)
            if (m->layers[i].in_idx[k] == j)
                return i;
    return -1;
}

/* A batchnorm layer's eps: its netdef keys carry it when it is not the default (the way
 * model/int8.c's folding reads it; the layer keeps it private). */
static double bn_eps(const struct pf_layer *l)
{
    char keys[256] = "";
    if (l->ops->to_yaml)
        l->ops->to_yaml(l, keys, sizeof keys);
    const char *e = strstr(keys, ", eps: ");
    return e ? strtod(e + strlen(", eps: "), NULL) : 1e-5;
}

/* PocketFlow's "last in residual block": from layer q forward through batchnorm and dropout
 * layers (inference: affine and identity), each the sole reader of the one before, with no
 * fused activation from q on, to an add that reads the path once. Returns the add (-1 if
 * none), sets *branch to the add's input on the path and rscale[k] (q's K output channels) to
 * 1 / (product of the batchnorm scales gamma / sqrt(running_var + eps)), or 0 where that scale
 * vanishes (PF_CP_RES_MIN_SCALE). */
static int residual_add(const struct pf_model *m, int q, int *branch, double *rscale)
{
    const struct pf_layer *l = &m->layers[q];
    int K = l->out.c;
    for (int k = 0; k < K; k++)
        rscale[k] = 1.0;
    if (l->act != PF_ACT_NONE)
        return -1;
    int add = -1;
    for (int cur = q; add < 0;) {
        int nx = sole_consumer(m, cur);
        if (nx < 0)
            return -1;
        const struct pf_layer *n = &m->layers[nx];
        if (n->ops == &pf_layer_add) {
            int reads = 0;
            for (int k = 0; k < n->n_in; k++)
                reads += n->in_idx[k] == cur;
            if (reads != 1 || n->n_in < 2)
                return -1;
            *branch = cur;
            add = nx;
            continue;
        }
        if (n->act != PF_ACT_NONE || n->out.c != K)
            return -1;
        if (n->ops == &pf_layer_batchnorm) {
            const struct pf_param *g = pf_layer_param(n, "gamma");
            const struct pf_param *v = pf_layer_param(n, "running_var");
            if (!g || !v)
                return -1;
            double eps = bn_eps(n);
            for (int k = 0; k < K; k++)
                rscale[k] /=
                    (double)pf_tensor_f32(&g->w)[k] / sqrt((double)pf_tensor_f32(&v->w)[k] + eps);
        } else if (n->ops != &pf_layer_dropout) {
            return -1;
        }
        cur = nx;
    }
    /* rscale holds 1 / a; a channel whose |a| is tiny next to the largest carries nothing */
    double amax = 0.0;
    for (int k = 0; k < K; k++)
        if (isfinite(rscale[k]) && rscale[k] != 0.0)
            amax = fmax(amax, 1.0 / fabs(rscale[k]));
    for (int k = 0; k < K; k++)
        if (!isfinite(rscale[k]) || !(fabs(rscale[k]) * PF_CP_RES_MIN_SCALE * amax <= 1.0))
            rscale[k] = 0.0;
    return add;
}

/* Sum of the add's inputs other than `branch`, channel c at position pos of image img (the
 * inputs all have the add's shape), after a forward of mm. */
static double shortcut_at(const struct pf_model *mm, int add, int branch, int img, int c, int pos)
{
    const struct pf_layer *a = &mm->layers[add];
    size_t n = pf_shape_numel(a->out), hw = (size_t)a->out.h * a->out.w;
    double s = 0.0;
    for (int k = 0; k < a->n_in; k++)
        if (a->in_idx[k] != branch)
            s += mm->y[a->in_idx[k]][(size_t)img * n + (size_t)c * hw + (size_t)pos];
    return s;
}

/* The correction row of unit u for image img at output position pos: (s_ref - s_now) / a. */
static void correction_row(const struct pf_chanprune *cp, const struct pf_cp_unit *u,
                           const struct unit_work *w, int img, int pos, float *row)
{
    for (int k = 0; k < u->K; k++) {
        if (w->rscale[k] == 0.0) {
            row[k] = 0.0f;
            continue;
        }
        int kr = w->omap ? w->omap[k] : k;
        double d = shortcut_at(cp->full, u->res_add, w->branch, img, kr, pos) -
                   shortcut_at(cp->m, u->res_add, w->branch, img, k, pos);
        row[k] = (float)(d * w->rscale[k]);
    }
}

/* Sets up unit u for consumer layer q of the group. */
static int unit_setup(struct pf_chanprune *cp, struct pf_cp_stats *s, struct pf_cp_unit *u,
                      struct unit_work *w, int q, const struct pf_cp_sample_cfg *c)
{
    const struct pf_layer *l = &cp->m->layers[q], *lf = &cp->full->layers[q];
    int rc;
    if ((rc = geom_of(l, &w->cur)) < 0 || (rc = geom_of(lf, &w->ref)) < 0)
        return rc;
    u->layer = q;
    u->res_add = -1;
    u->K = l->out.c;
    u->m = w->cur.m;
    if (u->m % s->C)
        return PF_ERR(PF_EINVAL, "%s: %d input columns do not split into %d channels", l->name,
                      u->m, s->C);
    u->B = u->m / s->C;
    int m = u->m, K = u->K, C = s->C;
    /* the reference rows for the current output channels */
    int go = pf_groups_out_group(cp->g, q);
    const int *omap = go >= 0 ? cp->orig[go] : NULL;
    w->omap = omap;
    const struct pf_param *pw = pf_layer_param(l, "weight"), *pwf = pf_layer_param(lf, "weight");
    if (!pw || !pwf)
        return PF_ERR(PF_EINVAL, "%s has no weight", l->name);
    u->A = pf_calloc((size_t)m * m, sizeof *u->A);
    u->Bxy = pf_calloc((size_t)m * K, sizeof *u->Bxy);
    u->W = pf_malloc((size_t)K * m * sizeof *u->W);
    w->Wref = pf_malloc((size_t)K * w->ref.m * sizeof *w->Wref);
    w->Wcur = pf_malloc((size_t)K * m * sizeof *w->Wcur);
    w->X = pf_malloc((size_t)CHUNK_ROWS * m * sizeof *w->X);
    w->Xf = pf_malloc((size_t)CHUNK_ROWS * w->ref.m * sizeof *w->Xf);
    w->Y = pf_malloc((size_t)CHUNK_ROWS * K * sizeof *w->Y);
    int big = m > C ? m : C, big2 = m > K ? m : K;
    big2 = big2 > C ? big2 : C;
    w->tmp = pf_malloc((size_t)big * big2 * sizeof *w->tmp);
    if (!u->A || !u->Bxy || !u->W || !w->Wref || !w->Wcur || !w->X || !w->Xf || !w->Y || !w->tmp)
        return -PF_ENOMEM;
    const float *wf = pf_tensor_f32(&pwf->w), *wc = pf_tensor_f32(&pw->w);
    for (int k = 0; k < K; k++) {
        int kr = omap ? omap[k] : k;
        memcpy(w->Wref + (size_t)k * w->ref.m, wf + (size_t)kr * w->ref.m,
               (size_t)w->ref.m * sizeof *wf);
    }
    memcpy(w->Wcur, wc, (size_t)K * m * sizeof *wc);
    for (size_t i = 0; i < (size_t)K * m; i++)
        u->W[i] = wc[i];
    if (c->lasso_rows != 0.0) {
        u->FtF = pf_calloc((size_t)C * C, sizeof *u->FtF);
        u->Fty = pf_calloc((size_t)C, sizeof *u->Fty);
        w->Xs = pf_malloc((size_t)CHUNK_ROWS * m * sizeof *w->Xs);
        w->Xfs = pf_malloc((size_t)CHUNK_ROWS * w->ref.m * sizeof *w->Xfs);
        w->Ys = pf_malloc((size_t)CHUNK_ROWS * K * sizeof *w->Ys);
        w->Zt = pf_malloc((size_t)C * CHUNK_ROWS * K * sizeof *w->Zt);
        if (!u->FtF || !u->Fty || !w->Xs || !w->Xfs || !w->Ys || !w->Zt)
            return -PF_ENOMEM;
        double rows = (double)cp->n_smpl * (w->cur.conv ? c->crops : 1);
        if (c->lasso_rows < 0.0)
            w->keep_prob = (double)CPR_LASSO_FACTOR / K;
        else
            w->keep_prob = c->lasso_rows / rows;
        w->keep_prob = w->keep_prob > 1.0 ? 1.0 : w->keep_prob;
    }
    if (c->residual_correct) {
        if (!(w->rscale = pf_malloc((size_t)K * sizeof *w->rscale)))
            return -PF_ENOMEM;
        int add = residual_add(cp->m, q, &w->branch, w->rscale);
        /* positions index the add's maps as they index this layer's output */
        const struct pf_layer *la = add >= 0 ? &cp->m->layers[add] : NULL;
        if (la && la->out.c == K && la->out.h * la->out.w == w->cur.positions &&
            l->out.h * l->out.w == w->cur.positions) {
            u->res_add = add;
            w->Yc = pf_malloc((size_t)CHUNK_ROWS * K * sizeof *w->Yc);
            if (u->FtF)
                w->Ycs = pf_malloc((size_t)CHUNK_ROWS * K * sizeof *w->Ycs);
            if (!w->Yc || (u->FtF && !w->Ycs))
                return -PF_ENOMEM;
        }
    }
    return 0;
}

/* Input of layer q in model mm after a forward of x (one image's worth at offset img). */
static const float *layer_input(const struct pf_model *mm, int q, const float *x, int img)
{
    const struct pf_layer *l = &mm->layers[q];
    size_t n = pf_shape_numel(l->in[0]);
    const float *base = l->in_idx[0] < 0 ? x : mm->y[l->in_idx[0]];
    return base + (size_t)img * n;
}

/* Frobenius norm of n x n doubles. */
static double frob(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return sqrt(s);
}

/* Means over the rows, the LASSO normalisation, the group's summed LASSO Gram, err_now. */
static int finish_stats(struct pf_cp_stats *s)
{
    int C = s->C;
    bool lasso = s->units[0].FtF != NULL;
    if (lasso) {
        s->FtF = pf_calloc((size_t)C * C, sizeof *s->FtF);
        s->Fty = pf_calloc((size_t)C, sizeof *s->Fty);
        if (!s->FtF || !s->Fty)
            return -PF_ENOMEM;
    }
    for (int u = 0; u < s->n_units; u++) {
        struct pf_cp_unit *un = &s->units[u];
        if (un->rows < 1)
            return PF_ERR(PF_EINVAL, "no samples for channel pruning (nb_smpls too small)");
        double inv = 1.0 / (double)un->rows;
        for (size_t i = 0; i < (size_t)un->m * un->m; i++)
            un->A[i] *= inv;
        for (size_t i = 0; i < (size_t)un->m * un->K; i++)
            un->Bxy[i] *= inv;
        un->yy *= inv;
        double e = pf_lstsq_error(un->A, un->Bxy, un->yy, un->m, un->K, un->W);
        un->err_now = un->yy > 0.0 ? e / un->yy : 0.0;
        if (!lasso)
            continue;
        /* PocketFlow divides F'F and F'y by |F'F|_F; each unit then weighs the same */
        double f = frob(un->FtF, (size_t)C * C);
        f = f > 0.0 ? 1.0 / f : 0.0;
        for (size_t i = 0; i < (size_t)C * C; i++)
            s->FtF[i] += un->FtF[i] * f;
        for (int j = 0; j < C; j++)
            s->Fty[j] += un->Fty[j] * f;
    }
    if (lasso && s->n_units > 1) {
        double f = frob(s->FtF, (size_t)C * C);
        f = f > 0.0 ? 1.0 / f : 0.0;
        for (size_t i = 0; i < (size_t)C * C; i++)
            s->FtF[i] *= f;
        for (int j = 0; j < C; j++)
            s->Fty[j] *= f;
    }
    return 0;
}

int pf_chanprune_sample(struct pf_chanprune *cp, int group, const struct pf_cp_sample_cfg *c,
                        struct pf_cp_stats *s)
{
    memset(s, 0, sizeof *s);
    struct pf_run *r = cp->r;
    const struct pf_group *gr = &cp->g->groups[group];
    s->group = group;
    s->C = gr->channels;
    s->n_units = gr->n_consumers;
    int batch = (int)pf_opts_int(&r->opts, "batch_size");
    batch = batch > cp->n_smpl ? cp->n_smpl : batch;
    size_t in_n = pf_shape_numel(cp->m->input);
    float *x = NULL;
    struct unit_work *w = NULL;
    int rc;
    if (s->n_units < 1)
        return PF_ERR(PF_EINVAL, "channel group %d has no consumer to refit", group);
    s->units = pf_calloc((size_t)s->n_units, sizeof *s->units);
    w = pf_calloc((size_t)s->n_units, sizeof *w);
    x = pf_malloc((size_t)batch * in_n * sizeof *x);
    if (!s->units || !w || !x) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (int u = 0; u < s->n_units; u++)
        if ((rc = unit_setup(cp, s, &s->units[u], &w[u], gr->consumers[u], c)) < 0)
            goto fail;
    if ((rc = pf_model_set_batch(cp->m, batch)) < 0 ||
        (rc = pf_model_set_batch(cp->full, batch)) < 0)
        goto fail;
    struct pf_rng rng;
    pf_rng_seed(&rng, cp->seed * 1000003ULL + (uint64_t)cp->step + 17);
    int crops = c->crops < 1 ? 1 : c->crops;
    for (int b0 = 0; b0 < cp->n_smpl; b0 += batch) {
        if (pf_run_stopped(r)) {
            rc = -PF_ECANCELLED;
            goto fail;
        }
        int nb = cp->n_smpl - b0 < batch ? cp->n_smpl - b0 : batch;
        /* the same images, un-augmented, feed the model and the reference (eval mode) */
        if ((rc = pf_dataset_batch(r->train, cp->smpl + b0, nb, x, NULL, false, NULL)) < 0 ||
            (rc = pf_model_forward(cp->m, x, nb, false)) < 0 ||
            (rc = pf_model_forward(cp->full, x, nb, false)) < 0)
            goto fail;
        for (int u = 0; u < s->n_units; u++) {
            struct pf_cp_unit *un = &s->units[u];
            struct unit_work *uw = &w[u];
            const struct pf_layer *l = &cp->m->layers[un->layer];
            const struct pf_layer *lf = &cp->full->layers[un->layer];
            int npos = uw->cur.conv ? crops : 1;
            for (int i = 0; i < nb; i++) {
                const float *in = layer_input(cp->m, un->layer, x, i);
                const float *inf = layer_input(cp->full, un->layer, x, i);
                for (int p = 0; p < npos; p++) {
                    int pos = (int)pf_rng_below(&rng, (uint32_t)uw->cur.positions);
                    float *row = uw->X + (size_t)uw->nrow * un->m;
                    float *rowf = uw->Xf + (size_t)uw->nrow * uw->ref.m;
                    cut_row(&uw->cur, &l->in[0], in, pos, row);
                    cut_row(&uw->ref, &lf->in[0], inf, pos, rowf);
                    float *yc = uw->Yc ? uw->Yc + (size_t)uw->nrow * un->K : NULL;
                    if (yc)
                        correction_row(cp, un, uw, i, pos, yc);
                    if (un->FtF && pf_rng_uniform(&rng) < uw->keep_prob) {
                        memcpy(uw->Xs + (size_t)uw->nrow_s * un->m, row,
                               (size_t)un->m * sizeof *row);
                        memcpy(uw->Xfs + (size_t)uw->nrow_s * uw->ref.m, rowf,
                               (size_t)uw->ref.m * sizeof *rowf);
                        if (yc)
                            memcpy(uw->Ycs + (size_t)uw->nrow_s * un->K, yc,
                                   (size_t)un->K * sizeof *yc);
                        if (++uw->nrow_s == CHUNK_ROWS)
                            flush_lasso(un, uw, s->C);
                    }
                    if (++uw->nrow == CHUNK_ROWS)
                        flush_main(un, uw);
                }
            }
        }
    }
    for (int u = 0; u < s->n_units; u++) {
        flush_main(&s->units[u], &w[u]);
        if (s->units[u].FtF)
            flush_lasso(&s->units[u], &w[u], s->C);
    }
    rc = finish_stats(s);
fail:
    for (int u = 0; w && u < s->n_units; u++)
        uw_free(&w[u]);
    free(w);
    free(x);
    if (rc < 0)
        pf_cp_stats_free(s);
    return rc;
}

/* ---- refit, removal, events ---- */

int pf_chanprune_refit(struct pf_chanprune *cp, struct pf_cp_stats *s, const uint8_t *keep,
                       const struct pf_cp_lstsq_cfg *c)
{
    int rc = 0;
    for (int u = 0; u < s->n_units && rc >= 0; u++) {
        struct pf_cp_unit *un = &s->units[u];
        int m = un->m, K = un->K, B = un->B, mk = 0;
        int *idx = pf_malloc((size_t)m * sizeof *idx);
        double *Wn = pf_calloc((size_t)K * m, sizeof *Wn);
        double *Ak = NULL, *Bk = NULL, *Xk = NULL;
        if (!idx || !Wn) {
            rc = -PF_ENOMEM;
            goto next;
        }
        for (int j = 0; j < s->C; j++)
            if (keep[j])
                for (int b = 0; b < B; b++)
                    idx[mk++] = j * B + b;
        /* selection only: the dropped channels' columns zeroed */
        for (int k = 0; k < K; k++)
            for (int i = 0; i < mk; i++)
                Wn[(size_t)k * m + idx[i]] = un->W[(size_t)k * m + idx[i]];
        double e = pf_lstsq_error(un->A, un->Bxy, un->yy, m, K, Wn);
        un->err_sel = un->yy > 0.0 ? e / un->yy : 0.0;
        un->err_fit = un->err_sel;
        if (c->refit) {
            Ak = pf_malloc((size_t)mk * mk * sizeof *Ak);
            Bk = pf_malloc((size_t)mk * K * sizeof *Bk);
            Xk = pf_malloc((size_t)mk * K * sizeof *Xk);
            if (!Ak || !Bk || !Xk) {
                rc = -PF_ENOMEM;
                goto next;
            }
            for (int i = 0; i < mk; i++) {
                for (int j = 0; j < mk; j++)
                    Ak[(size_t)i * mk + j] = un->A[(size_t)idx[i] * m + idx[j]];
                for (int k = 0; k < K; k++)
                    Bk[(size_t)i * K + k] = un->Bxy[(size_t)idx[i] * K + k];
            }
            if (c->adam) {
                /* PocketFlow: Adam from the current kernel, on the kept columns */
                double *Wk = pf_malloc((size_t)K * mk * sizeof *Wk);
                if (!Wk) {
                    rc = -PF_ENOMEM;
                    goto next;
                }
                for (int k = 0; k < K; k++)
                    for (int i = 0; i < mk; i++)
                        Wk[(size_t)k * mk + i] = un->W[(size_t)k * m + idx[i]];
                rc = pf_lstsq_adam(Ak, Bk, mk, K, c->wd, c->lr, c->iters, Wk);
                for (int k = 0; k < K && rc >= 0; k++)
                    for (int i = 0; i < mk; i++)
                        Xk[(size_t)i * K + k] = Wk[(size_t)k * mk + i];
                free(Wk);
            } else {
                rc = pf_lstsq_solve(Ak, Bk, mk, K, c->ridge, Xk);
            }
            if (rc < 0) {
                pf_err_set_at(__FILE__, __LINE__, -rc, "%s: %s", cp->m->layers[un->layer].name,
                              pf_err_user_msg());
                goto next;
            }
            for (int k = 0; k < K; k++)
                for (int i = 0; i < mk; i++)
                    Wn[(size_t)k * m + idx[i]] = Xk[(size_t)i * K + k];
            e = pf_lstsq_error(un->A, un->Bxy, un->yy, m, K, Wn);
            un->err_fit = un->yy > 0.0 ? e / un->yy : 0.0;
        }
        /* into the model (the dropped columns are removed by apply) */
        struct pf_param *pw = pf_layer_param(&cp->m->layers[un->layer], "weight");
        float *wv = pf_tensor_f32(&pw->w);
        for (size_t i = 0; i < (size_t)K * m; i++)
            wv[i] = (float)Wn[i];
    next:
        free(idx);
        free(Wn);
        free(Ak);
        free(Bk);
        free(Xk);
    }
    return rc;
}

double pf_chanprune_kept_macs(const struct pf_chanprune *cp)
{
    struct pf_count c;
    pf_model_count(cp->m, &c);
    return cp->macs0 ? (double)c.macs / (double)cp->macs0 : 1.0;
}

int pf_chanprune_apply(struct pf_chanprune *cp, const struct pf_cp_stats *s, const uint8_t *keep,
                       double t0)
{
    int C = s->C, nk = 0;
    for (int j = 0; j < C; j++)
        nk += keep[j] != 0;
    int rc = pf_model_prune_group(cp->m, cp->g, s->group, keep);
    if (rc < 0)
        return rc;
    int *map = cp->orig[s->group], k = 0;
    for (int j = 0; j < C; j++)
        if (keep[j])
            map[k++] = map[j];
    double secs = pf_now_s() - t0;
    cp->step++;
    for (int u = 0; u < s->n_units; u++) {
        const struct pf_cp_unit *un = &s->units[u];
        struct pf_event e = {
            .run_id = cp->r->id, .step = cp->step, .kind = PF_EV_LAYER_DONE, .value = un->err_fit};
        snprintf(e.name, sizeof e.name, "%.31s", cp->m->layers[un->layer].name);
        char at[PF_NAME_MAX + 24] = "";
        if (un->res_add >= 0)
            snprintf(at, sizeof at, ", targets at %s", cp->m->layers[un->res_add].name);
        snprintf(e.text, sizeof e.text,
                 "channels %d -> %d, reconstruction error %.4g (before) %.4g (selected) "
                 "%.4g (refit)%s, %.2f s",
                 C, nk, un->err_now, un->err_sel, un->err_fit, at, secs);
        pf_run_emit(cp->r, &e);
    }
    pf_run_metric(cp->r, cp->step, "kept_macs", pf_chanprune_kept_macs(cp));
    pf_run_progress(cp->r, cp->step, cp->n_order ? (double)cp->step / cp->n_order : 1.0,
                    "channel selection");
    return 0;
}

/* ---- fine-tuning ---- */

struct ft_hook {
    struct pf_chanprune *cp;
    uint8_t *const *masks;
    int every;
};

/* Zeroes the masked input slices of every layer's weight (PocketFlow's masked gradients: the
 * optimizer may move them, this puts them back to exactly zero). */
static void apply_masks(struct pf_model *m, uint8_t *const *masks)
{
    for (int i = 0; i < m->n_layers; i++) {
        if (!masks[i])
            continue;
        struct pf_layer *l = &m->layers[i];
        struct pf_param *p = pf_layer_param(l, "weight");
        if (!p)
            continue;
        int Cin = l->in[0].c;
        size_t numel = pf_tensor_numel(&p->w), K = (size_t)p->w.shape[0];
        size_t per = numel / K / (size_t)Cin; /* columns per input channel */
        float *w = pf_tensor_f32(&p->w);
        for (size_t k = 0; k < K; k++)
            for (int c = 0; c < Cin; c++)
                if (!masks[i][c])
                    memset(w + (k * Cin + c) * per, 0, per * sizeof *w);
    }
}

static int ft_after(struct pf_model *m, struct pf_optim *o, long step, float lr, void *user)
{
    (void)o;
    (void)lr;
    struct ft_hook *h = user;
    if (h->masks)
        apply_masks(m, h->masks);
    if (h->every > 0 && (step + 1) % h->every == 0)
        pf_run_metric(h->cp->r, step + 1, "kept_macs", pf_chanprune_kept_macs(h->cp));
    return 0;
}

int pf_chanprune_finetune(struct pf_chanprune *cp, const char *phase, const struct pf_train_cfg *c,
                          uint8_t *const *masks)
{
    struct pf_train_cfg cc = *c;
    struct ft_hook h = {cp, masks, c->log_every};
    struct pf_train_hooks hooks = {.after_update = ft_after, .user = &h};
    cc.hooks = &hooks;
    if (masks)
        apply_masks(cp->m, masks);
    return pf_run_finetune_cfg(cp->r, phase, &cc);
}

/* ---- the driver ---- */

int pf_chanprune_report_acc(struct pf_run *r, long step, const char *what)
{
    struct pf_eval_result res;
    int rc = pf_run_evaluate(r, false, &res);
    if (rc < 0)
        return rc;
    char name[32];
    snprintf(name, sizeof name, "acc_%s", what);
    pf_run_metric(r, step, name, res.accuracy);
    pf_run_log(r, "validation accuracy (%s): %.4f, loss %.4f", what, res.accuracy, res.loss);
    return 0;
}

int pf_chanprune_run(struct pf_run *r, const struct pf_cp_spec *spec, const char *save_ws)
{
    struct pf_plan plan = {0};
    struct pf_chanprune cp = {0};
    uint8_t *keep = NULL;
    int rc = pf_chanprune_plan(r, spec->ratio, spec->skip_first, spec->skip_last, spec->skip_names,
                               spec->round_to, &plan);
    if (rc < 0)
        return rc;
    if ((rc = pf_chanprune_init(&cp, r, &plan, spec->nb_smpls)) < 0)
        goto fail;
    pf_run_log(r, "%s: %d channel groups to prune, %d images sampled", spec->name, cp.n_order,
               cp.n_smpl);
    if (!spec->quiet && (rc = pf_chanprune_report_acc(r, 0, "full")) < 0)
        goto fail;
    for (int i = 0; i < cp.n_order; i++) {
        int gi = cp.order[i];
        double t0 = pf_now_s();
        struct pf_cp_stats s;
        if ((rc = pf_chanprune_sample(&cp, gi, &spec->sample, &s)) < 0)
            goto fail;
        free(keep);
        if (!(keep = pf_calloc((size_t)s.C, 1))) {
            pf_cp_stats_free(&s);
            rc = -PF_ENOMEM;
            goto fail;
        }
        int n_keep = cp.keep[gi];
        if ((rc = spec->select(&cp, &s, n_keep, keep, spec->user)) == 0 &&
            (rc = pf_chanprune_refit(&cp, &s, keep, &spec->lstsq)) == 0)
            rc = pf_chanprune_apply(&cp, &s, keep, t0);
        pf_cp_stats_free(&s);
        if (rc < 0)
            goto fail;
        if (spec->between && spec->chunk > 0 && (i + 1) % spec->chunk == 0 && i + 1 < cp.n_order &&
            (rc = spec->between(&cp, i + 1, spec->user)) < 0)
            goto fail;
    }
    double kept = pf_chanprune_kept_macs(&cp);
    pf_run_metric(r, cp.step, "kept_macs", kept);
    pf_run_log(r, "%s: channel selection done, %.1f%% of the MACs kept", spec->name, 100.0 * kept);
    int partial = 0;
    for (int i = 0; i < cp.n_order && !spec->quiet; i++)
        partial += pf_blk_partial(cp.keep[cp.order[i]]);
    if (partial)
        pf_run_log(r,
                   "%s: %d of %d pruned groups fall between %d-channel blocks and run like the "
                   "next whole block (round_to: %d in a plan keeps whole blocks)",
                   spec->name, partial, cp.n_order, PF_BLK, PF_BLK);
    if (!spec->quiet && (rc = pf_chanprune_report_acc(r, cp.step, "pruned")) < 0)
        goto fail;
    if (save_ws && save_ws[0]) {
        if ((rc = pf_model_save(r->model, save_ws, r->train->name, NULL)) < 0)
            goto fail;
        pf_run_log(r, "channel-selected model written to %s", save_ws);
    }
    if (spec->finetune) {
        struct pf_train_cfg c;
        pf_run_train_cfg(r, &c);
        rc = pf_chanprune_finetune(&cp, "fine-tune", &c, NULL);
    }
fail:
    free(keep);
    pf_chanprune_deinit(&cp);
    pf_plan_deinit(&plan);
    return rc;
}
