/* check_quant.c: engine/qtensor (bit packing, decoding, activation fake-quant) and
 * learners/common/quant (uniform min-max per tensor / channel / split bucket, STE, symmetric
 * int8, codebooks). Expected values are computed independently in the tests: bucket ranges from
 * an explicitly padded [bucket_size, n_buckets] matrix as PocketFlow built it, percentiles by
 * hand, centroid gradients by a direct sum. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/qtensor.h"
#include "learners/common/quant.h"

#define TOL_HALF_STEP 1e-6 /* float32 slack on top of half a quantization step (relative) */

static void fill_normal(float *w, size_t n, unsigned long long seed)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        w[i] = 0.1f * pf_rng_normal(&rng);
}

START_TEST(test_pack_roundtrip)
{
    enum { N = 257 };
    static uint32_t want[N];
    struct pf_rng rng;
    pf_rng_seed(&rng, 1);
    for (int bits = 1; bits <= 32; bits++) {
        struct pf_qtensor *q = NULL;
        ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, bits, 0, N, 1), 0);
        ck_assert_uint_eq(pf_qtensor_packed_bytes(q), ((size_t)N * bits + 7) / 8);
        for (int i = 0; i < N; i++) {
            uint64_t r = pf_rng_u64(&rng);
            want[i] = bits == 32 ? (uint32_t)r : (uint32_t)(r & ((1ull << bits) - 1));
            pf_qtensor_set(q, (size_t)i, want[i]);
        }
        /* overwriting in the middle must not disturb the neighbours */
        pf_qtensor_set(q, 100, want[100]);
        for (int i = 0; i < N; i++)
            ck_assert_uint_eq(pf_qtensor_get(q, (size_t)i), want[i]);
        if (bits >= 2) {
            pf_qtensor_set(q, 5, (1u << (bits - 1)) | (bits == 32 ? 0 : 0)); /* most negative */
            int64_t expect = bits == 32 ? INT32_MIN : -((int64_t)1 << (bits - 1));
            ck_assert_int_eq(pf_qtensor_get_signed(q, 5), expect);
        }
        pf_qtensor_free(q);
    }
    /* LSB-first layout: two 4-bit indices in one byte */
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, 4, 0, 2, 1), 0);
    pf_qtensor_set(q, 0, 0x3);
    pf_qtensor_set(q, 1, 0xA);
    ck_assert_uint_eq(q->packed[0], 0xA3);
    pf_qtensor_free(q);
}
END_TEST

/* Independent min / max of split buckets: PocketFlow's padded [bucket_size, n_buckets] matrix,
 * columns are buckets. */
static void split_ranges_ref(const float *w, size_t n, int bs, int nb, float *lo, float *hi)
{
    size_t total = (size_t)nb * (size_t)bs;
    float *m = malloc(total * sizeof *m);
    for (size_t i = 0; i < total; i++)
        m[i] = i < n ? w[i] : w[n - 1];
    for (int j = 0; j < nb; j++) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
        for (int r = 0; r < bs; r++) {
            float v = m[(size_t)r * nb + j];
            lo[j] = fminf(lo[j], v);
            hi[j] = fmaxf(hi[j], v);
        }
    }
    free(m);
}

