/* cpu_ref.c: the oracle backend. Obvious loops, no libraries, no cleverness: every fast path
 * (cpu.c, cuda.cu) is tested against these. Accumulation is in double where a sum is long, so
 * the oracle is more accurate than what it checks. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/backend/backend.h"

static void ref_set_threads(int n)
{
    (void)n;
}

static void ref_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                      int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
}

/* Index helpers, NCHW and (K, C/groups, R, S). */
static inline size_t xi(const struct pf_conv_desc *d, int n, int c, int h, int w)
{
    return (((size_t)n * d->C + c) * d->H + h) * d->W + w;
}
static inline size_t yi(const struct pf_conv_desc *d, int n, int k, int h, int w)
{
    return (((size_t)n * d->K + k) * d->OH + h) * d->OW + w;
}
static inline size_t wi(const struct pf_conv_desc *d, int k, int c, int r, int s)
{
    return (((size_t)k * (d->C / d->groups) + c) * d->R + r) * d->S + s;
}

/* Blocked index (backend.h, conv2d_blk) of channel c of pixel (h, w) of image n, C channels. */
static inline size_t bi(int C, int H, int W, int n, int c, int h, int w)
{
    size_t cb = (size_t)(C + PF_BLK - 1) / PF_BLK;
    return ((((size_t)n * cb + (size_t)(c / PF_BLK)) * H + h) * W + w) * PF_BLK + c % PF_BLK;
}

static inline float clamp_act(float v, float lo, float hi)
{
    return v > lo ? (v < hi ? v : hi) : lo;
}

/* The forward convolution, x and y plain (NCHW) or blocked; a blocked y gets the clamp. */
static void conv_loops(const struct pf_conv_desc *d, const float *x, bool x_blk, const float *w,
                       const float *b, float lo, float hi, float *y, bool y_blk)
{
    int cg = d->C / d->groups, kg = d->K / d->groups;
    if (y_blk)
        memset(y, 0, bi(d->K, d->OH, d->OW, d->N, 0, 0, 0) * sizeof *y);
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k++) {
            int g = k / kg;
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    double s = b ? b[k] : 0.0;
                    for (int c = 0; c < cg; c++)
                        for (int r = 0; r < d->R; r++) {
                            int h = oh * d->stride_h - d->pad_t + r;
                            if (h < 0 || h >= d->H)
                                continue;
                            for (int q = 0; q < d->S; q++) {
                                int ww = ow * d->stride_w - d->pad_l + q;
                                if (ww < 0 || ww >= d->W)
                                    continue;
                                int cc = g * cg + c;
                                float v = x[x_blk ? bi(d->C, d->H, d->W, n, cc, h, ww)
                                                  : xi(d, n, cc, h, ww)];
                                s += (double)v * w[wi(d, k, c, r, q)];
                            }
                        }
                    if (y_blk)
                        y[bi(d->K, d->OH, d->OW, n, k, oh, ow)] = clamp_act((float)s, lo, hi);
                    else
                        y[yi(d, n, k, oh, ow)] = (float)s;
                }
        }
}

static int ref_conv_fwd(const struct pf_conv_desc *d, void **state, const float *x, const float *w,
                        const float *b, float *y)
{
    (void)state;
    conv_loops(d, x, false, w, b, 0.0f, 0.0f, y, false);
    return 0;
}

static int ref_conv_blk(const struct pf_conv_desc *d, void **state, bool x_plain, const float *x,
                        const float *w, const float *b, float lo, float hi, float *y)
{
    (void)state;
    conv_loops(d, x, !x_plain, w, b, lo, hi, y, true);
    return 0;
}

