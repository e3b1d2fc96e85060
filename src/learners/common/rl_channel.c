/* rl_channel.c: the channel pruners' auto mode, a DDPG search of per-group preserve ratios under
 * a MACs budget (PocketFlow's CP RL search, reference 2.2.1, after AMC; rlsearch.h).
 *
 * Steps: the channel groups the learner's uniform plan would prune, by first consumer. Each step
 * keeps k of the group's C channels; the value is k / C. Ours differs from PocketFlow in that the
 * unit is a channel group (every producer and consumer of those channels follows), and MACs are
 * exact (the profiler over the plan), so the budget holds to the last MAC:
 * - state (8, each static column divided by its max over steps): step index, consumer's output
 *   channels, group channels, consumer's output height and width, its stride, maxreduce (MACs if
 *   every undecided group took its smallest ratio / MACs before; starts at 1), consumer's MACs.
 * - action in [lbound, 1], lbound = 1.5 log10(1 + preserve) (PocketFlow's); k = round(a C),
 *   then the largest k <= that for which the MACs with every later group at its smallest keep
 *   count fit the budget. The smallest keep count is round(lbound C) (at least round_to), and the
 *   search refuses a budget that the all-smallest strategy misses, so a step always fits.
 * - fill (option <prefix>fill_budget, accuracy policy only; not PocketFlow's): the clamp above
 *   only caps a strategy, and an agent whose late actions are small stops well below the budget
 *   (resnet20 at 25%: roll-outs at 4-13% of the MACs, each scoring below the uniform strategy
 *   for that reason alone). After the last step every group is raised by the same fraction
 *   lambda of its remaining channels, k + lambda (C - k), with the largest lambda that fits, so
 *   every strategy is judged at the budget and the agent's choice is the shape. The flops policy,
 *   whose reward prefers fewer MACs, keeps what the agent chose.
 * - reward: the pruned copy's accuracy on the fixed validation sample (policy accuracy), or
 *   -max(noise_tol, 1 - acc) ln(MACs) (policy flops). PocketFlow measures it right after
 *   selection and reconstruction; <prefix>nb_iters_ft_rlout > 0 (not PocketFlow's) first
 *   fine-tunes the copy that many Adam steps, because at small budgets the accuracy right after
 *   pruning predicted the fine-tuned accuracy badly (fmnist_bn at 25% MACs: a strategy scoring
 *   0.374 against uniform's 0.334 ended 0.5 point below it after the same fine-tune).
 *   <prefix>nb_batches_bn_rlout > 0 (not PocketFlow's; EagleEye's adaptive batch norm) then
 *   re-estimates the copy's batch-norm statistics on that many training batches, the same
 *   images for every roll-out, so a strategy is not judged by statistics of the unpruned model.
 * - finalists (<prefix>nb_finalists, not PocketFlow's; pf_rl_channel_prune): no reward measured
 *   before the final fine-tune ranked strategies well at 25% of the MACs (rank correlation with
 *   the fine-tuned test accuracy -0.04 to 0.83 on fmnist_bn), the validation accuracy after it
 *   ranked them far better (0.75 and 0.86), so the search's best few are fine-tuned in full and
 *   the validation split decides. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/groups.h"
#include "engine/model/profile.h"
#include "learners/common/chanprune.h"
#include "learners/common/rlsearch.h"

#define CH_S_DIMS 8

struct ch_search {
    struct pf_rl_search base;
    struct pf_run *r;
    const struct pf_cp_spec *spec;
    struct pf_groups *g;
    struct pf_plan plan;     /* the strategy being built (consumers' prune ratios) */
    struct pf_profile *prof; /* over plan */
    int T;
    int *group;        /* T: group of each step */
    int *first;        /* T: first consumer (the step's layer) */
    int *C, *kmin, *k; /* T: channels, smallest keep count, current keep count */
    int *k0;           /* T: the decided keep counts, while filling */
    int round_to;
    double *feat;    /* T x 8: static features, normalised */
    double *uniform; /* T */
    uint64_t macs0, budget;
    double maxreduce;
    bool flops_reward;
    double noise_tol;
    bool fill;
    long ft_steps; /* roll-out fine-tune before the reward (0: none, PocketFlow's) */
    double ft_lr;
    long bn_batches; /* then batch-norm re-estimation (0: none, PocketFlow's) */
};

