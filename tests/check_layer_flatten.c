/* check_layer_flatten.c: flatten to (C*H*W, 1, 1) keeping (C, H, W) order, gradient check,
 * no keys accepted. */
#include <check.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

START_TEST(test_shape_forward)
{
    struct pf_layer l;
    struct pf_shape in = {2, 3, 4};
    pf_test_layer(&l, "{name: f, type: flatten}", &in, 1);
    ck_assert_int_eq(l.out.c, 24);
    ck_assert_int_eq(l.out.h, 1);
    ck_assert_int_eq(l.out.w, 1);
    float x[48], y[48];
    for (int i = 0; i < 48; i++)
        x[i] = (float)i; /* NCHW row-major: flat order is the memory order */
    pf_test_forward(&l, (const float *const[]){x}, y, 2, false);
    pf_test_close(y, x, 48, 0.0f, 0.0f, "flatten");
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_gradcheck)
{
    struct pf_layer l;
    struct pf_shape in = {2, 2, 2};
    pf_test_layer(&l, "{name: f, type: flatten}", &in, 1);
    float x[16];
    pf_test_fill(x, 16, -1.0f, 1.0f, 101);
    double err = pf_test_gradcheck(&l, (float *const[]){x}, 2, 1e-2);
    ck_assert_msg(err < PF_TOL_GRAD, "flatten gradcheck error %g", err);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {2, 2, 2};
    pf_test_layer_fails("{name: fx, type: flatten, axis: 1}", &in, 1, -PF_EPARSE, "fx",
                        "unknown key 'axis'");
}
END_TEST

Suite *layer_flatten_suite(void);
Suite *layer_flatten_suite(void)
{
    Suite *s = suite_create("layer_flatten");
    TCase *tc = tcase_create("flatten");
    tcase_add_test(tc, test_shape_forward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
