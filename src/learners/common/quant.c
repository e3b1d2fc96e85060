/* quant.c: uniform, symmetric and codebook quantizers over bucket layouts (see quant.h).
 * Ports PocketFlow's learners/uniform_quantization/utils.py and
 * learners/nonuniform_quantization/utils.py. Bucket ranges are computed in one pass over the
 * tensor; split buckets add PocketFlow's padding copies of the last value. */
#include "learners/common/quant.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

int pf_quant_cfg_check(const struct pf_quant_cfg *c, const char *who)
{
    if (c->bits < 1 || c->bits > PF_QBITS_MAX)
        return PF_ERR(PF_EINVAL, "%s: %d bits is outside 1..%d", who, c->bits, PF_QBITS_MAX);
    if ((unsigned)c->bucket > PF_QBUCKET_SPLIT)
        return PF_ERR(PF_EINVAL, "%s: unknown bucket type %d (tensor, channel or split)", who,
                      (int)c->bucket);
    if (c->bucket == PF_QBUCKET_SPLIT && c->bucket_size < 1)
        return PF_ERR(PF_EINVAL, "%s: bucket size %d must be at least 1", who, c->bucket_size);
    return 0;
}

int pf_quant_bucket_from_opts(bool use_buckets, const char *bucket_type, const char *who,
                              enum pf_qbucket *out)
{
    if (strcmp(bucket_type, "channel") && strcmp(bucket_type, "split"))
        return PF_ERR(PF_EINVAL, "%s: unknown bucket type '%s' (channel or split)", who,
                      bucket_type);
    *out = !use_buckets                      ? PF_QBUCKET_TENSOR
           : !strcmp(bucket_type, "channel") ? PF_QBUCKET_CHANNEL
                                             : PF_QBUCKET_SPLIT;
    return 0;
}

/* ---- bucket ranges ---- */

/* Per-bucket min and max of w (lo, hi: n_buckets each), split padding included. */
static void bucket_ranges(const struct pf_qtensor *q, const float *w, float *lo, float *hi)
{
    int nb = q->n_buckets;
    for (int b = 0; b < nb; b++) {
        lo[b] = INFINITY;
        hi[b] = -INFINITY;
    }
    for (size_t i = 0; i < q->numel; i++) {
        int b = pf_qtensor_bucket_of(q, i);
        lo[b] = w[i] < lo[b] ? w[i] : lo[b];
        hi[b] = w[i] > hi[b] ? w[i] : hi[b];
    }
    if (q->bucket == PF_QBUCKET_SPLIT) {
        /* PocketFlow pads to n_buckets * bucket_size with the last value; the copies at flat
         * positions numel .. end land in buckets (numel + t) % n_buckets */
        size_t pad = (size_t)nb * (size_t)q->bucket_size - q->numel;
        float last = w[q->numel - 1];
        for (size_t t = 0; t < pad && t < (size_t)nb; t++) {
            int b = (int)((q->numel + t) % (size_t)nb);
            lo[b] = last < lo[b] ? last : lo[b];
            hi[b] = last > hi[b] ? last : hi[b];
        }
    }
}

/* ---- uniform ---- */

/* Quantizes w with the ranges in q (offsets, scales = steps): decoded values into out (may be
 * NULL), indices into q with pack. */
static void uniform_apply(struct pf_qtensor *q, const float *w, float *out, bool pack)
{
    const double levels = (double)(((uint64_t)1 << q->bits) - 1);
    for (size_t i = 0; i < q->numel; i++) {
        int b = pf_qtensor_bucket_of(q, i);
        /* PocketFlow: round((w - min) / alpha * levels); dividing by the stored step keeps the
         * decoded value within half a step of w whatever float32 did to alpha / levels */
        double v = nearbyint(((double)w[i] - (double)q->offsets[b]) / (double)q->scales[b]);
        v = v < 0.0 ? 0.0 : v > levels ? levels : v;
        uint32_t idx = (uint32_t)v;
        if (pack)
            pf_qtensor_set(q, i, idx);
        if (out)
            out[i] = q->offsets[b] + q->scales[b] * (float)idx;
    }
}

