/* compress.h: what the sparsity and quantization learners share: their target tensors (the
 * weights of conv2d and dense layers, in model order), per-layer values from a plan or from
 * uniform options, the compact size of a model, the per-step compression metrics, and the
 * schedule arithmetic of their fine-tuning.
 * Used by weight_sparse.c, uniform_quant.c, nonuniform_quant.c and uniform_quant_tf.c. */
#ifndef PF_LEARNERS_COMMON_COMPRESS_H
#define PF_LEARNERS_COMMON_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "learners/learner.h"

/* One weight tensor a learner compresses. */
struct pf_wtarget {
    int layer;          /* index in m->layers */
    struct pf_param *p; /* its "weight" param (borrowed from the model) */
    size_t numel;       /* elements of p->w */
    int channels;       /* output channels (p->w.shape[0]) */
    double sparsity;    /* weight-sparse: final sparsity of this tensor */
    int w_bits;         /* quantizers: bits (32 = left in float) */
};

/* Lists the weight params of every conv2d and dense layer of m in model order into a new array
 * (*out, *n; caller frees *out; *n may be 0). 0 or -PF_ENOMEM. */
int pf_wtargets_list(struct pf_model *m, struct pf_wtarget **out, int *n);
/* True if target t is the first / the last of the list (PocketFlow keeps them in float unless
 * *_quantize_all_layers). */
static inline bool pf_wtarget_is_end(int t, int n)
{
    return t == 0 || t == n - 1;
}

/* Per-layer values from the run's plan: true if r has a plan that sets any conv2d / dense
 * layer's sparsity (what = 's'), w_bits below 32 ('w') or any layer's a_bits below 32 ('a');
 * then learners take their per-layer values from it (plan.h) instead of their uniform options.
 * Without a plan, or with a plan that leaves that value at its identity, false. */
bool pf_plan_drives(const struct pf_run *r, char what);

/* Bytes of m's parameters in their compact stored form: float32 values, except masked params
 * (non-zero values as float32 + a 1-bit mask: what a sparse format stores) and quantized ones
 * (pf_qtensor_stored_bytes). Dense float32 of everything: *dense (may be NULL). */
size_t pf_model_compact_bytes(const struct pf_model *m, size_t *dense);

/* Emits at `step` the metrics "sparsity" (zero fraction over all targets), "model_bytes" and
 * "size_ratio" (dense / compact), and per target "sparsity/<layer>" (and "bits/<layer>" with
 * bits = true). */
void pf_emit_compression(struct pf_run *r, long step, const struct pf_wtarget *t, int n, bool bits);

/* Sets c's epochs to `epochs`, moving piecewise decay boundaries with them. */
void pf_train_cfg_set_epochs(struct pf_train_cfg *c, double epochs);

#endif
