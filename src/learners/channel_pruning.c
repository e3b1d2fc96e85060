/* channel_pruning.c: `channel` (CP), PocketFlow's ChannelPrunedLearner
 * (learners/channel_pruning/learner.py, model_wrapper.py): He et al. 2017, "Channel Pruning for
 * Accelerating Very Deep Neural Networks".
 *
 * Per channel group in model order: sample cp_nb_batches x batch_size images at
 * cp_nb_points_per_layer positions; select channels by LASSO (coordinate descent standing in for
 * PocketFlow's LARS, same problem) with PocketFlow's alpha search and tolerance band, or by the
 * L1 norm of the consumer's input slices (cp_lasso = False); rebuild the consumers' kernels by
 * least squares; remove the channels from the model. Group fine-tuning as PocketFlow's: after
 * every cp_list_group pruned groups, Adam at cp_lrn_rate_ft for cp_nb_iters_ft_ratio of the
 * schedule (cp_finetune) or the full schedule (cp_retrain, or neither flag), then the targets are
 * re-extracted from the tuned model; the last group always gets the full schedule.
 * Modes: uniform (cp_uniform_preserve_ratio, a PRESERVE ratio as in PocketFlow) or list
 * (cp_prune_list_file, PocketFlow's ratio.list; or the run's --plan) or auto: a DDPG search of
 * per-group preserve ratios keeping cp_preserve_ratio of the MACs (common/rl_channel.c), whose
 * best strategy then goes through the list procedure (with cp_nb_finalists, the best few and the
 * uniform one each do, and the most accurate on the validation split is kept). The default is
 * `uniform` (PocketFlow's is auto, whose search takes cp_nb_rlouts prunings before anything is
 * fine-tuned). The targets of a residual branch's last conv are corrected at its add (PocketFlow's
 * residual_branch_diff, sum_original - sum_current; ours maps the difference back through the
 * batchnorm between and leaves out the conv's own error, see chanprune.h), so the refit aims at
 * the full model's add output and makes up for the error the shortcut carries by then.
 * cp_refit = False (ours) skips the reconstruction: with cp_lasso = False that is plain L1-norm
 * channel pruning, the baseline of bench/prune_results.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/model/plan.h"
#include "learners/common/chanprune.h"
#include "learners/common/compress.h"
#include "learners/common/lasso.h"
#include "learners/common/rlsearch.h"
#include "learners/learner.h"

#define CP_RIDGE           1e-6 /* relative ridge of the closed-form least squares */
#define CP_LASSO_POSITIONS 400  /* PocketFlow: min(400, P / 20) positions for the LASSO */

