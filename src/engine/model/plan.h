/* plan.h: a per-layer compression plan, struct pf_plan (module API; DESIGN.md section 3).
 *
 * A plan gives every layer of one model (indexed like m->layers) a prune ratio, a weight
 * sparsity, weight and activation bit-widths and a skip flag, plus three global skip rules
 * (first / last weight layer, layer-name patterns: PocketFlow's skip_op_names) and round_to.
 * The profiler (profile.h) answers "what if" for a plan without touching weights; learners take
 * it as their target. The plan borrows nothing from the model after it is made: it only needs
 * the same layer count and order, so keep one plan per model.
 *
 * Conventions:
 * - prune_ratio is the fraction of the layer's INPUT channels removed (PocketFlow's and AMC's
 *   convention). It is meaningful on conv2d and dense layers only. PocketFlow's spelling
 *   preserve_ratio = 1 - prune_ratio is accepted on input (YAML and ratio.list); we write
 *   prune_ratio. The producer of those channels, and everything tied to them in their channel
 *   group (groups.h), loses the same channels; see profile.h for how a group resolves
 *   different ratios (the smallest keep count wins).
 * - sparsity is the fraction of the layer's weight tensor set to zero (conv2d / dense).
 * - w_bits: bits per stored weight (conv2d / dense; 32 = float32). a_bits: bits per value of the
 *   layer's OUTPUT activation (any layer; 32 = float32). Biases and BN params stay float32.
 * - A skipped layer (its flag, skip_first / skip_last, or a matching pattern) is left alone by
 *   learners: the profiler treats its entry as the identity (ratio 0, sparsity 0, 32 bits). Its
 *   output channels may still shrink when a consumer is pruned (PocketFlow's CP rule).
 *
 * Plan YAML (a plan file on its own, or the same keys in a preset; DESIGN.md section 4):
 *     round_to: 8                    # optional, default 1
 *     skip_first: true               # optional, default false (the first conv2d/dense layer)
 *     skip_last: false               # optional, default false (the last conv2d/dense layer)
 *     skip_op_names: [fc*, "*proj"]  # optional: fnmatch(3) globs over layer names
 *     layers:
 *       conv2: {prune_ratio: 0.5, sparsity: 0.3, w_bits: 4, a_bits: 8}
 *       fc1:   {preserve_ratio: 0.25, skip: false}
 * Every value is validated; errors name the file, line, column and layer. */
#ifndef PF_ENGINE_MODEL_PLAN_H
#define PF_ENGINE_MODEL_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/core/pf_cfg.h"
#include "engine/model/graph.h"

#define PF_PLAN_BITS_FULL 32 /* float32: no quantization */
#define PF_PLAN_MAX_SKIP  64 /* skip_op_names patterns at most */

struct pf_plan_layer {
    double prune_ratio; /* fraction of input channels removed, [0, 1); 0 = not pruned */
    double sparsity;    /* fraction of weights zeroed, [0, 1) */
    int w_bits;         /* weight bits, 1..32 */
    int a_bits;         /* output activation bits, 1..32 */
    bool skip;          /* the user's own skip flag (see pf_plan_skipped for the effective one) */
};

struct pf_plan {
    int n_layers;                 /* = m->n_layers of the model the plan was made for */
    struct pf_plan_layer *layers; /* n_layers entries, owned */
    int round_to;                 /* kept channel counts are multiples of this (>= 1) */
    bool skip_first, skip_last;   /* skip the first / last conv2d-or-dense layer */
    int n_skip_names;
    char *skip_names[PF_PLAN_MAX_SKIP]; /* fnmatch globs, owned */
};

/* Makes *p the identity plan for m: every layer ratio 0, sparsity 0, 32 / 32 bits, no skips,
 * round_to 1. Free with pf_plan_deinit. Returns 0 or -PF_ENOMEM (then *p is empty). */
int pf_plan_init(struct pf_plan *p, const struct pf_model *m);
/* Frees what pf_plan_init / the readers allocated and empties *p. Safe on an empty plan. */
void pf_plan_deinit(struct pf_plan *p);
/* Resets every entry and global option to the identity (keeps the allocation). */
void pf_plan_reset(struct pf_plan *p);
/* Copies src into dst (dst must be empty or initialised; it is replaced). 0 or -PF_ENOMEM. */
int pf_plan_copy(struct pf_plan *dst, const struct pf_plan *src);