static bool prunable_kind(const struct pf_layer *l)
{
    return l->ops == &pf_layer_conv2d || l->ops == &pf_layer_dense;
}

/* Sets every consumer of step t's group that the uniform plan prunes to keep kk channels. */
static void set_keep(struct ch_search *c, int t, int kk)
{
    const struct pf_group *gr = &c->g->groups[c->group[t]];
    for (int j = 0; j < gr->n_consumers; j++) {
        int li = gr->consumers[j];
        if (!c->plan.layers[li].skip)
            c->plan.layers[li].prune_ratio = 1.0 - (double)kk / c->C[t];
    }
    c->k[t] = kk;
}

static uint64_t plan_macs(struct ch_search *c)
{
    pf_profile_update_all(c->prof);
    return c->prof->after.macs;
}

static int round_keep(const struct ch_search *c, int t, double kk)
{
    int q = c->round_to;
    int k = (int)lround(kk / q) * q;
    if (k < q)
        k = q;
    if (k > c->C[t])
        k = c->C[t];
    return k;
}

static void ch_begin(struct pf_rl_search *s, int rlout)
{
    (void)rlout;
    struct ch_search *c = (struct ch_search *)s;
    for (int t = 0; t < c->T; t++)
        set_keep(c, t, c->kmin[t]);
    c->maxreduce = 1.0;
}

static void ch_state(struct pf_rl_search *s, int t, float *st)
{
    struct ch_search *c = (struct ch_search *)s;
    for (int j = 0; j < CH_S_DIMS; j++)
        st[j] = (float)c->feat[(size_t)t * CH_S_DIMS + j];
    st[6] = (float)c->maxreduce;
}

static double ch_decide(struct pf_rl_search *s, int t, double a)
{
    struct ch_search *c = (struct ch_search *)s;
    int want = round_keep(c, t, a * c->C[t]);
    if (want < c->kmin[t])
        want = c->kmin[t];
    /* largest k in [kmin, want] that fits with every later step at its minimum */
    int lo = c->kmin[t], hi = want;
    set_keep(c, t, hi);
    if (plan_macs(c) > c->budget) {
        while (hi - lo > c->round_to) {
            int mid = lo + ((hi - lo) / 2 / c->round_to) * c->round_to;
            if (mid <= lo)
                mid = lo + c->round_to;
            set_keep(c, t, mid);
            if (plan_macs(c) <= c->budget)
                lo = mid;
            else
                hi = mid;
        }
        set_keep(c, t, lo);
    }
    c->maxreduce = (double)plan_macs(c) / (double)c->macs0;
    return (double)c->k[t] / c->C[t];
}

/* Every step raised lambda of the way from its decided count to all its channels: fits? */
static bool fill_fits(void *user, double lambda)
{
    struct ch_search *c = user;
    for (int t = 0; t < c->T; t++)
        set_keep(c, t, round_keep(c, t, c->k0[t] + lambda * (c->C[t] - c->k0[t])));
    return plan_macs(c) <= c->budget;
}

static void ch_complete(struct pf_rl_search *s, double *values)
{
    struct ch_search *c = (struct ch_search *)s;
    if (!c->fill || c->flops_reward)
        return;
    memcpy(c->k0, c->k, (size_t)c->T * sizeof *c->k0);
    fill_fits(c, pf_rl_bisect(0.0, 1.0, fill_fits, c));
    for (int t = 0; t < c->T; t++)
        values[t] = (double)c->k[t] / c->C[t];
}

static void ch_to_plan(const struct pf_rl_search *s, const double *v, struct pf_plan *plan)
{
    const struct ch_search *c = (const struct ch_search *)s;
    plan->round_to = c->round_to;
    for (int t = 0; t < c->T; t++) {
        int kk = round_keep(c, t, v[t] * c->C[t]);
        const struct pf_group *gr = &c->g->groups[c->group[t]];
        for (int j = 0; j < gr->n_consumers; j++) {
            int li = gr->consumers[j];
            if (!c->plan.layers[li].skip)
                plan->layers[li].prune_ratio = 1.0 - (double)kk / c->C[t];
            plan->layers[li].skip = c->plan.layers[li].skip;
        }
    }
}

