/* qtensor.c: packed b-bit indices with per-bucket decoding parameters, and activation
 * fake-quantization (see qtensor.h for the modes and bucket layouts).
 * Indices are packed LSB first in one bit stream: element i occupies bits [i*bits, (i+1)*bits)
 * of the byte array read as a little-endian integer, whatever the host's byte order. */
#include "engine/qtensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

static const char *const mode_names[] = {"uniform", "affine", "codebook"};
static const char *const bucket_names[] = {"tensor", "channel", "split"};

const char *pf_qmode_name(enum pf_qmode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "?";
}

const char *pf_qbucket_name(enum pf_qbucket b)
{
    return (unsigned)b < 3 ? bucket_names[b] : "?";
}

int pf_qmode_parse(const char *s, enum pf_qmode *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, mode_names[i])) {
            *out = (enum pf_qmode)i;
            return 0;
        }
    return PF_ERR(PF_EINVAL, "unknown quantization mode '%s' (uniform, affine or codebook)", s);
}

int pf_qbucket_parse(const char *s, enum pf_qbucket *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, bucket_names[i])) {
            *out = (enum pf_qbucket)i;
            return 0;
        }
    return PF_ERR(PF_EINVAL, "unknown bucket type '%s' (tensor, channel or split)", s);
}

int pf_qtensor_n_buckets(enum pf_qbucket bucket, size_t numel, int channels, int bucket_size)
{
    switch (bucket) {
    case PF_QBUCKET_TENSOR:
        return 1;
    case PF_QBUCKET_CHANNEL:
        if (channels < 1 || numel % (size_t)channels) {
            PF_ERR(PF_EINVAL, "channel buckets: %zu elements are not %d channels", numel, channels);
            return 0;
        }
        return channels;
    case PF_QBUCKET_SPLIT:
        if (bucket_size < 1) {
            PF_ERR(PF_EINVAL, "split buckets: bucket size %d must be at least 1", bucket_size);
            return 0;
        }
        if ((numel + (size_t)bucket_size - 1) / (size_t)bucket_size > (size_t)INT32_MAX) {
            PF_ERR(PF_EINVAL, "split buckets: too many buckets");
            return 0;
        }
        return (int)((numel + (size_t)bucket_size - 1) / (size_t)bucket_size);
    }
    PF_ERR(PF_EINVAL, "unknown bucket type %d (tensor, channel or split)", (int)bucket);
    return 0;
}

size_t pf_qtensor_packed_bytes(const struct pf_qtensor *q)
{
    return (q->numel * (size_t)q->bits + 7) / 8;
}

size_t pf_qtensor_stored_bytes(const struct pf_qtensor *q)
{
    size_t per_bucket = 0;
    if (q->mode == PF_QMODE_CODEBOOK)
        per_bucket = ((size_t)1 << q->bits) * sizeof(float);
    else
        per_bucket = 2 * sizeof(float); /* scale + offset, or scale + int32 zero point */
    return pf_qtensor_packed_bytes(q) + (size_t)q->n_buckets * per_bucket;
}

void pf_qtensor_free(struct pf_qtensor *q)
{
    if (!q)
        return;
    free(q->packed);
    free(q->codebook);
    free(q->zero_points);
    free(q->offsets);
    free(q->scales);
    free(q);
}

