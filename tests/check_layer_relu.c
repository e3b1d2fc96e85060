/* check_layer_relu.c: stand-alone relu: shape, forward and backward from the definition
 * (max(x, 0); gradient 1 where y > 0), gradient check away from 0, no keys accepted. */
#include <check.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

START_TEST(test_forward_backward)
{
    struct pf_layer l;
    struct pf_shape in = {2, 1, 3};
    pf_test_layer(&l, "{name: r, type: relu}", &in, 1);
    ck_assert_int_eq(l.out.c, 2);
    ck_assert_int_eq(l.out.w, 3);
    const float x[6] = {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f, -1e-6f};
    const float want[6] = {0.0f, 0.0f, 0.0f, 0.5f, 3.0f, 0.0f};
    float y[6], dy[6] = {1, 2, 3, 4, 5, 6}, dx[6];
    const float want_dx[6] = {0, 0, 0, 4, 5, 0};
    pf_test_forward(&l, (const float *const[]){x}, y, 1, true);
    pf_test_close(y, want, 6, 0.0f, 0.0f, "relu");
    ck_assert_int_eq(l.ops->backward(&l, (const float *const[]){x}, y, dy, (float *const[]){dx}, 1),
                     0);
    pf_test_close(dx, want_dx, 6, 0.0f, 0.0f, "relu dx");
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.other_ops, 6);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_gradcheck)
{
    struct pf_layer l;
    struct pf_shape in = {3, 2, 2};
    pf_test_layer(&l, "{name: r, type: relu}", &in, 1);
    float x[24];
    pf_test_fill(x, 24, 0.1f, 1.0f, 91);
    for (int i = 0; i < 24; i += 2)
        x[i] = -x[i]; /* half negative, all at least 0.1 from the kink */
    double err = pf_test_gradcheck(&l, (float *const[]){x}, 2, 1e-2);
    ck_assert_msg(err < PF_TOL_GRAD, "relu gradcheck error %g", err);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {3, 2, 2};
    pf_test_layer_fails("{name: rx, type: relu, act: relu}", &in, 1, -PF_EPARSE, "rx",
                        "unknown key 'act'");
}
END_TEST

Suite *layer_relu_suite(void);
Suite *layer_relu_suite(void)
{
    Suite *s = suite_create("layer_relu");
    TCase *tc = tcase_create("relu");
    tcase_add_test(tc, test_forward_backward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
