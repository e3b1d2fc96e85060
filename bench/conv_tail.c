/* conv_tail.c: could a convolution kernel of our own run channel counts that are not whole
 * 16-channel blocks at their MACs? A 3x3, pad 1, stride 1 convolution (+ bias + ReLU) in a
 * channel-outer layout, C x (N*H*W), vectorized over the flattened positions with masked loads
 * at the image borders, so no vector lane is spent on a channel tail: a register tile of KT
 * output channels x VT vectors of 16 positions, the weights broadcast. It is timed beside
 * oneDNN's blocked kernel (the inference network's, pf_conv2d_blk) on whole blocks and on the
 * counts a 0.3 prune ratio leaves, and checked against plain loops (err: max abs difference on
 * the first and last image, every third output channel). A timing program, not a test: it
 * asserts nothing. bench/RESULTS.md, "What a kernel of our own reaches", has its numbers.
 *
 * Build and run (from the repository root, after `make`; an AVX-512 CPU):
 *   cc -O3 -march=native -std=c11 -D_GNU_SOURCE -Isrc bench/conv_tail.c build/libpocketflow.a \
 *      -lopenblas -ldnnl -fopenmp -lpthread -lm -o build/conv_tail && build/conv_tail [batch]
 * One thread; best of 7 runs at batch 128 (the default), of 200 at batch 1. */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/backend/backend.h"
#include "engine/core/pf_time.h"

#define KT 6
#define VT 4

struct plan {
    int N, C, K, H, W, P, nv;
    __mmask16 *mask;
    float *wp;
};