int pf_qtensor_new(struct pf_qtensor **out, enum pf_qmode mode, enum pf_qbucket bucket, int bits,
                   int bucket_size, size_t numel, int channels)
{
    *out = NULL;
    if ((unsigned)mode > PF_QMODE_CODEBOOK)
        return PF_ERR(PF_EINVAL, "unknown quantization mode %d", (int)mode);
    if (bits < 1 || bits > PF_QBITS_MAX)
        return PF_ERR(PF_EINVAL, "%d bits is outside 1..%d", bits, PF_QBITS_MAX);
    if (mode == PF_QMODE_CODEBOOK && bits > PF_QCODEBOOK_BITS_MAX)
        return PF_ERR(PF_EINVAL,
                      "a codebook of %d bits is too large (at most %d bits: 2^%d "
                      "centroids)",
                      bits, PF_QCODEBOOK_BITS_MAX, PF_QCODEBOOK_BITS_MAX);
    if (numel == 0)
        return PF_ERR(PF_EINVAL, "cannot quantize an empty tensor");
    int nb = pf_qtensor_n_buckets(bucket, numel, channels, bucket_size);
    if (nb < 1)
        return -PF_EINVAL;
    struct pf_qtensor *q = pf_calloc(1, sizeof *q);
    if (!q)
        return -PF_ENOMEM;
    q->mode = mode;
    q->bucket = bucket;
    q->bits = bits;
    q->bucket_size = bucket == PF_QBUCKET_SPLIT ? bucket_size : 0;
    q->numel = numel;
    q->n_buckets = nb;
    q->chan_len = bucket == PF_QBUCKET_CHANNEL ? numel / (size_t)nb : numel;
    size_t n = (size_t)nb;
    bool ok = (q->packed = pf_calloc(pf_qtensor_packed_bytes(q), 1)) != NULL;
    if (ok && mode != PF_QMODE_CODEBOOK)
        ok = (q->scales = pf_calloc(n, sizeof *q->scales)) != NULL;
    if (ok && mode == PF_QMODE_UNIFORM)
        ok = (q->offsets = pf_calloc(n, sizeof *q->offsets)) != NULL;
    if (ok && mode == PF_QMODE_AFFINE)
        ok = (q->zero_points = pf_calloc(n, sizeof *q->zero_points)) != NULL;
    if (ok && mode == PF_QMODE_CODEBOOK)
        ok = (q->codebook = pf_calloc(n << bits, sizeof *q->codebook)) != NULL;
    if (!ok) {
        pf_qtensor_free(q);
        return -PF_ENOMEM;
    }
    *out = q;
    return 0;
}

static int dup_array(void **dst, const void *src, size_t bytes)
{
    *dst = NULL;
    if (!src)
        return 0;
    if (!(*dst = pf_malloc(bytes ? bytes : 1)))
        return -PF_ENOMEM;
    memcpy(*dst, src, bytes);
    return 0;
}

int pf_qtensor_clone(const struct pf_qtensor *q, struct pf_qtensor **out)
{
    *out = NULL;
    struct pf_qtensor *c = pf_calloc(1, sizeof *c);
    if (!c)
        return -PF_ENOMEM;
    *c = *q;
    c->scales = NULL;
    c->offsets = NULL;
    c->zero_points = NULL;
    c->codebook = NULL;
    c->packed = NULL;
    size_t n = (size_t)q->n_buckets;
    size_t cb = q->mode == PF_QMODE_CODEBOOK ? (n << q->bits) * sizeof(float) : 0;
    if (dup_array((void **)&c->scales, q->scales, n * sizeof(float)) < 0 ||
        dup_array((void **)&c->offsets, q->offsets, n * sizeof(float)) < 0 ||
        dup_array((void **)&c->zero_points, q->zero_points, n * sizeof(int32_t)) < 0 ||
        dup_array((void **)&c->codebook, q->codebook, cb) < 0 ||
        dup_array((void **)&c->packed, q->packed, pf_qtensor_packed_bytes(q)) < 0) {
        pf_qtensor_free(c);
        return -PF_ENOMEM;
    }
    *out = c;
    return 0;
}

