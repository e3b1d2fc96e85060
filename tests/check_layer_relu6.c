/* check_layer_relu6.c: stand-alone relu6: forward against PyTorch, gradient check with inputs
 * away from 0 and 6 (both sides of each), no keys accepted. */
#include <check.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

START_TEST(test_forward)
{
    struct pf_layer l;
    struct pf_shape in = {3, 4, 4};
    size_t n;
    pf_test_layer(&l, "{name: r6, type: relu6}", &in, 1);
    float *x = pf_test_fixture("relu6.bin", "x", &n);
    float *want = pf_test_fixture("relu6.bin", "y", &n);
    float *y = malloc(n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, 2, false);
    pf_test_close(y, want, n, 0.0f, 0.0f, "relu6");
    free(y);
    free(want);
    free(x);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_gradcheck)
{
    struct pf_layer l;
    struct pf_shape in = {1, 2, 3};
    pf_test_layer(&l, "{name: r6, type: relu6}", &in, 1);
    float x[12] = {-1.0f, -0.2f, 0.2f, 1.0f, 3.0f, 5.8f, 6.2f, 7.0f, 2.0f, -3.0f, 5.5f, 0.5f};
    double err = pf_test_gradcheck(&l, (float *const[]){x}, 2, 1e-2);
    ck_assert_msg(err < PF_TOL_GRAD, "relu6 gradcheck error %g", err);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {3, 2, 2};
    pf_test_layer_fails("{name: rx, type: relu6, max: 6}", &in, 1, -PF_EPARSE, "rx",
                        "unknown key 'max'");
}
END_TEST

Suite *layer_relu6_suite(void);
Suite *layer_relu6_suite(void)
{
    Suite *s = suite_create("layer_relu6");
    TCase *tc = tcase_create("relu6");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
