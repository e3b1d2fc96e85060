/* check_layer_avgpool.c: avgpool shapes, counts, YAML, forward against PyTorch (explicit pad
 * counts padding, as count_include_pad; TF SAME divides by the real cells), gradient checks,
 * bad configs. */
#include <check.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define GC_EPS 1e-2

static const struct pf_shape ap_in = {3, 7, 7};

static void fwd(const char *row, const char *want_name, int oh, int ow)
{
    struct pf_layer l;
    size_t n;
    pf_test_layer(&l, row, &ap_in, 1);
    ck_assert_int_eq(l.out.c, 3);
    ck_assert_int_eq(l.out.h, oh);
    ck_assert_int_eq(l.out.w, ow);
    float *x = pf_test_fixture("avgpool.bin", "x", &n);
    float *want = pf_test_fixture("avgpool.bin", want_name, &n);
    ck_assert_uint_eq(n, 2 * pf_shape_numel(l.out));
    float *y = malloc(n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, 2, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, want_name);
    free(y);
    free(want);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_forward)
{
    fwd("{name: p, type: avgpool, kernel: 3, stride: 2, pad: 1}", "avg_k3s2p1", 4, 4);
    fwd("{name: p, type: avgpool, kernel: 2}", "avg_k2", 3, 3);
    fwd("{name: p, type: avgpool, kernel: 3, stride: 2, pad: same}", "avg_same_k3s2", 4, 4);
}
END_TEST

START_TEST(test_count_yaml)
{
    struct pf_layer l;
    pf_test_layer(&l, "{name: p, type: avgpool, kernel: [2, 3], stride: 1}", &ap_in, 1);
    ck_assert_int_eq(l.out.h, 6);
    ck_assert_int_eq(l.out.w, 5);
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.other_ops, 3u * 6 * 5 * 6);
    char buf[128];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", kernel: [2, 3], stride: 1");
    pf_layer_destroy(&l);
}
END_TEST

static void grad_case(const char *row, struct pf_shape in, int N, unsigned long long seed)
{
    struct pf_layer l;
    pf_test_layer(&l, row, &in, 1);
    size_t nx = (size_t)N * pf_shape_numel(in);
    float *x = malloc(nx * sizeof(float));
    pf_test_fill(x, nx, -1.0f, 1.0f, seed);
    double err = pf_test_gradcheck(&l, (float *const[]){x}, N, GC_EPS);
    ck_assert_msg(err < PF_TOL_GRAD, "%s: gradcheck error %g", row, err);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_gradcheck)
{
    grad_case("{name: p, type: avgpool, kernel: 3, stride: 2, pad: 1}", (struct pf_shape){2, 5, 5},
              2, 51);
    grad_case("{name: p, type: avgpool, kernel: 3, stride: 2, pad: same}",
              (struct pf_shape){2, 6, 5}, 2, 52);
    grad_case("{name: p, type: avgpool, kernel: 2}", (struct pf_shape){1, 4, 4}, 2, 53);
}
END_TEST

START_TEST(test_bad_config)
{
    pf_test_layer_fails("{name: ax, type: avgpool, kernel: 2, strides: 2}", &ap_in, 1, -PF_EPARSE,
                        "ax", "unknown key 'strides'");
    pf_test_layer_fails("{name: ax, type: avgpool, kernel: [2, 2, 2]}", &ap_in, 1, -PF_EPARSE, "ax",
                        "kernel");
    pf_test_layer_fails("{name: ax, type: avgpool, kernel: 3, pad: 2}", &ap_in, 1, -PF_EPARSE, "ax",
                        "pad");
    pf_test_layer_fails("{name: ax, type: avgpool, kernel: 2, stride: -1}", &ap_in, 1, -PF_EPARSE,
                        "ax", "stride");
}
END_TEST

Suite *layer_avgpool_suite(void);
Suite *layer_avgpool_suite(void)
{
    Suite *s = suite_create("layer_avgpool");
    TCase *tc = tcase_create("avgpool");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_count_yaml);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
