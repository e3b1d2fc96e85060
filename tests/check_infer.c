/* check_infer.c: the float inference network (model/infer.h) and the blocked convolution it runs
 * on. The oracle for conv2d_blk is the plain NCHW convolution of cpu_ref, clamped and laid out
 * in blocks by the test's own loops; the oracle for the network is pf_model_forward in
 * inference mode (unfolded batch norm, NCHW), on residual, concat, pooled and flattened nets
 * with channel counts that are not multiples of the block. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/model/infer.h"
#include "helpers/pf_test.h"
#include "helpers/pf_test_compress.h"

#define TOL_CONV 1e-5f /* float32 sums in another order (oneDNN) against double (cpu_ref) */
#define TOL_NET  1e-4f /* folded batch norm: float32 rounding of w * gamma / sigma, as int8's */

static size_t blk_len(int C, int P)
{
    return (size_t)(C + PF_BLK - 1) / PF_BLK * PF_BLK * (size_t)P;
}

/* The test's own NCHW -> blocked layout (padding lanes zero), with the clamp applied. */
static void block(const float *x, int N, int C, int P, float lo, float hi, float *y)
{
    size_t per = blk_len(C, P);
    memset(y, 0, (size_t)N * per * sizeof *y);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < P; p++) {
                float v = x[((size_t)n * C + c) * P + p];
                v = v < lo ? lo : v > hi ? hi : v;
                y[n * per + ((size_t)(c / PF_BLK) * P + p) * PF_BLK + c % PF_BLK] = v;
            }
}

static void check_blk(const struct pf_backend_ops *be, int N, int C, int H, int K, int R,
                      int stride, int pad, int groups, bool bias, bool x_plain, float lo, float hi)
{
    struct pf_conv_desc d = pf_test_conv_desc(N, C, H, H + 1, K, R, stride, pad, groups);
    size_t nx = (size_t)N * C * d.H * d.W, nw = (size_t)K * (C / groups) * R * R;
    size_t P = (size_t)d.OH * d.OW, ny = (size_t)N * K * P, nb = (size_t)N * blk_len(K, (int)P);
    float *x = malloc(nx * sizeof *x), *xb = malloc((size_t)N * blk_len(C, d.H * d.W) * 4);
    float *w = malloc(nw * sizeof *w), *b = malloc((size_t)K * sizeof *b);
    float *y = malloc(ny * sizeof *y), *want = malloc(nb * sizeof *want);
    float *got = malloc(nb * sizeof *got);
    pf_test_fill(x, nx, -1.0f, 1.0f, (unsigned long long)(C * 7 + K));
    pf_test_fill(w, nw, -0.5f, 0.5f, (unsigned long long)(K * 3 + R));
    pf_test_fill(b, (size_t)K, -0.5f, 0.5f, 5);
    block(x, N, C, d.H * d.W, -INFINITY, INFINITY, xb);
    ck_assert_int_eq(pf_backend_cpu_ref.conv2d_forward(&d, NULL, x, w, bias ? b : NULL, y), 0);
    block(y, N, K, (int)P, lo, hi, want);
    for (size_t i = 0; i < nb; i++)
        got[i] = NAN; /* the padding lanes must be written */
    void *st = NULL;
    float *w2 = malloc(nw * sizeof *w2);
    for (int rep = 0; rep < 3; rep++) {
        /* the second call runs the cached primitive; the third other weights on it */
        const float *wr = rep < 2 ? w : w2;
        if (rep == 2) {
            for (size_t i = 0; i < nw; i++)
                w2[i] = 0.5f - w[i];
            ck_assert_int_eq(pf_backend_cpu_ref.conv2d_forward(&d, NULL, x, w2, bias ? b : NULL, y),
                             0);
            block(y, N, K, (int)P, lo, hi, want);
        }
        int rc =
            be->conv2d_blk(&d, &st, x_plain, x_plain ? x : xb, wr, bias ? b : NULL, lo, hi, got);
        ck_assert_msg(rc == 0, "%s: %s", be->name, pf_err_msg());
        pf_test_close(got, want, nb, TOL_CONV, TOL_CONV, be->name);
    }
    free(w2);
    if (be->conv_state_free)
        be->conv_state_free(st);
    free(x);
    free(xb);
    free(w);
    free(b);
    free(y);
    free(want);
    free(got);
}

