/* check_layer_dense.c: dense shapes, counts, YAML, forward against PyTorch (input flattened in
 * C, H, W order), gradient checks with and without a fused relu, accumulation, bad configs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define GC_EPS 1e-2

START_TEST(test_shape_count_yaml)
{
    struct pf_layer l;
    struct pf_shape in = {2, 3, 3};
    pf_test_layer(&l, "{name: fc, type: dense, units: 5, act: relu}", &in, 1);
    ck_assert_int_eq(l.out.c, 5);
    ck_assert_int_eq(l.out.h, 1);
    ck_assert_int_eq(l.out.w, 1);
    struct pf_param *w = pf_layer_param(&l, "weight");
    ck_assert_int_eq(w->w.ndim, 2);
    ck_assert_int_eq(w->w.shape[0], 5);
    ck_assert_int_eq(w->w.shape[1], 18);
    ck_assert_int_eq(w->out_axis, 0);
    ck_assert_int_eq(w->in_axis, 1);
    ck_assert(w->decay);
    ck_assert(!pf_layer_param(&l, "bias")->decay);
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.macs, 18u * 5);
    ck_assert_uint_eq(c.params, 18u * 5 + 5);
    char buf[128];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", units: 5, act: relu");
    pf_layer_destroy(&l);
    pf_test_layer(&l, "{name: fc, type: dense, units: 7, bias: false}", &in, 1);
    ck_assert_ptr_null(pf_layer_param(&l, "bias"));
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", units: 7, bias: false");
    pf_layer_destroy(&l);
}
END_TEST

static void fwd(const char *row, const char *want_name)
{
    struct pf_layer l;
    struct pf_shape in = {2, 3, 3};
    size_t n;
    pf_test_layer(&l, row, &in, 1);
    float *x = pf_test_fixture("dense.bin", "x", &n);
    ck_assert_uint_eq(n, 3 * 18);
    float *w = pf_test_fixture("dense.bin", "w", &n);
    pf_test_set_param(&l, "weight", w, n);
    float *b = pf_test_fixture("dense.bin", "b", &n);
    pf_test_set_param(&l, "bias", b, n);
    float *want = pf_test_fixture("dense.bin", want_name, &n);
    float y[15];
    ck_assert_uint_eq(n, 15);
    pf_test_forward(&l, (const float *const[]){x}, y, 3, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, want_name);
    free(want);
    free(b);
    free(w);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_forward)
{
    fwd("{name: fc, type: dense, units: 5}", "y");
    fwd("{name: fc, type: dense, units: 5, act: relu}", "y_relu");
}
END_TEST

static void grad_case(const char *row, struct pf_shape in, int N, unsigned long long seed)
{
    struct pf_layer l;
    pf_test_layer(&l, row, &in, 1);
    size_t nx = (size_t)N * pf_shape_numel(in), ny = (size_t)N * pf_shape_numel(l.out);
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    pf_test_fill(x, nx, -1.0f, 1.0f, seed);
    pf_test_fill_param(&l, "weight", -0.5f, 0.5f, seed + 1);
    if (pf_layer_param(&l, "bias"))
        pf_test_fill_param(&l, "bias", -0.5f, 0.5f, seed + 2);
    if (l.act != PF_ACT_NONE) {
        /* pre-activations must be farther from the kink than a perturbation can move them */
        enum pf_act act = l.act;
        l.act = PF_ACT_NONE;
        pf_test_forward(&l, (const float *const[]){x}, y, N, true);
        for (size_t i = 0; i < ny; i++)
            ck_assert_msg(fabsf(y[i]) > 2 * GC_EPS, "pre-activation %zu = %g is near the kink", i,
                          y[i]);
        l.act = act;
    }
    double err = pf_test_gradcheck(&l, (float *const[]){x}, N, GC_EPS);
    ck_assert_msg(err < PF_TOL_GRAD, "%s: gradcheck error %g", row, err);
    free(y);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_gradcheck)
{
    grad_case("{name: fc, type: dense, units: 4}", (struct pf_shape){2, 2, 2}, 3, 21);
    grad_case("{name: fc, type: dense, units: 3, bias: false}", (struct pf_shape){5, 1, 1}, 2, 22);
    grad_case("{name: fc, type: dense, units: 4, act: relu}", (struct pf_shape){6, 1, 1}, 2, 23);
}
END_TEST

START_TEST(test_backward_accumulates)
{
    struct pf_layer l;
    struct pf_shape in = {3, 1, 1};
    pf_test_layer(&l, "{name: fc, type: dense, units: 2}", &in, 1);
    /* one sample: dW = dy^T x, db = dy; two backward calls double them */
    float x[3] = {1.0f, 2.0f, -1.0f}, y[2], dy[2];
    pf_test_forward(&l, (const float *const[]){x}, y, 1, true);
    for (int rep = 0; rep < 2; rep++) {
        dy[0] = 0.5f;
        dy[1] = -2.0f;
        ck_assert_int_eq(
            l.ops->backward(&l, (const float *const[]){x}, y, dy, (float *const[]){NULL}, 1), 0);
    }
    const float want_w[6] = {1.0f, 2.0f, -1.0f, -4.0f, -8.0f, 4.0f}, want_b[2] = {1.0f, -4.0f};
    pf_test_close(pf_tensor_f32(&pf_layer_param(&l, "weight")->g), want_w, 6, 1e-6f, 0, "dW");
    pf_test_close(pf_tensor_f32(&pf_layer_param(&l, "bias")->g), want_b, 2, 1e-6f, 0, "db");
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {4, 2, 2};
    pf_test_layer_fails("{name: fx, type: dense, unit: 4}", &in, 1, -PF_EPARSE, "fx",
                        "unknown key 'unit'");
    pf_test_layer_fails("{name: fx, type: dense}", &in, 1, -PF_EPARSE, "fx", "units");
    pf_test_layer_fails("{name: fx, type: dense, units: 0}", &in, 1, -PF_EPARSE, "fx", "units");
    pf_test_layer_fails("{name: fx, type: dense, units: ten}", &in, 1, -PF_EPARSE, "fx", "units");
    pf_test_layer_fails("{name: fx, type: dense, units: 4, act: sigmoid}", &in, 1, -PF_EPARSE, "fx",
                        "sigmoid");
}
END_TEST

Suite *layer_dense_suite(void);
Suite *layer_dense_suite(void)
{
    Suite *s = suite_create("layer_dense");
    TCase *tc = tcase_create("dense");
    tcase_add_test(tc, test_shape_count_yaml);
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_backward_accumulates);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