int pf_qtensor_prune(const struct pf_qtensor *q, size_t outer, int dim, size_t inner,
                     const uint8_t *keep, struct pf_qtensor **out)
{
    *out = NULL;
    int kept = 0, K = q->n_buckets;
    for (int i = 0; i < dim; i++)
        kept += keep[i] != 0;
    bool by_bucket = q->bucket == PF_QBUCKET_CHANNEL && outer == 1 && dim == K;
    if (q->bucket == PF_QBUCKET_SPLIT ||
        (q->bucket == PF_QBUCKET_CHANNEL && !by_bucket && outer % (size_t)K))
        return 0;
    size_t numel = outer * (size_t)kept * inner;
    struct pf_qtensor *c = NULL;
    /* the new layout cannot be invalid where the old one was valid */
    int rc = pf_qtensor_new(&c, q->mode, q->bucket, q->bits, q->bucket_size, numel,
                            q->bucket == PF_QBUCKET_CHANNEL ? (by_bucket ? kept : K) : 1);
    if (rc < 0)
        return rc;
    size_t cb = q->mode == PF_QMODE_CODEBOOK ? (size_t)1 << q->bits : 0;
    for (int b = 0, nb = 0; b < K; b++) {
        if (by_bucket && !keep[b])
            continue;
        if (c->scales)
            c->scales[nb] = q->scales[b];
        if (c->offsets)
            c->offsets[nb] = q->offsets[b];
        if (c->zero_points)
            c->zero_points[nb] = q->zero_points[b];
        if (cb)
            memcpy(c->codebook + nb * cb, q->codebook + b * cb, cb * sizeof *c->codebook);
        nb++;
    }
    size_t j = 0;
    for (size_t o = 0; o < outer; o++)
        for (int d = 0; d < dim; d++) {
            if (!keep[d])
                continue;
            size_t at = (o * (size_t)dim + (size_t)d) * inner;
            for (size_t i = 0; i < inner; i++)
                pf_qtensor_set(c, j++, pf_qtensor_get(q, at + i));
        }
    *out = c;
    return 0;
}

bool pf_qtensor_matches(const struct pf_qtensor *q, const float *w, size_t n)
{
    if (q->numel != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        float v = pf_qtensor_value(q, i);
        if (memcmp(&v, &w[i], sizeof v) != 0)
            return false;
    }
    return true;
}

/* ---- bit packing ---- */

void pf_qtensor_set(struct pf_qtensor *q, size_t i, uint32_t idx)
{
    const int b = q->bits;
    uint64_t v = b == 32 ? idx : idx & ((1u << b) - 1u);
    size_t bit = i * (size_t)b;
    for (int done = 0; done < b;) {
        size_t byte = (bit + (size_t)done) / 8;
        int off = (int)((bit + (size_t)done) % 8);
        int take = 8 - off < b - done ? 8 - off : b - done;
        uint8_t m = (uint8_t)(((1u << take) - 1u) << off);
        q->packed[byte] = (uint8_t)((q->packed[byte] & ~m) | (((v >> done) << off) & m));
        done += take;
    }
}

uint32_t pf_qtensor_get(const struct pf_qtensor *q, size_t i)
{
    const int b = q->bits;
    size_t bit = i * (size_t)b;
    uint64_t v = 0;
    for (int done = 0; done < b;) {
        size_t byte = (bit + (size_t)done) / 8;
        int off = (int)((bit + (size_t)done) % 8);
        int take = 8 - off < b - done ? 8 - off : b - done;
        v |= (uint64_t)((q->packed[byte] >> off) & ((1u << take) - 1u)) << done;
        done += take;
    }
    return (uint32_t)v;
}

int32_t pf_qtensor_get_signed(const struct pf_qtensor *q, size_t i)
{
    uint32_t u = pf_qtensor_get(q, i);
    if (q->bits < 32 && (u >> (q->bits - 1)) & 1u)
        return (int32_t)((int64_t)u - ((int64_t)1 << q->bits));
    return (int32_t)u;
}

/* ---- decoding ---- */

float pf_qtensor_value(const struct pf_qtensor *q, size_t i)
{
    int b = pf_qtensor_bucket_of(q, i);
    switch (q->mode) {
    case PF_QMODE_UNIFORM:
        return q->offsets[b] + q->scales[b] * (float)pf_qtensor_get(q, i);
    case PF_QMODE_AFFINE:
        return q->scales[b] * (float)((int64_t)pf_qtensor_get_signed(q, i) - q->zero_points[b]);
    case PF_QMODE_CODEBOOK:
        return q->codebook[((size_t)b << q->bits) + pf_qtensor_get(q, i)];
    }
    return 0.0f;
}

