/* chn_pruned_gpu.c: `chn-pruned-gpu` (CPG), PocketFlow's ChannelPrunedGpuLearner
 * (learners/channel_pruning_gpu/learner.py): channel selection by group-sparse proximal gradient
 * descent instead of LASSO.
 *
 * Per channel group (a conv's input channels, with all their consumers): T = cpg_nb_iters_layer
 * steps of W <- W - eta grad R, R = |Y - X W'|^2 / (2N) the reconstruction loss against the full
 * model; then the per-input-channel norms n_j are soft-thresholded at the percentile
 * 100 p (t + 1) / T of the norms (p = the channel fraction to remove; it ramps to the target),
 * W_j <- W_j max(1 - tau / n_j, 0). eta starts at cpg_lrn_rate_pgd_init and is multiplied by
 * cpg_lrn_rate_pgd_incr when the loss dropped, by cpg_lrn_rate_pgd_decr otherwise (the previous
 * loss starts at 0, so the first step always shrinks eta: PocketFlow's behaviour). The channels
 * of largest norm are kept (exactly the plan's count), T masked Adam steps at cpg_lrn_rate_adam
 * refit the kept kernel, and the channels are REMOVED; then the run's fine-tune.
 * Differences from PocketFlow: R is evaluated on sampled patches (cpg_nb_smpls images x
 * cpg_nb_crops_per_smpl positions, as CPR samples) through their Gram matrices, so each step is
 * a deterministic full-sample gradient instead of one mini-batch; it runs on the CPU (the GPU
 * backend will take the same products). cpg_save_path / cpg_save_path_eval: the run's --out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "learners/common/chanprune.h"
#include "learners/learner.h"

static const struct pf_opt_spec cpg_opts[] = {
    {"cpg_prune_ratio_type", PF_OPT_ENUM, "uniform", 0, 0, "uniform|list",
     "per-layer ratios: uniform, or from cpg_prune_ratio_file"},
    {"cpg_prune_ratio", PF_OPT_FLOAT, "0.5", 0.0, 0.999, NULL,
     "uniform: fraction of each conv's input channels removed"},
    {"cpg_skip_ht_layers", PF_OPT_BOOL, "True", 0, 0, NULL,
     "leave the first and last conv's inputs alone"},
    {"cpg_prune_ratio_file", PF_OPT_STR, "", 0, 0, NULL,
     "list: one line of comma-separated PRUNE ratios, one per conv2d in model order"},
    {"cpg_lrn_rate_pgd_init", PF_OPT_FLOAT, "1e-10", 1e-20, 10, NULL,
     "initial step of the proximal gradient"},
    {"cpg_lrn_rate_pgd_incr", PF_OPT_FLOAT, "1.4", 1.0, 100, NULL,
     "step multiplier when the loss dropped"},
    {"cpg_lrn_rate_pgd_decr", PF_OPT_FLOAT, "0.7", 0.01, 1.0, NULL,
     "step multiplier when it did not"},
    {"cpg_lrn_rate_adam", PF_OPT_FLOAT, "1e-2", 1e-9, 10, NULL, "Adam rate of the layer refit"},
    {"cpg_nb_iters_layer", PF_OPT_INT, "1000", 1, 1000000, NULL,
     "proximal-gradient steps, and Adam steps, per layer"},
    {"cpg_nb_smpls", PF_OPT_INT, "5000", 1, 10000000, NULL,
     "training images sampled per layer (ours: PocketFlow draws mini-batches)"},
    {"cpg_nb_crops_per_smpl", PF_OPT_INT, "10", 1, 10000, NULL,
     "random output positions per image (ours)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct cpg_ctx {
    double eta0, incr, decr;
    int iters;
};

/* numpy's percentile (linear interpolation) of v[0..n), q in [0, 100]; sorts v. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double percentile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = q / 100.0 * (n - 1);
    int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

/* Per-unit float copies for the products (OpenBLAS through pf_sgemm). */
struct cpg_work {
    float *A, *W, *g, *P; /* m x m, K x m, K x m, K x m (W A, then g A) */
    double *Bt;           /* K x m: B' */
};

/* Gradient g = W A - B' of one unit at its current W (R = |XW' - Y|^2 / (2N)); returns R. */
static double unit_grad(const struct pf_cp_unit *u, struct cpg_work *w)
{
    size_t n = (size_t)u->K * u->m;
    for (size_t i = 0; i < n; i++)
        w->W[i] = (float)u->W[i];
    pf_sgemm(false, false, u->K, u->m, u->m, 1.0f, w->W, u->m, w->A, u->m, 0.0f, w->P, u->m);
    double loss = u->yy;
    for (size_t i = 0; i < n; i++) {
        w->g[i] = (float)(w->P[i] - w->Bt[i]);
        loss += u->W[i] * ((double)w->P[i] - 2.0 * w->Bt[i]);
    }
    return 0.5 * loss;
}