/* The step of the range [lo * f, hi * f] at q's bits (its offset is lo * f). */
static double uniform_step(const struct pf_qtensor *q, double lo, double hi, double f)
{
    return ((hi - lo) * f + 1e-10) / (double)(((uint64_t)1 << q->bits) - 1);
}

/* offsets = lo * f, scales = the step of [lo * f, hi * f]. */
static void uniform_set_range(struct pf_qtensor *q, int b, double lo, double hi, double f)
{
    q->offsets[b] = (float)(lo * f);
    q->scales[b] = (float)uniform_step(q, lo, hi, f);
}

void pf_quant_uniform(struct pf_qtensor *q, const float *w, float *out, bool pack)
{
    /* ranges computed in place: offsets = min, scales = max, then scales = step */
    bucket_ranges(q, w, q->offsets, q->scales);
    for (int b = 0; b < q->n_buckets; b++)
        uniform_set_range(q, b, q->offsets[b], q->scales[b], 1.0);
    uniform_apply(q, w, out, pack);
}

void pf_quant_uniform_mse(struct pf_qtensor *q, const float *w, float *out, bool pack)
{
    const int nb = q->n_buckets;
    const double levels = (double)(((uint64_t)1 << q->bits) - 1);
    const size_t nk = (size_t)nb * PF_QMSE_STEPS;
    float *lo = pf_malloc((size_t)nb * sizeof *lo), *hi = pf_malloc((size_t)nb * sizeof *hi);
    /* per (bucket, factor): the error sum, and the range's offset and step, computed once */
    double *err = pf_calloc(nk * 3, sizeof *err), *off = err + nk, *step = off + nk;
    if (!lo || !hi || !err) { /* no memory for the search: min-max, which needs none */
        free(lo);
        free(hi);
        free(err);
        pf_quant_uniform(q, w, out, pack);
        return;
    }
    bucket_ranges(q, w, lo, hi);
    for (int b = 0; b < nb; b++)
        for (int k = 0; k < PF_QMSE_STEPS; k++) {
            off[(size_t)b * PF_QMSE_STEPS + k] = lo[b] * PF_QMSE_FACTOR(k);
            step[(size_t)b * PF_QMSE_STEPS + k] = uniform_step(q, lo[b], hi[b], PF_QMSE_FACTOR(k));
        }
    size_t stride = q->numel >> 20 ? (q->numel >> 20) | 1 : 1; /* odd: every split bucket */
    for (size_t i = 0; i < q->numel; i += stride) {
        size_t at = (size_t)pf_qtensor_bucket_of(q, i) * PF_QMSE_STEPS;
        for (int k = 0; k < PF_QMSE_STEPS; k++) {
            double v = nearbyint(((double)w[i] - off[at + k]) / step[at + k]);
            v = v < 0.0 ? 0.0 : v > levels ? levels : v;
            double d = off[at + k] + step[at + k] * v - (double)w[i];
            err[at + k] += d * d;
        }
    }
    for (int b = 0; b < nb; b++) {
        const double *e = err + (size_t)b * PF_QMSE_STEPS;
        int best = 0;
        for (int k = 1; k < PF_QMSE_STEPS; k++)
            if (e[k] < e[best])
                best = k;
        uniform_set_range(q, b, lo[b], hi[b], PF_QMSE_FACTOR(best));
    }
    free(lo);
    free(hi);
    free(err);
    uniform_apply(q, w, out, pack);
}

void pf_quant_ste(const struct pf_qtensor *q, const float *w, const float *g, float *gout)
{
    /* the quantizer's range per bucket is the stored one: offset .. offset + levels * scale
     * (uniform); other modes clip nothing */
    const double levels = (double)(((uint64_t)1 << q->bits) - 1);
    for (size_t i = 0; i < q->numel; i++) {
        bool in = true;
        if (q->mode == PF_QMODE_UNIFORM) {
            int b = pf_qtensor_bucket_of(q, i);
            double lo = q->offsets[b], hi = lo + levels * (double)q->scales[b];
            in = w[i] >= lo && w[i] <= hi;
        }
        gout[i] = in ? g[i] : 0.0f;
    }
}

/* ---- symmetric affine ---- */