static int ch_evaluate(struct pf_rl_search *s, const double *v, int rlout, double *reward,
                       double *budget)
{
    /* selection samples the same images every roll-out (the run's seed); the fine-tune's
     * batches follow (seed, roll-out), as the sparsity search's do */
    struct ch_search *c = (struct ch_search *)s;
    struct pf_run *r = c->r;
    struct pf_model *orig = r->model, *copy = NULL;
    struct pf_plan plan = {0};
    int rc = pf_plan_init(&plan, orig);
    if (rc < 0)
        return rc;
    ch_to_plan(s, v, &plan);
    if ((rc = pf_model_clone(orig, &copy)) < 0) {
        pf_plan_deinit(&plan);
        return rc;
    }
    struct pf_cp_spec spec = *c->spec;
    spec.finetune = false;
    spec.between = NULL;
    spec.chunk = 0;
    spec.quiet = true;
    r->model = copy;
    r->plan = &plan;
    rc = pf_chanprune_run(r, &spec, NULL);
    if (rc == 0)
        rc = pf_rl_finetune(r, r->model, c->ft_steps, c->ft_lr, pf_rl_rlout_seed(r, rlout));
    if (rc == 0)
        rc = pf_rl_bn_recalibrate(r, r->model, c->bn_batches, pf_rl_rlout_seed(r, -1));
    double acc = 0.0;
    if (rc == 0)
        rc = pf_rl_val_accuracy(r, s, &acc);
    struct pf_count cnt;
    pf_model_count(r->model, &cnt);
    r->model = orig;
    r->plan = NULL;
    pf_model_free(copy);
    pf_plan_deinit(&plan);
    if (rc < 0)
        return rc;
    *budget = (double)cnt.macs / (double)c->macs0;
    *reward = c->flops_reward ? -fmax(c->noise_tol, 1.0 - acc) * log((double)cnt.macs) : acc;
    return 0;
}

static bool uniform_fits(void *user, double u)
{
    struct ch_search *c = user;
    for (int t = 0; t < c->T; t++)
        set_keep(c, t, round_keep(c, t, u * c->C[t]));
    return plan_macs(c) <= c->budget;
}

static void ch_free(struct ch_search *c)
{
    pf_profile_free(c->prof);
    pf_plan_deinit(&c->plan);
    pf_groups_free(c->g);
    free(c->group);
    free(c->first);
    free(c->C);
    free(c->kmin);
    free(c->k);
    free(c->k0);
    free(c->feat);
    free(c->uniform);
}

