/* check_layer_add.c: add of 2..8 equal-shape inputs: shape, count, YAML, forward with fused
 * relu against PyTorch, gradient check (every input), NULL dx, input count and shape errors. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

static const struct pf_shape add_in[3] = {{3, 4, 4}, {3, 4, 4}, {3, 4, 4}};

START_TEST(test_forward)
{
    struct pf_layer l;
    size_t n;
    pf_test_layer(&l, "{name: a, type: add, act: relu}", add_in, 3);
    ck_assert_int_eq(l.out.c, 3);
    ck_assert_int_eq(l.out.h, 4);
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.other_ops, 3u * 48);
    char buf[64];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", act: relu");
    float *x0 = pf_test_fixture("add.bin", "x0", &n);
    float *x1 = pf_test_fixture("add.bin", "x1", &n);
    float *x2 = pf_test_fixture("add.bin", "x2", &n);
    float *want = pf_test_fixture("add.bin", "y_relu", &n);
    float *y = malloc(n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x0, x1, x2}, y, 2, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "add relu");
    free(y);
    free(want);
    free(x2);
    free(x1);
    free(x0);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_gradcheck)
{
    struct pf_layer l;
    struct pf_shape in[2] = {{2, 2, 3}, {2, 2, 3}};
    pf_test_layer(&l, "{name: a, type: add, act: relu}", in, 2);
    float x0[24], x1[24];
    /* sums at least 0.1 from zero: the perturbation (1e-2) never crosses the relu kink */
    pf_test_fill(x0, 24, -1.0f, 1.0f, 71);
    pf_test_fill(x1, 24, -1.0f, 1.0f, 72);
    for (int i = 0; i < 24; i++)
        if (fabsf(x0[i] + x1[i]) < 0.1f)
            x1[i] += 0.3f;
    double err = pf_test_gradcheck(&l, (float *const[]){x0, x1}, 2, 1e-2);
    ck_assert_msg(err < PF_TOL_GRAD, "add gradcheck error %g", err);
    /* a NULL dx is skipped */
    float y[24], dy[24], dx1[24];
    pf_test_forward(&l, (const float *const[]){x0, x1}, y, 2, true);
    pf_test_fill(dy, 24, -1.0f, 1.0f, 73);
    ck_assert_int_eq(
        l.ops->backward(&l, (const float *const[]){x0, x1}, y, dy, (float *const[]){NULL, dx1}, 2),
        0);
    for (int i = 0; i < 24; i++)
        ck_assert_float_eq(dx1[i], y[i] > 0 ? dy[i] : 0.0f);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in[9] = {{3, 4, 4}, {3, 4, 5}};
    pf_test_layer_fails("{name: ax, type: add}", in, 2, -PF_EPARSE, "ax", "equal shape");
    pf_test_layer_fails("{name: ax, type: add}", add_in, 1, -PF_EPARSE, "ax", "2 to 8");
    for (int i = 0; i < 9; i++)
        in[i] = add_in[0];
    pf_test_layer_fails("{name: ax, type: add}", in, 9, -PF_EPARSE, "ax", "2 to 8");
    pf_test_layer_fails("{name: ax, type: add, act: 1}", add_in, 2, -PF_EPARSE, "ax", "act");
    pf_test_layer_fails("{name: ax, type: add, scale: 2}", add_in, 2, -PF_EPARSE, "ax",
                        "unknown key 'scale'");
}
END_TEST

Suite *layer_add_suite(void);
Suite *layer_add_suite(void)
{
    Suite *s = suite_create("layer_add");
    TCase *tc = tcase_create("add");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