static void check_uniform(enum pf_qbucket bucket, int bits, int bucket_size)
{
    enum { K = 6, PER = 50, N = K * PER };
    static float w[N], out[N], dec[N];
    fill_normal(w, N, 10 + (unsigned)bits);
    w[N - 1] = 0.9f; /* a large last value: split padding copies widen ranges */
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, bucket, bits, bucket_size, N, K), 0);
    pf_quant_uniform(q, w, out, true);
    /* at most 2^bits distinct values per bucket */
    ck_assert_uint_le(pf_quant_max_distinct(q, out), (size_t)1 << bits);
    /* within half a step of the original, and the packed form decodes to the same values */
    pf_qtensor_dequantize(q, dec);
    for (size_t i = 0; i < N; i++) {
        int b = pf_qtensor_bucket_of(q, i);
        double half = 0.5 * q->scales[b] + TOL_HALF_STEP * (fabs(w[i]) + q->scales[b]);
        ck_assert_msg(fabs((double)w[i] - out[i]) <= half, "%s %d bits: |%g - %g| > %g",
                      pf_qbucket_name(bucket), bits, (double)w[i], (double)out[i], half);
        ck_assert(dec[i] == out[i]);
    }
    /* bucket layout and ranges, computed independently */
    float lo[N], hi[N];
    int nb = q->n_buckets;
    if (bucket == PF_QBUCKET_SPLIT) {
        ck_assert_int_eq(nb, (N + bucket_size - 1) / bucket_size);
        split_ranges_ref(w, N, bucket_size, nb, lo, hi);
        for (size_t i = 0; i < N; i++)
            ck_assert_int_eq(pf_qtensor_bucket_of(q, i), (int)(i % (size_t)nb));
    } else if (bucket == PF_QBUCKET_CHANNEL) {
        ck_assert_int_eq(nb, K);
        for (int k = 0; k < K; k++) {
            lo[k] = INFINITY;
            hi[k] = -INFINITY;
            for (int j = 0; j < PER; j++) {
                lo[k] = fminf(lo[k], w[k * PER + j]);
                hi[k] = fmaxf(hi[k], w[k * PER + j]);
            }
        }
        for (size_t i = 0; i < N; i++)
            ck_assert_int_eq(pf_qtensor_bucket_of(q, i), (int)(i / PER));
    } else {
        ck_assert_int_eq(nb, 1);
        lo[0] = INFINITY;
        hi[0] = -INFINITY;
        for (size_t i = 0; i < N; i++) {
            lo[0] = fminf(lo[0], w[i]);
            hi[0] = fmaxf(hi[0], w[i]);
        }
    }
    double levels = (double)((1ull << bits) - 1);
    for (int b = 0; b < nb; b++) {
        ck_assert(q->offsets[b] == lo[b]);
        ck_assert_double_eq_tol(q->scales[b], ((double)hi[b] - lo[b] + 1e-10) / levels,
                                1e-6 * q->scales[b]);
    }
    pf_qtensor_free(q);
}

START_TEST(test_uniform_buckets)
{
    const int bits[] = {1, 2, 3, 4, 8};
    for (size_t i = 0; i < sizeof bits / sizeof *bits; i++) {
        check_uniform(PF_QBUCKET_TENSOR, bits[i], 0);
        check_uniform(PF_QBUCKET_CHANNEL, bits[i], 0);
        check_uniform(PF_QBUCKET_SPLIT, bits[i], 64); /* 300 = 5 x 64 - 20: padded */
        check_uniform(PF_QBUCKET_SPLIT, bits[i], 7);  /* 43 buckets, 1 padding copy */
    }
}
END_TEST

/* Squared error of quantizing w[i0, i0 + n) uniformly over [f lo, f hi] at bits: the oracle
 * for pf_quant_uniform_mse, in plain double loops. */
static double clip_err(const float *w, size_t i0, size_t n, double lo, double hi, double f,
                       int bits)
{
    double levels = (double)((1u << bits) - 1), step = ((hi - lo) * f + 1e-10) / levels, e = 0.0;
    for (size_t i = i0; i < i0 + n; i++) {
        double v = nearbyint((w[i] - lo * f) / step);
        v = v < 0 ? 0 : v > levels ? levels : v;
        double d = lo * f + step * v - w[i];
        e += d * d;
    }
    return e;
}

/* The clipped range: per bucket, the factor with the least squared error (found here by trying
 * every factor on the whole bucket); never worse than min-max; with outliers, clearly better;
 * the STE stops the clipped weights' gradients. */