void pf_quant_symmetric(struct pf_qtensor *q, const float *w, float *out, bool pack)
{
    int nb = q->n_buckets;
    const int bits = q->bits < 2 ? 2 : q->bits;
    const double qmax = (double)(((uint64_t)1 << (bits - 1)) - 1);
    for (int b = 0; b < nb; b++) {
        q->scales[b] = 0.0f;
        q->zero_points[b] = 0;
    }
    for (size_t i = 0; i < q->numel; i++) {
        int b = pf_qtensor_bucket_of(q, i);
        float a = fabsf(w[i]);
        q->scales[b] = a > q->scales[b] ? a : q->scales[b]; /* max |w| for now */
    }
    for (int b = 0; b < nb; b++) {
        float s = (float)(q->scales[b] / qmax);
        q->scales[b] = s > 1e-12f ? s : 1e-12f; /* an all-zero channel keeps a valid scale */
    }
    for (size_t i = 0; i < q->numel; i++) {
        int b = pf_qtensor_bucket_of(q, i);
        double v = nearbyint((double)w[i] / q->scales[b]);
        v = v < -qmax ? -qmax : v > qmax ? qmax : v;
        if (pack)
            pf_qtensor_set(q, i, (uint32_t)(int32_t)v);
        if (out)
            out[i] = q->scales[b] * (float)v;
    }
}

/* ---- codebooks ---- */

/* Gathers the values of bucket b (split: with its padding copies) into buf; returns the count.
 * buf holds at least chan_len / bucket_size / numel values (per the layout). */
static size_t bucket_values(const struct pf_qtensor *q, const float *w, int b, float *buf)
{
    size_t n = 0;
    switch (q->bucket) {
    case PF_QBUCKET_TENSOR:
        memcpy(buf, w, q->numel * sizeof *w);
        return q->numel;
    case PF_QBUCKET_CHANNEL:
        memcpy(buf, w + (size_t)b * q->chan_len, q->chan_len * sizeof *w);
        return q->chan_len;
    case PF_QBUCKET_SPLIT: {
        size_t nb = (size_t)q->n_buckets, total = nb * (size_t)q->bucket_size;
        for (size_t i = (size_t)b; i < total; i += nb)
            buf[n++] = i < q->numel ? w[i] : w[q->numel - 1];
        return n;
    }
    }
    return 0;
}

static size_t bucket_capacity(const struct pf_qtensor *q)
{
    return q->bucket == PF_QBUCKET_TENSOR    ? q->numel
           : q->bucket == PF_QBUCKET_CHANNEL ? q->chan_len
                                             : (size_t)q->bucket_size;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy's linear-interpolation percentile p (0..100) of sorted v[0..n). */
static float percentile(const float *v, size_t n, double p)
{
    double pos = p / 100.0 * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n)
        return v[n - 1];
    double f = pos - (double)i;
    return (float)((double)v[i] + f * ((double)v[i + 1] - (double)v[i]));
}

/* Lloyd's k-means on sorted v[0..n) from the K (sorted) centroids c: each iteration assigns
 * every value to its nearest centroid (cut points at midpoints) and moves each centroid to its
 * members' mean; a centroid without members stays. */
static void kmeans_1d(const float *v, size_t n, float *c, int K)
{
    for (int it = 0; it < PF_KMEANS_ITERS; it++) {
        size_t i = 0;
        bool moved = false;
        for (int k = 0; k < K; k++) {
            double cut = k + 1 < K ? 0.5 * ((double)c[k] + (double)c[k + 1]) : INFINITY;
            double sum = 0.0;
            size_t cnt = 0;
            while (i < n && (double)v[i] <= cut) {
                sum += v[i++];
                cnt++;
            }
            if (cnt) {
                float m = (float)(sum / (double)cnt);
                moved |= m != c[k];
                c[k] = m;
            }
        }
        qsort(c, (size_t)K, sizeof *c, cmp_float); /* means keep the order; be safe anyway */
        if (!moved)
            break;
    }
}

