/* weight_sparse.c: `weight-sparse`, PocketFlow's WeightSparseLearner
 * (learners/weight_sparsification/learner.py): gradual magnitude pruning after Zhu & Gupta
 * (2017). Every conv2d / dense weight gets a mask; along the fine-tune the target sparsity rises
 * on the cubic schedule s_t = s_f (1 - (1 - (t - t_b) / (t_e - t_b))^alpha) from t_b =
 * ws_iter_ratio_beg * T to t_e = ws_iter_ratio_end * T, with a mask update every
 * ws_mask_update_step steps. An update takes the backup (the last live value of every weight,
 * so a pruned weight can come back), prunes its smallest magnitudes, zeroes the pruned weights
 * and resets the optimizer's momentum. Gradients of pruned weights are masked and the optimizer
 * keeps them at exactly zero (optim.h). Per-layer final sparsity: ws_prune_ratio everywhere
 * (`uniform`), PocketFlow's `heurist` (alpha ln n), or the run's plan.
 * Differences from PocketFlow: it starts from the trained model (PocketFlow restarted from
 * random weights: ws_enbl_rand_init); a ramp shorter than 10 mask updates gets a shorter update
 * interval (logged); the `optimal` protocol's rewards come from a fixed validation sample
 * (rl_nb_smpls_eval images, not ws_nb_iters_feval batches) and no layers are fixed at 0.

 * `optimal`: a DDPG search of per-tensor sparsities first (common/rl_sparsity.c), whose best
 * strategy becomes the plan of the gradual pruning. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/plan.h"
#include "learners/common/compress.h"
#include "learners/common/masks.h"
#include "learners/common/rlsearch.h"
#include "learners/learner.h"

#define WS_MAX_LAYER_SPARSITY 0.99 /* heurist cap: a layer keeps at least 1% of its weights */
#define WS_MIN_UPDATES        10   /* mask updates a ramp should have at least */

