/* qtensor.h: quantized tensors as they are stored, and activation fake-quantization (module API).
 *
 * A struct pf_qtensor is the compressed form of one weight tensor: b-bit indices packed LSB
 * first, plus per-bucket decoding parameters. It is what /quant/<layer>/<param> holds in a model
 * file (DESIGN.md section 4, model_h5.h) and what the int8 path (model/int8.h) reads. Learners
 * choose the values (learners/common/quant.h); the engine only decodes. Three modes:
 *   uniform   value = offsets[b] + scales[b] * idx          idx in [0, 2^bits - 1]
 *             (PocketFlow's min-max quantizer: offset = min, scale = (max - min + 1e-10) /
 *             (2^bits - 1); learners/uniform_quantization)
 *   affine    value = scales[b] * (q - zero_points[b])      q = idx as a signed two's-complement
 *             b-bit integer (TF / TFLite's scheme: int8 weights with zero point 0, int32 biases)
 *   codebook  value = codebook[b * 2^bits + idx]            (non-uniform: 2^bits centroids per
 *             bucket, stored de-normalised)
 * Buckets (which decoding parameters element i uses; i is the row-major index of the tensor in
 * its engine layout, conv (K, C/groups, R, S), dense (out, in)):
 *   tensor    one bucket;
 *   channel   one bucket per output channel (axis 0): element i is in bucket i / (numel / K);
 *   split     PocketFlow's `split` buckets of bucket_size: the flattened tensor is padded to
 *             n_buckets * bucket_size with copies of its last value and read as a row-major
 *             [bucket_size, n_buckets] matrix whose COLUMNS are the buckets, so element i is in
 *             bucket i % n_buckets, n_buckets = ceil(numel / bucket_size) (strided, not
 *             contiguous; the padding copies count in the ranges of the buckets they land in).
 *             PocketFlow flattened TF's [kh, kw, in, out] kernel; we flatten our own layout.
 *
 * Activation fake-quantization (struct pf_actq) quantizes a layer's output in float with TF's
 * nudged affine scheme (the range is widened so that 0 is exactly representable), from a range
 * kept as a moving average of batch min / max in training. The model applies it after the layer's
 * forward (graph.h); backward treats it as the identity (straight-through estimator). */
#ifndef PF_ENGINE_QTENSOR_H
#define PF_ENGINE_QTENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PF_QBITS_MAX          32 /* bits per index, 1..32 */
#define PF_QCODEBOOK_BITS_MAX 16 /* a codebook holds 2^bits entries per bucket */

enum pf_qmode { PF_QMODE_UNIFORM, PF_QMODE_AFFINE, PF_QMODE_CODEBOOK };
enum pf_qbucket { PF_QBUCKET_TENSOR, PF_QBUCKET_CHANNEL, PF_QBUCKET_SPLIT };

struct pf_qtensor {
    enum pf_qmode mode;
    enum pf_qbucket bucket;
    int bits;             /* 1..32 (codebook: 1..16) */
    int bucket_size;      /* split: elements per bucket (PocketFlow's bucket_size); else 0 */
    size_t numel;         /* elements of the tensor */
    int n_buckets;        /* tensor: 1; channel: K; split: ceil(numel / bucket_size) */
    size_t chan_len;      /* channel: numel / n_buckets; else numel */
    float *scales;        /* uniform, affine: (n_buckets); else NULL */
    float *offsets;       /* uniform: (n_buckets); else NULL */
    int32_t *zero_points; /* affine: (n_buckets); else NULL */
    float *codebook;      /* codebook: (n_buckets, 2^bits); else NULL */
    uint8_t *packed;      /* pf_qtensor_packed_bytes(q) bytes: index i at bits [i*bits, +bits) */
};

/* Creates a zeroed quantized tensor for numel elements in `channels` output channels (used by
 * the channel layout; numel must be a multiple of it). bucket_size is read for split only
 * (>= 1). Every field is validated: bits outside 1..32 (1..16 for a codebook), an unknown mode
 * or bucket, a bad bucket size are -PF_EINVAL with a clear message. Caller frees with
 * pf_qtensor_free. Returns 0, -PF_EINVAL or -PF_ENOMEM (*out NULL). */
int pf_qtensor_new(struct pf_qtensor **out, enum pf_qmode mode, enum pf_qbucket bucket, int bits,
                   int bucket_size, size_t numel, int channels);
/* NULL is a no-op. */
void pf_qtensor_free(struct pf_qtensor *q);
/* A deep copy (*out NULL on failure). 0 or -PF_ENOMEM. */
int pf_qtensor_clone(const struct pf_qtensor *q, struct pf_qtensor **out);

