/* check_backend_eltwise.c: the fast CPU backend's element-wise and per-channel kernels (add_act,
 * act_backward, accumulate, batchnorm forward and backward) against the cpu_ref oracle's plain
 * loops. Sizes are odd, and both below and above the size where cpu.c splits a loop over
 * threads; every case runs at 1, 2 and 3 threads and must give bit-identical results at each
 * (reductions are per channel, in a fixed order), within tolerance of the oracle. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"

/* Element-wise kernels add in the oracle's order: exact. Batch norm sums in float lanes per
 * plane (the oracle in double throughout) and folds the affine transform differently, so values
 * of order 1 may differ by a few float32 ulps; an indexing bug costs O(1). */
#define BN_ATOL     2e-5
#define BN_RTOL     1e-4
#define BN_SUM_RTOL 1e-4 /* dgamma, dbeta: sums over N * HW terms */

static const int thread_counts[] = {1, 2, 3};

static float *rand_buf(size_t n, uint64_t seed, float scale, float offset)
{
    struct pf_rng r;
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    pf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0f * pf_rng_uniform(&r) - 1.0f) + offset;
    return p;
}

static float *copy_buf(const float *src, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static void assert_close(const float *got, const float *want, size_t n, double atol, double rtol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - want[i]);
        ck_assert_msg(diff <= atol + rtol * fabs((double)want[i]), "%s: at %zu got %.9g want %.9g",
                      what, i, (double)got[i], (double)want[i]);
    }
}

static void assert_same(const float *a, const float *b, size_t n, const char *what)
{
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s: results depend on the thread count", what);
}

/* The three activations as clamps. */
static const float act_lo[] = {-INFINITY, 0.0f, 0.0f};
static const float act_hi[] = {INFINITY, INFINITY, 6.0f};
static const char *const act_name[] = {"none", "relu", "relu6"};

/* Element counts: tiny, odd, and past the threading threshold (not a multiple of the chunk). */
static const size_t ew_sizes[] = {1, 7, 1001, 100003};

START_TEST(test_add_act)
{
    size_t n = ew_sizes[_i];
    for (int k = 1; k <= 4; k++)
        for (int a = 0; a < 3; a++) {
            const float *xs[4];
            float *bufs[4];
            for (int j = 0; j < k; j++)
                xs[j] = bufs[j] = rand_buf(n, 100 + (uint64_t)j, 4.0f, 0.5f);
            float *want = rand_buf(n, 7, 1.0f, 0.0f), *first = NULL;
            pf_backend_cpu_ref.add_act(n, k, xs, act_lo[a], act_hi[a], want);
            for (size_t t = 0; t < PF_ARRAY_LEN(thread_counts); t++) {
                pf_backend_cpu.set_threads(thread_counts[t]);
                float *y = rand_buf(n, 8, 1.0f, 0.0f);
                pf_backend_cpu.add_act(n, k, xs, act_lo[a], act_hi[a], y);
                char what[64];
                snprintf(what, sizeof what, "add_act n %zu k %d %s", n, k, act_name[a]);
                assert_close(y, want, n, 0.0, 0.0, what);
                if (first) {
                    assert_same(y, first, n, what);
                    free(y);
                } else {
                    first = y;
                }
            }
            /* in place: y is the first input */
            float *inplace = copy_buf(bufs[0], n);
            const float *xs2[4] = {inplace, xs[1], xs[2], xs[3]};
            pf_backend_cpu.add_act(n, k, xs2, act_lo[a], act_hi[a], inplace);
            assert_close(inplace, want, n, 0.0, 0.0, "add_act in place");
            free(inplace);
            free(first);
            free(want);
            for (int j = 0; j < k; j++)
                free(bufs[j]);
        }
    pf_backend_cpu.set_threads(2);
}
END_TEST

