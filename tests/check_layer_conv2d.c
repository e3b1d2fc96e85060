/* check_layer_conv2d.c: conv2d shapes, counts, YAML, forward against PyTorch fixtures (TF SAME,
 * strided explicit pad, grouped, depthwise), gradient checks, accumulation, bad configs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define GC_EPS 1e-2

/* Loads <pre>_x/_w/_b into a layer built from row, runs forward, compares with <pre>_y. */
static void fwd_case(const char *row, struct pf_shape in, int N, const char *pre, bool bias)
{
    char nm[32];
    size_t n;
    struct pf_layer l;
    pf_test_layer(&l, row, &in, 1);
    snprintf(nm, sizeof nm, "%s_x", pre);
    float *x = pf_test_fixture("conv2d.bin", nm, &n);
    ck_assert_uint_eq(n, (size_t)N * pf_shape_numel(in));
    snprintf(nm, sizeof nm, "%s_w", pre);
    float *w = pf_test_fixture("conv2d.bin", nm, &n);
    pf_test_set_param(&l, "weight", w, n);
    float *b = NULL;
    if (bias) {
        snprintf(nm, sizeof nm, "%s_b", pre);
        b = pf_test_fixture("conv2d.bin", nm, &n);
        pf_test_set_param(&l, "bias", b, n);
    } else {
        ck_assert_ptr_null(pf_layer_param(&l, "bias"));
    }
    snprintf(nm, sizeof nm, "%s_y", pre);
    float *want = pf_test_fixture("conv2d.bin", nm, &n);
    ck_assert_uint_eq(n, (size_t)N * pf_shape_numel(l.out));
    float *y = calloc(n, sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, N, true);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, pre);
    free(y);
    free(want);
    free(b);
    free(w);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_shapes_and_count)
{
    struct pf_layer l;
    struct pf_shape in = {3, 7, 6};
    pf_test_layer(&l, "{name: c, type: conv2d, filters: 4, kernel: [4, 3], stride: 2, pad: same}",
                  &in, 1);
    /* TF SAME: ceil(7 / 2) = 4, ceil(6 / 2) = 3 */
    ck_assert_int_eq(l.out.c, 4);
    ck_assert_int_eq(l.out.h, 4);
    ck_assert_int_eq(l.out.w, 3);
    ck_assert_int_eq(l.n_params, 2);
    struct pf_param *w = pf_layer_param(&l, "weight");
    ck_assert_int_eq(w->w.ndim, 4);
    ck_assert_int_eq(w->w.shape[0], 4);
    ck_assert_int_eq(w->w.shape[1], 3);
    ck_assert_int_eq(w->w.shape[2], 4);
    ck_assert_int_eq(w->w.shape[3], 3);
    ck_assert(w->decay && w->trainable);
    ck_assert_int_eq(w->out_axis, 0);
    ck_assert_int_eq(w->in_axis, 1);
    ck_assert(!pf_layer_param(&l, "bias")->decay);
    struct pf_count cnt;
    l.ops->count(&l, &cnt);
    ck_assert_uint_eq(cnt.macs, 4u * 3 * 4 * 3 * 4 * 3);
    ck_assert_uint_eq(cnt.params, 4u * 3 * 4 * 3 + 4);
    char buf[256];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", filters: 4, kernel: [4, 3], stride: 2, pad: same");
    pf_layer_destroy(&l);

    struct pf_shape in2 = {8, 10, 10};
    pf_test_layer(&l,
                  "{name: dw, type: conv2d, filters: 8, kernel: 3, groups: 8, bias: false, "
                  "act: relu6}",
                  &in2, 1);
    ck_assert_int_eq(l.out.c, 8);
    ck_assert_int_eq(l.out.h, 8);
    ck_assert_int_eq(l.out.w, 8);
    ck_assert_int_eq(pf_layer_param(&l, "weight")->w.shape[1], 1);
    l.ops->count(&l, &cnt);
    ck_assert_uint_eq(cnt.macs, 8u * 1 * 3 * 3 * 8 * 8);
    ck_assert_uint_eq(cnt.params, 8u * 9);
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", filters: 8, kernel: 3, groups: 8, bias: false, act: relu6");
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_forward_same)
{
    fwd_case("{name: c, type: conv2d, filters: 4, kernel: [4, 3], stride: 2, pad: same}",
             (struct pf_shape){3, 7, 6}, 2, "same", true);
}
END_TEST

START_TEST(test_forward_strided)
{
    fwd_case("{name: c, type: conv2d, filters: 5, kernel: 3, stride: 2, pad: 1, act: relu}",
             (struct pf_shape){3, 8, 8}, 2, "strided", true);
}
END_TEST

START_TEST(test_forward_grouped)
{
    fwd_case("{name: c, type: conv2d, filters: 6, kernel: 3, groups: 2, bias: false}",
             (struct pf_shape){4, 6, 5}, 2, "grouped", false);
}
END_TEST

START_TEST(test_forward_depthwise)
{
    fwd_case("{name: c, type: conv2d, filters: 8, kernel: 3, pad: same, groups: 4, act: relu6}",
             (struct pf_shape){4, 6, 6}, 2, "dw", true);
}
END_TEST

