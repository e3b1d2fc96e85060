/* check_backend_parity.c: the fast CPU backend (oneDNN convolutions, OpenBLAS GEMM) against the
 * cpu_ref oracle. One table row per convolution shape; every row runs forward, backward data and
 * backward weights (with db when the row has a bias) on both backends and compares. Further
 * tests reuse one state slot across calls, batch sizes, bias on/off and thread counts, so the
 * per-layer cache is exercised, and sweep sgemm over every transpose pair with padded strides. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"

/* |fast - ref| <= ATOL + RTOL * |ref| per element. Inputs are uniform in [-1, 1), so sums have
 * magnitude up to ~10 over a few hundred terms; float32 reordering costs ~1e-5 there, while
 * any indexing bug costs O(1). */
#define CONV_ATOL 1e-3
#define CONV_RTOL 1e-4
#define GEMM_ATOL 1e-4
#define GEMM_RTOL 1e-4

struct conv_case {
    const char *name;
    int N, C, H, W, K, R, S;
    int sh, sw, pt, pb, pl, pr, groups;
    bool bias;
};

/* clang-format off */
static const struct conv_case conv_cases[] = {
    /* name                      N  C   H   W   K  R  S sh sw pt pb pl pr  g  bias */
    {"3x3 s1 pad1",              1, 3,  8,  8,  4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},
    {"3x3 s2 SAME asym",         3, 4, 10,  8,  5, 3, 3, 2, 2, 0, 1, 0, 1, 1, true},
    {"5x5 s1 SAME",              3, 3,  7,  9,  5, 5, 5, 1, 1, 2, 2, 2, 2, 1, true},
    {"5x5 s2 SAME asym",         1, 2, 12, 14,  3, 5, 5, 2, 2, 1, 2, 1, 2, 1, false},
    {"1x1 s1 valid",             3, 6,  5,  7,  5, 1, 1, 1, 1, 0, 0, 0, 0, 1, false},
    {"1x1 s2 valid",             1, 4,  7,  7,  8, 1, 1, 2, 2, 0, 0, 0, 0, 1, true},
    {"3x3 explicit pad 2/0/1/2", 3, 3,  6,  7,  4, 3, 3, 1, 1, 2, 0, 1, 2, 1, true},
    {"3x3 valid odd",            1, 5,  7,  5,  3, 3, 3, 1, 1, 0, 0, 0, 0, 1, false},
    {"5x5 valid",                3, 2,  9,  9,  3, 5, 5, 1, 1, 0, 0, 0, 0, 1, false},
    {"3x1 kernel s2x1",          3, 3,  9,  6,  4, 3, 1, 2, 1, 1, 1, 0, 0, 1, true},
    {"groups 2 3x3",             3, 4,  6,  6,  6, 3, 3, 1, 1, 1, 1, 1, 1, 2, true},
    {"groups 2 5x5 s2",          1, 6, 11,  9,  4, 5, 5, 2, 2, 2, 2, 2, 2, 2, false},
    {"depthwise 3x3 s1",         3, 8,  7,  7,  8, 3, 3, 1, 1, 1, 1, 1, 1, 8, true},
    {"depthwise 3x3 s2 SAME",    1, 6, 10, 10,  6, 3, 3, 2, 2, 0, 1, 0, 1, 6, false},
    {"depthwise multiplier 2",   3, 4,  5,  6,  8, 3, 3, 1, 1, 1, 1, 1, 1, 4, true},
    {"fmnist conv2 5x5 SAME",    1, 32, 14, 14, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, true},
    {"resnet20 3x3 16->32 s2",   1, 16, 16, 16, 32, 3, 3, 2, 2, 0, 1, 0, 1, 1, false},
};
/* clang-format on */

static struct pf_conv_desc desc_of(const struct conv_case *c, int N)
{
    struct pf_conv_desc d = {
        .N = N,
        .C = c->C,
        .H = c->H,
        .W = c->W,
        .K = c->K,
        .R = c->R,
        .S = c->S,
        .stride_h = c->sh,
        .stride_w = c->sw,
        .pad_t = c->pt,
        .pad_b = c->pb,
        .pad_l = c->pl,
        .pad_r = c->pr,
        .groups = c->groups,
    };
    ck_assert_int_eq(pf_conv_desc_finish(&d), 0);
    return d;
}

