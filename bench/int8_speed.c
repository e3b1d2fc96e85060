/* int8_speed.c: the int8 model of `uniform-tf` against our fp32 path: test accuracy through the
 * integer path and through the simulated (fake-quantized float) model, and inference speed of
 * the integer network (oneDNN u8 x s8 convolutions and GEMM) against the float forward pass of
 * (a) the original float model and (b) the same folded network in float. A timing program, not
 * a test: it asserts nothing. Prints one JSON object.
 *
 * Build and run (from the repository root, after `make BUILD=build-quant`):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/int8_speed.c build-quant/libpocketflow.a \
 *      $(pkg-config --libs yaml-0.1 openblas hdf5 zlib) -ldnnl -fopenmp -lpthread -lm \
 *      -o build-quant/int8_speed
 *   build-quant/int8_speed INT8.h5 FLOAT.h5 [threads] [data] [batch] [seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "engine/model/int8.h"
#include "engine/model/train.h"

static void die(const char *what)
{
    fprintf(stderr, "int8_speed: %s: %s\n", what, pf_err_msg());
    exit(1);
}

/* Images per second of fn over `seconds` after one warm-up call. */
typedef int (*run_fn)(void *ctx, const float *x, int N);
static double rate(run_fn fn, void *ctx, const float *x, int N, double seconds)
{
    if (fn(ctx, x, N) < 0)
        die("forward");
    long it = 0;
    double t0 = pf_now_s(), t;
    do {
        if (fn(ctx, x, N) < 0)
            die("forward");
        it++;
        t = pf_now_s();
    } while (t - t0 < seconds);
    return (double)it * N / (t - t0);
}

static int run_float(void *ctx, const float *x, int N)
{
    return pf_model_forward(ctx, x, N, false);
}

static float logits[1024 * 1000];
static int run_int8(void *ctx, const float *x, int N)
{
    return pf_int8_net_forward(ctx, x, N, logits);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: int8_speed INT8.h5 FLOAT.h5 [threads] [data] [batch] [seconds]\n");
        return 2;
    }
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    const char *data = argc > 4 ? argv[4] : "fmnist";
    int B = argc > 5 ? atoi(argv[5]) : 100;
    double secs = argc > 6 ? atof(argv[6]) : 3.0;
    pf_backend_set_threads(threads);
    struct pf_model *m8 = NULL, *mf = NULL, *plain = NULL;
    struct pf_dataset *test = NULL;
    struct pf_int8_net *n = NULL;
    if (pf_model_load(argv[1], &m8, NULL, 0) < 0 || pf_model_load(argv[2], &mf, NULL, 0) < 0 ||
        pf_model_clone(m8, &plain) < 0)
        die("load");
    pf_model_actq_disable(plain); /* the folded network in plain float */
    if (pf_dataset_load(data, PF_SPLIT_TEST, &test) < 0 || pf_int8_net_new(m8, &n) < 0)
        die("set-up");
    struct pf_eval_result ri, rs, rf;
    double t0 = pf_now_s();
    if (pf_int8_net_evaluate(n, test, NULL, 0, 100, &ri, NULL) < 0)
        die("int8 evaluation");
    double t_int8 = pf_now_s() - t0;
    if (pf_evaluate(m8, test, NULL, 0, 100, &rs, NULL) < 0 ||
        pf_evaluate(mf, test, NULL, 0, 100, &rf, NULL) < 0)
        die("evaluation");
    /* one batch of real test images */
    float *x = malloc((size_t)B * pf_shape_numel(m8->input) * sizeof *x);
    int *y = malloc((size_t)B * sizeof *y);
    uint32_t *ids = malloc((size_t)B * sizeof *ids);
    for (int i = 0; i < B; i++)
        ids[i] = (uint32_t)(i % test->n);
    if (!x || !y || !ids || pf_dataset_batch(test, ids, B, x, y, false, NULL) < 0)
        die("batch");
    double r_int8 = rate(run_int8, n, x, B, secs);
    double r_float = rate(run_float, mf, x, B, secs);
    double r_folded = rate(run_float, plain, x, B, secs);
    double l_int8 = 1e3 / rate(run_int8, n, x, 1, secs / 2);
    double l_float = 1e3 / rate(run_float, mf, x, 1, secs / 2);
    printf("{\"int8_model\": \"%s\", \"float_model\": \"%s\", \"threads\": %d, \"batch\": %d, "
           "\"int8_test_acc\": %.4f, \"sim_test_acc\": %.4f, \"float_test_acc\": %.4f, "
           "\"int8_img_per_s\": %.1f, \"float_img_per_s\": %.1f, \"folded_float_img_per_s\": "
           "%.1f, \"speedup_vs_float\": %.2f, \"speedup_vs_folded\": %.2f, "
           "\"int8_latency_b1_ms\": %.3f, \"float_latency_b1_ms\": %.3f, "
           "\"int8_eval_s\": %.2f}\n",
           argv[1], argv[2], threads, B, ri.accuracy, rs.accuracy, rf.accuracy, r_int8, r_float,
           r_folded, r_int8 / r_float, r_int8 / r_folded, l_int8, l_float, t_int8);
    free(x);
    free(y);
    free(ids);
    pf_int8_net_free(n);
    pf_dataset_free(test);
    pf_model_free(plain);
    pf_model_free(mf);
    pf_model_free(m8);
    return 0;
}