/* Gradient check of one configuration; with a fused act, asserts first that no pre-activation
 * lies within reach of the kink for a perturbation of eps (|dy| <= eps * max(|w|, |x|) here). */
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
    grad_case("{name: g1, type: conv2d, filters: 3, kernel: [2, 3], stride: 2, pad: same}",
              (struct pf_shape){2, 5, 5}, 2, 11);
    grad_case("{name: g2, type: conv2d, filters: 4, kernel: 3, pad: 1, groups: 2}",
              (struct pf_shape){4, 4, 4}, 2, 12);
    grad_case("{name: g3, type: conv2d, filters: 2, kernel: 2, groups: 2, bias: false}",
              (struct pf_shape){2, 3, 4}, 3, 13);
    grad_case("{name: g4, type: conv2d, filters: 3, kernel: 2, act: relu}",
              (struct pf_shape){2, 3, 3}, 2, 14);
}
END_TEST

START_TEST(test_backward_accumulates)
{
    struct pf_layer l;
    struct pf_shape in = {2, 4, 4};
    pf_test_layer(&l, "{name: c, type: conv2d, filters: 3, kernel: 3, pad: same}", &in, 1);
    int N = 2;
    size_t nx = (size_t)N * 32, ny = (size_t)N * pf_shape_numel(l.out);
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    float *dy = malloc(ny * sizeof(float));
    pf_test_fill(x, nx, -1.0f, 1.0f, 3);
    pf_test_fill_param(&l, "weight", -0.5f, 0.5f, 4);
    pf_test_forward(&l, (const float *const[]){x}, y, N, true);
    struct pf_param *w = pf_layer_param(&l, "weight"), *b = pf_layer_param(&l, "bias");
    for (int rep = 0; rep < 2; rep++) {
        pf_test_fill(dy, ny, -1.0f, 1.0f, 5);
        ck_assert_int_eq(
            l.ops->backward(&l, (const float *const[]){x}, y, dy, (float *const[]){NULL}, N), 0);
    }
    /* db = 2 * sum of dy per channel, from the same stream */
    pf_test_fill(dy, ny, -1.0f, 1.0f, 5);
    for (int k = 0; k < 3; k++) {
        double s = 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < 16; i++)
                s += dy[((size_t)n * 3 + k) * 16 + i];
        ck_assert_double_eq_tol(pf_tensor_f32(&b->g)[k], 2 * s, 1e-4);
    }
    ck_assert(fabsf(pf_tensor_f32(&w->g)[0]) > 0.0f);
    free(dy);
    free(y);
    free(x);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {4, 8, 8};
    pf_test_layer_fails("{name: cx, type: conv2d, filter: 4, kernel: 3}", &in, 1, -PF_EPARSE, "cx",
                        "unknown key 'filter'");
    pf_test_layer_fails("{name: cx, type: conv2d, kernel: 3}", &in, 1, -PF_EPARSE, "cx", "filters");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 0, kernel: 3}", &in, 1, -PF_EPARSE, "cx",
                        "filters");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 4, kernel: 3, groups: 3}", &in, 1,
                        -PF_EPARSE, "cx", "groups");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 6, kernel: 3, groups: 4}", &in, 1,
                        -PF_EPARSE, "cx", "groups");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 4, kernel: 9}", &in, 1, -PF_EPARSE, "cx",
                        "does not fit");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 4, kernel: 3, act: tanh}", &in, 1,
                        -PF_EPARSE, "cx", "tanh");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 4, kernel: 3, bias: maybe}", &in, 1,
                        -PF_EPARSE, "cx", "bias");
    pf_test_layer_fails("{name: cx, type: conv2d, filters: 4, kernel: 3, stride: 0}", &in, 1,
                        -PF_EPARSE, "cx", "stride");
}
END_TEST

/* The same fixtures and one gradient check on the plain-loop oracle backend, so the layer is
 * checked against PyTorch whichever backend is the default. */
static void use_ref(void)
{
    ck_assert_int_eq(pf_backend_select("cpu_ref"), 0);
}
static void use_default(void)
{
    pf_backend_select("cpu");
}

START_TEST(test_cpu_ref_backend)
{
    ck_assert_str_eq(pf_backend()->name, "cpu_ref");
    fwd_case("{name: c, type: conv2d, filters: 4, kernel: [4, 3], stride: 2, pad: same}",
             (struct pf_shape){3, 7, 6}, 2, "same", true);
    fwd_case("{name: c, type: conv2d, filters: 8, kernel: 3, pad: same, groups: 4, act: relu6}",
             (struct pf_shape){4, 6, 6}, 2, "dw", true);
    grad_case("{name: g2, type: conv2d, filters: 4, kernel: 3, pad: 1, groups: 2}",
              (struct pf_shape){4, 4, 4}, 2, 12);
}
END_TEST

Suite *layer_conv2d_suite(void);
Suite *layer_conv2d_suite(void)
{
    Suite *s = suite_create("layer_conv2d");
    TCase *tc = tcase_create("conv2d");
    tcase_add_test(tc, test_shapes_and_count);
    tcase_add_test(tc, test_forward_same);
    tcase_add_test(tc, test_forward_strided);
    tcase_add_test(tc, test_forward_grouped);
    tcase_add_test(tc, test_forward_depthwise);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_backward_accumulates);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    TCase *ref = tcase_create("conv2d_cpu_ref");
    tcase_add_checked_fixture(ref, use_ref, use_default);
    tcase_add_test(ref, test_cpu_ref_backend);
    suite_add_tcase(s, ref);
    return s;
}