/* Change of R along -eta g: -eta |g|^2 + eta^2 / 2 g A g' (exact: R is quadratic). */
static double unit_step_change(const struct pf_cp_unit *u, struct cpg_work *w, double eta)
{
    size_t n = (size_t)u->K * u->m;
    pf_sgemm(false, false, u->K, u->m, u->m, 1.0f, w->g, u->m, w->A, u->m, 0.0f, w->P, u->m);
    double gg = 0.0, gag = 0.0;
    for (size_t i = 0; i < n; i++) {
        gg += (double)w->g[i] * w->g[i];
        gag += (double)w->g[i] * w->P[i];
    }
    return -eta * gg + 0.5 * eta * eta * gag;
}

static void work_free(struct cpg_work *w, int n)
{
    for (int u = 0; w && u < n; u++) {
        free(w[u].A);
        free(w[u].W);
        free(w[u].g);
        free(w[u].P);
        free(w[u].Bt);
    }
    free(w);
}

static int cpg_select(struct pf_chanprune *cp, struct pf_cp_stats *s, int n_keep, uint8_t *keep,
                      void *user)
{
    const struct cpg_ctx *c = user;
    int C = s->C, rc = 0;
    double p = 1.0 - (double)n_keep / C;
    struct cpg_work *w = pf_calloc((size_t)s->n_units, sizeof *w);
    double *norm = pf_calloc((size_t)C, sizeof *norm), *tmp = pf_malloc((size_t)C * sizeof *tmp);
    if (!w || !norm || !tmp) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (int u = 0; u < s->n_units; u++) {
        const struct pf_cp_unit *un = &s->units[u];
        size_t n = (size_t)un->K * un->m;
        w[u].A = pf_malloc((size_t)un->m * un->m * sizeof *w[u].A);
        w[u].W = pf_malloc(n * sizeof *w[u].W);
        w[u].g = pf_malloc(n * sizeof *w[u].g);
        w[u].P = pf_malloc(n * sizeof *w[u].P);
        w[u].Bt = pf_malloc(n * sizeof *w[u].Bt);
        if (!w[u].A || !w[u].W || !w[u].g || !w[u].P || !w[u].Bt) {
            rc = -PF_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < (size_t)un->m * un->m; i++)
            w[u].A[i] = (float)un->A[i];
        for (int k = 0; k < un->K; k++)
            for (int i = 0; i < un->m; i++)
                w[u].Bt[(size_t)k * un->m + i] = un->Bxy[(size_t)i * un->K + k];
    }
    double eta = c->eta0, loss = 0.0;
    for (int t = 0; t < c->iters; t++) {
        if (pf_run_stopped(cp->r)) {
            rc = -PF_ECANCELLED;
            goto fail;
        }
        /* the step adapts on whether the gradient step lowers R (PocketFlow compares the loss
         * of successive mini-batches; here the samples are fixed, so the step's own effect) */
        double change = 0.0;
        loss = 0.0;
        for (int u = 0; u < s->n_units; u++) {
            loss += unit_grad(&s->units[u], &w[u]);
            change += unit_step_change(&s->units[u], &w[u], eta);
        }
        memset(norm, 0, (size_t)C * sizeof *norm);
        for (int u = 0; u < s->n_units; u++) {
            struct pf_cp_unit *un = &s->units[u];
            for (size_t i = 0; i < (size_t)un->K * un->m; i++)
                un->W[i] -= eta * w[u].g[i];
            for (int k = 0; k < un->K; k++)
                for (int j = 0; j < un->m; j++) {
                    double v = un->W[(size_t)k * un->m + j];
                    norm[j / un->B] += v * v;
                }
        }
        eta *= change < 0.0 ? c->incr : c->decr;
        for (int j = 0; j < C; j++)
            tmp[j] = norm[j] = sqrt(norm[j]);
        double tau = percentile(tmp, C, 100.0 * p * (t + 1) / c->iters);
        for (int u = 0; u < s->n_units; u++) {
            struct pf_cp_unit *un = &s->units[u];
            for (int k = 0; k < un->K; k++)
                for (int j = 0; j < un->m; j++) {
                    double n = norm[j / un->B];
                    double f = n > 0.0 ? 1.0 - tau / n : 0.0;
                    un->W[(size_t)k * un->m + j] *= f > 0.0 ? f : 0.0;
                }
        }
        for (int j = 0; j < C; j++) { /* norms after the threshold, for the final ranking */
            double f = norm[j] > 0.0 ? 1.0 - tau / norm[j] : 0.0;
            norm[j] *= f > 0.0 ? f : 0.0;
        }
    }
    /* the kept set: the n_keep largest norms (the threshold leaves about that many non-zero) */
    memset(keep, 0, (size_t)C);
    int nz = 0;
    for (int j = 0; j < C; j++)
        nz += norm[j] > 0.0;
    for (int t = 0; t < n_keep; t++) {
        int best = -1;
        for (int j = 0; j < C; j++)
            if (!keep[j] && (best < 0 || norm[j] > norm[best]))
                best = j;
        keep[best] = 1;
    }
    pf_run_log(cp->r,
               "%s: proximal gradient left %d of %d channels non-zero (kept %d), loss %.4g,"
               " step %.3g",
               cp->m->layers[s->units[0].layer].name, nz, C, n_keep, loss, eta);
fail:
    work_free(w, s->n_units);
    free(norm);
    free(tmp);
    return rc;
}

