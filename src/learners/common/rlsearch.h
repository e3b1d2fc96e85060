/* rlsearch.h: the roll-out loop every DDPG search shares (PocketFlow's CP auto mode, WS
 * `optimal` protocol and UQ/NUQ RL bit allocation; reference sections 2.2.1, 2.6.1, 2.7.1).
 *
 * A search is a struct pf_rl_search: how many decisions a roll-out makes (one per layer), the
 * state of each decision, how an action becomes a value under the budget, and how a finished
 * strategy is rewarded. pf_rl_run drives the agent (ddpg.h) through rl_nb_rlouts roll-outs:
 *
 *     for each roll-out k:
 *         init_rlout; for each step t: state(t) -> agent (noisy) -> decide(t, action) -> value
 *         complete(values)            (the channel search fills its budget)
 *         reward = evaluate(values)   (validation split, a fixed sample: every strategy is judged
 *                                      on the same images; never the test set)
 *         record every step with the reward (last one terminal), finalize, train n_steps times
 *         rlouts.csv row, checkpoint (agent + search state), events
 *
 * Files in the run directory (when the run has one):
 *     rl/rlouts.csv    one row per roll-out: rlout,reward,best,actor_loss,critic_loss,noise,
 *                      budget,seconds,v0,v1,... (the per-step values)
 *     rl/agent.bin     the agent checkpoint after the latest finished roll-out (ddpg.h)
 *     rl/state.yaml    search kind, budget, reward_desc, roll-outs done, best reward and
 *                      values, seed
 *     rl/best.plan.yaml  the best strategy as a plan file (plan.h): `info --plan` and the
 *                      workbench read it; the learner then runs with it.
 *     rl/uniform.plan.yaml the uniform strategy at the same budget (for comparisons)
 *     rl/final.plan.yaml   the channel search's finalist kept (pf_rl_channel_prune)
 * Options (rows of pf_ddpg_opts): rl_nb_smpls_eval (validation images per reward), rl_resume.
 * Resume: the option rl_resume = <run dir of an earlier search> loads its rl/agent.bin,
 * rl/state.yaml and rlouts.csv and continues with the next roll-out: the same roll-outs as an
 * uninterrupted search with the same seed (every evaluation is seeded by (seed, roll-out)).
 *
 * Events (the RL monitor of the workbench reads these; step = roll-out number, from 1):
 *     metric rl_target            step 0: the budget (kept-MACs fraction, sparsity or bits)
 *     metric rl_uniform/<layer>   step 0: the uniform strategy's value of each decided layer
 *     metric rl_uniform_reward    step 0: its reward (evaluated before the first roll-out, on
 *                                 the same images; the best starts there, so a search never
 *                                 returns a strategy that scores below the uniform one)
 * Against luck (rl_uniform_p, accuracy rewards): a roll-out with a higher reward becomes the
 * best only if it also beats the uniform strategy by more than the validation sample's noise.
 * Of the images the two classify differently, it must win so many that a fair coin would do as
 * well with probability at most p (a one-sided sign test, exact; p = 0.05 by default). 3 wins of
 * 3 (p = 0.125) or 12 wins against 10 losses (p = 0.42) are not taken. A resumed search
 * re-evaluates the uniform strategy for its per-image outcomes.
 *     metric rl_value/<layer>     every roll-out: this roll-out's value per decided layer
 *     metric rl_bestv/<layer>     when the best improves: the best strategy's values
 *     metric rl_reward, rl_best, rl_noise, rl_budget (what the strategy reaches: kept-MACs
 *            fraction, sparsity or equivalent bits), rl_seconds (of this roll-out);
 *            rl_actor_loss, rl_critic_loss once the agent trains
 *     progress  "RL roll-out k/N, ~M s left"   (estimate from the roll-outs timed so far)
 *     log       one line per roll-out, and before the first: the time of the first roll-out and
 *               the estimate for all of them
 * Values are preserve ratios (channel search), sparsities (weight-sparse) or bits (quantizers).
 * Roll-outs run one after another (each evaluation uses the run's threads through oneDNN and
 * OpenBLAS); evaluating several on their own threads is not done yet.
 * Layer names longer than the event name allows are cut (the monitor matches by prefix). */
#ifndef PF_LEARNERS_COMMON_RLSEARCH_H
#define PF_LEARNERS_COMMON_RLSEARCH_H

#include <stdbool.h>

#include "engine/model/plan.h"
#include "learners/common/ddpg.h"
#include "learners/learner.h"