static int ref_conv_bwd_data(const struct pf_conv_desc *d, void **state, const float *dy,
                             const float *w, float *dx)
{
    (void)state;
    int cg = d->C / d->groups, kg = d->K / d->groups;
    memset(dx, 0, sizeof(float) * (size_t)d->N * d->C * d->H * d->W);
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k++) {
            int g = k / kg;
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    float gy = dy[yi(d, n, k, oh, ow)];
                    for (int c = 0; c < cg; c++)
                        for (int r = 0; r < d->R; r++) {
                            int h = oh * d->stride_h - d->pad_t + r;
                            if (h < 0 || h >= d->H)
                                continue;
                            for (int q = 0; q < d->S; q++) {
                                int ww = ow * d->stride_w - d->pad_l + q;
                                if (ww < 0 || ww >= d->W)
                                    continue;
                                dx[xi(d, n, g * cg + c, h, ww)] += gy * w[wi(d, k, c, r, q)];
                            }
                        }
                }
        }
    return 0;
}

static int ref_conv_bwd_weights(const struct pf_conv_desc *d, void **state, const float *x,
                                const float *dy, float *dw, float *db)
{
    (void)state;
    int cg = d->C / d->groups, kg = d->K / d->groups;
    for (int k = 0; k < d->K; k++) {
        int g = k / kg;
        if (db) {
            double s = 0.0;
            for (int n = 0; n < d->N; n++)
                for (int oh = 0; oh < d->OH; oh++)
                    for (int ow = 0; ow < d->OW; ow++)
                        s += dy[yi(d, n, k, oh, ow)];
            db[k] = (float)s;
        }
        for (int c = 0; c < cg; c++)
            for (int r = 0; r < d->R; r++)
                for (int q = 0; q < d->S; q++) {
                    double s = 0.0;
                    for (int n = 0; n < d->N; n++)
                        for (int oh = 0; oh < d->OH; oh++) {
                            int h = oh * d->stride_h - d->pad_t + r;
                            if (h < 0 || h >= d->H)
                                continue;
                            for (int ow = 0; ow < d->OW; ow++) {
                                int ww = ow * d->stride_w - d->pad_l + q;
                                if (ww < 0 || ww >= d->W)
                                    continue;
                                s += (double)dy[yi(d, n, k, oh, ow)] *
                                     x[xi(d, n, g * cg + c, h, ww)];
                            }
                        }
                    dw[wi(d, k, c, r, q)] = (float)s;
                }
    }
    return 0;
}

static void ref_conv_state_free(void *state)
{
    (void)state;
}

/* ---- integer inference ---- */

static int ref_conv_u8s8s32(const struct pf_conv_desc *d, void **state, const uint8_t *x,
                            int32_t x_zp, const int8_t *w, int32_t *acc)
{
    (void)state;
    int cg = d->C / d->groups, kg = d->K / d->groups;
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k++) {
            int g = k / kg;
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    int32_t s = 0; /* padded pixels are x_zp: they add (x_zp - x_zp) * w = 0 */
                    for (int c = 0; c < cg; c++)
                        for (int r = 0; r < d->R; r++) {
                            int h = oh * d->stride_h - d->pad_t + r;
                            if (h < 0 || h >= d->H)
                                continue;
                            for (int q = 0; q < d->S; q++) {
                                int ww = ow * d->stride_w - d->pad_l + q;
                                if (ww < 0 || ww >= d->W)
                                    continue;
                                size_t at = (((size_t)n * d->H + h) * d->W + ww) * d->C;
                                s += ((int32_t)x[at + (size_t)(g * cg + c)] - x_zp) *
                                     (int32_t)w[wi(d, k, c, r, q)];
                            }
                        }
                    acc[(((size_t)n * d->OH + oh) * d->OW + ow) * d->K + k] = s; /* NHWC */
                }
        }
    return 0;
}

static int ref_gemm_u8s8s32(int M, int N, int K, const uint8_t *A, int32_t a_zp, const int8_t *B,
                            int32_t *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            int32_t s = 0;
            for (int k = 0; k < K; k++)
                s += ((int32_t)A[(size_t)i * K + k] - a_zp) * (int32_t)B[(size_t)j * K + k];
            C[(size_t)i * N + j] = s;
        }
    return 0;
}

