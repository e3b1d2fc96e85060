/* check_loss.c: softmax cross-entropy: loss and gradient against PyTorch (one row with a large
 * logit, so the stable path matters), the correct count, finite differences of the loss, and
 * label / size validation. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/layers/softmax_xent.h"
#include "helpers/pf_test.h"

START_TEST(test_against_torch)
{
    size_t n;
    float *logits = pf_test_fixture("softmax_xent.bin", "logits", &n);
    ck_assert_uint_eq(n, 35);
    float *lab = pf_test_fixture("softmax_xent.bin", "labels", &n);
    float *want_loss = pf_test_fixture("softmax_xent.bin", "loss", &n);
    float *want_d = pf_test_fixture("softmax_xent.bin", "dlogits", &n);
    int labels[5], correct = -1, want_correct = 0;
    for (int i = 0; i < 5; i++) {
        labels[i] = (int)lab[i];
        int arg = 0; /* arg max, from the definition */
        for (int j = 1; j < 7; j++)
            if (logits[i * 7 + j] > logits[i * 7 + arg])
                arg = j;
        want_correct += arg == labels[i];
    }
    float loss = 0.0f, d[35];
    ck_assert_int_eq(pf_softmax_xent(logits, labels, 5, 7, &loss, d, &correct), 0);
    pf_test_close(&loss, want_loss, 1, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "loss");
    pf_test_close(d, want_d, 35, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "dlogits");
    ck_assert_int_eq(correct, want_correct);
    /* NULL outputs are allowed */
    ck_assert_int_eq(pf_softmax_xent(logits, labels, 5, 7, &loss, NULL, NULL), 0);
    pf_test_close(&loss, want_loss, 1, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "loss only");
    free(want_d);
    free(want_loss);
    free(lab);
    free(logits);
}
END_TEST

START_TEST(test_finite_difference)
{
    float z[12], d[12];
    int labels[3] = {1, 3, 0};
    float loss, lp, lm;
    pf_test_fill(z, 12, -2.0f, 2.0f, 121);
    ck_assert_int_eq(pf_softmax_xent(z, labels, 3, 4, &loss, d, NULL), 0);
    for (int i = 0; i < 12; i++) {
        float keep = z[i];
        z[i] = keep + 1e-2f;
        pf_softmax_xent(z, labels, 3, 4, &lp, NULL, NULL);
        z[i] = keep - 1e-2f;
        pf_softmax_xent(z, labels, 3, 4, &lm, NULL, NULL);
        z[i] = keep;
        double num = ((double)lp - lm) / 2e-2;
        ck_assert_double_eq_tol(d[i], num, PF_TOL_GRAD * fmax(fabs(num), 1e-2));
    }
}
END_TEST

START_TEST(test_huge_logits_stable)
{
    /* softmax of (1000, 0) is (1, e^-1000): loss e^-1000 ~ 0 for label 0, 1000 for label 1 */
    float z[4] = {1000.0f, 0.0f, 1000.0f, 0.0f}, loss, d[4];
    int labels[2] = {0, 1};
    ck_assert_int_eq(pf_softmax_xent(z, labels, 2, 2, &loss, d, NULL), 0);
    ck_assert(isfinite(loss));
    ck_assert_float_eq_tol(loss, 500.0f, 1e-3f);
    ck_assert_float_eq_tol(d[2], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(d[3], -0.5f, 1e-6f);
}
END_TEST

START_TEST(test_bad_labels)
{
    float z[6] = {0}, loss = -1.0f;
    int labels[2] = {0, 3};
    ck_assert_int_eq(pf_softmax_xent(z, labels, 2, 3, &loss, NULL, NULL), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "label 3"));
    ck_assert_float_eq(loss, -1.0f);
    labels[1] = -1;
    ck_assert_int_eq(pf_softmax_xent(z, labels, 2, 3, &loss, NULL, NULL), -PF_EINVAL);
    ck_assert_int_eq(pf_softmax_xent(z, labels, 0, 3, &loss, NULL, NULL), -PF_EINVAL);
}
END_TEST

Suite *loss_suite(void);
Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("softmax_xent");
    tcase_add_test(tc, test_against_torch);
    tcase_add_test(tc, test_finite_difference);
    tcase_add_test(tc, test_huge_logits_stable);
    tcase_add_test(tc, test_bad_labels);
    suite_add_tcase(s, tc);
    return s;
}