/* Steps from the uniform plan: the free groups read by a conv / dense layer it prunes. */
static int ch_setup(struct ch_search *c, double preserve)
{
    struct pf_run *r = c->r;
    const struct pf_model *m = r->model;
    const struct pf_cp_spec *spec = c->spec;
    int rc = pf_chanprune_plan(r, 0.5, spec->skip_first, spec->skip_last, spec->skip_names,
                               spec->round_to, &c->plan);
    if (rc < 0 || (rc = pf_groups_build(m, &c->g)) < 0)
        return rc;
    c->round_to = c->plan.round_to < 1 ? 1 : c->plan.round_to;
    int G = c->g->n_groups;
    c->group = pf_malloc((size_t)(G ? G : 1) * sizeof *c->group);
    c->first = pf_malloc((size_t)(G ? G : 1) * sizeof *c->first);
    if (!c->group || !c->first)
        return -PF_ENOMEM;
    for (int i = 0; i < m->n_layers; i++) {
        if (!prunable_kind(&m->layers[i]) || c->plan.layers[i].prune_ratio <= 0.0)
            continue;
        int gi = pf_groups_in_group(c->g, m, i);
        bool seen = false;
        for (int t = 0; t < c->T; t++)
            seen |= c->group[t] == gi;
        if (gi < 0 || seen)
            continue;
        c->group[c->T] = gi;
        c->first[c->T++] = i;
    }
    if (!c->T)
        return PF_ERR(PF_EINVAL, "auto mode: the model has no channel group to prune (after the "
                                 "skip rules)");
    int T = c->T;
    c->C = pf_malloc((size_t)T * sizeof *c->C);
    c->kmin = pf_malloc((size_t)T * sizeof *c->kmin);
    c->k = pf_malloc((size_t)T * sizeof *c->k);
    c->k0 = pf_malloc((size_t)T * sizeof *c->k0);
    c->feat = pf_calloc((size_t)T * CH_S_DIMS, sizeof *c->feat);
    c->uniform = pf_malloc((size_t)T * sizeof *c->uniform);
    if (!c->C || !c->kmin || !c->k || !c->k0 || !c->feat || !c->uniform)
        return -PF_ENOMEM;
    double lbound = 1.5 * log10(1.0 + preserve);
    if (lbound > 1.0)
        lbound = 1.0;
    for (int t = 0; t < T; t++) {
        c->C[t] = c->g->groups[c->group[t]].channels;
        c->kmin[t] = round_keep(c, t, lbound * c->C[t]);
    }
    /* every entry the uniform plan set is replaced by the search's own */
    for (int i = 0; i < m->n_layers; i++)
        c->plan.layers[i].prune_ratio = 0.0;
    if ((rc = pf_profile_new(m, c->g, &c->plan, &c->prof)) < 0)
        return rc;
    c->macs0 = c->prof->before.macs;
    c->budget = (uint64_t)floor(preserve * (double)c->macs0);
    for (int t = 0; t < T; t++)
        set_keep(c, t, c->kmin[t]);
    uint64_t least = plan_macs(c);
    if (least > c->budget)
        return PF_ERR(PF_EINVAL,
                      "%s: preserve ratio %g is out of reach: with every prunable group at its "
                      "smallest ratio (%.3f, PocketFlow's 1.5 log10(1 + p)) the model keeps %.1f%% "
                      "of its MACs (layers the skip rules leave alone count in full)",
                      spec->name, preserve, lbound, 100.0 * (double)least / (double)c->macs0);
    /* static features, then each column divided by its max */
    for (int t = 0; t < T; t++) {
        const struct pf_layer *l = &m->layers[c->first[t]];
        double *f = &c->feat[(size_t)t * CH_S_DIMS];
        struct pf_count cnt = {0};
        if (l->ops->count)
            l->ops->count(l, &cnt);
        int stride = 1;
        if (l->ops == &pf_layer_conv2d) {
            struct pf_conv_desc d;
            if (pf_conv2d_geometry(l, 1, &d) == 0)
                stride = d.stride_h;
        }
        f[0] = t;
        f[1] = l->out.c;
        f[2] = c->C[t];
        f[3] = l->out.h;
        f[4] = l->out.w;
        f[5] = stride;
        f[6] = 1.0;
        f[7] = (double)cnt.macs;
    }
    pf_rl_scale_columns(c->feat, T, CH_S_DIMS, 0, 6); /* column 6, maxreduce, is dynamic */
    pf_rl_scale_columns(c->feat, T, CH_S_DIMS, 7, 8);
    double u = pf_rl_bisect(0.0, 1.0, uniform_fits, c);
    uniform_fits(c, u);
    for (int t = 0; t < T; t++)
        c->uniform[t] = (double)c->k[t] / c->C[t];
    pf_run_log(r,
               "auto mode: %d channel groups, budget %.1f%% of %llu MACs, ratios in "
               "[%.3f, 1]; the uniform strategy at this budget keeps %.3f of each group",
               T, 100.0 * preserve, (unsigned long long)c->macs0, lbound, u);
    return 0;
}

static void ch_destroy(struct pf_rl_search *s)
{
    ch_free((struct ch_search *)s);
    free(s);
}

