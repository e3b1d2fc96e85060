/* check_layer_concat.c: concat along channels: shape, forward against PyTorch, gradient check
 * over every input, YAML, and the H/W mismatch and input count errors. */
#include <check.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

START_TEST(test_forward)
{
    struct pf_layer l;
    struct pf_shape in[2] = {{2, 3, 4}, {3, 3, 4}};
    size_t n;
    pf_test_layer(&l, "{name: c, type: concat}", in, 2);
    ck_assert_int_eq(l.out.c, 5);
    ck_assert_int_eq(l.out.h, 3);
    ck_assert_int_eq(l.out.w, 4);
    char buf[64];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    float *x0 = pf_test_fixture("concat.bin", "x0", &n);
    float *x1 = pf_test_fixture("concat.bin", "x1", &n);
    float *want = pf_test_fixture("concat.bin", "y", &n);
    ck_assert_uint_eq(n, 2 * 60);
    float y[120];
    pf_test_forward(&l, (const float *const[]){x0, x1}, y, 2, false);
    pf_test_close(y, want, n, 0.0f, 0.0f, "concat");
    free(want);
    free(x1);
    free(x0);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_gradcheck)
{
    struct pf_layer l;
    struct pf_shape in[3] = {{1, 2, 2}, {2, 2, 2}, {1, 2, 2}};
    pf_test_layer(&l, "{name: c, type: concat, act: relu6}", in, 3);
    float x0[8], x1[16], x2[8];
    /* inside (0.1, 5.9): away from both relu6 kinks */
    pf_test_fill(x0, 8, 0.1f, 5.9f, 81);
    pf_test_fill(x1, 16, 0.1f, 5.9f, 82);
    pf_test_fill(x2, 8, 0.1f, 5.9f, 83);
    double err = pf_test_gradcheck(&l, (float *const[]){x0, x1, x2}, 2, 1e-2);
    ck_assert_msg(err < PF_TOL_GRAD, "concat gradcheck error %g", err);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in[2] = {{2, 3, 4}, {3, 3, 5}};
    pf_test_layer_fails("{name: cx, type: concat}", in, 2, -PF_EPARSE, "cx", "height and width");
    pf_test_layer_fails("{name: cx, type: concat}", in, 1, -PF_EPARSE, "cx", "2 to 8");
    pf_test_layer_fails("{name: cx, type: concat, axis: 1}", in, 2, -PF_EPARSE, "cx",
                        "unknown key 'axis'");
}
END_TEST

Suite *layer_concat_suite(void);
Suite *layer_concat_suite(void)
{
    Suite *s = suite_create("layer_concat");
    TCase *tc = tcase_create("concat");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