START_TEST(test_uniform_mse)
{
    enum { K = 3, PER = 2000, N = K * PER };
    static float w[N], out[N], mm[N];
    fill_normal(w, N, 9);
    w[5] = 2.0f; /* outliers: 20 sigma in channel 0 and 2, none in channel 1 */
    w[2 * PER + 7] = -1.5f;
    for (int bits = 2; bits <= 4; bits++) {
        struct pf_qtensor *q = NULL, *m = NULL;
        ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_CHANNEL, bits, 0, N, K),
                         0);
        ck_assert_int_eq(pf_qtensor_new(&m, PF_QMODE_UNIFORM, PF_QBUCKET_CHANNEL, bits, 0, N, K),
                         0);
        pf_quant_uniform_mse(q, w, out, true);
        pf_quant_uniform(m, w, mm, true);
        for (int k = 0; k < K; k++) {
            float lo = INFINITY, hi = -INFINITY;
            for (int i = k * PER; i < (k + 1) * PER; i++) {
                lo = fminf(lo, w[i]);
                hi = fmaxf(hi, w[i]);
            }
            int best = 0;
            double be = INFINITY;
            for (int j = 0; j < PF_QMSE_STEPS; j++) {
                double e = clip_err(w, (size_t)k * PER, PER, lo, hi, PF_QMSE_FACTOR(j), bits);
                if (e < be) {
                    be = e;
                    best = j;
                }
            }
            ck_assert_float_eq_tol(q->offsets[k], (float)(lo * PF_QMSE_FACTOR(best)), 1e-7f);
            double got = 0.0, minmax = 0.0;
            for (int i = k * PER; i < (k + 1) * PER; i++) {
                got += ((double)out[i] - w[i]) * ((double)out[i] - w[i]);
                minmax += ((double)mm[i] - w[i]) * ((double)mm[i] - w[i]);
            }
            ck_assert_double_le(got, minmax * (1 + 1e-9));
            ck_assert_double_eq_tol(got, be, 1e-6 * be);
            if (k !=
                1) /* an outlier wastes min-max's levels: clipping cuts the error by 40% or more */
                ck_assert_msg(got < 0.6 * minmax, "%d bits channel %d: %g vs min-max %g", bits, k,
                              got, minmax);
        }
        /* decoded values are what the stored form decodes to; clipped weights get no gradient */
        float dec[N], g[N], gout[N];
        pf_qtensor_dequantize(q, dec);
        ck_assert_mem_eq(dec, out, sizeof dec);
        for (int i = 0; i < N; i++)
            g[i] = 1.0f;
        pf_quant_ste(q, w, g, gout);
        ck_assert_float_eq(gout[5], 0.0f);
        ck_assert_float_eq(gout[2 * PER + 7], 0.0f);
        pf_qtensor_free(q);
        pf_qtensor_free(m);
    }
}
END_TEST

START_TEST(test_ste)
{
    /* range [0, 1] at 2 bits (offset 0, scale 1/3): inside passes, outside is 0 */
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, 2, 0, 5, 1), 0);
    float w[5] = {0.0f, 0.5f, 1.0f, 0.2f, 0.9f};
    pf_quant_uniform(q, w, NULL, true);
    float x[5] = {-0.5f, 0.0f, 0.4f, 1.0f, 1.5f}, g[5] = {1, 2, 3, 4, 5}, gout[5];
    pf_quant_ste(q, x, g, gout);
    const float want[5] = {0, 2, 3, 4, 0};
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq(gout[i], want[i]);
    /* the min-max quantizer's own weights are always inside: gradients pass unchanged */
    pf_quant_ste(q, w, g, gout);
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq(gout[i], g[i]);
    pf_qtensor_free(q);
}
END_TEST