START_TEST(test_conv_blk)
{
    const struct pf_backend_ops *be[] = {&pf_backend_cpu_ref, &pf_backend_cpu};
    for (int i = 0; i < 2; i++) {
        check_blk(be[i], 2, 22, 9, 22, 3, 1, 1, 1, false, false, 0.0f, INFINITY); /* ReLU */
        check_blk(be[i], 2, 11, 8, 11, 3, 1, 1, 1, true, false, 0.0f, INFINITY);
        check_blk(be[i], 1, 1, 12, 20, 3, 1, 1, 1, true, true, -INFINITY, INFINITY); /* input */
        check_blk(be[i], 2, 3, 8, 16, 3, 2, 1, 1, true, true, 0.0f, 6.0f);           /* ReLU6 */
        check_blk(be[i], 3, 45, 7, 37, 1, 2, 0, 1, true, false, 0.0f, INFINITY);     /* 1x1 s2 */
        check_blk(be[i], 2, 32, 6, 32, 3, 1, 1, 32, false, false, 0.0f, 6.0f);       /* depthwise */
        check_blk(be[i], 1, 48, 7, 128, 3, 1, 1, 1, true, false, -INFINITY, INFINITY);
    }
}
END_TEST

/* Gives every batch norm non-trivial statistics, so folding them is tested. */
static void randomize_stats(struct pf_model *m, unsigned long long seed)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            struct pf_param *p = &m->layers[i].params[j];
            if (strcmp(m->layers[i].ops->name, "batchnorm"))
                continue;
            float *v = pf_tensor_f32(&p->w);
            for (size_t k = 0; k < pf_tensor_numel(&p->w); k++)
                v[k] = !strcmp(p->name, "running_var") ? 0.5f + pf_rng_uniform(&rng)
                                                       : 0.5f * pf_rng_normal(&rng);
        }
}

/* Residual blocks with a projection, odd channel counts (not multiples of PF_BLK), a batch
 * norm after an add (not foldable), concat, relu6, dropout, explicit-pad average pool, a dense
 * layer on a flattened spatial map and another dense after it. */
static const char odd_yaml[] =
    "name: odd\ninput: [1, 12, 12]\nclasses: 7\nlayers:\n"
    "  - {name: c1, type: conv2d, filters: 22, kernel: 3, pad: same, bias: false}\n"
    "  - {name: b1, type: batchnorm, act: relu}\n"
    "  - {name: c2, type: conv2d, filters: 22, kernel: 3, pad: 1, bias: false}\n"
    "  - {name: b2, type: batchnorm}\n"
    "  - {name: a2, type: add, inputs: [b2, b1], act: relu}\n"
    "  - {name: c3, type: conv2d, filters: 37, kernel: 3, stride: 2, pad: 1}\n"
    "  - {name: b3, type: batchnorm, act: relu}\n"
    "  - {name: p3, type: conv2d, inputs: [a2], filters: 37, kernel: 1, stride: 2, bias: false}\n"
    "  - {name: a3, type: add, inputs: [b3, p3]}\n"
    "  - {name: bn_a3, type: batchnorm, act: relu6}\n"
    "  - {name: c4, type: conv2d, inputs: [bn_a3], filters: 5, kernel: 3, pad: 1}\n"
    "  - {name: cat, type: concat, inputs: [c4, bn_a3]}\n"
    "  - {name: r6, type: relu6}\n"
    "  - {name: ap, type: avgpool, kernel: 3, stride: 2, pad: 1}\n"
    "  - {name: mp, type: maxpool, kernel: 2, stride: 1, pad: same}\n"
    "  - {name: dr, type: dropout, rate: 0.5}\n"
    "  - {name: fl, type: flatten}\n"
    "  - {name: fc1, type: dense, units: 19, act: relu}\n"
    "  - {name: fc2, type: dense, units: 7}\n";

