/* chanprune.h: what the channel pruners (channel, chn-pruned-rmt, chn-pruned-gpu,
 * dis-chn-pruned) share: per-group keep counts from a plan, sampling of input patches and
 * full-model output targets, least-squares refits, physical channel removal and the events.
 *
 * Ports the sampling / reconstruction halves of PocketFlow's learners/channel_pruning
 * (model_wrapper.py: extract_features, prune_kernel) and channel_pruning_remastered (learner.py:
 * __build_pruned_evaluator, __choose_channels), rebuilt around channel groups (model/groups.h):
 * PocketFlow prunes one conv's input channels and zeroes them; here the unit is a channel group,
 * the channels leave every producer and consumer, and every consumer of the group is refit.
 *
 * Flow of one pruning run (the learners call these in order):
 *     pf_chanprune_init(&cp, r, plan)            full copy, groups, keep counts, order
 *     for each cp.order[i]:
 *         pf_chanprune_sample(&cp, group, &sc, &s)   statistics of every consumer of the group
 *         ... the learner picks keep[] (LASSO, PGD, greedy) ...
 *         pf_chanprune_refit(&cp, &s, keep, &lc)     least-squares kernels of the consumers
 *         pf_chanprune_apply(&cp, &s, keep, t0)      removes the channels, emits the events
 *     pf_chanprune_finetune(&cp, "fine-tune", &c)    the run's schedule, kept MACs per step
 *     pf_chanprune_deinit(&cp)
 *
 * Statistics are Gram sums (lasso.h), so no sample matrix is kept: for a consumer with weight
 * W (K x m, m = C x B columns, B per group channel: mult x R x S for a conv, mult x H x W for a
 * dense layer) and its sampled input rows x (m) and targets y (K):
 *     A = sum x x' / N,  Bxy = sum x y' / N,  yy = sum |y|^2 / N.
 * Targets are the FULL (reference) model's pre-activation outputs of the same layer at the same
 * positions, without bias (the bias is kept, so it cancels), restricted to the consumer's
 * current output channels; inputs come from the model being pruned (PocketFlow's CPR: every
 * layer sees the already-pruned layers before it).
 *
 * Residual correction (residual_correct, PocketFlow's CP: residual_branch_diff): when the
 * consumer is the last layer of a residual branch (its output reaches an add through
 * batchnorm / dropout layers only, each the sole reader of the one before, no fused
 * activation on the way), the target is what the layer must output so that the ADD's output
 * in the model being pruned equals the reference's, which also makes up for the error the
 * other inputs of the add (the shortcut) carry by now. With s = the sum of the add's other
 * inputs and a = the product of the batchnorm scales gamma / sqrt(running_var + eps) on the
 * way (per channel), the target becomes
 *     Y + (s_reference - s_model) / a
 * (the layer's bias and the batchnorm are the same in both models: pruning the layer's inputs
 * does not touch them and rebase copies them), i.e. (A_reference - s_model - shift) / a - bias
 * with A the add's input sum and shift the batchnorm's. PocketFlow adds sum_original -
 * sum_current (the add's outputs) to Y, which also counts the layer's own current error and
 * ignores the batchnorm between; ours is the exact form. A channel whose scale a vanishes
 * (|a| below PF_CP_RES_MIN_SCALE of the largest) keeps its plain target. */
#ifndef PF_LEARNERS_COMMON_CHANPRUNE_H
#define PF_LEARNERS_COMMON_CHANPRUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/model/groups.h"
#include "engine/model/plan.h"
#include "learners/learner.h"

/* One consumer (conv2d or dense layer reading the group) with its sampled statistics. */
struct pf_cp_unit {
    int layer;      /* index in the model */
    int K;          /* output channels (now) */
    int B;          /* columns per group channel */
    int m;          /* columns = C x B */
    double *A;      /* m x m: sum x x' / N; owned */
    double *Bxy;    /* m x K: sum x y' / N; owned */
    double yy;      /* sum |y|^2 / N */
    double *W;      /* K x m: the layer's weights as sampled (double); owned */
    double *FtF;    /* C x C: PocketFlow's LASSO Gram of this unit (see sample cfg); owned */
    double *Fty;    /* C; owned */
    long rows;      /* sampled rows N */
    double err_now; /* relative error |XW' - Y|^2 / |Y|^2 of W as sampled */
    double err_sel; /* the same with the dropped channels' columns zeroed (set by refit) */
    double err_fit; /* after the refit (set by refit) */
    int res_add;    /* residual correction: the add the targets aim at (layer index); -1 none */
};