static float *rand_buf(size_t n, uint64_t seed)
{
    struct pf_rng r;
    float *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    pf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * pf_rng_uniform(&r) - 1.0f;
    return p;
}

/* A buffer of n floats filled with v (checks that outputs are overwritten, not accumulated). */
static float *fill_buf(size_t n, float v)
{
    float *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return p;
}

static void assert_close(const float *got, const float *want, size_t n, double atol, double rtol,
                         const char *what, const char *name)
{
    double max_abs = 0.0, max_rel = 0.0;
    size_t worst = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - want[i]);
        double rel = diff / fmax(fabs((double)want[i]), 1e-6);
        if (!(diff <= atol + rtol * fabs((double)want[i]))) {
            if (!bad)
                worst = i;
            bad++;
        }
        if (!(diff <= max_abs))
            max_abs = diff;
        if (rel > max_rel && fabs((double)want[i]) > atol)
            max_rel = rel;
    }
    ck_assert_msg(bad == 0,
                  "%s [%s]: %zu of %zu differ; first at %zu: got %g want %g; max abs %g, "
                  "max rel %g",
                  what, name, bad, n, worst, (double)got[worst], (double)want[worst], max_abs,
                  max_rel);
}

/* Buffers of one convolution at batch N, with random inputs. */
struct conv_bufs {
    size_t nx, nw, ny;
    float *x, *w, *b, *dy;
};

static void bufs_init(struct conv_bufs *cb, const struct pf_conv_desc *d, uint64_t seed)
{
    cb->nx = (size_t)d->N * d->C * d->H * d->W;
    cb->nw = (size_t)d->K * (d->C / d->groups) * d->R * d->S;
    cb->ny = (size_t)d->N * d->K * d->OH * d->OW;
    cb->x = rand_buf(cb->nx, seed);
    cb->w = rand_buf(cb->nw, seed + 1);
    cb->b = rand_buf((size_t)d->K, seed + 2);
    cb->dy = rand_buf(cb->ny, seed + 3);
}

static void bufs_free(struct conv_bufs *cb)
{
    free(cb->dy);
    free(cb->b);
    free(cb->w);
    free(cb->x);
}

/* Runs all three convolutions of d through cpu (on `state`) and cpu_ref, and compares. */
static void conv_compare(const struct pf_conv_desc *d, void **state, const struct conv_bufs *cb,
                         bool bias, const char *name)
{
    const struct pf_backend_ops *fast = &pf_backend_cpu, *ref = &pf_backend_cpu_ref;
    void *no_state = NULL;
    float *y = fill_buf(cb->ny, 7.0f), *y_ref = fill_buf(cb->ny, 0.0f);
    float *dx = fill_buf(cb->nx, 7.0f), *dx_ref = fill_buf(cb->nx, 0.0f);
    float *dw = fill_buf(cb->nw, 7.0f), *dw_ref = fill_buf(cb->nw, 0.0f);
    float *db = fill_buf((size_t)d->K, 7.0f), *db_ref = fill_buf((size_t)d->K, 0.0f);
    const float *b = bias ? cb->b : NULL;

    ck_assert_int_eq(ref->conv2d_forward(d, &no_state, cb->x, cb->w, b, y_ref), 0);
    ck_assert_int_eq(ref->conv2d_backward_data(d, &no_state, cb->dy, cb->w, dx_ref), 0);
    ck_assert_int_eq(
        ref->conv2d_backward_weights(d, &no_state, cb->x, cb->dy, dw_ref, bias ? db_ref : NULL), 0);

    int rc = fast->conv2d_forward(d, state, cb->x, cb->w, b, y);
    ck_assert_msg(rc == 0, "forward [%s]: %s", name, pf_err_msg());
    ck_assert_ptr_nonnull(*state);
    rc = fast->conv2d_backward_data(d, state, cb->dy, cb->w, dx);
    ck_assert_msg(rc == 0, "backward data [%s]: %s", name, pf_err_msg());
    rc = fast->conv2d_backward_weights(d, state, cb->x, cb->dy, dw, bias ? db : NULL);
    ck_assert_msg(rc == 0, "backward weights [%s]: %s", name, pf_err_msg());

    assert_close(y, y_ref, cb->ny, CONV_ATOL, CONV_RTOL, "forward y", name);
    assert_close(dx, dx_ref, cb->nx, CONV_ATOL, CONV_RTOL, "backward dx", name);
    assert_close(dw, dw_ref, cb->nw, CONV_ATOL, CONV_RTOL, "backward dw", name);
    if (bias)
        assert_close(db, db_ref, (size_t)d->K, CONV_ATOL, CONV_RTOL, "backward db", name);
    else
        for (int k = 0; k < d->K; k++)
            ck_assert_msg(db[k] == 7.0f, "db written though NULL [%s]", name);

    free(db_ref);
    free(db);
    free(dw_ref);
    free(dw);
    free(dx_ref);
    free(dx);
    free(y_ref);
    free(y);
}