struct pf_rl_search {
    const char *kind;  /* "channel", "sparsity" or "bits": checked on resume */
    const char *value; /* what a value is, for logs: "preserve ratio", "sparsity", "bits" */
    int n_steps;       /* decisions per roll-out */
    int s_dims;        /* state size */
    double a_min, a_max;
    int buf_size;        /* replay buffer (PocketFlow: n_steps x 50) */
    int train_per_rlout; /* agent train calls after each roll-out (PocketFlow: n_steps) */
    double target;       /* the budget, for rl_target */
    /* what the reward measures, when a search's options change it (rl/state.yaml keeps it and a
     * resume must match it); empty: fixed by the search kind */
    char reward_desc[128];
    /* The reward is the validation accuracy (pf_rl_val_accuracy), so a roll-out is compared
     * with the uniform strategy image by image (rl_uniform_p); false for rewards that mix in
     * the MACs or the sparsity. */
    bool acc_reward;
    /* Set by pf_rl_run while it runs (NULL otherwise): pf_rl_val_accuracy writes each
     * validation image's predicted class here. */
    int *pred;
    /* The n_top best distinct strategies of the search by reward, when the caller gives n_top > 0
     * and top[n_top x n_steps], top_reward[n_top]: pf_rl_run keeps them there, best first (ties:
     * the earlier roll-out), n_kept of them, also across a resume (from rlouts.csv). A strategy
     * evaluated twice counts once, at its higher reward; the uniform strategy is not one of them.
     * Roll-outs the rl_uniform_p gate refused are candidates too. */
    int n_top, n_kept;
    double *top, *top_reward;
    const int *layer;      /* n_steps: model layer index decided at each step (for names, plans) */
    const double *uniform; /* n_steps: the uniform strategy's values (rl_uniform/...) */
    void *user;
    /* Called at the start of each roll-out (reset the budget book-keeping). May be NULL. */
    void (*begin)(struct pf_rl_search *s, int rlout);
    /* The state of step t (s_dims floats), knowing the values decided so far. */
    void (*state)(struct pf_rl_search *s, int t, float *state);
    /* Turns the agent's action into step t's value, clamped so that the budget stays reachable
     * whatever the later steps choose. Returns the value. */
    double (*decide)(struct pf_rl_search *s, int t, double action);
    /* After the last step: may raise the decided values (values[n_steps]) so that the strategy
     * uses its whole budget. May be NULL. */
    void (*complete)(struct pf_rl_search *s, double *values);
    /* Rewards the full strategy (values[n_steps]); *budget = what it reaches. Seeded by rlout.
     * Returns 0, -PF_ECANCELLED or an error. */
    int (*evaluate)(struct pf_rl_search *s, const double *values, int rlout, double *reward,
                    double *budget);
    /* Writes the strategy into a plan (the learner's per-layer field). */
    void (*to_plan)(const struct pf_rl_search *s, const double *values, struct pf_plan *plan);
    /* Frees the search (made by one of the pf_rl_*_new below). */
    void (*destroy)(struct pf_rl_search *s);
};

/* Runs the search on r; best[n_steps] receives the best strategy. Writes the files above when
 * r has a run directory. Returns 0, -PF_ECANCELLED (best holds the best so far, if any roll-out
 * finished; *done says how many) or an error. */
int pf_rl_run(struct pf_run *r, struct pf_rl_search *s, int nb_rlouts, double *best, int *done);

/* right[i] = whether pred (predicted classes of the first n validation images, r->val_idx order)
 * gets image i right. */
void pf_rl_right(const struct pf_run *r, long n, const int *pred, uint8_t *right);

/* Of the n validation images (r->val_idx order), those that `right` (the uniform strategy got
 * image i right) and pred (another strategy's predicted classes) classify differently: *differ,
 * of which *won only pred gets right. Returns the one-sided sign test's p of that many wins
 * (1 when none differ). The search's gate and the channel finalists share it. */
double pf_rl_vs_uniform(const struct pf_run *r, long n, const uint8_t *right, const int *pred,
                        long *won, long *differ);

/* The reward measurement every search shares: accuracy of r->model on the fixed validation
 * sample (the first rl_nb_smpls_eval images of the validation split; pf_rl_run refuses a run
 * without one, so rewards never come from the test set). Each image's prediction goes to
 * s->pred when pf_rl_run asks for it. */
int pf_rl_val_accuracy(struct pf_run *r, struct pf_rl_search *s, double *acc);

/* A roll-out's short fine-tune before its reward: steps of Adam at a constant lrn_rate on the
 * training split (no augmentation, no weight decay), seeded by seed, on m (a pruned or masked
 * copy of the run's model). The weight-sparse search (ws_nb_iters_ft) and the channel search
 * (<prefix>nb_iters_ft_rlout) share it. */