START_TEST(test_act_backward)
{
    size_t n = ew_sizes[_i];
    for (int a = 0; a < 3; a++) {
        /* y on a grid that hits the clamp edges 0 and 6 exactly */
        float *y = rand_buf(n, 11, 4.0f, 2.0f), *dy = rand_buf(n, 12, 1.0f, 0.0f);
        for (size_t i = 0; i < n; i += 5)
            y[i] = (float)((i / 5) % 3 == 0 ? 0.0 : (i / 5) % 3 == 1 ? 6.0 : -1.0);
        float *want = rand_buf(n, 13, 1.0f, 0.0f);
        float *wdx[1] = {want};
        pf_backend_cpu_ref.act_backward(n, act_lo[a], act_hi[a], y, dy, 1, wdx);
        for (size_t t = 0; t < PF_ARRAY_LEN(thread_counts); t++) {
            pf_backend_cpu.set_threads(thread_counts[t]);
            /* three outputs: a separate buffer, NULL (no gradient wanted), dy itself */
            float *d0 = rand_buf(n, 14, 1.0f, 0.0f), *d2 = copy_buf(dy, n);
            float *dx[3] = {d0, NULL, d2};
            pf_backend_cpu.act_backward(n, act_lo[a], act_hi[a], y, d2, 3, dx);
            char what[64];
            snprintf(what, sizeof what, "act_backward n %zu %s", n, act_name[a]);
            assert_close(d0, want, n, 0.0, 0.0, what);
            assert_close(d2, want, n, 0.0, 0.0, what);
            free(d2);
            free(d0);
        }
        free(want);
        free(dy);
        free(y);
    }
    pf_backend_cpu.set_threads(2);
}
END_TEST

START_TEST(test_accumulate)
{
    size_t n = ew_sizes[_i];
    float *src = rand_buf(n, 21, 1.0f, 0.0f), *want = rand_buf(n, 22, 1.0f, 0.0f);
    float *start = copy_buf(want, n);
    pf_backend_cpu_ref.accumulate(n, want, src);
    for (size_t t = 0; t < PF_ARRAY_LEN(thread_counts); t++) {
        pf_backend_cpu.set_threads(thread_counts[t]);
        float *dst = copy_buf(start, n);
        pf_backend_cpu.accumulate(n, dst, src);
        assert_close(dst, want, n, 0.0, 0.0, "accumulate");
        free(dst);
    }
    pf_backend_cpu.set_threads(2);
    free(start);
    free(want);
    free(src);
}
END_TEST

/* (N, C, HW): odd and small; a resnet20-like one past the threading threshold; one channel. */
static const int bn_shapes[][3] = {{3, 5, 7}, {2, 3, 1}, {17, 19, 53}, {5, 1, 401}, {33, 7, 197}};

/* One forward + backward at one thread count; outputs into the given buffers. */
struct bn_out {
    float *y, *mean, *var, *invstd, *dx, *dgamma, *dbeta;
};

static void bn_out_init(struct bn_out *o, size_t n, int C)
{
    o->y = rand_buf(n, 31, 1.0f, 0.0f);
    o->dx = rand_buf(n, 32, 1.0f, 0.0f);
    o->mean = rand_buf((size_t)C, 33, 1.0f, 0.0f);
    o->var = rand_buf((size_t)C, 34, 0.5f, 1.0f);
    o->invstd = rand_buf((size_t)C, 35, 1.0f, 0.0f);
    o->dgamma = rand_buf((size_t)C, 36, 1.0f, 0.0f);
    o->dbeta = rand_buf((size_t)C, 37, 1.0f, 0.0f);
}

static void bn_out_free(struct bn_out *o)
{
    free(o->dbeta);
    free(o->dgamma);
    free(o->invstd);
    free(o->var);
    free(o->mean);
    free(o->dx);
    free(o->y);
}

static void bn_run(const struct pf_backend_ops *be, int N, int C, int HW, const float *x,
                   const float *gamma, const float *beta, const float *dy0, bool stats, int a,
                   const float *eval_mean, const float *eval_var, struct bn_out *o)
{
    size_t n = (size_t)N * C * HW;
    if (!stats) {
        memcpy(o->mean, eval_mean, (size_t)C * sizeof *o->mean);
        memcpy(o->var, eval_var, (size_t)C * sizeof *o->var);
    }
    be->batchnorm_forward(N, C, HW, x, gamma, beta, 1e-5, stats, act_lo[a], act_hi[a], o->mean,
                          o->var, o->invstd, o->y);
    float *dy = copy_buf(dy0, n); /* may be clobbered */
    be->batchnorm_backward(N, C, HW, x, o->y, dy, act_lo[a], act_hi[a], o->mean, o->invstd, gamma,
                           stats, o->dgamma, o->dbeta, o->dx);
    free(dy);
}