int pf_rl_channel_new(struct pf_run *r, const struct pf_cp_spec *spec, double preserve,
                      int rlouts_min, bool flops_reward, double noise_tol, bool fill,
                      struct pf_rl_search **out)
{
    *out = NULL;
    if (r->plan)
        return PF_ERR(PF_EINVAL, "auto mode searches the per-layer ratios itself: drop --plan "
                                 "(or use the list mode with it)");
    struct ch_search *c = pf_calloc(1, sizeof *c);
    if (!c)
        return -PF_ENOMEM;
    c->r = r;
    c->spec = spec;
    c->flops_reward = flops_reward;
    c->noise_tol = noise_tol;
    c->fill = fill;
    int rc = ch_setup(c, preserve);
    if (rc < 0) {
        ch_destroy(&c->base);
        return rc;
    }
    double lbound = fmin(1.0, 1.5 * log10(1.0 + preserve));
    c->base = (struct pf_rl_search){
        .kind = "channel",
        .value = "preserve ratio",
        .n_steps = c->T,
        .s_dims = CH_S_DIMS,
        .a_min = lbound < 1.0 ? lbound : 0.999,
        .a_max = 1.0,
        .buf_size = c->T * rlouts_min,
        .train_per_rlout = c->T,
        .target = preserve,
        .acc_reward = !flops_reward,
        .layer = c->first,
        .uniform = c->uniform,
        .begin = ch_begin,
        .state = ch_state,
        .decide = ch_decide,
        .complete = ch_complete,
        .evaluate = ch_evaluate,
        .to_plan = ch_to_plan,
        .destroy = ch_destroy,
    };
    *out = &c->base;
    return 0;
}

/* The search with the learner's options (pf_rl_channel_prune). *plans (n_plans of them, each
 * with pf_plan_deinit and free, then free(*plans)): the best strategy; with n_fin > 0 the uniform
 * one first, then the search's n_fin best distinct ones (fewer when it found fewer), whose
 * rewards are (*rewards)[0 .. n_plans - 2]. A cancelled search returns its best so far, alone,
 * with -PF_ECANCELLED. */
static int channel_search(struct pf_run *r, const struct pf_cp_spec *spec, const char *prefix,
                          int n_fin, struct pf_plan ***plans, double **rewards, int *n_plans)
{
    enum { PRESERVE, RLOUTS_MIN, POLICY, NOISE_TOL, FILL, RLOUTS, FT_STEPS, FT_LR, BN, N_KEYS };
    static const char *const names[N_KEYS] = {
        "preserve_ratio",    "nb_rlouts_min",     "reward_policy",
        "noise_tolerance",   "fill_budget",       "nb_rlouts",
        "nb_iters_ft_rlout", "lrn_rate_ft_rlout", "nb_batches_bn_rlout"};
    const struct pf_opts *o = &r->opts;
    char key[N_KEYS][48];
    for (int i = 0; i < N_KEYS; i++)
        snprintf(key[i], sizeof key[i], "%s%s", prefix, names[i]);
    *plans = NULL;
    *rewards = NULL;
    *n_plans = 0;
    struct pf_rl_search *s = NULL;
    int rc = pf_rl_channel_new(r, spec, pf_opts_float(o, key[PRESERVE]),
                               (int)pf_opts_int(o, key[RLOUTS_MIN]),
                               !strcmp(pf_opts_str(o, key[POLICY]), "flops"),
                               pf_opts_float(o, key[NOISE_TOL]), pf_opts_bool(o, key[FILL]), &s);
    if (rc < 0)
        return rc;
    struct ch_search *c = (struct ch_search *)s;
    c->ft_steps = pf_opts_int(o, key[FT_STEPS]);
    c->ft_lr = pf_opts_float(o, key[FT_LR]);
    c->bn_batches = pf_opts_int(o, key[BN]);
    bool has_bn = false;
    for (int i = 0; i < r->model->n_layers; i++)
        has_bn |= pf_layer_is(&r->model->layers[i], "batchnorm");
    if (c->bn_batches > 0 && !has_bn) {
        pf_rl_search_free(s);
        return PF_ERR(PF_EINVAL,
                      "--%s: %s has no batch-norm layer whose statistics it could "
                      "re-estimate (drop it)",
                      key[BN], r->model->name);
    }
    int n = 0;
    if (c->ft_steps > 0)
        n = snprintf(s->reward_desc, sizeof s->reward_desc, "after %ld Adam steps at %g",
                     c->ft_steps, c->ft_lr);
    if (n < 0 || n >= (int)sizeof s->reward_desc)
        n = 0; /* cannot happen for the options' ranges; never write past the buffer */
    if (c->bn_batches > 0)
        snprintf(s->reward_desc + n, sizeof s->reward_desc - (size_t)n,
                 "%safter batch-norm re-estimation on %ld batches", n ? ", then " : "",
                 c->bn_batches);
    if (s->reward_desc[0])
        pf_run_log(r, "auto mode: each roll-out's pruned copy is rewarded %s", s->reward_desc);
    int T = s->n_steps, done = 0;
    double *best = pf_calloc((size_t)T, sizeof *best);
    double *top = pf_calloc((size_t)(n_fin > 0 ? n_fin : 1) * T, sizeof *top);
    double *top_r = pf_calloc((size_t)(n_fin > 0 ? n_fin : 1), sizeof *top_r);
    struct pf_plan **pl = pf_calloc((size_t)(n_fin > 0 ? n_fin : 0) + 1, sizeof *pl);
    if (!best || !top || !top_r || !pl) {
        rc = -PF_ENOMEM;
        goto out;
    }
    s->n_top = n_fin;
    s->top = top;
    s->top_reward = top_r;
    rc = pf_rl_run(r, s, (int)pf_opts_int(o, key[RLOUTS]), best, &done);
    if (rc < 0 && !(rc == -PF_ECANCELLED && done > 0))
        goto out;
    int want = rc == 0 && n_fin > 0 ? 1 + s->n_kept : 1;
    for (int i = 0; i < want; i++) {
        const double *v = want == 1 ? best : i == 0 ? c->uniform : &top[(size_t)(i - 1) * T];
        int rc2 = pf_rl_plan_new(r, s, v, &pl[i]);
        if (rc2 < 0) {
            rc = rc2;
            goto out;
        }
        *n_plans = i + 1;
    }
    *plans = pl;
    *rewards = top_r;
    pl = NULL;
    top_r = NULL;
out:
    for (int i = 0; pl && i < *n_plans; i++) {
        pf_plan_deinit(pl[i]);
        free(pl[i]);
    }
    if (pl)
        *n_plans = 0;
    free(pl);
    free(top_r);
    free(top);
    free(best);
    s->top = s->top_reward = NULL;
    pf_rl_search_free(s);
    return rc;
}