/* One table row per _i: its own fresh state, batch from the table. */
START_TEST(test_conv_parity)
{
    const struct conv_case *c = &conv_cases[_i];
    struct pf_conv_desc d = desc_of(c, c->N);
    struct conv_bufs cb;
    void *state = NULL;
    bufs_init(&cb, &d, 1000 + (uint64_t)_i * 10);
    conv_compare(&d, &state, &cb, c->bias, c->name);
    pf_backend_cpu.conv_state_free(state);
    bufs_free(&cb);
}
END_TEST

/* Fast conv2d_backward (dw, db, dx in one call, reusing the forward's reordered x and sharing
 * the reordered dy) against the oracle's two backward calls. */
static void bwd_compare(const struct pf_conv_desc *d, void **state, const float *x,
                        const struct conv_bufs *cb, bool bias, bool want_dx, const char *name)
{
    void *no_state = NULL;
    float *dx = fill_buf(cb->nx, 7.0f), *dx_ref = fill_buf(cb->nx, 0.0f);
    float *dw = fill_buf(cb->nw, 7.0f), *dw_ref = fill_buf(cb->nw, 0.0f);
    float *db = fill_buf((size_t)d->K, 7.0f), *db_ref = fill_buf((size_t)d->K, 0.0f);
    ck_assert_int_eq(pf_backend_cpu_ref.conv2d_backward_data(d, &no_state, cb->dy, cb->w, dx_ref),
                     0);
    ck_assert_int_eq(pf_backend_cpu_ref.conv2d_backward_weights(d, &no_state, x, cb->dy, dw_ref,
                                                                bias ? db_ref : NULL),
                     0);
    int rc = pf_backend_cpu.conv2d_backward(d, state, x, cb->dy, cb->w, want_dx ? dx : NULL, dw,
                                            bias ? db : NULL);
    ck_assert_msg(rc == 0, "conv2d_backward [%s]: %s", name, pf_err_msg());
    assert_close(dw, dw_ref, cb->nw, CONV_ATOL, CONV_RTOL, "conv2d_backward dw", name);
    if (bias)
        assert_close(db, db_ref, (size_t)d->K, CONV_ATOL, CONV_RTOL, "conv2d_backward db", name);
    if (want_dx)
        assert_close(dx, dx_ref, cb->nx, CONV_ATOL, CONV_RTOL, "conv2d_backward dx", name);
    else
        for (size_t i = 0; i < cb->nx; i++)
            ck_assert_msg(dx[i] == 7.0f, "dx written though NULL [%s]", name);
    free(db_ref);
    free(db);
    free(dw_ref);
    free(dw);
    free(dx_ref);
    free(dx);
}