static void *need(void *p)
{
    if (!p) {
        fprintf(stderr, "conv_tail: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

static void build(struct plan *p, const float *w)
{
    int HW = p->H * p->W;
    p->P = p->N * HW;
    p->nv = (p->P + 15) / 16;
    p->mask = need(aligned_alloc(64, ((size_t)p->nv * 9 * sizeof(__mmask16) + 63) / 64 * 64));
    for (int v = 0; v < p->nv; v++)
        for (int t = 0; t < 9; t++) {
            int dh = t / 3 - 1, dw = t % 3 - 1;
            unsigned m = 0;
            for (int l = 0; l < 16; l++) {
                int q = v * 16 + l;
                if (q >= p->P)
                    continue;
                int hw = q % HW, h = hw / p->W, ww = hw % p->W;
                if (h + dh >= 0 && h + dh < p->H && ww + dw >= 0 && ww + dw < p->W)
                    m |= 1u << l;
            }
            p->mask[v * 9 + t] = (__mmask16)m;
        }
    /* packed weights: [ktile][c][t][KT] */
    int nkt = (p->K + KT - 1) / KT;
    p->wp = need(aligned_alloc(64, ((size_t)nkt * p->C * 9 * KT * 4 + 63) / 64 * 64));
    memset(p->wp, 0, (size_t)nkt * p->C * 9 * KT * 4);
    for (int kt = 0; kt < nkt; kt++)
        for (int c = 0; c < p->C; c++)
            for (int t = 0; t < 9; t++)
                for (int i = 0; i < KT; i++) {
                    int k = kt * KT + i;
                    p->wp[(((size_t)kt * p->C + c) * 9 + t) * KT + i] =
                        k < p->K ? w[((size_t)k * p->C + c) * 9 + t] : 0;
                }
}

/* x: C x P (P padded to nv*16), y: K x P */
static void fwd(const struct plan *p, const float *x, const float *b, float *y)
{
    int W = p->W, C = p->C, K = p->K;
    size_t P16 = (size_t)p->nv * 16;
    int nkt = (K + KT - 1) / KT;
    for (int v0 = 0; v0 < p->nv; v0 += VT) {
        int vt = p->nv - v0 < VT ? p->nv - v0 : VT;
        for (int kt = 0; kt < nkt; kt++) {
            __m512 acc[KT][VT];
            for (int i = 0; i < KT; i++)
                for (int j = 0; j < VT; j++)
                    acc[i][j] = _mm512_setzero_ps();
            const float *wk = p->wp + (size_t)kt * C * 9 * KT;
            if (vt == VT) {
                __m512 a0_0 = _mm512_setzero_ps();
                __m512 a0_1 = _mm512_setzero_ps();
                __m512 a0_2 = _mm512_setzero_ps();
                __m512 a0_3 = _mm512_setzero_ps();
                __m512 a1_0 = _mm512_setzero_ps();
                __m512 a1_1 = _mm512_setzero_ps();
                __m512 a1_2 = _mm512_setzero_ps();
                __m512 a1_3 = _mm512_setzero_ps();
                __m512 a2_0 = _mm512_setzero_ps();
                __m512 a2_1 = _mm512_setzero_ps();
                __m512 a2_2 = _mm512_setzero_ps();
                __m512 a2_3 = _mm512_setzero_ps();
                __m512 a3_0 = _mm512_setzero_ps();
                __m512 a3_1 = _mm512_setzero_ps();
                __m512 a3_2 = _mm512_setzero_ps();
                __m512 a3_3 = _mm512_setzero_ps();
                __m512 a4_0 = _mm512_setzero_ps();
                __m512 a4_1 = _mm512_setzero_ps();
                __m512 a4_2 = _mm512_setzero_ps();
                __m512 a4_3 = _mm512_setzero_ps();
                __m512 a5_0 = _mm512_setzero_ps();
                __m512 a5_1 = _mm512_setzero_ps();
                __m512 a5_2 = _mm512_setzero_ps();
                __m512 a5_3 = _mm512_setzero_ps();
                for (int c = 0; c < C; c++) {
                    const float *xc = x + (size_t)c * P16 + (size_t)v0 * 16;
                    const __mmask16 *mk = p->mask + (size_t)v0 * 9;
                    const float *wt = wk + (size_t)c * 9 * KT;
                    for (int t = 0; t < 9; t++, wt += KT) {
                        int off = (t / 3 - 1) * W + (t % 3 - 1);
                        __m512 x0 = _mm512_maskz_loadu_ps(mk[0 * 9 + t], xc + 0 * 16 + off);
                        __m512 x1 = _mm512_maskz_loadu_ps(mk[1 * 9 + t], xc + 1 * 16 + off);
                        __m512 x2 = _mm512_maskz_loadu_ps(mk[2 * 9 + t], xc + 2 * 16 + off);
                        __m512 x3 = _mm512_maskz_loadu_ps(mk[3 * 9 + t], xc + 3 * 16 + off);
                        {
                            __m512 w = _mm512_set1_ps(wt[0]);
                            a0_0 = _mm512_fmadd_ps(w, x0, a0_0);
                            a0_1 = _mm512_fmadd_ps(w, x1, a0_1);
                            a0_2 = _mm512_fmadd_ps(w, x2, a0_2);
                            a0_3 = _mm512_fmadd_ps(w, x3, a0_3);
                        }
                        {
                            __m512 w = _mm512_set1_ps(wt[1]);
                            a1_0 = _mm512_fmadd_ps(w, x0, a1_0);
                            a1_1 = _mm512_fmadd_ps(w, x1, a1_1);
                            a1_2 = _mm512_fmadd_ps(w, x2, a1_2);
                            a1_3 = _mm512_fmadd_ps(w, x3, a1_3);
                        }
                        {
                            __m512 w = _mm512_set1_ps(wt[2]);
                            a2_0 = _mm512_fmadd_ps(w, x0, a2_0);
                            a2_1 = _mm512_fmadd_ps(w, x1, a2_1);
                            a2_2 = _mm512_fmadd_ps(w, x2, a2_2);
                            a2_3 = _mm512_fmadd_ps(w, x3, a2_3);
                        }
                        {
                            __m512 w = _mm512_set1_ps(wt[3]);
                            a3_0 = _mm512_fmadd_ps(w, x0, a3_0);
                            a3_1 = _mm512_fmadd_ps(w, x1, a3_1);
                            a3_2 = _mm512_fmadd_ps(w, x2, a3_2);
                            a3_3 = _mm512_fmadd_ps(w, x3, a3_3);
                        }
                        {
                            __m512 w = _mm512_set1_ps(wt[4]);
                            a4_0 = _mm512_fmadd_ps(w, x0, a4_0);
                            a4_1 = _mm512_fmadd_ps(w, x1, a4_1);
                            a4_2 = _mm512_fmadd_ps(w, x2, a4_2);
                            a4_3 = _mm512_fmadd_ps(w, x3, a4_3);
                        }
                        {
                            __m512 w = _mm512_set1_ps(wt[5]);
                            a5_0 = _mm512_fmadd_ps(w, x0, a5_0);
                            a5_1 = _mm512_fmadd_ps(w, x1, a5_1);
                            a5_2 = _mm512_fmadd_ps(w, x2, a5_2);
                            a5_3 = _mm512_fmadd_ps(w, x3, a5_3);
                        }
                    }
                }
                acc[0][0] = a0_0;
                acc[0][1] = a0_1;
                acc[0][2] = a0_2;
                acc[0][3] = a0_3;
                acc[1][0] = a1_0;
                acc[1][1] = a1_1;
                acc[1][2] = a1_2;
                acc[1][3] = a1_3;
                acc[2][0] = a2_0;
                acc[2][1] = a2_1;
                acc[2][2] = a2_2;
                acc[2][3] = a2_3;
                acc[3][0] = a3_0;
                acc[3][1] = a3_1;
                acc[3][2] = a3_2;
                acc[3][3] = a3_3;
                acc[4][0] = a4_0;
                acc[4][1] = a4_1;
                acc[4][2] = a4_2;
                acc[4][3] = a4_3;
                acc[5][0] = a5_0;
                acc[5][1] = a5_1;
                acc[5][2] = a5_2;
                acc[5][3] = a5_3;
            } else {
                for (int c = 0; c < C; c++) {
                    const float *xc = x + (size_t)c * P16 + (size_t)v0 * 16;
                    for (int t = 0; t < 9; t++) {
                        int off = (t / 3 - 1) * W + (t % 3 - 1);
                        const float *wt = wk + ((size_t)c * 9 + t) * KT;
                        for (int j = 0; j < vt; j++) {
                            __m512 xv =
                                _mm512_maskz_loadu_ps(p->mask[(v0 + j) * 9 + t], xc + j * 16 + off);
                            for (int i = 0; i < KT; i++)
                                acc[i][j] = _mm512_fmadd_ps(_mm512_set1_ps(wt[i]), xv, acc[i][j]);
                        }
                    }
                }
            }
            for (int i = 0; i < KT && kt * KT + i < K; i++) {
                __m512 bb = _mm512_set1_ps(b[kt * KT + i]);
                for (int j = 0; j < vt; j++)
                    _mm512_storeu_ps(
                        y + (size_t)(kt * KT + i) * P16 + (size_t)(v0 + j) * 16,
                        _mm512_max_ps(_mm512_add_ps(acc[i][j], bb), _mm512_setzero_ps()));
            }
        }
    }
}

static float frand(void)
{
    return (float)rand() / RAND_MAX * 2 - 1;
}

static double time_mine(int N, int C, int K, int H, int W, int reps, double *err)
{
    struct plan p = {.N = N, .C = C, .K = K, .H = H, .W = W};
    float *w = need(malloc((size_t)K * C * 9 * 4)), *b = need(malloc((size_t)K * 4));
    for (size_t i = 0; i < (size_t)K * C * 9; i++)
        w[i] = frand();
    for (int i = 0; i < K; i++)
        b[i] = frand();
    build(&p, w);
    size_t P16 = (size_t)p.nv * 16;
    float *x = need(aligned_alloc(64, C * P16 * 4 + 64)),
          *y = need(aligned_alloc(64, K * P16 * 4 + 64));
    memset(x, 0, C * P16 * 4);
    for (int c = 0; c < C; c++)
        for (int q = 0; q < p.P; q++)
            x[c * P16 + q] = frand();
    fwd(&p, x, b, y);
    /* check vs plain loops on image 0 and last */
    double e = 0;
    int HW = H * W;
    for (int n = 0; n < N; n += (N > 1 ? N - 1 : 1))
        for (int k = 0; k < K; k += 3)
            for (int h = 0; h < H; h++)
                for (int ww = 0; ww < W; ww++) {
                    double s = b[k];
                    for (int c = 0; c < C; c++)
                        for (int r = 0; r < 3; r++)
                            for (int q = 0; q < 3; q++) {
                                int ih = h + r - 1, iw = ww + q - 1;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                s += (double)w[((size_t)k * C + c) * 9 + r * 3 + q] *
                                     x[c * P16 + n * HW + ih * W + iw];
                            }
                    s = s > 0 ? s : 0;
                    double d = fabs(s - y[k * P16 + n * HW + h * W + ww]);
                    e = d > e ? d : e;
                }
    *err = e;
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = pf_now_s();
        fwd(&p, x, b, y);
        double t = pf_now_s() - t0;
        best = t < best ? t : best;
    }
    free(w);
    free(b);
    free(x);
    free(y);
    free(p.mask);
    free(p.wp);
    return best;
}

static double time_dnnl(int N, int C, int K, int H, int W, int reps)
{
    struct pf_conv_desc d = {.N = N,
                             .C = C,
                             .H = H,
                             .W = W,
                             .K = K,
                             .R = 3,
                             .S = 3,
                             .stride_h = 1,
                             .stride_w = 1,
                             .pad_t = 1,
                             .pad_b = 1,
                             .pad_l = 1,
                             .pad_r = 1,
                             .groups = 1};
    pf_conv_desc_finish(&d);
    int CB = (C + 15) / 16 * 16, KB = (K + 15) / 16 * 16;
    float *x = need(aligned_alloc(64, (size_t)N * CB * H * W * 4)),
          *y = need(aligned_alloc(64, (size_t)N * KB * H * W * 4));
    float *w = need(malloc((size_t)K * C * 9 * 4)), *b = need(malloc((size_t)K * 4));
    memset(x, 0, (size_t)N * CB * H * W * 4);
    for (size_t i = 0; i < (size_t)K * C * 9; i++)
        w[i] = frand();
    for (int i = 0; i < K; i++)
        b[i] = frand();
    void *st = NULL;
    if (pf_conv2d_blk(&d, &st, false, x, w, b, 0, INFINITY, y)) {
        fprintf(stderr, "conv_tail: oneDNN refused %d channels at %dx%d\n", C, H, W);
        exit(EXIT_FAILURE);
    }
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = pf_now_s();
        pf_conv2d_blk(&d, &st, false, x, w, b, 0, INFINITY, y);
        double t = pf_now_s() - t0;
        best = t < best ? t : best;
    }
    pf_conv_state_free(&st);
    free(x);
    free(y);
    free(w);
    free(b);
    return best;
}

int main(int argc, char **argv)
{
    int N = argc > 1 ? atoi(argv[1]) : 128;
    pf_backend_set_threads(1);
    int sh[][3] = {{16, 28, 28}, {11, 28, 28}, {8, 28, 28}, {32, 14, 14}, {22, 14, 14},
                   {16, 14, 14}, {64, 7, 7},   {45, 7, 7},  {32, 7, 7}};
    int reps = N > 1 ? 7 : 200;
    for (int i = 0; i < 9; i++) {
        int C = sh[i][0], H = sh[i][1], W = sh[i][2];
        double err, tm = time_mine(N, C, C, H, W, reps, &err), td = time_dnnl(N, C, C, H, W, reps);
        double mac = (double)N * C * C * 9 * H * W;
        printf("N %3d C %2d %2dx%-2d  mine %8.4f ms %6.1f GFLOP/s (err %.1e)   dnnl blk %8.4f ms "
               "%6.1f GFLOP/s\n",
               N, C, H, W, tm * 1e3, 2 * mac / tm / 1e9, err, td * 1e3, 2 * mac / td / 1e9);
    }
    return 0;
}