void pf_qtensor_dequantize(const struct pf_qtensor *q, float *out)
{
    for (size_t i = 0; i < q->numel; i++)
        out[i] = pf_qtensor_value(q, i);
}

int pf_qtensor_check(const struct pf_qtensor *q, const char *what)
{
    size_t n = (size_t)q->n_buckets;
    for (size_t b = 0; q->scales && b < n; b++)
        if (!isfinite(q->scales[b]) || (q->mode == PF_QMODE_AFFINE && !(q->scales[b] > 0.0f)))
            return PF_ERR(PF_EPARSE, "%s: scale %zu is %g (must be finite%s)", what, b,
                          (double)q->scales[b], q->mode == PF_QMODE_AFFINE ? " and > 0" : "");
    for (size_t b = 0; q->offsets && b < n; b++)
        if (!isfinite(q->offsets[b]))
            return PF_ERR(PF_EPARSE, "%s: offset %zu is not finite", what, b);
    if (q->zero_points) {
        int64_t lo = q->bits == 32 ? INT32_MIN : -((int64_t)1 << (q->bits - 1));
        int64_t hi = q->bits == 32 ? INT32_MAX : ((int64_t)1 << (q->bits - 1)) - 1;
        for (size_t b = 0; b < n; b++)
            if (q->zero_points[b] < lo || q->zero_points[b] > hi)
                return PF_ERR(PF_EPARSE, "%s: zero point %zu = %d is outside %lld..%lld", what, b,
                              (int)q->zero_points[b], (long long)lo, (long long)hi);
    }
    for (size_t k = 0; q->codebook && k < (n << q->bits); k++)
        if (!isfinite(q->codebook[k]))
            return PF_ERR(PF_EPARSE, "%s: codebook entry %zu is not finite", what, k);
    return 0;
}

/* ---- activations ---- */

void pf_actq_init(struct pf_actq *a)
{
    memset(a, 0, sizeof *a);
    a->decay = 0.99f;
    a->tie = -1;
}

void pf_actq_params(int bits, float lo, float hi, float *scale, int32_t *zero_point)
{
    const float qmax = (float)((1u << bits) - 1u);
    lo = lo < 0.0f ? lo : 0.0f;
    hi = hi > 0.0f ? hi : 0.0f;
    float s = (hi - lo) / qmax;
    if (!(s >= 1e-8f))
        s = 1e-8f;
    float zp = nearbyintf(-lo / s);
    zp = zp < 0.0f ? 0.0f : zp > qmax ? qmax : zp;
    *scale = s;
    *zero_point = (int32_t)zp;
}

void pf_actq_apply(struct pf_actq *a, float *y, size_t n, bool train)
{
    if (a->bits <= 0 || n == 0)
        return;
    if ((train || a->calibrate) && !a->frozen) {
        float lo = y[0], hi = y[0];
        for (size_t i = 1; i < n; i++) {
            lo = y[i] < lo ? y[i] : lo;
            hi = y[i] > hi ? y[i] : hi;
        }
        if (!a->ready) {
            a->lo = lo;
            a->hi = hi;
            a->ready = true;
        } else {
            a->lo = a->decay * a->lo + (1.0f - a->decay) * lo;
            a->hi = a->decay * a->hi + (1.0f - a->decay) * hi;
        }
    }
    if (a->bypass || !a->ready)
        return;
    float s;
    int32_t zp;
    pf_actq_params(a->bits, a->lo, a->hi, &s, &zp);
    const float qmax = (float)((1u << a->bits) - 1u), z = (float)zp, inv = 1.0f / s;
    for (size_t i = 0; i < n; i++) {
        float q = nearbyintf(y[i] * inv) + z;
        q = q < 0.0f ? 0.0f : q > qmax ? qmax : q;
        y[i] = s * (q - z);
    }
}