START_TEST(test_conv_backward_fused)
{
    const struct conv_case *c = &conv_cases[_i];
    struct pf_conv_desc d = desc_of(c, c->N);
    struct conv_bufs cb, other;
    void *state = NULL;
    bufs_init(&cb, &d, 6000 + (uint64_t)_i * 10);
    bufs_init(&other, &d, 6500 + (uint64_t)_i * 10);
    float *y = fill_buf(cb.ny, 0.0f);
    const float *b = c->bias ? cb.b : NULL;
    /* no forward yet on this state: backward reorders x itself */
    bwd_compare(&d, &state, cb.x, &cb, c->bias, false, c->name);
    /* the training order: forward, then backward on the same x */
    ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &state, cb.x, cb.w, b, y), 0);
    bwd_compare(&d, &state, cb.x, &cb, c->bias, true, c->name);
    bwd_compare(&d, &state, cb.x, &cb, c->bias, true, c->name);
    /* a forward on another input: backward follows it */
    ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &state, other.x, cb.w, b, y), 0);
    bwd_compare(&d, &state, other.x, &cb, c->bias, true, c->name);
    /* a buffer that was not the forward's input is not taken for it */
    bwd_compare(&d, &state, cb.x, &cb, c->bias, true, c->name);
    /* two layers as a model runs them, from fresh states (the first step keeps nothing, later
     * ones keep x): both forwards, then the backwards in reverse order; the second layer's
     * forward must not clobber what the first one's backward reads. Then two forwards on one
     * layer: its backward follows the last. */
    void *s1 = NULL, *s2 = NULL; /* fresh: the first step runs before any backward */
    float *y2 = fill_buf(cb.ny, 0.0f);
    for (int rep = 0; rep < 3; rep++) {
        ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &s1, cb.x, cb.w, b, y), 0);
        ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &s2, other.x, cb.w, b, y2), 0);
        bwd_compare(&d, &s2, other.x, &cb, c->bias, true, c->name);
        bwd_compare(&d, &s1, cb.x, &cb, c->bias, true, c->name);
    }
    ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &s1, cb.x, cb.w, b, y), 0);
    ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &s1, other.x, cb.w, b, y), 0);
    bwd_compare(&d, &s1, other.x, &cb, c->bias, true, c->name);
    free(y2);
    pf_backend_cpu.conv_state_free(s2);
    pf_backend_cpu.conv_state_free(s1);
    /* a batch change rebuilds the state and forgets the forward's input */
    struct pf_conv_desc d1 = desc_of(c, 1);
    ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &state, cb.x, cb.w, b, y), 0);
    struct conv_bufs one;
    bufs_init(&one, &d1, 6900 + (uint64_t)_i);
    bwd_compare(&d1, &state, cb.x, &one, c->bias, true, c->name);
    bufs_free(&one);
    free(y);
    pf_backend_cpu.conv_state_free(state);
    bufs_free(&other);
    bufs_free(&cb);
}
END_TEST

/* One state slot through the life of a layer: the same descriptor twice (cached primitives must
 * give the same, correct answer), bias dropped and restored, then the batch changes twice
 * (rebuild), then the thread count changes (rebuild). */
START_TEST(test_conv_state_reuse)
{
    static const struct conv_case *const picks[] = {&conv_cases[2], &conv_cases[11],
                                                    &conv_cases[13]};
    for (size_t p = 0; p < PF_ARRAY_LEN(picks); p++) {
        const struct conv_case *c = picks[p];
        void *state = NULL;
        static const int batches[] = {1, 1, 3, 2};
        for (size_t i = 0; i < PF_ARRAY_LEN(batches); i++) {
            struct pf_conv_desc d = desc_of(c, batches[i]);
            struct conv_bufs cb;
            bufs_init(&cb, &d, 2000 + i * 10 + p * 100);
            conv_compare(&d, &state, &cb, c->bias, c->name);
            conv_compare(&d, &state, &cb, !c->bias, c->name);
            conv_compare(&d, &state, &cb, c->bias, c->name);
            bufs_free(&cb);
        }
        /* repeated forward on a cached state is deterministic */
        struct pf_conv_desc d = desc_of(c, 2);
        struct conv_bufs cb;
        bufs_init(&cb, &d, 3000 + p);
        float *y1 = fill_buf(cb.ny, 0.0f), *y2 = fill_buf(cb.ny, 1.0f);
        ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &state, cb.x, cb.w, cb.b, y1), 0);
        ck_assert_int_eq(pf_backend_cpu.conv2d_forward(&d, &state, cb.x, cb.w, cb.b, y2), 0);
        ck_assert_int_eq(memcmp(y1, y2, cb.ny * sizeof *y1), 0);
        free(y2);
        free(y1);
        /* thread count changes: state rebuilt, still correct */
        pf_backend_cpu.set_threads(1);
        conv_compare(&d, &state, &cb, c->bias, c->name);
        pf_backend_cpu.set_threads(2);
        conv_compare(&d, &state, &cb, c->bias, c->name);
        bufs_free(&cb);
        pf_backend_cpu.conv_state_free(state);
    }
    pf_backend_cpu.conv_state_free(NULL);
}
END_TEST