/* The quantized form of a tensor viewed as (outer, dim, inner) after the entries of its middle
 * axis with keep[i] == 0 are removed (a pruned layer's weights): same mode and bits, the kept
 * elements' indices, the kept buckets' parameters. One tensor-wide bucket always follows;
 * channel buckets (slices of the first axis) follow when that axis is the pruned one or is
 * kept whole. Split buckets stride over the flat index, so they cannot: *out is NULL then, and
 * the caller keeps decoded floats. Returns 0 or -PF_ENOMEM. */
int pf_qtensor_prune(const struct pf_qtensor *q, size_t outer, int dim, size_t inner,
                     const uint8_t *keep, struct pf_qtensor **out);

/* Number of buckets of a layout (0 with a message if invalid). */
int pf_qtensor_n_buckets(enum pf_qbucket bucket, size_t numel, int channels, int bucket_size);
/* Bucket of element i. */
static inline int pf_qtensor_bucket_of(const struct pf_qtensor *q, size_t i)
{
    switch (q->bucket) {
    case PF_QBUCKET_CHANNEL:
        return (int)(i / q->chan_len);
    case PF_QBUCKET_SPLIT:
        return (int)(i % (size_t)q->n_buckets);
    default:
        return 0;
    }
}

/* Bytes of the packed indices: ceil(numel * bits / 8). */
size_t pf_qtensor_packed_bytes(const struct pf_qtensor *q);
/* Bytes the tensor takes stored: packed indices + decoding parameters (float32 / int32). */
size_t pf_qtensor_stored_bytes(const struct pf_qtensor *q);
/* Stores / reads the raw b-bit index of element i (idx is masked to bits). */
void pf_qtensor_set(struct pf_qtensor *q, size_t i, uint32_t idx);
uint32_t pf_qtensor_get(const struct pf_qtensor *q, size_t i);
/* The index of element i as a signed two's-complement b-bit integer (affine mode's q). */
int32_t pf_qtensor_get_signed(const struct pf_qtensor *q, size_t i);
/* Decodes element i / every element into out[0..numel). */
float pf_qtensor_value(const struct pf_qtensor *q, size_t i);
void pf_qtensor_dequantize(const struct pf_qtensor *q, float *out);

/* Whether q decodes to exactly w[0..n) (bit for bit): a tensor trained or refitted after it was
 * quantized no longer has that form. */
bool pf_qtensor_matches(const struct pf_qtensor *q, const float *w, size_t n);

/* Checks a tensor read from a file: parameters finite, scales > 0 where they divide, affine
 * zero points inside the b-bit range. Returns 0 or -PF_EPARSE naming `what`. */
int pf_qtensor_check(const struct pf_qtensor *q, const char *what);

/* Names as written in files and accepted from users ("uniform", "affine", "codebook";
 * "tensor", "channel", "split"). The parsers return 0 or -PF_EINVAL listing the choices. */
const char *pf_qmode_name(enum pf_qmode m);
const char *pf_qbucket_name(enum pf_qbucket b);
int pf_qmode_parse(const char *s, enum pf_qmode *out);
int pf_qbucket_parse(const char *s, enum pf_qbucket *out);

/* ---- activation fake-quantization ---- */

struct pf_actq {
    int bits;       /* 0 = off (float); 1..31 */
    float lo, hi;   /* the range (as observed; nudged when used) */
    float decay;    /* training: range = decay * range + (1 - decay) * batch range */
    bool ready;     /* a range has been observed */
    bool frozen;    /* training forward no longer updates the range */
    bool bypass;    /* observe the range but pass values through (quantization delay) */
    bool calibrate; /* inference forward passes observe the range too (calibration) */
    int tie;        /* >= 0: use the range of another entry (a layer index, or n_layers for the
                     * network input) instead of its own: for layers that keep their input's
                     * quantization (max pool, ReLU, flatten, average pools); -1 = own range */
};

/* Off, own range, decay 0.99. */
void pf_actq_init(struct pf_actq *a);
/* The scale and zero point of a range [lo, hi] at `bits`, nudged as TF does: lo = min(lo, 0),
 * hi = max(hi, 0), scale = (hi - lo) / (2^bits - 1) (at least 1e-8), zero_point =
 * round(-lo / scale) clamped to [0, 2^bits - 1]. */
void pf_actq_params(int bits, float lo, float hi, float *scale, int32_t *zero_point);
/* Training (or calibrate): folds the batch's min / max of y[0..n) into the range (unless
 * frozen), then, unless
 * bypass, replaces y by scale * (clamp(round(y / scale) + zp, 0, 2^bits - 1) - zp). Inference:
 * quantizes with the current range (nothing if no range was ever observed). Off: no-op. */
void pf_actq_apply(struct pf_actq *a, float *y, size_t n, bool train);

#endif