START_TEST(test_symmetric_int8)
{
    enum { K = 4, PER = 30, N = K * PER };
    float w[N], out[N], dec[N];
    fill_normal(w, N, 5);
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_AFFINE, PF_QBUCKET_CHANNEL, 8, 0, N, K), 0);
    pf_quant_symmetric(q, w, out, true);
    pf_qtensor_dequantize(q, dec);
    for (int k = 0; k < K; k++) {
        float mx = 0.0f;
        for (int j = 0; j < PER; j++)
            mx = fmaxf(mx, fabsf(w[k * PER + j]));
        ck_assert_float_eq_tol(q->scales[k], mx / 127.0f, 1e-7f);
        ck_assert_int_eq(q->zero_points[k], 0);
    }
    for (int i = 0; i < N; i++) {
        int32_t v = pf_qtensor_get_signed(q, (size_t)i);
        ck_assert(v >= -127 && v <= 127);
        ck_assert(dec[i] == out[i]);
        ck_assert(fabsf(w[i] - out[i]) <= 0.5f * q->scales[i / PER] * (1.0f + 1e-5f));
    }
    pf_qtensor_free(q);
}
END_TEST

/* pf_qtensor_prune: the pruned form decodes to the decoded original with the entries removed
 * (sliced here by plain loops), for each bucket layout that can follow; split buckets cannot. */
START_TEST(test_qtensor_prune)
{
    enum { K = 4, C = 3, R = 2, N = K * C * R };   /* a (4, 3, 2) weight */
    static const uint8_t keep_k[K] = {1, 0, 1, 1}; /* axis 0: outer 1, dim K, inner C * R */
    static const uint8_t keep_c[C] = {0, 1, 1};    /* axis 1: outer K, dim C, inner R */
    static const struct {
        enum pf_qmode mode;
        enum pf_qbucket bucket;
        int bits;
    } lay[] = {{PF_QMODE_AFFINE, PF_QBUCKET_CHANNEL, 8},
               {PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, 4},
               {PF_QMODE_UNIFORM, PF_QBUCKET_CHANNEL, 3},
               {PF_QMODE_CODEBOOK, PF_QBUCKET_CHANNEL, 2}};
    struct pf_rng rng;
    pf_rng_seed(&rng, 11);
    for (size_t t = 0; t < sizeof lay / sizeof lay[0]; t++) {
        struct pf_qtensor *q = NULL;
        ck_assert_int_eq(pf_qtensor_new(&q, lay[t].mode, lay[t].bucket, lay[t].bits, 0, N, K), 0);
        for (int b = 0; b < q->n_buckets; b++) {
            if (q->scales)
                q->scales[b] = 0.01f * (float)(b + 1);
            if (q->offsets)
                q->offsets[b] = -0.1f * (float)b;
            if (q->codebook)
                for (int j = 0; j < 1 << lay[t].bits; j++)
                    q->codebook[(b << lay[t].bits) + j] = (float)(10 * b + j);
        }
        for (int i = 0; i < N; i++)
            pf_qtensor_set(q, (size_t)i, (uint32_t)pf_rng_below(&rng, 1u << lay[t].bits));
        float dec[N], want[N], got[N];
        pf_qtensor_dequantize(q, dec);
        for (int axis = 0; axis < 2; axis++) {
            size_t outer = axis ? K : 1, inner = axis ? R : (size_t)C * R;
            int dim = axis ? C : K;
            const uint8_t *keep = axis ? keep_c : keep_k;
            size_t n = 0;
            for (size_t o = 0; o < outer; o++)
                for (int d = 0; d < dim; d++)
                    for (size_t i = 0; i < inner; i++)
                        if (keep[d]) {
                            size_t at = (o * (size_t)dim + (size_t)d) * inner + i;
                            ck_assert_uint_lt(at, N);
                            want[n++] = dec[at];
                        }
            struct pf_qtensor *p = NULL;
            ck_assert_int_eq(pf_qtensor_prune(q, outer, dim, inner, keep, &p), 0);
            ck_assert_ptr_nonnull(p);
            ck_assert_uint_eq(p->numel, n);
            ck_assert_int_eq(p->bits, lay[t].bits);
            ck_assert_int_eq(p->n_buckets, lay[t].bucket == PF_QBUCKET_TENSOR ? 1
                                           : axis == 0                        ? K - 1
                                                                              : K);
            pf_qtensor_dequantize(p, got);
            ck_assert_mem_eq(got, want, n * sizeof *got);
            ck_assert(pf_qtensor_matches(p, want, n));
            pf_qtensor_free(p);
        }
        pf_qtensor_free(q);
    }
    /* split buckets stride over the flat index: no pruned form */
    struct pf_qtensor *q = NULL, *p = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_SPLIT, 4, 5, N, K), 0);
    ck_assert_int_eq(pf_qtensor_prune(q, 1, K, (size_t)C * R, keep_k, &p), 0);
    ck_assert_ptr_null(p);
    /* pf_qtensor_matches: one changed value is a mismatch */
    float dec[N];
    pf_qtensor_dequantize(q, dec);
    ck_assert(pf_qtensor_matches(q, dec, N));
    dec[7] += 1.0f;
    ck_assert(!pf_qtensor_matches(q, dec, N));
    ck_assert(!pf_qtensor_matches(q, dec, N - 1));
    pf_qtensor_free(q);
}
END_TEST