START_TEST(test_batchnorm)
{
    int N = bn_shapes[_i][0], C = bn_shapes[_i][1], HW = bn_shapes[_i][2];
    size_t n = (size_t)N * C * HW;
    /* an offset mean per channel (0.5) tests the centring; gamma, beta away from 1 and 0 */
    float *x = rand_buf(n, 41, 2.0f, 0.5f), *dy = rand_buf(n, 42, 1.0f, 0.0f);
    float *gamma = rand_buf((size_t)C, 43, 0.5f, 1.0f), *beta = rand_buf((size_t)C, 44, 1.0f, 0.0f);
    float *emean = rand_buf((size_t)C, 45, 0.3f, 0.0f), *evar = rand_buf((size_t)C, 46, 0.5f, 1.0f);
    for (int stats = 0; stats < 2; stats++)
        for (int a = 0; a < 3; a++) {
            struct bn_out want, first = {0};
            bn_out_init(&want, n, C);
            bn_run(&pf_backend_cpu_ref, N, C, HW, x, gamma, beta, dy, stats, a, emean, evar, &want);
            for (size_t t = 0; t < PF_ARRAY_LEN(thread_counts); t++) {
                struct bn_out got;
                bn_out_init(&got, n, C);
                pf_backend_cpu.set_threads(thread_counts[t]);
                bn_run(&pf_backend_cpu, N, C, HW, x, gamma, beta, dy, stats, a, emean, evar, &got);
                char what[96];
                snprintf(what, sizeof what, "batchnorm %dx%dx%d %s %s", N, C, HW,
                         stats ? "train" : "eval", act_name[a]);
                assert_close(got.mean, want.mean, (size_t)C, BN_ATOL, BN_RTOL, what);
                assert_close(got.var, want.var, (size_t)C, BN_ATOL, BN_RTOL, what);
                assert_close(got.invstd, want.invstd, (size_t)C, BN_ATOL, BN_RTOL, what);
                assert_close(got.y, want.y, n, BN_ATOL, BN_RTOL, what);
                assert_close(got.dx, want.dx, n, BN_ATOL, BN_RTOL, what);
                /* the parameter gradients accumulate onto the random start values */
                assert_close(got.dgamma, want.dgamma, (size_t)C, BN_ATOL * HW, BN_SUM_RTOL, what);
                assert_close(got.dbeta, want.dbeta, (size_t)C, BN_ATOL * HW, BN_SUM_RTOL, what);
                if (t == 0) {
                    first = got;
                    continue;
                }
                assert_same(got.y, first.y, n, what);
                assert_same(got.dx, first.dx, n, what);
                assert_same(got.dgamma, first.dgamma, (size_t)C, what);
                assert_same(got.mean, first.mean, (size_t)C, what);
                assert_same(got.var, first.var, (size_t)C, what);
                bn_out_free(&got);
            }
            bn_out_free(&first);
            bn_out_free(&want);
        }
    pf_backend_cpu.set_threads(2);
    free(evar);
    free(emean);
    free(beta);
    free(gamma);
    free(dy);
    free(x);
}
END_TEST

/* dx may be NULL (the layer's input needs no gradient): the parameter gradients still come. */
START_TEST(test_batchnorm_no_dx)
{
    int N = 4, C = 3, HW = 9;
    size_t n = (size_t)N * C * HW;
    float *x = rand_buf(n, 51, 1.0f, 0.0f), *dy = rand_buf(n, 52, 1.0f, 0.0f);
    float gamma[3] = {1.0f, 0.5f, 2.0f}, beta[3] = {0.0f, 0.1f, -0.2f};
    struct bn_out want, got;
    bn_out_init(&want, n, C);
    bn_out_init(&got, n, C);
    bn_run(&pf_backend_cpu_ref, N, C, HW, x, gamma, beta, dy, true, 1, NULL, NULL, &want);
    free(got.dx);
    got.dx = NULL;
    bn_run(&pf_backend_cpu, N, C, HW, x, gamma, beta, dy, true, 1, NULL, NULL, &got);
    assert_close(got.dgamma, want.dgamma, (size_t)C, BN_ATOL * HW, BN_SUM_RTOL, "no dx");
    assert_close(got.dbeta, want.dbeta, (size_t)C, BN_ATOL * HW, BN_SUM_RTOL, "no dx");
    bn_out_free(&got);
    bn_out_free(&want);
    free(dy);
    free(x);
}
END_TEST

Suite *backend_eltwise_suite(void);
Suite *backend_eltwise_suite(void)
{
    Suite *s = suite_create("backend_eltwise");
    TCase *tc = tcase_create("backend_eltwise");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_add_act, 0, (int)PF_ARRAY_LEN(ew_sizes));
    tcase_add_loop_test(tc, test_act_backward, 0, (int)PF_ARRAY_LEN(ew_sizes));
    tcase_add_loop_test(tc, test_accumulate, 0, (int)PF_ARRAY_LEN(ew_sizes));
    tcase_add_loop_test(tc, test_batchnorm, 0, (int)PF_ARRAY_LEN(bn_shapes));
    tcase_add_test(tc, test_batchnorm_no_dx);
    suite_add_tcase(s, tc);
    return s;
}
