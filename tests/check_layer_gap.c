/* check_layer_gap.c: global average pooling shape, count, forward against PyTorch, gradient
 * check, no keys accepted. */
#include <check.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

START_TEST(test_shape_forward)
{
    struct pf_layer l;
    struct pf_shape in = {3, 4, 5};
    size_t n;
    pf_test_layer(&l, "{name: g, type: gap}", &in, 1);
    ck_assert_int_eq(l.out.c, 3);
    ck_assert_int_eq(l.out.h, 1);
    ck_assert_int_eq(l.out.w, 1);
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.other_ops, 60);
    float *x = pf_test_fixture("gap.bin", "x", &n);
    float *want = pf_test_fixture("gap.bin", "y", &n);
    ck_assert_uint_eq(n, 6);
    float y[6];
    pf_test_forward(&l, (const float *const[]){x}, y, 2, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "gap");
    free(want);
    free(x);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_gradcheck)
{
    struct pf_layer l;
    struct pf_shape in = {2, 3, 3};
    pf_test_layer(&l, "{name: g, type: gap}", &in, 1);
    float x[36];
    pf_test_fill(x, 36, -1.0f, 1.0f, 61);
    double err = pf_test_gradcheck(&l, (float *const[]){x}, 2, 1e-2);
    ck_assert_msg(err < PF_TOL_GRAD, "gap gradcheck error %g", err);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {2, 3, 3};
    pf_test_layer_fails("{name: gx, type: gap, kernel: 3}", &in, 1, -PF_EPARSE, "gx",
                        "unknown key 'kernel'");
}
END_TEST

Suite *layer_gap_suite(void);
Suite *layer_gap_suite(void)
{
    Suite *s = suite_create("layer_gap");
    TCase *tc = tcase_create("gap");
    tcase_add_test(tc, test_shape_forward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