/* Dispatch through the registry with "cpu" selected reaches the same code. */
START_TEST(test_conv_dispatch)
{
    const struct conv_case *c = &conv_cases[1];
    struct pf_conv_desc d = desc_of(c, c->N);
    struct conv_bufs cb;
    void *state = NULL;
    bufs_init(&cb, &d, 4000);
    float *y = fill_buf(cb.ny, 0.0f), *y_ref = fill_buf(cb.ny, 0.0f);
    void *no_state = NULL;
    ck_assert_int_eq(pf_backend_select("cpu"), 0);
    ck_assert_int_eq(pf_conv2d_forward(&d, &state, cb.x, cb.w, cb.b, y), 0);
    ck_assert_int_eq(pf_backend_cpu_ref.conv2d_forward(&d, &no_state, cb.x, cb.w, cb.b, y_ref), 0);
    assert_close(y, y_ref, cb.ny, CONV_ATOL, CONV_RTOL, "dispatch forward", c->name);
    pf_conv_state_free(&state);
    ck_assert_ptr_null(state);
    free(y_ref);
    free(y);
    bufs_free(&cb);
}
END_TEST

/* A worker pthread's job: one convolution on its own state; reports the max |fast - ref| of y
 * and dw, or -1 when a call failed (no ck_assert off the main thread). */
struct worker {
    const struct conv_case *c;
    double max_diff;
};

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= m))
            m = fabs((double)a[i] - b[i]);
    return m;
}

static void *worker_run(void *arg)
{
    struct worker *wk = arg;
    const struct conv_case *c = wk->c;
    struct pf_conv_desc d = {
        .N = c->N,
        .C = c->C,
        .H = c->H,
        .W = c->W,
        .K = c->K,
        .R = c->R,
        .S = c->S,
        .stride_h = c->sh,
        .stride_w = c->sw,
        .pad_t = c->pt,
        .pad_b = c->pb,
        .pad_l = c->pl,
        .pad_r = c->pr,
        .groups = c->groups,
    };
    wk->max_diff = -1.0;
    if (pf_conv_desc_finish(&d))
        return NULL;
    size_t nx = (size_t)d.N * d.C * d.H * d.W, ny = (size_t)d.N * d.K * d.OH * d.OW;
    size_t nw = (size_t)d.K * (d.C / d.groups) * d.R * d.S;
    float *buf = calloc(2 * nx + 4 * ny + 4 * nw, sizeof *buf);
    if (!buf)
        return NULL;
    float *x = buf, *y = x + nx, *y_ref = y + ny, *dy = y_ref + ny, *w = dy + ny;
    float *dw = w + nw, *dw_ref = dw + nw;
    struct pf_rng r;
    pf_rng_seed(&r, 6000);
    for (size_t i = 0; i < nx; i++)
        x[i] = 2.0f * pf_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < ny; i++)
        dy[i] = 2.0f * pf_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < nw; i++)
        w[i] = 2.0f * pf_rng_uniform(&r) - 1.0f;
    void *state = NULL, *no_state = NULL;
    int rc = 0;
    for (int rep = 0; rep < 5 && !rc; rep++) {
        rc = pf_backend_cpu.conv2d_forward(&d, &state, x, w, NULL, y);
        if (!rc)
            rc = pf_backend_cpu.conv2d_backward_weights(&d, &state, x, dy, dw, NULL);
    }
    if (!rc)
        rc = pf_backend_cpu_ref.conv2d_forward(&d, &no_state, x, w, NULL, y_ref);
    if (!rc)
        rc = pf_backend_cpu_ref.conv2d_backward_weights(&d, &no_state, x, dy, dw_ref, NULL);
    if (!rc)
        wk->max_diff = fmax(max_abs_diff(y, y_ref, ny), max_abs_diff(dw, dw_ref, nw));
    pf_backend_cpu.conv_state_free(state);
    free(buf);
    return NULL;
}

/* Training runs in a worker pthread, and two models (teacher, student) may run at once: after
 * set_threads on the main thread, two workers use their own states concurrently. */