/* ---- element-wise and per-channel ---- */

static void ref_add_act(size_t n, int k, const float *const *xs, float lo, float hi, float *y)
{
    for (size_t i = 0; i < n; i++) {
        float s = xs[0][i];
        for (int j = 1; j < k; j++)
            s += xs[j][i];
        y[i] = clamp_act(s, lo, hi);
    }
}

static void ref_act_backward(size_t n, float lo, float hi, const float *y, const float *dy, int k,
                             float *const *dx)
{
    for (size_t i = 0; i < n; i++) {
        float g = y[i] > lo && y[i] < hi ? dy[i] : 0.0f;
        for (int j = 0; j < k; j++)
            if (dx[j])
                dx[j][i] = g;
    }
}

static void ref_accumulate(size_t n, float *dst, const float *src)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

static void ref_batchnorm_forward(int N, int C, int HW, const float *x, const float *gamma,
                                  const float *beta, double eps, bool stats, float lo, float hi,
                                  float *mean, float *var, float *invstd, float *y)
{
    size_t m = (size_t)N * HW;
    for (int c = 0; c < C; c++) {
        if (stats) {
            /* two passes in double: no cancellation */
            double s = 0.0, ss = 0.0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++)
                    s += x[((size_t)n * C + c) * HW + i];
            double mu = s / (double)m;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) {
                    double d = x[((size_t)n * C + c) * HW + i] - mu;
                    ss += d * d;
                }
            mean[c] = (float)mu;
            var[c] = (float)(ss / (double)m);
        }
        float inv = (float)(1.0 / sqrt((double)var[c] + eps));
        invstd[c] = inv;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t j = ((size_t)n * C + c) * HW + i;
                y[j] = clamp_act((x[j] - mean[c]) * inv * gamma[c] + beta[c], lo, hi);
            }
    }
}

static void ref_batchnorm_backward(int N, int C, int HW, const float *x, const float *y, float *dy,
                                   float lo, float hi, const float *mean, const float *invstd,
                                   const float *gamma, bool stats, float *dgamma, float *dbeta,
                                   float *dx)
{
    size_t m = (size_t)N * HW;
    for (int c = 0; c < C; c++) {
        double sg = 0.0, sgx = 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t j = ((size_t)n * C + c) * HW + i;
                dy[j] = y[j] > lo && y[j] < hi ? dy[j] : 0.0f;
                sg += dy[j];
                sgx += (double)dy[j] * ((x[j] - mean[c]) * invstd[c]);
            }
        dbeta[c] += (float)sg;
        dgamma[c] += (float)sgx;
        if (!dx)
            continue;
        /* with stats the batch mean and variance depend on x: the two extra terms */
        double a = stats ? sg / (double)m : 0.0, b = stats ? sgx / (double)m : 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t j = ((size_t)n * C + c) * HW + i;
                double xh = (x[j] - mean[c]) * invstd[c];
                dx[j] = (float)(gamma[c] * invstd[c] * (dy[j] - a - xh * b));
            }
    }
}

const struct pf_backend_ops pf_backend_cpu_ref = {
    .name = "cpu_ref",
    .set_threads = ref_set_threads,
    .sgemm = ref_sgemm,
    .conv2d_forward = ref_conv_fwd,
    .conv2d_backward_data = ref_conv_bwd_data,
    .conv2d_backward_weights = ref_conv_bwd_weights,
    .conv_state_free = ref_conv_state_free,
    .conv2d_u8s8s32 = ref_conv_u8s8s32,
    .gemm_u8s8s32 = ref_gemm_u8s8s32,
    .conv2d_blk = ref_conv_blk,
    .add_act = ref_add_act,
    .act_backward = ref_act_backward,
    .accumulate = ref_accumulate,
    .batchnorm_forward = ref_batchnorm_forward,
    .batchnorm_backward = ref_batchnorm_backward,
};