/* The statistics of one channel group. */
struct pf_cp_stats {
    int group;
    int C; /* channels of the group now */
    int n_units;
    struct pf_cp_unit *units; /* owned */
    double *FtF, *Fty;        /* C x C, C: sum over units of their LASSO Grams, each divided
                               * by its own |F'F|_F (PocketFlow's normalisation); NULL if not
                               * asked; owned */
};

/* What to sample. */
struct pf_cp_sample_cfg {
    int nb_smpls;          /* images (PocketFlow: cpr_nb_smpls; CP: cp_nb_batches x batch) */
    int crops;             /* output positions per image (dense layers: always 1) */
    double lasso_rows;     /* rows kept for the LASSO Gram: < 0 = PocketFlow's CPR rule
                            * min(1, 10 / K) of the rows; otherwise the expected number of rows
                            * (CP: min(400, N / 20) positions); 0 = no LASSO Gram */
    bool residual_correct; /* correct the targets of a residual branch's last layer at its
                            * add (see the top of this file; PocketFlow: CP only) */
};

/* Smallest batchnorm scale, relative to the largest on the same path, that still carries a
 * residual correction back to the layer's output. */
#define PF_CP_RES_MIN_SCALE 1e-4

/* Least-squares settings. */
struct pf_cp_lstsq_cfg {
    bool adam;     /* false: closed form (pf_lstsq_solve); true: PocketFlow's Adam steps */
    double ridge;  /* closed form: relative ridge (lasso.h) */
    double lr, wd; /* Adam: learning rate, weight decay */
    int iters;     /* Adam steps; closed form ignores */
    bool refit;    /* false: only zero the dropped channels (no reconstruction) */
};

struct pf_chanprune {
    struct pf_run *r;      /* borrowed */
    struct pf_model *m;    /* r->model, pruned in place */
    struct pf_model *full; /* the reference the targets come from; owned */
    struct pf_groups *g;   /* groups of m (kept current by pf_model_prune_group); owned */
    int **orig;            /* per group: reference channel index of each current channel */
    int *keep;             /* per group: channels to keep (the plan's, after round_to) */
    int *order;            /* groups to prune, by their first consumer in model order */
    int n_order;
    uint64_t macs0; /* MACs of the model before pruning (batch 1) */
    uint32_t *smpl; /* sampled training image indices (a seeded shuffle) */
    int n_smpl;
    uint64_t seed;
    long step; /* event step counter (one per pruned group) */
};

/* Makes the plan a pruner follows: r->plan when the run has one (copied), else `ratio` (the
 * fraction of input channels removed) on every conv2d layer whose input channels can be
 * removed, with PocketFlow's skip rules: the first conv2d (skip_first), the last conv2d
 * (skip_last), layers matching a comma-separated list of substrings (skip_names, PocketFlow's
 * cpr_skip_op_names: a conv is skipped if its name contains one), and round_to. plan must be
 * empty; free with pf_plan_deinit. Returns 0, -PF_EINVAL, -PF_ENOMEM. */
int pf_chanprune_plan(struct pf_run *r, double ratio, bool skip_first, bool skip_last,
                      const char *skip_names, int round_to, struct pf_plan *plan);

/* Sets up cp for r->model and plan: channel groups, the keep count of every group (the
 * profiler's resolution: smallest request, round_to), the order, a copy of the model as the
 * reference, and a seeded sample of nb_smpls training images. Errors: a plan entry the
 * profiler refuses (zero channels, a fixed group), a group to prune whose consumer reads a
 * concat. Returns 0 or a negative PF_E* code (cp is then empty). */
int pf_chanprune_init(struct pf_chanprune *cp, struct pf_run *r, const struct pf_plan *plan,
                      int nb_smpls);
void pf_chanprune_deinit(struct pf_chanprune *cp);

/* Makes the current model the reference (PocketFlow's CP re-extracts features from the tuned
 * model before each group of layers). 0 or -PF_ENOMEM. */
int pf_chanprune_rebase(struct pf_chanprune *cp);