int pf_quant_codebook_init(struct pf_qtensor *q, const float *w, enum pf_cb_init init)
{
    const int K = 1 << q->bits;
    float *buf = pf_malloc(bucket_capacity(q) * sizeof *buf);
    if (!buf)
        return -PF_ENOMEM;
    for (int b = 0; b < q->n_buckets; b++) {
        size_t n = bucket_values(q, w, b, buf);
        qsort(buf, n, sizeof *buf, cmp_float);
        float *c = q->codebook + ((size_t)b << q->bits);
        for (int k = 0; k < K; k++) {
            if (init == PF_CB_UNIFORM)
                c[k] = K > 1 ? buf[0] + (buf[n - 1] - buf[0]) * (float)k / (float)(K - 1) : buf[0];
            else
                c[k] = percentile(buf, n, 100.0 * (k + 1) / (K + 1));
        }
        if (init == PF_CB_KMEANS)
            kmeans_1d(buf, n, c, K);
    }
    free(buf);
    return pf_quant_codebook_assign(q, w, NULL, true, NULL);
}

int pf_quant_codebook_assign(struct pf_qtensor *q, const float *w, float *out, bool pack,
                             uint32_t *idx)
{
    const int K = 1 << q->bits;
    const size_t nk = (size_t)q->n_buckets << q->bits;
    /* per bucket: its centroids sorted (values sv, original indices si), then per weight a
     * binary search for the nearest */
    float *sv = pf_malloc(nk * sizeof *sv);
    int *si = pf_malloc(nk * sizeof *si);
    if (!sv || !si) {
        free(sv);
        free(si);
        return -PF_ENOMEM;
    }
    for (int b = 0; b < q->n_buckets; b++) {
        const float *c = q->codebook + ((size_t)b << q->bits);
        int *ix = si + ((size_t)b << q->bits);
        for (int k = 0; k < K; k++) {
            int j = k - 1; /* insertion sort: K is small, and stable (ties keep index order) */
            while (j >= 0 && c[ix[j]] > c[k]) {
                ix[j + 1] = ix[j];
                j--;
            }
            ix[j + 1] = k;
        }
        for (int k = 0; k < K; k++)
            sv[((size_t)b << q->bits) + (size_t)k] = c[ix[k]];
    }
    for (size_t i = 0; i < q->numel; i++) {
        size_t base = (size_t)pf_qtensor_bucket_of(q, i) << q->bits;
        const float *v = sv + base;
        int lo = 0, hi = K; /* first sorted centroid >= w, then the nearer of it and the left one */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (v[mid] < w[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        int best = lo < K ? lo : K - 1;
        if (lo > 0 && (lo == K || fabsf(w[i] - v[lo - 1]) <= fabsf(v[lo] - w[i])))
            best = lo - 1;
        uint32_t k = (uint32_t)si[base + (size_t)best];
        if (idx)
            idx[i] = k;
        if (pack)
            pf_qtensor_set(q, i, k);
        if (out)
            out[i] = q->codebook[base + k];
    }
    free(sv);
    free(si);
    return 0;
}

void pf_quant_codebook_grad(const struct pf_qtensor *q, const uint32_t *idx, const float *g,
                            float *gcb)
{
    memset(gcb, 0, ((size_t)q->n_buckets << q->bits) * sizeof *gcb);
    for (size_t i = 0; i < q->numel; i++)
        gcb[((size_t)pf_qtensor_bucket_of(q, i) << q->bits) + idx[i]] += g[i];
}

size_t pf_quant_max_distinct(const struct pf_qtensor *q, const float *out)
{
    float *buf = pf_malloc(bucket_capacity(q) * sizeof *buf);
    size_t best = 0;
    if (!buf)
        return (size_t)-1;
    for (int b = 0; b < q->n_buckets; b++) {
        size_t n = 0;
        if (q->bucket == PF_QBUCKET_SPLIT) /* members only, no padding copies */
            for (size_t i = (size_t)b; i < q->numel; i += (size_t)q->n_buckets)
                buf[n++] = out[i];
        else
            n = bucket_values(q, out, b, buf);
        qsort(buf, n, sizeof *buf, cmp_float);
        size_t d = n ? 1 : 0;
        for (size_t k = 1; k < n; k++)
            d += buf[k] != buf[k - 1];
        best = d > best ? d : best;
    }
    free(buf);
    return best;
}
