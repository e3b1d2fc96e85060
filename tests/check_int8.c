/* check_int8.c: the integer inference pieces of the engine: the int8 backend ops (oneDNN's u8 x
 * s8 convolution and GEMM on `cpu`) match the cpu_ref loops exactly, padding included (the
 * padded value is the zero point), and batch-norm folding keeps the model's inference outputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/model/int8.h"
#include "helpers/pf_test.h"
#include "helpers/pf_test_compress.h"

#define TOL_FOLD 1e-4f /* folded vs unfolded logits, float32 rounding of w * gamma / sigma */

static void fill_u8(uint8_t *x, size_t n, struct pf_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (uint8_t)pf_rng_below(r, 256);
}

static void fill_s8(int8_t *x, size_t n, struct pf_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (int8_t)((int)pf_rng_below(r, 255) - 127);
}

static void check_conv(int N, int C, int H, int W, int K, int R, int stride, int pad, int groups,
                       int32_t zp)
{
    struct pf_conv_desc d = pf_test_conv_desc(N, C, H, W, K, R, stride, pad, groups);
    struct pf_rng rng;
    pf_rng_seed(&rng, (uint64_t)(C * 131 + K));
    size_t nx = (size_t)N * C * H * W, nw = (size_t)K * (C / groups) * R * R;
    size_t ny = (size_t)N * K * d.OH * d.OW;
    uint8_t *x = malloc(nx);
    int8_t *w = malloc(nw);
    int32_t *a = malloc(ny * sizeof *a), *b = malloc(ny * sizeof *b);
    fill_u8(x, nx, &rng);
    fill_s8(w, nw, &rng);
    void *s1 = NULL, *s2 = NULL;
    ck_assert_int_eq(pf_backend_cpu_ref.conv2d_u8s8s32(&d, &s1, x, zp, w, a), 0);
    ck_assert_msg(pf_backend_cpu.conv2d_u8s8s32(&d, &s2, x, zp, w, b) == 0, "%s", pf_err_msg());
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(a[i] == b[i], "conv C%d K%d g%d pad %d zp %d: acc %zu: %d vs %d", C, K,
                      groups, pad, (int)zp, i, a[i], b[i]);
    /* a second call on the cached primitive, another zero point */
    ck_assert_int_eq(pf_backend_cpu_ref.conv2d_u8s8s32(&d, &s1, x, zp / 2, w, a), 0);
    ck_assert_int_eq(pf_backend_cpu.conv2d_u8s8s32(&d, &s2, x, zp / 2, w, b), 0);
    ck_assert_mem_eq(a, b, ny * sizeof *a);
    pf_backend_cpu.conv_state_free(s2);
    free(x);
    free(w);
    free(a);
    free(b);
}

START_TEST(test_conv_parity)
{
    check_conv(2, 3, 9, 9, 8, 3, 1, 1, 1, 17);  /* SAME-style padding, zp != 0 */
    check_conv(1, 16, 8, 8, 32, 3, 2, 1, 1, 0); /* stride 2, asymmetric padding */
    check_conv(3, 8, 7, 7, 8, 3, 1, 1, 8, 128); /* depthwise */
    check_conv(2, 32, 14, 14, 64, 5, 1, 2, 1, 3);
    check_conv(1, 1, 28, 28, 6, 5, 1, 0, 1, 200); /* valid */
}
END_TEST

START_TEST(test_gemm_parity)
{
    const int shapes[][3] = {{1, 10, 84}, {7, 120, 400}, {128, 1024, 3136}, {3, 5, 1}};
    struct pf_rng rng;
    pf_rng_seed(&rng, 4);
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        int M = shapes[t][0], N = shapes[t][1], K = shapes[t][2];
        uint8_t *A = malloc((size_t)M * K);
        int8_t *B = malloc((size_t)N * K);
        int32_t *c1 = malloc((size_t)M * N * sizeof *c1), *c2 = malloc((size_t)M * N * sizeof *c2);
        fill_u8(A, (size_t)M * K, &rng);
        fill_s8(B, (size_t)N * K, &rng);
        int32_t zp = (int32_t)pf_rng_below(&rng, 256);
        ck_assert_int_eq(pf_backend_cpu_ref.gemm_u8s8s32(M, N, K, A, zp, B, c1), 0);
        ck_assert_msg(pf_backend_cpu.gemm_u8s8s32(M, N, K, A, zp, B, c2) == 0, "%s", pf_err_msg());
        ck_assert_mem_eq(c1, c2, (size_t)M * N * sizeof *c1);
        free(A);
        free(B);
        free(c1);
        free(c2);
    }
}
END_TEST

START_TEST(test_fold_bn)
{
    struct pf_model *m = NULL, *f = NULL;
    ck_assert_int_eq(pf_model_from_yaml(pf_test_bn_yaml, strlen(pf_test_bn_yaml), "bn", &m), 0);
    pf_model_init_params(m, 3);
    /* non-trivial statistics */
    struct pf_rng rng;
    pf_rng_seed(&rng, 8);
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            struct pf_param *p = &m->layers[i].params[j];
            float *v = pf_tensor_f32(&p->w);
            for (size_t k = 0; strcmp(p->name, "weight") && k < pf_tensor_numel(&p->w); k++)
                v[k] = !strcmp(p->name, "running_var") ? 0.5f + pf_rng_uniform(&rng)
                                                       : 0.5f * pf_rng_normal(&rng);
        }
    ck_assert_msg(pf_model_fold_bn(m, &f) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(f->n_layers, m->n_layers - 3);
    for (int i = 0; i < f->n_layers; i++)
        ck_assert_str_ne(f->layers[i].ops->name, "batchnorm");
    ck_assert_int_eq(f->layers[pf_model_find(f, "conv3")].act, PF_ACT_RELU6);
    ck_assert_ptr_nonnull(pf_layer_param(&f->layers[pf_model_find(f, "conv1")], "bias"));
    enum { N = 4 };
    float x[N * 28 * 28];
    pf_test_fill(x, N * 28 * 28, -1.0f, 1.0f, 2);
    ck_assert_int_eq(pf_model_forward(m, x, N, false), 0);
    ck_assert_int_eq(pf_model_forward(f, x, N, false), 0);
    pf_test_close(pf_model_logits(f), pf_model_logits(m), N * 10, TOL_FOLD, TOL_FOLD, "fold");
    pf_model_free(f);
    pf_model_free(m);
}
END_TEST

Suite *int8_suite(void);
Suite *int8_suite(void)
{
    Suite *s = suite_create("int8");
    TCase *tc = tcase_create("int8");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_conv_parity);
    tcase_add_test(tc, test_gemm_parity);
    tcase_add_test(tc, test_fold_bn);
    suite_add_tcase(s, tc);
    return s;
}
