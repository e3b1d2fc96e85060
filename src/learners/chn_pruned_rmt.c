/* chn_pruned_rmt.c: `chn-pruned-rmt` (CPR), PocketFlow's ChannelPrunedRmtLearner
 * (learners/channel_pruning_remastered/learner.py): He et al. 2017 channel pruning, remastered.
 *
 * For each channel group in model order (a conv's input channels, with everything tied to them):
 * sample input patches of the model being pruned and the full model's outputs at
 * cpr_nb_crops_per_smpl random positions of cpr_nb_smpls images; pick the channels by LASSO
 * solved with ISTA on the normalised Gram (gamma doubled from 0.1, then bisected until exactly
 * the target count survives); refit every consumer's kernel by least squares; REMOVE the
 * channels (PocketFlow only zeroed them). Then fine-tune with the run's schedule.
 *
 * Least squares: closed form by default (cpr_lstsq_solver = closed): the normal equations with
 * a 1e-6 relative ridge, solved by Cholesky in double precision. It is the exact minimiser and
 * costs one factorisation of a (kept x kh x kw)^2 matrix; PocketFlow's 100 Adam steps at 1e-3
 * from the current kernel stop far from it (kept as cpr_lstsq_solver = adam, which uses
 * cpr_lstsq_lrn_rate, cpr_lstsq_nb_iters and loss_w_dcy as PocketFlow does).
 * cpr_save_path / cpr_save_path_eval are the run's --out; cpr_save_path_ws is kept (warm start).
 * Per-layer ratios come from the run's plan when it has one, or, with cpr_prune_option = auto,
 * from the DDPG search of the channel pruners (rl_channel.c) under cpr_preserve_ratio of the
 * MACs, with this learner's selection and refit in every roll-out. PocketFlow's CPR had no
 * search ("RL support not yet ready"); the auto options are CP's, under the cpr_ prefix. */
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/io/model_h5.h"
#include "learners/common/chanprune.h"
#include "learners/common/lasso.h"
#include "learners/common/rlsearch.h"
#include "learners/learner.h"

#define CPR_RIDGE 1e-6 /* relative ridge of the closed-form least squares */