/* Samples the statistics of every consumer of `group` (see the top of this file). Caller frees
 * s with pf_cp_stats_free. Returns 0, -PF_ECANCELLED (the run was stopped), or an error. */
int pf_chanprune_sample(struct pf_chanprune *cp, int group, const struct pf_cp_sample_cfg *c,
                        struct pf_cp_stats *s);
void pf_cp_stats_free(struct pf_cp_stats *s);

/* Channels the plan keeps in `group` (after round_to). */
static inline int pf_chanprune_target(const struct pf_chanprune *cp, int group)
{
    return cp->keep[group];
}

/* Rewrites every unit's kernel in the model for the kept channels (keep: s->C bytes): least
 * squares over the kept columns (or only zeroing, with refit false); fills err_sel / err_fit.
 * Does not remove channels yet. Returns 0 or an error. */
int pf_chanprune_refit(struct pf_chanprune *cp, struct pf_cp_stats *s, const uint8_t *keep,
                       const struct pf_cp_lstsq_cfg *c);

/* Removes the dropped channels from the model (pf_model_prune_group), updates the reference
 * maps, and emits per unit a PF_EV_LAYER_DONE (name = layer, value = relative error after the
 * refit, text = channels before -> after, errors, the add its targets aimed at (residual
 * correction), seconds since t0) and the "kept_macs" metric
 * (MACs now / MACs before). Returns 0 or an error. */
int pf_chanprune_apply(struct pf_chanprune *cp, const struct pf_cp_stats *s, const uint8_t *keep,
                       double t0);

/* The kept-MACs fraction of the model now. */
double pf_chanprune_kept_macs(const struct pf_chanprune *cp);

/* Fine-tunes r->model with configuration c (pf_run_finetune_cfg) and reports "kept_macs" with
 * every progress report. If masks is not NULL it holds, per layer, a channel mask over the
 * layer's weight INPUT channels (NULL entries: none); masked input slices are kept at zero after
 * every step (PocketFlow's masked fine-tuning, for learners that zero before they remove). */
int pf_chanprune_finetune(struct pf_chanprune *cp, const char *phase, const struct pf_train_cfg *c,
                          uint8_t *const *masks);

/* Monotonic seconds, for the per-layer times. */

/* ---- the whole pruning run ---- */

/* A learner's selection rule: marks exactly n_keep of the s->C channels in keep (1 = kept). */
typedef int (*pf_cp_select_fn)(struct pf_chanprune *cp, struct pf_cp_stats *s, int n_keep,
                               uint8_t *keep, void *user);
/* Called after every `chunk` pruned groups except the last chunk (CP's group fine-tuning). */
typedef int (*pf_cp_between_fn)(struct pf_chanprune *cp, int done, void *user);

struct pf_cp_spec {
    const char *name;           /* learner, for messages */
    double ratio;               /* uniform prune ratio when the run has no plan */
    bool skip_first, skip_last; /* skip rules of the uniform plan (conv2d layers) */
    const char *skip_names;     /* comma-separated substrings, or NULL */
    int round_to;               /* uniform plan's round_to */
    int nb_smpls;               /* images sampled */
    struct pf_cp_sample_cfg sample;
    struct pf_cp_lstsq_cfg lstsq;
    pf_cp_select_fn select;
    pf_cp_between_fn between; /* optional */
    int chunk;                /* groups between calls of `between` (<= 0: never) */
    void *user;
    bool finetune; /* run the final fine-tune (the run's schedule) */
    bool quiet;    /* no accuracy reports before / after selection, no between-blocks note (an RL
                      roll-out) */
};

/* The common driver: plan, set-up, validation accuracy before ("acc_full"), for each group in
 * order sample / select / refit / remove with per-layer events, accuracy after selection
 * ("acc_pruned"), "kept_macs", then the run's fine-tune with kept MACs per step. With save_ws
 * non-empty the selected model is written there before fine-tuning (PocketFlow's
 * cpr_save_path_ws). Returns 0, -PF_ECANCELLED or an error. */
int pf_chanprune_run(struct pf_run *r, const struct pf_cp_spec *spec, const char *save_ws);

/* Emits "acc_<what>" (validation accuracy of r->model) at step and logs it. */
int pf_chanprune_report_acc(struct pf_run *r, long step, const char *what);

#endif