int pf_rl_finetune(struct pf_run *r, struct pf_model *m, long steps, double lrn_rate,
                   uint64_t seed);

/* A roll-out's batch-norm re-estimation before its reward (pf_bn_recalibrate): `batches` batches
 * of the run's batch size from the training split, in an order seeded by seed. The channel
 * search's <prefix>nb_batches_bn_rlout. */
int pf_rl_bn_recalibrate(struct pf_run *r, struct pf_model *m, long batches, uint64_t seed);

/* The seed of roll-out rlout's own randomness (its fine-tune batches, the sparsity search's
 * regression samples): a function of (run seed, rlout) only, so a resumed search repeats it.
 * rlout -1 is the uniform strategy's evaluation. */
uint64_t pf_rl_rlout_seed(const struct pf_run *r, int rlout);

/* Divides column j of feat (rows x cols, row-major) by its largest value, for j in [first, last)
 * (a column that is all zeros stays). Returns the largest value of column last - 1. The searches'
 * static state features go through this. */
double pf_rl_scale_columns(double *feat, int rows, int cols, int first, int last);

/* A uniform value for every step (u in [lo, hi]) whose strategy still meets the budget, found
 * by bisection: the largest u with fits(u) true (fits must be monotone: true at lo). */
double pf_rl_bisect(double lo, double hi, bool (*fits)(void *user, double u), void *user);

/* Strategy values (n_steps) as a new plan for r->model (*out; free with pf_plan_deinit and
 * free). Returns 0 or -PF_ENOMEM. */
int pf_rl_plan_new(const struct pf_run *r, const struct pf_rl_search *s, const double *values,
                   struct pf_plan **out);

/* Runs s (pf_rl_run) and returns its best strategy as a new plan for r->model (*out; free
 * with pf_plan_deinit and free). A cancelled search that finished a roll-out still returns
 * its best so far, with -PF_ECANCELLED. */
int pf_rl_search_plan(struct pf_run *r, struct pf_rl_search *s, int nb_rlouts,
                      struct pf_plan **out);
static inline void pf_rl_search_free(struct pf_rl_search *s)
{
    if (s)
        s->destroy(s);
}

/* ---- the three searches (each made for r->model as it is; free with pf_rl_search_free) ---- */

struct pf_cp_spec;
/* CP / CPR auto mode (reference 2.2.1; rl_channel.c): per-channel-group preserve ratios keeping
 * at most `preserve` of the model's MACs. Steps are the groups spec's uniform plan would prune
 * (skip rules included), in model order; each roll-out prunes a copy of the model with spec's
 * selection and refit (no fine-tune) and is rewarded with the validation accuracy (flops_reward
 * false) or -max(noise_tol, 1 - acc) * ln(MACs). Buffer = steps x rlouts_min. Errors: a budget
 * the smallest allowed ratios cannot reach, a run with a plan, no group to prune.
 * fill (accuracy reward only): a roll-out that stops below the budget has every group raised by
 * the same fraction of its remaining channels, the largest that fits, so that every strategy is
 * judged at the budget (not PocketFlow's, whose agent often settled below it; see rl_channel.c). */
int pf_rl_channel_new(struct pf_run *r, const struct pf_cp_spec *spec, double preserve,
                      int rlouts_min, bool flops_reward, double noise_tol, bool fill,
                      struct pf_rl_search **out);
/* The channel search's options beyond PocketFlow's (roll-out fine-tune, batch-norm re-estimation,
 * finalists), rows of CP (P "cp_") and CPR (P "cpr_"). */
/* clang-format off */
#define PF_RL_CHANNEL_FT_OPTS(P)                                                                   \
    {P "nb_iters_ft_rlout", PF_OPT_INT, "0", 0, 100000000, NULL,                                   \
     "auto mode: Adam steps on each roll-out's pruned copy before its reward (0: PocketFlow's "    \
     "reward, none)"},                                                                             \
    {P "lrn_rate_ft_rlout", PF_OPT_FLOAT, "3e-4", 1e-9, 10, NULL,                                  \
     "auto mode: Adam rate of that fine-tune"},                                                    \
    {P "nb_batches_bn_rlout", PF_OPT_INT, "0", 0, 100000, NULL,                                    \
     "auto mode: training-mode batches re-estimating each roll-out's batch-norm statistics "       \
     "before its reward, after that fine-tune (0: none, PocketFlow's)"},                         \
    {P "nb_finalists", PF_OPT_INT, "0", 0, 1000, NULL,                                             \
     "auto mode: the N best strategies and the uniform one each pruned and fine-tuned in full; "   \
     "the most accurate on the validation split is kept (0: the best reward's, PocketFlow's)"}
