/* quant.h: the quantizers of the quantization learners: how values are chosen.
 *
 * Ports PocketFlow's learners/uniform_quantization/utils.py (min-max uniform quantizer with
 * buckets and a straight-through estimator), learners/nonuniform_quantization/utils.py
 * (codebooks initialised at quantiles, nearest-centroid assignment, centroid gradients as the
 * sum of their members') and the weight side of TF's quantization-aware training (symmetric
 * per-channel int8). The results are struct pf_qtensor (engine/qtensor.h: modes, bucket layouts,
 * bit packing), the form model files store. Every function takes plain arrays: w and g hold the
 * q->numel values of one tensor in the engine's layout. */
#ifndef PF_LEARNERS_COMMON_QUANT_H
#define PF_LEARNERS_COMMON_QUANT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/qtensor.h"

/* What a learner asks for one weight tensor. */
struct pf_quant_cfg {
    int bits;               /* 1..32; 32 means "keep float" to the learners */
    enum pf_qbucket bucket; /* tensor, channel or split */
    int bucket_size;        /* split only, >= 1 */
};

/* Checks a configuration coming from a user: bits outside 1..32, an unknown bucket type and a
 * bucket size < 1 (split) are -PF_EINVAL with a message starting with `who` (an option name). */
int pf_quant_cfg_check(const struct pf_quant_cfg *c, const char *who);
/* Parses PocketFlow's bucket options: use_buckets false -> tensor; true -> bucket_type
 * ("channel" or "split"); anything else is -PF_EINVAL naming `who` and the choices. */
int pf_quant_bucket_from_opts(bool use_buckets, const char *bucket_type, const char *who,
                              enum pf_qbucket *out);

/* ---- uniform (PocketFlow's UQ) ---- */

/* The min-max quantizer in mode `uniform`: per bucket lo = min, hi = max (split buckets include
 * their padding copies), alpha = hi - lo + 1e-10, scale = alpha / (2^bits - 1), offset = lo,
 * idx = round((w - lo) / scale) (PocketFlow's round((w - lo) / alpha * (2^bits - 1)), ties to
 * even as tf.round, divided by the stored float32 step). Writes the decoded
 * values offset + scale * idx to out (may be NULL; may equal w) and, with pack, the indices and
 * parameters into q (q must be uniform with q->numel values). |w - out| <= scale / 2 plus float
 * rounding. */
void pf_quant_uniform(struct pf_qtensor *q, const float *w, float *out, bool pack);

/* Clipping factors pf_quant_uniform_mse tries: 1, 0.95, ..., 0.2. */
#define PF_QMSE_STEPS     17
#define PF_QMSE_FACTOR(k) (1.0 - 0.05 * (k))

/* pf_quant_uniform with a clipped range (not PocketFlow's; uql_weight_range=mse): per bucket,
 * the min-max range scaled by the factor PF_QMSE_FACTOR(k) whose quantization has the least
 * squared error over the bucket (measured on every element, or an even stride of about 2^20 of
 * them for large tensors). Factor 1 is min-max itself, so the error is never larger. Weights
 * outside the range are clamped to its ends, and pf_quant_ste stops their gradient. */
void pf_quant_uniform_mse(struct pf_qtensor *q, const float *w, float *out, bool pack);

/* Straight-through estimator of a quantizer with range [lo, hi] per bucket of q: copies g to
 * gout (may be the same array) where lo <= w <= hi of w's bucket, 0 elsewhere. For the min-max
 * quantizer every weight is inside its bucket's range, so gradients pass unchanged. */
void pf_quant_ste(const struct pf_qtensor *q, const float *w, const float *g, float *gout);

/* ---- symmetric affine (TF's per-channel int8 weights) ---- */

/* Mode `affine`, zero point 0: per bucket scale = max|w| / (2^(bits-1) - 1) (narrow range,
 * TF's weights: int8 in [-127, 127]), q = clamp(round(w / scale)), value = scale * q. Writes the
 * decoded values to out (may be NULL or w) and, with pack, q into q. bits 2..32. */
void pf_quant_symmetric(struct pf_qtensor *q, const float *w, float *out, bool pack);

/* ---- codebooks (PocketFlow's NUQ) ---- */

enum pf_cb_init {
    PF_CB_QUANTILE, /* PocketFlow: centroid i at the 100 (i+1) / (K+1) percentile of the bucket */
    PF_CB_UNIFORM,  /* PocketFlow: K points evenly from the bucket's min to its max */
    PF_CB_KMEANS,   /* ours: Lloyd's k-means (1-D, exact assignment) started from the quantiles */
};
#define PF_KMEANS_ITERS 30

/* Initialises q's codebook (mode codebook, K = 2^bits entries per bucket) from w, then assigns
 * every weight (pf_quant_codebook_assign with pack). Percentiles interpolate linearly between
 * order statistics (numpy's default). Returns 0 or -PF_ENOMEM. */
int pf_quant_codebook_init(struct pf_qtensor *q, const float *w, enum pf_cb_init init);
/* Assigns each weight to its bucket's nearest centroid (ties: the smaller centroid) and writes
 * the centroid values to out (may be NULL or w); with pack, the indices go into q.
 * idx (may be NULL) receives each weight's centroid index (q->numel entries). 0 or -PF_ENOMEM. */
int pf_quant_codebook_assign(struct pf_qtensor *q, const float *w, float *out, bool pack,
                             uint32_t *idx);
/* Centroid gradients: gcb[b * K + k] = sum of g[i] over the weights i of bucket b assigned to
 * centroid k (idx from pf_quant_codebook_assign). gcb has n_buckets * K entries (overwritten). */
void pf_quant_codebook_grad(const struct pf_qtensor *q, const uint32_t *idx, const float *g,
                            float *gcb);

/* Distinct decoded values per bucket, at most (for tests and reports): the largest count over
 * the buckets of q of distinct values among out's entries of that bucket. */
size_t pf_quant_max_distinct(const struct pf_qtensor *q, const float *out);

#endif