/* Reads cpg_prune_ratio_file into the run's plan: one prune ratio per conv2d in model order. */
static int read_ratio_file(struct pf_run *r, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot read the prune-ratio file", path);
    int rc = 0, conv = 0;
    const struct pf_model *m = r->model;
    for (int i = 0; i < m->n_layers && rc == 0; i++) {
        if (m->layers[i].ops != &pf_layer_conv2d)
            continue;
        double v;
        int got = fscanf(f, " %lf ,", &v);
        if (got != 1)
            break;
        conv++;
        if (!(v >= 0.0 && v < 1.0))
            rc = PF_ERR(PF_EINVAL, "%s: entry %d (%s) = %g is outside [0, 1)", path, conv,
                        m->layers[i].name, v);
        else
            r->plan->layers[i].prune_ratio = v;
    }
    int extra = fgetc(f);
    while (extra == ' ' || extra == '\n' || extra == '\r' || extra == '\t')
        extra = fgetc(f);
    if (rc == 0 && extra != EOF)
        rc = PF_ERR(PF_EPARSE,
                    "%s: not a list of numbers, or more entries than the %d conv2d "
                    "layers of %s",
                    path, conv, m->name);
    fclose(f);
    return rc;
}

static int cpg_train(struct pf_run *r)
{
    const struct pf_opts *o = &r->opts;
    int rc;
    bool own_plan = false;
    if (!strcmp(pf_opts_str(o, "cpg_prune_ratio_type"), "list") && !r->plan) {
        const char *path = pf_opts_str(o, "cpg_prune_ratio_file");
        if (!path[0])
            return PF_ERR(PF_EINVAL, "--cpg_prune_ratio_type=list needs --cpg_prune_ratio_file");
        if (!(r->plan = pf_calloc(1, sizeof *r->plan)))
            return -PF_ENOMEM;
        own_plan = true;
        if ((rc = pf_plan_init(r->plan, r->model)) < 0 || (rc = read_ratio_file(r, path)) < 0)
            goto done;
    }
    struct cpg_ctx ctx = {
        .eta0 = pf_opts_float(o, "cpg_lrn_rate_pgd_init"),
        .incr = pf_opts_float(o, "cpg_lrn_rate_pgd_incr"),
        .decr = pf_opts_float(o, "cpg_lrn_rate_pgd_decr"),
        .iters = (int)pf_opts_int(o, "cpg_nb_iters_layer"),
    };
    bool ht = pf_opts_bool(o, "cpg_skip_ht_layers");
    int nb = (int)pf_opts_int(o, "cpg_nb_smpls");
    struct pf_cp_spec spec = {
        .name = "chn-pruned-gpu",
        .ratio = pf_opts_float(o, "cpg_prune_ratio"),
        .skip_first = ht,
        .skip_last = ht,
        .round_to = 1,
        .nb_smpls = nb,
        .sample = {.nb_smpls = nb, .crops = (int)pf_opts_int(o, "cpg_nb_crops_per_smpl")},
        .lstsq = {.adam = true,
                  .lr = pf_opts_float(o, "cpg_lrn_rate_adam"),
                  .iters = ctx.iters,
                  .refit = true},
        .select = cpg_select,
        .user = &ctx,
        .finetune = true,
    };
    rc = pf_chanprune_run(r, &spec, NULL);
done:
    if (own_plan) {
        pf_plan_deinit(r->plan);
        free(r->plan);
        r->plan = NULL;
    }
    return rc;
}

const struct pf_learner_ops pf_learner_chn_pruned_gpu = {
    .name = "chn-pruned-gpu",
    .summary = "channel pruning by group-sparse proximal gradient + masked Adam, removed",
    .prefix = "cpg_",
    .opts = cpg_opts,
    .train = cpg_train,
};