START_TEST(test_codebook)
{
    enum { N = 100 };
    float w[N], out[N];
    for (int i = 0; i < N; i++)
        w[i] = (float)((i * 37) % N); /* 0..99 shuffled */
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_CODEBOOK, PF_QBUCKET_TENSOR, 2, 0, N, 1), 0);
    ck_assert_int_eq(pf_quant_codebook_init(q, w, PF_CB_QUANTILE), 0);
    /* percentiles 20, 40, 60, 80 of 0..99, linear interpolation: 19.8, 39.6, 59.4, 79.2 */
    const float want[4] = {19.8f, 39.6f, 59.4f, 79.2f};
    for (int k = 0; k < 4; k++)
        ck_assert_float_eq_tol(q->codebook[k], want[k], 1e-4f);
    uint32_t idx[N];
    ck_assert_int_eq(pf_quant_codebook_assign(q, w, out, true, idx), 0);
    ck_assert_uint_le(pf_quant_max_distinct(q, out), 4);
    double sse_q = 0.0;
    for (int i = 0; i < N; i++) {
        /* nearest centroid, checked by brute force */
        float best = INFINITY;
        for (int k = 0; k < 4; k++)
            best = fminf(best, fabsf(w[i] - q->codebook[k]));
        ck_assert_float_eq_tol(fabsf(w[i] - out[i]), best, 1e-5f);
        ck_assert_float_eq(pf_qtensor_value(q, (size_t)i), out[i]);
        sse_q += (w[i] - out[i]) * (w[i] - out[i]);
    }
    /* centroid gradients = sum of the members' */
    float g[N], gcb[4], ref[4] = {0, 0, 0, 0};
    for (int i = 0; i < N; i++) {
        g[i] = 0.01f * (float)(i % 7) - 0.02f;
        ref[idx[i]] += g[i];
    }
    pf_quant_codebook_grad(q, idx, g, gcb);
    for (int k = 0; k < 4; k++)
        ck_assert_float_eq_tol(gcb[k], ref[k], 1e-6f);
    /* uniform init: evenly from min to max */
    ck_assert_int_eq(pf_quant_codebook_init(q, w, PF_CB_UNIFORM), 0);
    ck_assert_float_eq_tol(q->codebook[0], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(q->codebook[1], 33.0f, 1e-5f);
    ck_assert_float_eq_tol(q->codebook[3], 99.0f, 1e-6f);
    /* k-means never does worse than its quantile start */
    ck_assert_int_eq(pf_quant_codebook_init(q, w, PF_CB_KMEANS), 0);
    ck_assert_int_eq(pf_quant_codebook_assign(q, w, out, true, NULL), 0);
    double sse_k = 0.0;
    for (int i = 0; i < N; i++)
        sse_k += (w[i] - out[i]) * (w[i] - out[i]);
    ck_assert(sse_k <= sse_q + 1e-6);
    pf_qtensor_free(q);
    /* codebooks per split bucket: at most 2^bits values in each */
    enum { M = 1000 };
    static float v[M], o[M];
    fill_normal(v, M, 9);
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_CODEBOOK, PF_QBUCKET_SPLIT, 3, 64, M, 1), 0);
    ck_assert_int_eq(pf_quant_codebook_init(q, v, PF_CB_QUANTILE), 0);
    ck_assert_int_eq(pf_quant_codebook_assign(q, v, o, false, NULL), 0);
    ck_assert_uint_le(pf_quant_max_distinct(q, o), 8);
    pf_qtensor_free(q);
}
END_TEST

