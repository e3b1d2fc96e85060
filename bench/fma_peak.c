/* fma_peak.c: the fp32 rate of a register-only FMA loop on one core: twelve independent chains
 * of 16-lane fused multiply-adds, best of 5 passes. oneDNN's convolutions on whole 16-channel
 * blocks reach it or more, which is why a pruned count between blocks cannot make up its
 * padding with a better kernel (bench/RESULTS.md, "What a kernel of our own reaches"). A timing
 * program, not a test: it asserts nothing.
 *
 * Build and run (AVX-512 CPUs):
 *   cc -O3 -march=native bench/fma_peak.c -o build/fma_peak && build/fma_peak */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 12
/* one FMA on every chain, spelled out so that the chains stay in registers */
#define STEP(c)                                                                                    \
    c[0] = _mm512_fmadd_ps(c[0], a, b), c[1] = _mm512_fmadd_ps(c[1], a, b),                        \
    c[2] = _mm512_fmadd_ps(c[2], a, b), c[3] = _mm512_fmadd_ps(c[3], a, b),                        \
    c[4] = _mm512_fmadd_ps(c[4], a, b), c[5] = _mm512_fmadd_ps(c[5], a, b),                        \
    c[6] = _mm512_fmadd_ps(c[6], a, b), c[7] = _mm512_fmadd_ps(c[7], a, b),                        \
    c[8] = _mm512_fmadd_ps(c[8], a, b), c[9] = _mm512_fmadd_ps(c[9], a, b),                        \
    c[10] = _mm512_fmadd_ps(c[10], a, b), c[11] = _mm512_fmadd_ps(c[11], a, b)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    const long n = 100000000;
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now_s();
        for (long k = 0; k < n; k++)
            STEP(acc);
        double gf = 2.0 * 16 * CHAINS * (double)n / (now_s() - t0) / 1e9;
        best = gf > best ? gf : best;
    }
    float sink = 0;
    for (int i = 0; i < CHAINS; i++)
        sink += _mm512_reduce_add_ps(acc[i]);
    printf("fp32 FMA peak, 1 thread: %.1f GFLOP/s (%.1f GMAC/s; sink %g)\n", best, best / 2,
           (double)sink);
    return 0;
}