/* clang-format on */

/* The whole auto mode of CP and CPR: pf_rl_channel_new with the learner's options
 * <prefix>preserve_ratio, <prefix>nb_rlouts_min, <prefix>reward_policy, <prefix>noise_tolerance,
 * <prefix>fill_budget, <prefix>nb_iters_ft_rlout and <prefix>lrn_rate_ft_rlout (each roll-out's
 * pruned copy fine-tuned that many steps before its reward), <prefix>nb_batches_bn_rlout (then
 * its batch-norm statistics re-estimated), run for <prefix>nb_rlouts roll-outs (pf_rl_run); then
 * the list procedure (pf_chanprune_run, save_ws as the learner's) on r->model with the best
 * strategy. A cancelled search prunes nothing (rl/best.plan.yaml keeps its best so far).
 * Finalists (<prefix>nb_finalists N > 0, not PocketFlow's): the reward before fine-tuning ranks
 * strategies badly at small budgets, so the uniform strategy and the search's N best distinct
 * ones by reward each go through the whole list procedure, fine-tune included, from a copy of
 * the model, and are measured on the whole validation split. The most accurate becomes r->model,
 * if it also beats the uniform one image by image by more than chance (the sign test at
 * rl_uniform_p); otherwise the uniform one does. Its plan is rl/final.plan.yaml; metric
 * rl_final_acc at step i (0: uniform) is each finalist's validation accuracy. Costs N + 1
 * fine-tunes. Refused with a <prefix>save_path_ws (no single channel-selected model). */
int pf_rl_channel_prune(struct pf_run *r, const struct pf_cp_spec *spec, const char *prefix,
                        const char *save_ws);

/* weight-sparse `optimal` (reference 2.6.1; rl_sparsity.c): per-tensor sparsities whose
 * weight-count-weighted mean is at least pr. Options ws_nb_rlouts_min, ws_reward_type,
 * ws_lrn_rate_rg, ws_nb_iters_rg, ws_lrn_rate_ft, ws_nb_iters_ft. */
int pf_rl_sparsity_new(struct pf_run *r, double pr, struct pf_rl_search **out);

/* The bit optimiser's option rows of a quantizer with option prefix P ("uql_", "nuql_"):
 * PocketFlow's flags, one definition for both learners. */
/* clang-format off */
#define PF_RL_BITS_OPTS(P, GLOBAL_STEPS)                                                           \
    {P "enbl_rl_agent", PF_OPT_BOOL, "False", 0, 0, NULL,                                          \
     "search per-layer bits with the DDPG agent under " P "equivalent_bits"},                      \
    {P "equivalent_bits", PF_OPT_FLOAT, "4", 1, 32, NULL,                                          \
     "RL: budget, average bits per quantized weight"},                                             \
    {P "nb_rlouts", PF_OPT_INT, "200", 1, 1000000, NULL, "RL: roll-outs"},                         \
    {P "nb_rlouts_min", PF_OPT_INT, "50", 1, 1000000, NULL,                                        \
     "RL: roll-outs that fill the agent's buffer before it trains (PocketFlow: nb_rlouts/4)"},     \
    {P "w_bit_min", PF_OPT_INT, "2", 1, 16, NULL, "RL: fewest bits a layer may get"},              \
    {P "w_bit_max", PF_OPT_INT, "8", 1, 16, NULL, "RL: most bits a layer may get"},                \
    {P "tune_global_steps", PF_OPT_INT, GLOBAL_STEPS, 0, 100000000, NULL,                          \
     "RL: quantized fine-tune steps of each roll-out before its reward"}
/* clang-format on */

struct pf_quant_ft_cfg;
/* The quantizers' RL bit allocation (reference 2.7.1; rl_bits.c): per-layer bits in
 * [w_bit_min, w_bit_max]
 * for the tensors cfg would quantize, the total never above equivalent_bits x their weights.
 * Steps in model order (PocketFlow shuffled them each roll-out; not ported). a in [0, max - min]:
 * bits = min(round(a) + min, min + floor(duty / n), max) with duty = bits left - the weights not
 * yet assigned (this one included) x min; the last layer gets min(floor(left / n), max). Reward:
 * a copy quantized at those bits and fine-tuned for tune_global_steps steps, accuracy on the
 * validation sample. prefix: the learner's ("uql_"). */
int pf_rl_bits_new(struct pf_run *r, const struct pf_quant_ft_cfg *cfg, const char *prefix,
                   struct pf_rl_search **out);

#endif
