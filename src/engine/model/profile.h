/* profile.h: the per-layer profiler: shapes, params, MACs, other ops, memory and stored size of
 * a model before and after a plan (module API; what `pocketflow info` prints and what the TUI's
 * model screen redraws on every keystroke).
 *
 * Typical use (TUI):
 *     pf_groups_build(m, &g);  pf_plan_init(&plan, m);  pf_profile_new(m, g, &plan, &prof);
 *     ... user sets plan.layers[i].prune_ratio = 0.5 ...
 *     rc = pf_profile_update(prof, i);      // work ~ layers the edit touches; < 1 ms
 *     draw prof->rows[j].before / .after / prof->before / prof->after; on rc < 0 show
 *     pf_err_user_msg() (the profile is still consistent, see pf_profile_update)
 *     ... global option changed (round_to, skip_first/last, skip_op_names) ...
 *     pf_profile_update_all(prof);
 * The profile borrows m, g and plan (they must outlive it) and never changes them.
 *
 * Counting rules (batch 1):
 * - macs: multiply-accumulates of conv2d and dense layers only (Distiller / fvcore / thop);
 *   FLOPs = 2 x MACs. other_ops: BN, pooling, activations, adds, bias adds, each in its own
 *   column (see each layer file's count()). params: weights + biases + BN gamma/beta (running
 *   statistics excluded).
 * - act_bytes: the layer's output activation at its a_bits (numel x a_bits / 8, rounded up).
 *   The total is the sum over layers (what the model allocates for one forward sample).
 * - bytes (stored size of the layer's tensors, what a compressed model file needs):
 *   weight tensor (conv2d / dense) of n values at w_bits b and sparsity s:
 *     nnz = n - round(n * s);
 *     values = ceil(nnz * b / 8); mask = ceil(n / 8) when s > 0 (1 bit per weight);
 *     quantizer = 2^b float32 codebook entries when b <= 8, else 8 bytes (scale and zero
 *     point) when b < 32, 0 at 32 bits.
 *   Every other tensor (bias, BN gamma, beta, running mean and var) at 32 bits: 4 bytes each.
 *   So at the identity plan bytes = 4 x (params + BN running statistics).
 * - Channel removal: a prune ratio r on a conv2d / dense layer L asks, for each group g its
 *   input reads, to keep k = round(C_g x (1 - r)) channels. A group keeps the SMALLEST k asked
 *   by any of its consumers (so every request is met at least); then round_to N rounds k to the
 *   nearest multiple of N, never below N and never above C_g. A ratio on a layer whose input is
 *   a fixed group (the network input, the logits, ...) is an error. The realised ratio of every
 *   layer is reported (eff_prune) and each group says whether its consumers disagreed. */
#ifndef PF_ENGINE_MODEL_PROFILE_H
#define PF_ENGINE_MODEL_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/layers/layer.h"
#include "engine/model/graph.h"
#include "engine/model/groups.h"
#include "engine/model/plan.h"

/* One layer at one state (before = the model as it is; after = with the plan applied). */
struct pf_prof_cell {
    struct pf_shape in;  /* first input shape */
    struct pf_shape out; /* output shape */
    uint64_t params;     /* see the counting rules above */
    uint64_t macs;
    uint64_t other_ops;
    uint64_t act_bytes; /* output activation at a_bits */
    uint64_t bytes;     /* stored bytes at w_bits and sparsity */
    int w_bits, a_bits; /* as applied (32 / 32 before, and for skipped layers) */
    double sparsity;    /* as applied */
};

struct pf_prof_row {
    struct pf_prof_cell before, after;
    int group_in;     /* channel group of the first input (single segment), else -1 */
    int group_out;    /* channel group of the output (single segment), else -1 */
    double eff_prune; /* fraction of input channels actually removed (after resolution) */
    bool skipped;     /* pf_plan_skipped */
};

struct pf_prof_totals {
    uint64_t params, macs, other_ops, act_bytes, bytes;
};

struct pf_prof_group {
    int channels;                /* before */
    int keep;                    /* after resolution and round_to */
    int n_requests;              /* consumers asking for a ratio > 0 */
    double min_ratio, max_ratio; /* over those requests (0 if none) */
    bool conflict;               /* consumers asked for different keep counts */
};

struct pf_profile {
    const struct pf_model *m;   /* borrowed */
    const struct pf_groups *g;  /* borrowed */
    const struct pf_plan *plan; /* borrowed */
    int n_layers;
    struct pf_prof_row *rows; /* n_layers, indexed like m->layers; owned */
    int n_groups;
    struct pf_prof_group *groups; /* g->n_groups; owned */
    struct pf_prof_totals before, after;
    int bad_layer; /* a layer whose entry was refused at the last update, else -1 */
    void *priv;    /* private caches; owned */
};

/* Profiles m under plan (g from pf_groups_build(m); plan from pf_plan_init(m)). Caller frees
 * with pf_profile_free. Returns 0, or -PF_ENOMEM, or -PF_EINVAL when the plan has a bad entry:
 * then *out is still a valid profile (the bad entry treated as in pf_profile_update) so a
 * caller may show it; the CLI refuses it. */
int pf_profile_new(const struct pf_model *m, const struct pf_groups *g, const struct pf_plan *plan,
                   struct pf_profile **out);
void pf_profile_free(struct pf_profile *p);

/* Recomputes after plan->layers[layer] changed (any field). Work is proportional to the layers
 * whose shapes depend on the groups that layer's input reads (O(1) for bits / sparsity).
 * Returns 0, or -PF_EINVAL with a message naming the layer when the entry is out of range or
 * leaves a group with zero channels; the profile then stays consistent, computed with the bad
 * entry's values clamped (ratio to keep at least one channel, bits to 1..32, sparsity to
 * [0, 1)), and bad_layer names it. */
int pf_profile_update(struct pf_profile *p, int layer);
/* Recomputes everything (after round_to, skip_first/last or skip_op_names changed, or many
 * entries at once). Same return values as pf_profile_new. */
int pf_profile_update_all(struct pf_profile *p);

/* Share of a quantity, 0..1, for the "share of total" bar. */
static inline double pf_profile_share(uint64_t part, uint64_t total)
{
    return total ? (double)part / (double)total : 0.0;
}

/* Whether group gi was pruned to a count that is not whole blocks of PF_BLK channels. The CPU's
 * convolution kernels pad such a group to whole blocks, so the layers that read or write it run
 * at about the speed of the padded count, not at their MACs (bench/RESULTS.md: "Why unrounded
 * counts stay slow"); `round_to` in the plan keeps whole blocks. */
bool pf_profile_group_odd(const struct pf_profile *p, int gi);
/* How many groups pf_profile_group_odd reports. */
int pf_profile_n_odd(const struct pf_profile *p);

/* Stored bytes of a weight tensor of n values at bits and sparsity (the rule above). */
uint64_t pf_profile_weight_bytes(uint64_t n, int bits, double sparsity);

#endif