START_TEST(test_actq)
{
    struct pf_actq a;
    pf_actq_init(&a);
    a.bits = 8;
    float y[4] = {-1.0f, 0.0f, 0.5f, 3.0f};
    pf_actq_apply(&a, y, 4, true); /* first batch sets the range */
    ck_assert(a.ready);
    ck_assert_float_eq(a.lo, -1.0f);
    ck_assert_float_eq(a.hi, 3.0f);
    float s;
    int32_t zp;
    pf_actq_params(8, -1.0f, 3.0f, &s, &zp);
    ck_assert_float_eq_tol(s, 4.0f / 255.0f, 1e-7f);
    ck_assert_int_eq(zp, 64);       /* round(1 / (4/255)) = round(63.75) */
    ck_assert_float_eq(y[1], 0.0f); /* zero is exact */
    for (int i = 0; i < 4; i++)
        ck_assert(fabsf(y[i] - nearbyintf(y[i] / s) * s) < 1e-6f);
    /* inference uses the stored range and clips */
    float z[2] = {10.0f, -10.0f};
    pf_actq_apply(&a, z, 2, false);
    ck_assert_float_eq_tol(z[0], (255 - 64) * s, 1e-5f);
    ck_assert_float_eq_tol(z[1], -64 * s, 1e-5f);
    ck_assert_float_eq(a.hi, 3.0f);
}
END_TEST

START_TEST(test_bad_options)
{
    struct pf_quant_cfg c = {.bits = 0, .bucket = PF_QBUCKET_TENSOR};
    ck_assert_int_eq(pf_quant_cfg_check(&c, "uql_weight_bits"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "uql_weight_bits: 0 bits is outside 1..32"));
    c.bits = 33;
    ck_assert_int_eq(pf_quant_cfg_check(&c, "uql_weight_bits"), -PF_EINVAL);
    c.bits = 4;
    c.bucket = PF_QBUCKET_SPLIT;
    c.bucket_size = 0;
    ck_assert_int_eq(pf_quant_cfg_check(&c, "uql_bucket_size"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "bucket size 0"));
    enum pf_qbucket b;
    ck_assert_int_eq(pf_quant_bucket_from_opts(true, "rows", "uql_bucket_type", &b), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "unknown bucket type 'rows'"));
    ck_assert_int_eq(pf_quant_bucket_from_opts(false, "split", "x", &b), 0);
    ck_assert_int_eq(b, PF_QBUCKET_TENSOR);
    ck_assert_int_eq(pf_qbucket_parse("splt", &b), -PF_EINVAL);
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_CODEBOOK, PF_QBUCKET_TENSOR, 17, 0, 10, 1),
                     -PF_EINVAL);
    ck_assert_ptr_null(q);
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_CHANNEL, 4, 0, 10, 3),
                     -PF_EINVAL);
    ck_assert_int_eq(pf_qtensor_new(&q, PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, 40, 0, 10, 1),
                     -PF_EINVAL);
}
END_TEST

Suite *quant_suite(void);
Suite *quant_suite(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pack_roundtrip);
    tcase_add_test(tc, test_uniform_buckets);
    tcase_add_test(tc, test_ste);
    tcase_add_test(tc, test_uniform_mse);
    tcase_add_test(tc, test_symmetric_int8);
    tcase_add_test(tc, test_codebook);
    tcase_add_test(tc, test_qtensor_prune);
    tcase_add_test(tc, test_actq);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
