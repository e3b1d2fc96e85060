/* conv_speed.c: GFLOP/s of the fast CPU backend's convolutions (forward, backward data, backward
 * weights) on two shapes that dominate the bundled nets: convnet_fmnist's conv2 and a resnet20
 * 3x3 conv. A timing program, not a test: it asserts nothing.
 *
 * Build and run (from the repository root, after `make`):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/conv_speed.c build/libpocketflow.a -lopenblas \
 *      -ldnnl -fopenmp -lpthread -lm -o build/conv_speed && build/conv_speed [threads] [seconds]
 *
 * threads (default 2) goes to pf_backend_set_threads; each op runs for about `seconds` (default
 * 2) after one warm-up call that builds the cached primitives. FLOPs are 2 * N * K * OH * OW *
 * (C / groups) * R * S per op (bias and db not counted). */
#include <stdio.h>
#include <stdlib.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"

struct shape {
    const char *name;
    struct pf_conv_desc d;
};

static float *rand_buf(size_t n, struct pf_rng *r)
{
    float *p = malloc(n * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * pf_rng_uniform(r) - 1.0f;
    return p;
}

enum op { OP_FWD, OP_BWD_DATA, OP_BWD_WEIGHTS };

static int run_op(enum op op, const struct pf_conv_desc *d, void **state, float *x, float *w,
                  float *b, float *y, float *dx, float *dw, float *db)
{
    const struct pf_backend_ops *be = &pf_backend_cpu;
    switch (op) {
    case OP_FWD:
        return be->conv2d_forward(d, state, x, w, b, y);
    case OP_BWD_DATA:
        return be->conv2d_backward_data(d, state, y, w, dx);
    case OP_BWD_WEIGHTS:
        return be->conv2d_backward_weights(d, state, x, y, dw, db);
    }
    return -PF_EINVAL;
}

static int bench_shape(const struct shape *sh, double seconds)
{
    struct pf_conv_desc d = sh->d;
    struct pf_rng r;
    void *state = NULL;
    int rc = pf_conv_desc_finish(&d);
    if (rc)
        return rc;
    size_t nx = (size_t)d.N * d.C * d.H * d.W, ny = (size_t)d.N * d.K * d.OH * d.OW;
    size_t nw = (size_t)d.K * (d.C / d.groups) * d.R * d.S;
    pf_rng_seed(&r, 1);
    float *x = rand_buf(nx, &r), *dx = rand_buf(nx, &r), *y = rand_buf(ny, &r);
    float *w = rand_buf(nw, &r), *dw = rand_buf(nw, &r);
    float *b = rand_buf((size_t)d.K, &r), *db = rand_buf((size_t)d.K, &r);
    if (!x || !dx || !y || !w || !dw || !b || !db) {
        rc = PF_ERR(PF_ENOMEM, "out of memory");
        goto fail;
    }
    double flop = 2.0 * d.N * d.K * d.OH * d.OW * (double)(d.C / d.groups) * d.R * d.S;
    static const char *const names[] = {"forward", "backward data", "backward weights"};
    printf("%s: N %d, %d->%d, %dx%d, kernel %dx%d, stride %d, %.2f GFLOP per op\n", sh->name, d.N,
           d.C, d.K, d.H, d.W, d.R, d.S, d.stride_h, flop * 1e-9);
    for (int op = OP_FWD; op <= OP_BWD_WEIGHTS; op++) {
        if ((rc = run_op((enum op)op, &d, &state, x, w, b, y, dx, dw, db)))
            goto fail;
        int reps = 0;
        double t0 = pf_now_s(), t;
        do {
            if ((rc = run_op((enum op)op, &d, &state, x, w, b, y, dx, dw, db)))
                goto fail;
            reps++;
            t = pf_now_s() - t0;
        } while (t < seconds);
        printf("  %-17s %8.2f ms  %7.1f GFLOP/s\n", names[op], 1e3 * t / reps,
               flop * reps / t * 1e-9);
    }
fail:
    pf_backend_cpu.conv_state_free(state);
    free(db);
    free(b);
    free(dw);
    free(w);
    free(y);
    free(dx);
    free(x);
    return rc;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    static const struct shape shapes[] = {
        {"convnet_fmnist conv2 (5x5 SAME)",
         {.N = 128,
          .C = 32,
          .H = 14,
          .W = 14,
          .K = 64,
          .R = 5,
          .S = 5,
          .stride_h = 1,
          .stride_w = 1,
          .pad_t = 2,
          .pad_b = 2,
          .pad_l = 2,
          .pad_r = 2,
          .groups = 1}},
        {"resnet20 conv (3x3 pad 1)",
         {.N = 128,
          .C = 16,
          .H = 28,
          .W = 28,
          .K = 16,
          .R = 3,
          .S = 3,
          .stride_h = 1,
          .stride_w = 1,
          .pad_t = 1,
          .pad_b = 1,
          .pad_l = 1,
          .pad_r = 1,
          .groups = 1}},
    };
    pf_backend_set_threads(threads);
    printf("backend %s, %d threads\n", pf_backend_cpu.name, threads);
    for (size_t i = 0; i < PF_ARRAY_LEN(shapes); i++) {
        int rc = bench_shape(&shapes[i], seconds);
        if (rc) {
            fprintf(stderr, "conv_speed: %s\n", pf_err_msg());
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}
