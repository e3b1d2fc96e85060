/* check_layer_dropout.c: inverted dropout: identity in eval, keep rate and 1 / (1 - rate)
 * scaling in training (statistical bound), backward applies the same mask, masks are
 * reproducible per layer name, gradient check in eval mode, bad configs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define DROP_N 20000
/* keep fraction of 20000 Bernoulli(0.7) draws: std 0.0032; 0.02 is over 6 sigma */
#define DROP_FRAC_TOL 0.02

START_TEST(test_eval_identity)
{
    struct pf_layer l;
    struct pf_shape in = {4, 2, 2};
    pf_test_layer(&l, "{name: d, type: dropout, rate: 0.3}", &in, 1);
    ck_assert_int_eq(l.out.c, 4);
    char buf[64];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", rate: 0.3");
    float x[32], y[32], dy[32], dx[32];
    pf_test_fill(x, 32, -1.0f, 1.0f, 111);
    pf_test_forward(&l, (const float *const[]){x}, y, 2, false);
    pf_test_close(y, x, 32, 0.0f, 0.0f, "eval dropout");
    pf_test_fill(dy, 32, -1.0f, 1.0f, 112);
    ck_assert_int_eq(l.ops->backward(&l, (const float *const[]){x}, y, dy, (float *const[]){dx}, 2),
                     0);
    pf_test_close(dx, dy, 32, 0.0f, 0.0f, "eval dropout dx");
    double err = pf_test_gradcheck_mode(&l, (float *const[]){x}, 2, 1e-2, false);
    ck_assert_msg(err < PF_TOL_GRAD, "dropout eval gradcheck error %g", err);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_train_mask)
{
    struct pf_layer l;
    struct pf_shape in = {DROP_N / 4, 1, 1};
    pf_test_layer(&l, "{name: d, type: dropout, rate: 0.3}", &in, 1);
    float *x = malloc(DROP_N * sizeof(float)), *y = malloc(DROP_N * sizeof(float));
    float *dy = malloc(DROP_N * sizeof(float)), *dx = malloc(DROP_N * sizeof(float));
    pf_test_fill(x, DROP_N, 0.5f, 1.5f, 113); /* nonzero, so y == 0 means dropped */
    pf_test_forward(&l, (const float *const[]){x}, y, 4, true);
    int kept = 0;
    for (int i = 0; i < DROP_N; i++) {
        if (y[i] != 0.0f) {
            kept++;
            ck_assert_float_eq_tol(y[i], x[i] / 0.7f, 1e-6f);
        }
    }
    ck_assert_double_eq_tol((double)kept / DROP_N, 0.7, DROP_FRAC_TOL);
    pf_test_fill(dy, DROP_N, -1.0f, 1.0f, 114);
    ck_assert_int_eq(l.ops->backward(&l, (const float *const[]){x}, y, dy, (float *const[]){dx}, 4),
                     0);
    for (int i = 0; i < DROP_N; i++)
        ck_assert_float_eq_tol(dx[i], y[i] != 0.0f ? dy[i] / 0.7f : 0.0f, 1e-6f);
    /* a second layer of the same name draws the same first mask; another name does not */
    struct pf_layer l2, l3;
    pf_test_layer(&l2, "{name: d, type: dropout, rate: 0.3}", &in, 1);
    pf_test_layer(&l3, "{name: d2, type: dropout, rate: 0.3}", &in, 1);
    pf_test_forward(&l2, (const float *const[]){x}, dx, 4, true);
    ck_assert_mem_eq(dx, y, DROP_N * sizeof(float));
    pf_test_forward(&l3, (const float *const[]){x}, dx, 4, true);
    ck_assert(memcmp(dx, y, DROP_N * sizeof(float)) != 0);
    pf_layer_destroy(&l3);
    pf_layer_destroy(&l2);
    free(dx);
    free(dy);
    free(y);
    free(x);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_rate_zero)
{
    struct pf_layer l;
    struct pf_shape in = {8, 1, 1};
    pf_test_layer(&l, "{name: d, type: dropout, rate: 0}", &in, 1);
    float x[8], y[8];
    pf_test_fill(x, 8, -1.0f, 1.0f, 115);
    pf_test_forward(&l, (const float *const[]){x}, y, 1, true);
    pf_test_close(y, x, 8, 0.0f, 0.0f, "rate 0");
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {2, 2, 2};
    pf_test_layer_fails("{name: dx, type: dropout, rate: 1}", &in, 1, -PF_EPARSE, "dx", "rate");
    pf_test_layer_fails("{name: dx, type: dropout, rate: -0.1}", &in, 1, -PF_EPARSE, "dx", "rate");
    pf_test_layer_fails("{name: dx, type: dropout, rate: half}", &in, 1, -PF_EPARSE, "dx", "rate");
    pf_test_layer_fails("{name: dx, type: dropout, p: 0.5}", &in, 1, -PF_EPARSE, "dx",
                        "unknown key 'p'");
}
END_TEST

Suite *layer_dropout_suite(void);
Suite *layer_dropout_suite(void)
{
    Suite *s = suite_create("layer_dropout");
    TCase *tc = tcase_create("dropout");
    tcase_add_test(tc, test_eval_identity);
    tcase_add_test(tc, test_train_mask);
    tcase_add_test(tc, test_rate_zero);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