START_TEST(test_conv_threads)
{
    struct worker wk[2] = {{&conv_cases[15], 0.0}, {&conv_cases[12], 0.0}};
    pthread_t th[2];
    pf_backend_cpu.set_threads(2);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &wk[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(wk[i].max_diff >= 0.0, "worker %d [%s] failed", i, wk[i].c->name);
        ck_assert_msg(wk[i].max_diff <= CONV_ATOL, "worker %d [%s]: max diff %g", i, wk[i].c->name,
                      wk[i].max_diff);
    }
}
END_TEST

struct gemm_case {
    int M, N, K;
    int pad; /* extra elements per stored row of A, B and C */
};

/* The last two are past cpu.c's switch from OpenBLAS to oneDNN's GEMM (M * N * K >= 2^17). */
static const struct gemm_case gemm_cases[] = {
    {1, 1, 1, 0},     {2, 3, 4, 1},      {5, 7, 3, 2},      {8, 8, 8, 0},    {17, 13, 9, 3},
    {1, 64, 32, 0},   {64, 1, 32, 5},    {31, 33, 35, 1},   {64, 48, 80, 7}, {128, 100, 3, 2},
    {3, 100, 128, 4}, {130, 97, 150, 3}, {33, 1031, 61, 1},
};

static void gemm_one(const struct gemm_case *g, bool ta, bool tb, float alpha, float beta,
                     uint64_t seed)
{
    /* stored shapes: A is M x K (K x M if ta), B is K x N (N x K if tb), C is M x N */
    int a_rows = ta ? g->K : g->M, a_cols = ta ? g->M : g->K;
    int b_rows = tb ? g->N : g->K, b_cols = tb ? g->K : g->N;
    int lda = a_cols + g->pad, ldb = b_cols + g->pad, ldc = g->N + g->pad;
    size_t nc = (size_t)g->M * ldc;
    float *A = rand_buf((size_t)a_rows * lda, seed);
    float *B = rand_buf((size_t)b_rows * ldb, seed + 1);
    float *C = rand_buf(nc, seed + 2);
    float *C_ref = malloc(nc * sizeof *C_ref);
    ck_assert_ptr_nonnull(C_ref);
    memcpy(C_ref, C, nc * sizeof *C);
    char name[96];
    snprintf(name, sizeof name, "M %d N %d K %d pad %d%s%s alpha %g beta %g", g->M, g->N, g->K,
             g->pad, ta ? " A^T" : "", tb ? " B^T" : "", alpha, beta);
    pf_backend_cpu.sgemm(ta, tb, g->M, g->N, g->K, alpha, A, lda, B, ldb, beta, C, ldc);
    pf_backend_cpu_ref.sgemm(ta, tb, g->M, g->N, g->K, alpha, A, lda, B, ldb, beta, C_ref, ldc);
    /* the whole buffer, so the padding columns must be untouched by both */
    assert_close(C, C_ref, nc, GEMM_ATOL, GEMM_RTOL, "sgemm", name);
    free(C_ref);
    free(C);
    free(B);
    free(A);
}

START_TEST(test_sgemm_parity)
{
    const struct gemm_case *g = &gemm_cases[_i];
    static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
    for (int t = 0; t < 4; t++)
        for (size_t k = 0; k < PF_ARRAY_LEN(ab); k++)
            gemm_one(g, t & 1, t & 2, ab[k][0], ab[k][1], 5000 + (uint64_t)_i * 100 + t * 10 + k);
}
END_TEST

Suite *backend_parity_suite(void);
Suite *backend_parity_suite(void)
{
    Suite *s = suite_create("backend_parity");
    TCase *tc = tcase_create("backend_parity");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_conv_parity, 0, (int)PF_ARRAY_LEN(conv_cases));
    tcase_add_loop_test(tc, test_conv_backward_fused, 0, (int)PF_ARRAY_LEN(conv_cases));
    tcase_add_test(tc, test_conv_state_reuse);
    tcase_add_test(tc, test_conv_dispatch);
    tcase_add_test(tc, test_conv_threads);
    tcase_add_loop_test(tc, test_sgemm_parity, 0, (int)PF_ARRAY_LEN(gemm_cases));
    suite_add_tcase(s, tc);
    return s;
}