/* The finalists (rlsearch.h, pf_rl_channel_prune): plans[0] the uniform strategy, plans[1..] the
 * search's best by reward (plans[i]'s is rewards[i - 1]), each run through the list procedure
 * from a copy of the model. */
static int finalists(struct pf_run *r, const struct pf_cp_spec *spec, struct pf_plan **plans,
                     const double *rewards, int n)
{
    struct pf_model *orig = r->model, *keep = NULL;
    long nv = (long)r->n_val;
    double p = pf_opts_float(&r->opts, "rl_uniform_p"), keep_acc = 0.0, uni_acc = 0.0;
    int keep_i = -1, rc = 0;
    int *pred = pf_malloc((size_t)nv * sizeof *pred);
    uint8_t *right = pf_malloc((size_t)nv);
    if (!pred || !right)
        rc = -PF_ENOMEM;
    else
        pf_run_log(r,
                   "finalists: the uniform strategy and the search's %d best by reward, each "
                   "selected, rebuilt and fine-tuned; the most accurate on the %ld validation "
                   "images is kept, if it beats the uniform one by more than chance (sign test, "
                   "rl_uniform_p %g)",
                   n - 1, nv, p);
    for (int i = 0; i < n && rc == 0; i++) {
        struct pf_model *m = NULL;
        if (pf_run_stopped(r)) {
            rc = -PF_ECANCELLED;
            break;
        }
        if ((rc = pf_model_clone(orig, &m)) < 0)
            break;
        if (i == 0)
            pf_run_log(r, "finalist 1/%d: the uniform strategy", n);
        else
            pf_run_log(r, "finalist %d/%d: the search's #%d (reward %.4f)", i + 1, n, i,
                       rewards[i - 1]);
        r->model = m;
        r->plan = plans[i];
        r->step_base = i ? r->last_step + 1 : 0; /* this one's curves after the last one's */
        rc = pf_chanprune_run(r, spec, NULL);
        r->step_base = 0;
        r->model = orig;
        r->plan = NULL;
        if (rc == -PF_ECANCELLED && !keep) { /* nothing finished yet: keep what this one did */
            keep = m;
            keep_i = i;
            break;
        }
        struct pf_eval_result res;
        if (rc == 0)
            rc = pf_evaluate(m, r->train, r->val_idx, (uint32_t)nv, 100, &res, pred);
        if (rc < 0) {
            pf_model_free(m);
            break;
        }
        long won = 0, differ = 0;
        double pv = 1.0;
        if (i == 0) {
            pf_rl_right(r, nv, pred, right);
            uni_acc = res.accuracy;
        } else {
            pv = pf_rl_vs_uniform(r, nv, right, pred, &won, &differ);
        }
        bool take = i == 0 || (res.accuracy > keep_acc && (p >= 1.0 || (differ > 0 && pv <= p)));
        pf_run_metric(r, i, "rl_final_acc", res.accuracy);
        if (i == 0)
            pf_run_log(r, "finalist 1/%d: validation accuracy %.4f", n, res.accuracy);
        else
            pf_run_log(r,
                       "finalist %d/%d: validation accuracy %.4f; of the %ld images it and the "
                       "uniform strategy classify differently it gets %ld right and uniform %ld "
                       "(sign test p = %.3g)%s",
                       i + 1, n, res.accuracy, differ, won, differ - won, pv,
                       take ? ": the best so far" : "");
        if (take) {
            pf_model_free(keep);
            keep = m;
            keep_i = i;
            keep_acc = res.accuracy;
        } else {
            pf_model_free(m);
        }
    }
    free(pred);
    free(right);
    if (rc < 0 && rc != -PF_ECANCELLED) {
        pf_model_free(keep);
        return rc;
    }
    if (!keep)
        return rc; /* cancelled before the first finalist: the model is as loaded */
    if (r->dir[0]) {
        char path[1100];
        snprintf(path, sizeof path, "%s/rl/final.plan.yaml", r->dir);
        int rc2 = pf_plan_save(plans[keep_i], orig, path);
        if (rc2 < 0) {
            pf_model_free(keep);
            return rc2;
        }
    }
    if (rc == 0 && keep_i == 0)
        pf_run_log(r,
                   "finalists: the uniform strategy is kept (no finalist was more accurate on the "
                   "validation split%s)",
                   p < 1.0 ? " by more than chance" : "");
    else if (rc == 0)
        pf_run_log(r,
                   "finalists: kept finalist %d, the search's #%d by reward: validation accuracy "
                   "%.4f against the uniform strategy's %.4f",
                   keep_i + 1, keep_i, keep_acc, uni_acc);
    pf_model_free(orig);
    r->model = keep;
    return rc;
}