/* The network input read by a pool (blocked copy), then a conv as the last layer; and an MLP
 * whose first dense layer reads the input as it comes. */
static const char input_yaml[] = "name: in\ninput: [2, 6, 6]\nclasses: 3\nlayers:\n"
                                 "  - {name: p, type: maxpool, kernel: 2}\n"
                                 "  - {name: c, type: conv2d, filters: 3, kernel: 3}\n";
static const char mlp_yaml[] = "name: mlp\ninput: [2, 6, 6]\nclasses: 3\nlayers:\n"
                               "  - {name: fc1, type: dense, units: 9, act: relu}\n"
                               "  - {name: fc2, type: dense, units: 3}\n";

static void check_net(const char *yaml, const char *name, int N)
{
    struct pf_model *m = NULL;
    struct pf_infer_net *net = NULL;
    ck_assert_msg(pf_model_from_yaml(yaml, strlen(yaml), name, &m) == 0, "%s", pf_err_msg());
    pf_model_init_params(m, 3);
    randomize_stats(m, 8);
    ck_assert_msg(pf_infer_net_new(m, &net) == 0, "%s: %s", name, pf_err_msg());
    size_t nx = (size_t)N * pf_shape_numel(m->input), nl = (size_t)N * m->classes;
    float *x = malloc(nx * sizeof *x), *logits = malloc(nl * sizeof *logits);
    const char *backends[] = {"cpu_ref", "cpu"};
    for (int b = 0; b < 2; b++) {
        ck_assert_int_eq(pf_backend_select(backends[b]), 0);
        /* a batch, a larger one (buffers grow), then a smaller one */
        int sizes[] = {N / 2, N, 1};
        for (int s = 0; s < 3; s++) {
            int n = sizes[s];
            pf_test_fill(x, (size_t)n * pf_shape_numel(m->input), -1.0f, 1.0f,
                         (unsigned long long)(s + 1));
            ck_assert_int_eq(pf_model_forward(m, x, n, false), 0);
            ck_assert_msg(pf_infer_net_forward(net, x, n, logits) == 0, "%s", pf_err_msg());
            pf_test_close(logits, pf_model_logits(m), (size_t)n * m->classes, TOL_NET, TOL_NET,
                          name);
        }
    }
    pf_backend_select("cpu");
    free(x);
    free(logits);
    pf_infer_net_free(net);
    pf_model_free(m);
}

START_TEST(test_net_matches_forward)
{
    check_net(pf_test_bn_yaml, "small-bn", 6);
    check_net(odd_yaml, "odd", 6);
    check_net(input_yaml, "input", 4);
    check_net(mlp_yaml, "mlp", 4);
}
END_TEST

START_TEST(test_net_unsupported)
{
    struct pf_model *m = NULL;
    struct pf_infer_net *net = NULL;
    static const char ln[] = "name: ln\ninput: [4, 1, 1]\nclasses: 2\nlayers:\n"
                             "  - {name: fc, type: dense, units: 6}\n"
                             "  - {name: norm, type: layernorm}\n"
                             "  - {name: out, type: dense, units: 2}\n";
    ck_assert_int_eq(pf_model_from_yaml(ln, strlen(ln), "ln", &m), 0);
    ck_assert_int_eq(pf_infer_net_new(m, &net), -PF_EUNSUPPORTED);
    ck_assert_ptr_null(net);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "norm"));
    pf_model_free(m);
    /* activation quantization on: the float network refuses */
    ck_assert_int_eq(pf_model_from_yaml(pf_test_bn_yaml, strlen(pf_test_bn_yaml), "bn", &m), 0);
    ck_assert_int_eq(pf_model_actq_enable(m), 0);
    m->actq[2].bits = 8;
    ck_assert_int_eq(pf_infer_net_new(m, &net), -PF_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "activation quantization"));
    pf_model_free(m);
}
END_TEST

Suite *infer_suite(void);
Suite *infer_suite(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("infer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_conv_blk);
    tcase_add_test(tc, test_net_matches_forward);
    tcase_add_test(tc, test_net_unsupported);
    suite_add_tcase(s, tc);
    return s;
}