/* True if learners must leave layer i alone: its own flag, skip_first / skip_last when i is the
 * first / last conv2d-or-dense layer, or a skip_op_names match. */
bool pf_plan_skipped(const struct pf_plan *p, const struct pf_model *m, int i);
/* The entry the profiler uses for layer i: the layer's entry, or the identity if skipped. */
struct pf_plan_layer pf_plan_effective(const struct pf_plan *p, const struct pf_model *m, int i);
/* True for the layer kinds with a weight tensor (conv2d, dense): the only ones that take
 * prune_ratio, sparsity and w_bits. */
bool pf_plan_has_weights(const struct pf_layer *l);

/* Checks one entry against layer i of m: ranges (ratios in [0, 1), bits in 1..32), weight-only
 * settings on a layer without weights. Zero-channel outcomes are checked by the profiler, which
 * knows the channel groups. Sets a message naming the layer; returns 0 or -PF_EINVAL. */
int pf_plan_check_layer(const struct pf_plan *p, const struct pf_model *m, int i);
/* The full check of entry e for layer i, with the channel groups of m (groups.h): the checks
 * above, plus a prune ratio on a layer whose input is a fixed group (the network input, ...)
 * and a ratio that leaves zero channels. Message names the layer. 0 or -PF_EINVAL. */
struct pf_groups;
int pf_plan_check_entry(const struct pf_plan_layer *e, const struct pf_model *m,
                        const struct pf_groups *g, int i);
/* Channels kept when a ratio of `channels` is removed: round(channels x (1 - ratio)). */
int pf_plan_keep_count(int channels, double ratio);

/* ---- YAML ---- */

/* Reads plan keys from a parsed YAML map into p (which must be initialised for m): round_to,
 * skip_first, skip_last, skip_op_names and layers (see the top of this file). Entries not
 * named keep their current values, so a preset can be layered over a plan. With
 * allow_other_keys (a preset holding other keys too) unknown top-level keys are ignored;
 * otherwise they are errors. Unknown layer names, unknown per-layer keys, both prune_ratio and
 * preserve_ratio, and out-of-range values are errors "file:line:col: layer: ...".
 * Borrows cfg. Returns 0 or -PF_EPARSE / -PF_EINVAL / -PF_ENOMEM (p may be partly updated). */
int pf_plan_read_cfg(struct pf_plan *p, const struct pf_model *m, const struct pf_cfg *cfg,
                     bool allow_other_keys);
/* Parses YAML text (name is used in messages) and calls pf_plan_read_cfg (strict keys). */
int pf_plan_read_yaml(struct pf_plan *p, const struct pf_model *m, const char *text, size_t len,
                      const char *name);
/* The plan as YAML text in the format above: global options, then only the layers whose entry
 * differs from the identity, in model order, with numbers printed to round-trip exactly.
 * Caller frees *out with free(). Returns 0 or -PF_ENOMEM. */
int pf_plan_to_yaml(const struct pf_plan *p, const struct pf_model *m, char **out);

/* ---- PocketFlow's ratio.list ---- */

/* Reads PocketFlow's cp_prune_list_file: comma-separated (whitespace and newlines allowed)
 * PRESERVE ratios, one per conv2d layer in model order; missing trailing entries mean 1.0 (as
 * PocketFlow's list mode does); more entries than conv2d layers, non-numbers and values outside
 * (0, 1] are errors naming the file and the entry's position. Sets each conv2d layer's
 * prune_ratio = 1 - value. Returns 0, -PF_EPARSE. */
int pf_plan_read_ratio_list(struct pf_plan *p, const struct pf_model *m, const char *text,
                            size_t len, const char *name);
/* Writes one preserve ratio per conv2d layer, comma-separated, one line. Caller frees *out. */
int pf_plan_to_ratio_list(const struct pf_plan *p, const struct pf_model *m, char **out);

/* Loads a plan file into p (initialised for m): "*.list" is a ratio.list, anything else YAML.
 * Returns 0, -PF_EIO (unreadable, the message names the file), -PF_EPARSE, -PF_EINVAL. */
int pf_plan_load(struct pf_plan *p, const struct pf_model *m, const char *path);
/* Writes pf_plan_to_yaml's text to path through "<path>.tmp" + rename. 0 or -PF_EIO. */
int pf_plan_save(const struct pf_plan *p, const struct pf_model *m, const char *path);

#endif