int pf_rl_channel_prune(struct pf_run *r, const struct pf_cp_spec *spec, const char *prefix,
                        const char *save_ws)
{
    char key[48], ws_key[48];
    snprintf(key, sizeof key, "%snb_finalists", prefix);
    snprintf(ws_key, sizeof ws_key, "%ssave_path_ws", prefix);
    int n_fin = (int)pf_opts_int(&r->opts, key);
    if (n_fin > 0 && save_ws && save_ws[0])
        return PF_ERR(PF_EINVAL,
                      "--%s: every finalist is selected and fine-tuned in turn, so there is no "
                      "one channel-selected model for --%s to keep (drop one of them)",
                      key, ws_key);
    struct pf_plan **plans = NULL;
    double *rewards = NULL;
    int n = 0;
    int rc = channel_search(r, spec, prefix, n_fin, &plans, &rewards, &n);
    if (rc == 0 && n == 1) {
        if (n_fin > 0)
            pf_run_log(r, "finalists: the search found no strategy other than the uniform one");
        r->plan = plans[0];
        rc = pf_chanprune_run(r, spec, save_ws);
        r->plan = NULL;
    } else if (rc == 0) {
        rc = finalists(r, spec, plans, rewards, n);
    } /* a cancelled search prunes nothing; rl/best.plan.yaml keeps its best so far */
    for (int i = 0; i < n; i++) {
        pf_plan_deinit(plans[i]);
        free(plans[i]);
    }
    free(plans);
    free(rewards);
    return rc;
}