static const struct pf_opt_spec cp_opts[] = {
    {"cp_prune_option", PF_OPT_ENUM, "uniform", 0, 0, "uniform|list|auto",
     "per-layer ratios: uniform, from cp_prune_list_file, or auto (DDPG search under "
     "cp_preserve_ratio)"},
    {"cp_prune_list_file", PF_OPT_STR, "", 0, 0, NULL,
     "list mode: ratio.list, comma-separated PRESERVE ratios, one per conv2d in model order"},
    {"cp_uniform_preserve_ratio", PF_OPT_FLOAT, "0.6", 0.001, 1.0, NULL,
     "uniform mode: fraction of each conv's input channels kept"},
    {"cp_preserve_ratio", PF_OPT_FLOAT, "0.5", 0.001, 1.0, NULL,
     "auto mode: the budget, at most this fraction of the MACs kept"},
    {"cp_noise_tolerance", PF_OPT_FLOAT, "0.15", 0.0, 1.0, NULL,
     "auto mode: floor of the flops reward"},
    {"cp_fill_budget", PF_OPT_BOOL, "True", 0, 0, NULL,
     "auto mode: raise a strategy below the budget to it (False: PocketFlow's search)"},
    PF_RL_CHANNEL_FT_OPTS("cp_"),
    {"cp_lrn_rate_ft", PF_OPT_FLOAT, "1e-4", 1e-9, 10, NULL, "Adam rate of group fine-tuning"},
    {"cp_nb_iters_ft_ratio", PF_OPT_FLOAT, "0.2", 0.0, 1.0, NULL,
     "fraction of the schedule used by a group fine-tune"},
    {"cp_finetune", PF_OPT_BOOL, "False", 0, 0, NULL, "Adam fine-tune between layer groups"},
    {"cp_retrain", PF_OPT_BOOL, "False", 0, 0, NULL,
     "full re-training between layer groups instead"},
    {"cp_list_group", PF_OPT_INT, "1000", 1, 1000000, NULL,
     "channel groups pruned between fine-tunes (1000: all at once)"},
    {"cp_nb_rlouts", PF_OPT_INT, "200", 1, 1000000, NULL, "auto mode: RL roll-outs"},
    {"cp_nb_rlouts_min", PF_OPT_INT, "50", 1, 1000000, NULL,
     "auto mode: roll-outs before the agent trains"},
    {"cp_lasso", PF_OPT_BOOL, "True", 0, 0, NULL,
     "LASSO selection; False: keep the input channels of largest L1 norm"},
    {"cp_quadruple", PF_OPT_BOOL, "False", 0, 0, NULL, "kept channel counts multiples of 4"},
    {"cp_reward_policy", PF_OPT_ENUM, "accuracy", 0, 0, "accuracy|flops", "auto mode: reward"},
    {"cp_nb_points_per_layer", PF_OPT_INT, "10", 1, 10000, NULL,
     "sampled positions per image per layer"},
    {"cp_nb_batches", PF_OPT_INT, "30", 1, 100000, NULL,
     "training mini-batches sampled for selection and reconstruction"},
    {"cp_refit", PF_OPT_BOOL, "True", 0, 0, NULL,
     "least-squares reconstruction after selection (False: selection only; not PocketFlow's)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct cp_ctx {
    bool lasso, quadruple;
    bool finetune, retrain;
    double lrn_rate_ft, iters_ft_ratio;
};

/* PocketFlow's magnitude rule: the n_keep input channels of largest sum |W| over the
 * consumers' kernels (kh, kw, c_o). */
static void l1_keep(const struct pf_cp_stats *s, int n_keep, uint8_t *keep)
{
    double *score = calloc((size_t)s->C, sizeof *score);
    memset(keep, 0, (size_t)s->C);
    if (!score) { /* keep the first n_keep: still a valid (if arbitrary) selection */
        memset(keep, 1, (size_t)n_keep);
        return;
    }
    for (int u = 0; u < s->n_units; u++) {
        const struct pf_cp_unit *un = &s->units[u];
        for (int k = 0; k < un->K; k++)
            for (int j = 0; j < un->m; j++)
                score[j / un->B] += fabs(un->W[(size_t)k * un->m + j]);
    }
    for (int t = 0; t < n_keep; t++) {
        int best = -1;
        for (int j = 0; j < s->C; j++)
            if (!keep[j] && (best < 0 || score[j] > score[best]))
                best = j;
        keep[best] = 1;
    }
    free(score);
}

static int cp_select(struct pf_chanprune *cp, struct pf_cp_stats *s, int n_keep, uint8_t *keep,
                     void *user)
{
    const struct cp_ctx *c = user;
    const char *name = cp->m->layers[s->units[0].layer].name;
    if (!c->lasso) {
        l1_keep(s, n_keep, keep);
        pf_run_log(cp->r, "%s: kept the %d of %d input channels of largest L1 norm", name, n_keep,
                   s->C);
        return 0;
    }
    struct pf_lasso_search ls;
    int rc = pf_lasso_cd_select(s->FtF, s->Fty, s->C, n_keep, c->quadruple, keep, &ls);
    if (rc < 0)
        return rc;
    pf_run_log(cp->r, "%s: LASSO kept %d of %d channels (%d in the band), alpha %.4g, %d solves%s",
               name, n_keep, s->C, ls.nnz_found, ls.gamma, ls.trials,
               ls.ranked ? ", count made exact by |beta|" : "");
    return 0;
}

/* Group fine-tuning between layer groups, then new targets from the tuned model. */
static int cp_between(struct pf_chanprune *cp, int done, void *user)
{
    const struct cp_ctx *c = user;
    struct pf_train_cfg tc;
    pf_run_train_cfg(cp->r, &tc);
    char phase[64];
    snprintf(phase, sizeof phase, "group fine-tune after %d groups", done);
    if (c->finetune && !c->retrain) {
        tc.optim.kind = PF_OPTIM_ADAM;
        tc.sched.kind = PF_LR_CONSTANT;
        tc.sched.lrn_rate_init = c->lrn_rate_ft;
        tc.sched.batch_size_norm = tc.batch; /* Adam's rate is used as given */
        pf_train_cfg_set_epochs(&tc, tc.epochs * c->iters_ft_ratio);
    }
    int rc = pf_chanprune_finetune(cp, phase, &tc, NULL);
    if (rc < 0)
        return rc;
    return pf_chanprune_rebase(cp);
}

static int cp_train(struct pf_run *r)
{
    const struct pf_opts *o = &r->opts;
    const char *mode = pf_opts_str(o, "cp_prune_option");
    const char *list = pf_opts_str(o, "cp_prune_list_file");
    int rc;
    bool own_plan = false;
    if (!strcmp(mode, "list") && !r->plan) {
        if (!list[0])
            return PF_ERR(PF_EINVAL, "--cp_prune_option=list needs --cp_prune_list_file "
                                     "(comma-separated preserve ratios, one per conv2d)");
        if (!(r->plan = calloc(1, sizeof *r->plan)))
            return -PF_ENOMEM;
        own_plan = true;
        if ((rc = pf_plan_init(r->plan, r->model)) < 0 ||
            (rc = pf_plan_load(r->plan, r->model, list)) < 0)
            goto done;
        /* PocketFlow never prunes the first and last conv's inputs */
        int first = -1, last = -1;
        for (int i = 0; i < r->model->n_layers; i++)
            if (r->model->layers[i].ops == &pf_layer_conv2d) {
                first = first < 0 ? i : first;
                last = i;
            }
        if (first >= 0)
            r->plan->layers[first].prune_ratio = r->plan->layers[last].prune_ratio = 0.0;
        if (pf_opts_bool(o, "cp_quadruple"))
            r->plan->round_to = 4;
    }
    struct cp_ctx ctx = {
        .lasso = pf_opts_bool(o, "cp_lasso"),
        .quadruple = pf_opts_bool(o, "cp_quadruple"),
        .finetune = pf_opts_bool(o, "cp_finetune"),
        .retrain = pf_opts_bool(o, "cp_retrain"),
        .lrn_rate_ft = pf_opts_float(o, "cp_lrn_rate_ft"),
        .iters_ft_ratio = pf_opts_float(o, "cp_nb_iters_ft_ratio"),
    };
    int nb_smpls = (int)(pf_opts_int(o, "cp_nb_batches") * pf_opts_int(o, "batch_size"));
    int points = (int)pf_opts_int(o, "cp_nb_points_per_layer");
    double positions = (double)nb_smpls * points / 20.0;
    struct pf_cp_spec spec = {
        .name = "channel",
        .ratio = 1.0 - pf_opts_float(o, "cp_uniform_preserve_ratio"),
        .skip_first = true,
        .skip_last = true,
        .round_to = ctx.quadruple ? 4 : 1,
        .nb_smpls = nb_smpls,
        .sample = {.nb_smpls = nb_smpls,
                   .crops = points,
                   .lasso_rows = !ctx.lasso                       ? 0.0
                                 : positions < CP_LASSO_POSITIONS ? positions
                                                                  : CP_LASSO_POSITIONS,
                   .residual_correct = true},
        .lstsq = {.ridge = CP_RIDGE, .refit = pf_opts_bool(o, "cp_refit")},
        .select = cp_select,
        .between = cp_between,
        .chunk = (int)pf_opts_int(o, "cp_list_group"),
        .user = &ctx,
        .finetune = true,
    };
    if (spec.sample.lasso_rows > 0.0 && spec.sample.lasso_rows < 1.0)
        spec.sample.lasso_rows = 1.0;
    if (!strcmp(mode, "auto")) /* search the ratios, then the list procedure with the best */
        rc = pf_rl_channel_prune(r, &spec, "cp_", NULL);
    else
        rc = pf_chanprune_run(r, &spec, NULL);
done:
    if (own_plan) {
        pf_plan_deinit(r->plan);
        free(r->plan);
        r->plan = NULL;
    }
    return rc;
}

const struct pf_learner_ops pf_learner_channel = {
    .name = "channel",
    .summary = "channel pruning (He et al. 2017): LASSO selection + least squares, removed",
    .prefix = "cp_",
    .opts = cp_opts,
    .train = cp_train,
    .rl = true,
};