static const struct pf_opt_spec ws_opts[] = {
    {"ws_prune_ratio", PF_OPT_FLOAT, "0.75", 0.0, 1.0, NULL,
     "target overall sparsity: fraction of conv / dense weights set to zero, [0, 1)"},
    {"ws_prune_ratio_prtl", PF_OPT_ENUM, "uniform", 0, 0, "uniform|heurist|optimal",
     "per-layer ratios: same everywhere, alpha ln(n) (bigger layers more), or a DDPG search"},
    {"ws_prune_ratio_exp", PF_OPT_FLOAT, "3.0", 1.0, 100.0, NULL,
     "exponent alpha of the cubic schedule"},
    {"ws_iter_ratio_beg", PF_OPT_FLOAT, "0.1", 0.0, 1.0, NULL,
     "start of the sparsity ramp, as a fraction of the fine-tune steps"},
    {"ws_iter_ratio_end", PF_OPT_FLOAT, "0.5", 0.0, 1.0, NULL,
     "end of the ramp (target reached), as a fraction of the fine-tune steps"},
    {"ws_mask_update_step", PF_OPT_INT, "500", 1, 100000000, NULL,
     "steps between mask updates during the ramp"},
    {"ws_enbl_rand_init", PF_OPT_BOOL, "False", 0, 0, NULL,
     "restart from random weights, as PocketFlow did (default: from the trained model)"},
    {"ws_nb_rlouts", PF_OPT_INT, "200", 1, 1000000, NULL, "optimal: RL roll-outs"},
    {"ws_nb_rlouts_min", PF_OPT_INT, "50", 1, 1000000, NULL,
     "optimal: roll-outs that fill the agent's buffer before it trains"},
    {"ws_reward_type", PF_OPT_ENUM, "single-obj", 0, 0, "single-obj|multi-obj",
     "optimal: reward = accuracy, or accuracy x ln(1 + sparsity)"},
    {"ws_lrn_rate_rg", PF_OPT_FLOAT, "3e-2", 1e-9, 10, NULL,
     "optimal: Adam rate of each roll-out's layer-wise regression"},
    {"ws_nb_iters_rg", PF_OPT_INT, "20", 0, 1000000, NULL,
     "optimal: layer-wise regression steps per roll-out"},
    {"ws_lrn_rate_ft", PF_OPT_FLOAT, "3e-4", 1e-9, 10, NULL,
     "optimal: Adam rate of each roll-out's fine-tune"},
    {"ws_nb_iters_ft", PF_OPT_INT, "400", 0, 100000000, NULL,
     "optimal: fine-tune steps per roll-out (masked, task loss)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct ws_state {
    struct pf_run *r;
    struct pf_wtarget *t;
    int n;
    float **backup;       /* per target: last live value of every weight */
    long t_b, t_e, every; /* ramp and update interval, in steps */
    double alpha;
    int summ_step;
};

/* Per-layer final sparsities from the protocol or the plan. */
static int choose_ratios(struct ws_state *s, double pr, const char *prtl)
{
    struct pf_run *r = s->r;
    if (pf_plan_drives(r, 's')) {
        for (int k = 0; k < s->n; k++) {
            struct pf_plan_layer e = pf_plan_effective(r->plan, r->model, s->t[k].layer);
            s->t[k].sparsity = e.sparsity;
        }
        pf_run_log(r, "weight-sparse: per-layer sparsity from the plan");
        return 0;
    }
    for (int k = 0; k < s->n; k++)
        s->t[k].sparsity = pr;
    if (!strcmp(prtl, "heurist")) {
        size_t *sz = pf_malloc((size_t)s->n * sizeof *sz);
        double *out = pf_malloc((size_t)s->n * sizeof *out);
        int rc = sz && out ? 0 : -PF_ENOMEM;
        for (int k = 0; rc == 0 && k < s->n; k++)
            sz[k] = s->t[k].numel;
        if (rc == 0 && (rc = pf_sparsity_heurist(sz, s->n, pr, WS_MAX_LAYER_SPARSITY, out)) == 0)
            for (int k = 0; k < s->n; k++)
                s->t[k].sparsity = out[k];
        free(sz);
        free(out);
        if (rc < 0)
            return rc;
    }
    /* a plan without sparsities may still skip layers */
    for (int k = 0; r->plan && k < s->n; k++)
        if (pf_plan_skipped(r->plan, r->model, s->t[k].layer))
            s->t[k].sparsity = 0.0;
    return 0;
}

/* Masks of every target at schedule step t (or at the final sparsity with t < 0). */
static int update_masks(struct ws_state *s, long t)
{
    for (int k = 0; k < s->n; k++) {
        struct pf_param *p = s->t[k].p;
        float *w = pf_tensor_f32(&p->w), *b = s->backup[k];
        size_t n = s->t[k].numel;
        double target = t < 0 ? s->t[k].sparsity
                              : pf_sparsity_schedule(t, s->t_b, s->t_e, s->t[k].sparsity, s->alpha);
        for (size_t j = 0; j < n; j++) /* the backup follows the live weights */
            if (p->mask[j])
                b[j] = w[j];
        long rc = pf_mask_magnitude(b, n, target, p->mask);
        if (rc < 0)
            return (int)rc;
        for (size_t j = 0; j < n; j++)
            w[j] = p->mask[j] ? b[j] : 0.0f;
    }
    return 0;
}

static int ws_before_update(struct pf_model *m, struct pf_optim *o, long step, float lr, void *u)
{
    struct ws_state *s = u;
    (void)m, (void)o, (void)step, (void)lr;
    for (int k = 0; k < s->n; k++) { /* masked gradients: pruned weights get no momentum */
        struct pf_param *p = s->t[k].p;
        float *g = pf_tensor_f32(&p->g);
        for (size_t j = 0; j < s->t[k].numel; j++)
            if (!p->mask[j])
                g[j] = 0.0f;
    }
    return 0;
}

static int ws_after_update(struct pf_model *m, struct pf_optim *o, long step, float lr, void *u)
{
    struct ws_state *s = u;
    (void)m, (void)lr;
    long t = step + 1; /* steps done */
    bool due = t >= s->t_b && t <= s->t_e && ((t - s->t_b) % s->every == 0 || t == s->t_e);
    if (due) {
        int rc = update_masks(s, t);
        if (rc < 0)
            return rc;
        pf_optim_reset(o);
    }
    if (t % s->summ_step == 0 || due)
        pf_emit_compression(s->r, t, s->t, s->n, false);
    return 0;
}

static int ws_train(struct pf_run *r)
{
    struct ws_state s = {.r = r};
    int rc;
    double pr = pf_opts_float(&r->opts, "ws_prune_ratio");
    if (!(pr < 1.0))
        return PF_ERR(PF_EINVAL,
                      "ws_prune_ratio = %g is outside [0, 1): at least one weight "
                      "per layer must stay",
                      pr);
    double beg = pf_opts_float(&r->opts, "ws_iter_ratio_beg");
    double end = pf_opts_float(&r->opts, "ws_iter_ratio_end");
    if (end < beg)
        return PF_ERR(PF_EINVAL, "ws_iter_ratio_end = %g is before ws_iter_ratio_beg = %g", end,
                      beg);
    struct pf_plan *own = NULL;
    if (!strcmp(pf_opts_str(&r->opts, "ws_prune_ratio_prtl"), "optimal")) {
        struct pf_rl_search *rs = NULL;
        if ((rc = pf_rl_sparsity_new(r, pr, &rs)) < 0)
            return rc;
        rc = pf_rl_search_plan(r, rs, (int)pf_opts_int(&r->opts, "ws_nb_rlouts"), &own);
        pf_rl_search_free(rs);
        if (rc < 0) { /* cancelled: rl/best.plan.yaml keeps the best so far */
            if (own)
                pf_plan_deinit(own);
            free(own);
            return rc;
        }
        r->plan = own; /* the best strategy drives the gradual pruning below */
    }
    if ((rc = pf_wtargets_list(r->model, &s.t, &s.n)) < 0)
        goto out;
    if (s.n == 0) {
        rc = PF_ERR(PF_EINVAL, "%s has no conv2d or dense weights to sparsify", r->model->name);
        goto out;
    }
    if ((rc = choose_ratios(&s, pr, pf_opts_str(&r->opts, "ws_prune_ratio_prtl"))) < 0)
        goto out;
    for (int k = 0; k < s.n; k++)
        if (!(s.t[k].sparsity >= 0.0 && s.t[k].sparsity < 1.0)) {
            rc = PF_ERR(PF_EINVAL, "%s: sparsity %g is outside [0, 1)",
                        r->model->layers[s.t[k].layer].name, s.t[k].sparsity);
            goto out;
        }
    if (pf_opts_bool(&r->opts, "ws_enbl_rand_init")) {
        pf_model_init_params(r->model, (unsigned long long)pf_opts_int(&r->opts, "seed"));
        pf_run_log(r, "weight-sparse: restarting from random weights (ws_enbl_rand_init)");
    }
    if (!(s.backup = pf_calloc((size_t)s.n, sizeof *s.backup))) {
        rc = -PF_ENOMEM;
        goto out;
    }
    for (int k = 0; k < s.n; k++) {
        struct pf_param *p = s.t[k].p;
        if (!p->mask && !(p->mask = pf_malloc(s.t[k].numel))) {
            rc = -PF_ENOMEM;
            goto out;
        }
        if (!(s.backup[k] = pf_malloc(s.t[k].numel * sizeof(float)))) {
            rc = -PF_ENOMEM;
            goto out;
        }
        memset(p->mask, 1, s.t[k].numel); /* start dense: the schedule starts at 0 */
        memcpy(s.backup[k], p->w.data, s.t[k].numel * sizeof(float));
        pf_run_log(r, "weight-sparse: %s: %zu weights, target sparsity %.4f",
                   r->model->layers[s.t[k].layer].name, s.t[k].numel, s.t[k].sparsity);
    }

    struct pf_train_cfg c;
    pf_run_train_cfg(r, &c);
    long T = c.epochs * c.nb_epochs_rat > 0.0 ? pf_train_total_steps(&c, r->n_train) : 0;
    s.t_b = (long)(beg * (double)T);
    s.t_e = (long)(end * (double)T);
    s.alpha = pf_opts_float(&r->opts, "ws_prune_ratio_exp");
    s.every = pf_opts_int(&r->opts, "ws_mask_update_step");
    s.summ_step = (int)pf_opts_int(&r->opts, "summ_step");
    long ramp = s.t_e - s.t_b;
    if (T > 0 && ramp / WS_MIN_UPDATES < s.every) {
        long every = ramp / WS_MIN_UPDATES > 1 ? ramp / WS_MIN_UPDATES : 1;
        pf_run_log(r,
                   "weight-sparse: the ramp has %ld steps: mask updates every %ld steps "
                   "instead of ws_mask_update_step = %ld",
                   ramp, every, s.every);
        s.every = every;
    }
    pf_run_log(r, "weight-sparse: ramp from step %ld to %ld of %ld, alpha %g", s.t_b, s.t_e, T,
               s.alpha);
    pf_emit_compression(r, 0, s.t, s.n, false);
    struct pf_train_hooks h = {
        .before_update = ws_before_update, .after_update = ws_after_update, .user = &s};
    c.hooks = &h;
    rc = pf_run_finetune_cfg(r, "weight-sparse fine-tune", &c);
    if (rc < 0 && rc != -PF_ECANCELLED)
        goto out;
    int cancelled = rc == -PF_ECANCELLED;
    if (!cancelled) {
        /* the ramp ends at t_e <= T; without fine-tuning (or a ramp that never ran) the masks
         * go straight to the target: one-shot magnitude pruning */
        bool reached = T > 0 && s.t_e >= 1 && s.t_e <= T;
        if (!reached && (rc = update_masks(&s, -1)) < 0)
            goto out;
    }
    long step = r->last_step;
    pf_emit_compression(r, step, s.t, s.n, false);
    for (int k = 0; k < s.n; k++) {
        struct pf_event e = {.run_id = r->id, .step = step, .kind = PF_EV_LAYER_DONE};
        const char *ln = r->model->layers[s.t[k].layer].name;
        snprintf(e.name, sizeof e.name, "%.31s", ln);
        e.value = pf_mask_sparsity(s.t[k].p->mask, s.t[k].numel);
        snprintf(e.text, sizeof e.text, "sparsity %.4f (target %.4f) of %zu weights", e.value,
                 s.t[k].sparsity, s.t[k].numel);
        pf_run_emit(r, &e);
    }
    rc = cancelled ? -PF_ECANCELLED : 0;
out:
    for (int k = 0; s.backup && k < s.n; k++)
        free(s.backup[k]);
    free(s.backup);
    free(s.t);
    if (own) {
        pf_plan_deinit(own);
        free(own);
        r->plan = NULL;
    }
    return rc;
}

const struct pf_learner_ops pf_learner_weight_sparse = {
    .name = "weight-sparse",
    .summary = "gradual magnitude pruning of weights (Zhu & Gupta), masks saved in the model",
    .prefix = "ws_",
    .opts = ws_opts,
    .train = ws_train,
    .rl = true,
};