static const struct pf_opt_spec cpr_opts[] = {
    {"cpr_prune_option", PF_OPT_ENUM, "uniform", 0, 0, "uniform|auto",
     "per-layer ratios: cpr_prune_ratio (or the plan), or auto (DDPG search under "
     "cpr_preserve_ratio; not PocketFlow's)"},
    {"cpr_prune_ratio", PF_OPT_FLOAT, "0.5", 0.0, 0.999, NULL,
     "fraction of each conv's input channels removed (a plan overrides it per layer)"},
    {"cpr_preserve_ratio", PF_OPT_FLOAT, "0.5", 0.001, 1.0, NULL,
     "auto mode: the budget, at most this fraction of the MACs kept"},
    {"cpr_nb_rlouts", PF_OPT_INT, "200", 1, 1000000, NULL, "auto mode: RL roll-outs"},
    {"cpr_nb_rlouts_min", PF_OPT_INT, "50", 1, 1000000, NULL,
     "auto mode: roll-outs before the agent trains"},
    {"cpr_reward_policy", PF_OPT_ENUM, "accuracy", 0, 0, "accuracy|flops", "auto mode: reward"},
    {"cpr_noise_tolerance", PF_OPT_FLOAT, "0.15", 0.0, 1.0, NULL,
     "auto mode: floor of the flops reward"},
    {"cpr_fill_budget", PF_OPT_BOOL, "True", 0, 0, NULL,
     "auto mode: raise a strategy below the budget to it (False: PocketFlow's search)"},
    PF_RL_CHANNEL_FT_OPTS("cpr_"),
    {"cpr_skip_frst_layer", PF_OPT_BOOL, "True", 0, 0, NULL, "leave the first conv's input alone"},
    {"cpr_skip_last_layer", PF_OPT_BOOL, "False", 0, 0, NULL, "leave the last conv's input alone"},
    {"cpr_skip_op_names", PF_OPT_STR, "", 0, 0, NULL,
     "comma-separated names: a conv whose name contains one is skipped"},
    {"cpr_nb_smpls", PF_OPT_INT, "5000", 1, 10000000, NULL,
     "training images sampled for channel selection"},
    {"cpr_nb_crops_per_smpl", PF_OPT_INT, "10", 1, 10000, NULL,
     "random output positions sampled per image"},
    {"cpr_ista_lrn_rate", PF_OPT_FLOAT, "1e-2", 1e-9, 10, NULL, "ISTA step size"},
    {"cpr_ista_nb_iters", PF_OPT_INT, "100", 1, 1000000, NULL, "ISTA iterations per penalty"},
    {"cpr_lstsq_solver", PF_OPT_ENUM, "closed", 0, 0, "closed|adam",
     "least squares: closed form (exact, double precision) or PocketFlow's Adam steps"},
    {"cpr_lstsq_lrn_rate", PF_OPT_FLOAT, "1e-3", 1e-9, 10, NULL, "Adam least squares: step size"},
    {"cpr_lstsq_nb_iters", PF_OPT_INT, "100", 1, 1000000, NULL, "Adam least squares: steps"},
    {"cpr_warm_start", PF_OPT_BOOL, "False", 0, 0, NULL,
     "skip channel selection: fine-tune the model in cpr_save_path_ws"},
    {"cpr_save_path_ws", PF_OPT_STR, "", 0, 0, NULL,
     "where the channel-selected model is written (and read with cpr_warm_start); '' = nowhere"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct cpr_sel {
    double lr;
    int iters;
    uint64_t seed;
};

static int cpr_select(struct pf_chanprune *cp, struct pf_cp_stats *s, int n_keep, uint8_t *keep,
                      void *user)
{
    const struct cpr_sel *c = user;
    struct pf_lasso_search ls;
    int rc = pf_lasso_ista_select(s->FtF, s->Fty, s->C, n_keep, c->lr, c->iters,
                                  c->seed + (uint64_t)cp->step, keep, &ls);
    if (rc < 0)
        return rc;
    pf_run_log(cp->r, "%s: LASSO (ISTA) kept %d of %d channels, gamma %.4g after %d solves%s",
               cp->m->layers[s->units[0].layer].name, n_keep, s->C, ls.gamma, ls.trials,
               ls.ranked ? " (count made exact by |beta|)" : "");
    return 0;
}

static int cpr_train(struct pf_run *r)
{
    const struct pf_opts *o = &r->opts;
    const char *ws = pf_opts_str(o, "cpr_save_path_ws");
    if (pf_opts_bool(o, "cpr_warm_start")) {
        if (!ws[0])
            return PF_ERR(PF_EINVAL, "--cpr_warm_start needs --cpr_save_path_ws (the "
                                     "channel-selected model to start from)");
        struct pf_model *m = NULL;
        int rc = pf_model_load(ws, &m, NULL, 0);
        if (rc < 0)
            return rc;
        if (m->classes != r->model->classes ||
            pf_shape_numel(m->input) != pf_shape_numel(r->model->input)) {
            pf_model_free(m);
            return PF_ERR(PF_EINVAL, "%s: warm-start model does not fit the run's model", ws);
        }
        pf_model_free(r->model);
        r->model = m;
        pf_run_log(r, "warm start from %s: channel selection skipped", ws);
        return pf_run_finetune(r, "fine-tune");
    }
    struct cpr_sel sel = {
        .lr = pf_opts_float(o, "cpr_ista_lrn_rate"),
        .iters = (int)pf_opts_int(o, "cpr_ista_nb_iters"),
        .seed = (uint64_t)pf_opts_int(o, "seed"),
    };
    const char *skip = pf_opts_str(o, "cpr_skip_op_names");
    struct pf_cp_spec spec = {
        .name = "chn-pruned-rmt",
        .ratio = pf_opts_float(o, "cpr_prune_ratio"),
        .skip_first = pf_opts_bool(o, "cpr_skip_frst_layer"),
        .skip_last = pf_opts_bool(o, "cpr_skip_last_layer"),
        .skip_names = skip[0] ? skip : NULL,
        .round_to = 1,
        .nb_smpls = (int)pf_opts_int(o, "cpr_nb_smpls"),
        .sample = {.nb_smpls = (int)pf_opts_int(o, "cpr_nb_smpls"),
                   .crops = (int)pf_opts_int(o, "cpr_nb_crops_per_smpl"),
                   .lasso_rows = -1.0},
        .lstsq = {.adam = !strcmp(pf_opts_str(o, "cpr_lstsq_solver"), "adam"),
                  .ridge = CPR_RIDGE,
                  .lr = pf_opts_float(o, "cpr_lstsq_lrn_rate"),
                  .wd = pf_opts_float(o, "loss_w_dcy"),
                  .iters = (int)pf_opts_int(o, "cpr_lstsq_nb_iters"),
                  .refit = true},
        .select = cpr_select,
        .user = &sel,
        .finetune = true,
    };
    if (strcmp(pf_opts_str(o, "cpr_prune_option"), "auto"))
        return pf_chanprune_run(r, &spec, ws);
    return pf_rl_channel_prune(r, &spec, "cpr_", ws);
}

const struct pf_learner_ops pf_learner_chn_pruned_rmt = {
    .name = "chn-pruned-rmt",
    .summary =
        "channel pruning, remastered: ISTA LASSO selection + least squares, channels removed",
    .prefix = "cpr_",
    .opts = cpr_opts,
    .train = cpr_train,
    .rl = true,
};
