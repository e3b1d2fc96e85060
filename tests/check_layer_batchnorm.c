/* check_layer_batchnorm.c: batchnorm params, counts, YAML, train and eval forward against
 * PyTorch (output and updated running stats, unbiased running var), eval leaves state alone,
 * gradient checks in both modes, bad configs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define GC_EPS 1e-2
#define BN_ROW "{name: bn, type: batchnorm}"

static const struct pf_shape bn_in = {3, 5, 5};

static void load_params(struct pf_layer *l)
{
    static const char *const names[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) {
        size_t n;
        float *v = pf_test_fixture("batchnorm.bin", names[i], &n);
        pf_test_set_param(l, names[i], v, n);
        free(v);
    }
}

START_TEST(test_params_count_yaml)
{
    struct pf_layer l;
    pf_test_layer(&l, BN_ROW, &bn_in, 1);
    ck_assert_int_eq(l.out.c, 3);
    ck_assert_int_eq(l.out.h, 5);
    ck_assert_int_eq(l.n_params, 4);
    ck_assert(pf_layer_param(&l, "gamma")->trainable);
    ck_assert(pf_layer_param(&l, "beta")->trainable);
    ck_assert(!pf_layer_param(&l, "gamma")->decay);
    ck_assert(!pf_layer_param(&l, "running_mean")->trainable);
    ck_assert(!pf_layer_param(&l, "running_var")->trainable);
    ck_assert_float_eq(pf_tensor_f32(&pf_layer_param(&l, "gamma")->w)[2], 1.0f);
    ck_assert_float_eq(pf_tensor_f32(&pf_layer_param(&l, "running_var")->w)[0], 1.0f);
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.params, 6);
    ck_assert_uint_eq(c.macs, 0);
    ck_assert_uint_eq(c.other_ops, 2u * 75);
    char buf[128];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    pf_layer_destroy(&l);
    pf_test_layer(&l, "{name: bn, type: batchnorm, eps: 0.001, momentum: 0.99, act: relu}", &bn_in,
                  1);
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", eps: 0.001, momentum: 0.99, act: relu");
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_forward_train)
{
    struct pf_layer l;
    size_t n;
    pf_test_layer(&l, BN_ROW, &bn_in, 1);
    load_params(&l);
    float *x = pf_test_fixture("batchnorm.bin", "x", &n);
    float *want = pf_test_fixture("batchnorm.bin", "y_train", &n);
    float *y = malloc(n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, 4, true);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "y_train");
    float *rm = pf_test_fixture("batchnorm.bin", "running_mean_after", &n);
    pf_test_close(pf_tensor_f32(&pf_layer_param(&l, "running_mean")->w), rm, n, PF_TOL_FWD_ATOL,
                  PF_TOL_FWD_RTOL, "running_mean");
    float *rv = pf_test_fixture("batchnorm.bin", "running_var_after", &n);
    pf_test_close(pf_tensor_f32(&pf_layer_param(&l, "running_var")->w), rv, n, PF_TOL_FWD_ATOL,
                  PF_TOL_FWD_RTOL, "running_var (unbiased)");
    free(rv);
    free(rm);
    free(y);
    free(want);
    free(x);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_forward_eval)
{
    struct pf_layer l;
    size_t n;
    pf_test_layer(&l, BN_ROW, &bn_in, 1);
    load_params(&l);
    float *x = pf_test_fixture("batchnorm.bin", "x", &n);
    float *want = pf_test_fixture("batchnorm.bin", "y_eval", &n);
    float *rv0 = pf_test_fixture("batchnorm.bin", "running_var", NULL);
    float *rm0 = pf_test_fixture("batchnorm.bin", "running_mean", NULL);
    float *y = malloc(n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, 4, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "y_eval");
    /* eval must not move the running statistics */
    ck_assert_mem_eq(pf_tensor_f32(&pf_layer_param(&l, "running_mean")->w), rm0, 3 * sizeof(float));
    ck_assert_mem_eq(pf_tensor_f32(&pf_layer_param(&l, "running_var")->w), rv0, 3 * sizeof(float));
    free(y);
    free(rm0);
    free(rv0);
    free(want);
    free(x);
    pf_layer_destroy(&l);
}
END_TEST

static void grad_case(bool train, unsigned long long seed)
{
    struct pf_layer l;
    struct pf_shape in = {2, 3, 2};
    int N = 3;
    pf_test_layer(&l, BN_ROW, &in, 1);
    size_t nx = (size_t)N * pf_shape_numel(in);
    float *x = malloc(nx * sizeof(float));
    pf_test_fill(x, nx, -2.0f, 2.0f, seed);
    pf_test_fill_param(&l, "gamma", 0.5f, 1.5f, seed + 1);
    pf_test_fill_param(&l, "beta", -0.5f, 0.5f, seed + 2);
    pf_test_fill_param(&l, "running_mean", -0.5f, 0.5f, seed + 3);
    pf_test_fill_param(&l, "running_var", 0.5f, 1.5f, seed + 4);
    double err = pf_test_gradcheck_mode(&l, (float *const[]){x}, N, GC_EPS, train);
    ck_assert_msg(err < PF_TOL_GRAD, "batchnorm %s: gradcheck error %g", train ? "train" : "eval",
                  err);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_gradcheck_train)
{
    grad_case(true, 31);
}
END_TEST

START_TEST(test_gradcheck_eval)
{
    grad_case(false, 32);
}
END_TEST

START_TEST(test_bad_config)
{
    pf_test_layer_fails("{name: bx, type: batchnorm, epsilon: 0.1}", &bn_in, 1, -PF_EPARSE, "bx",
                        "unknown key 'epsilon'");
    pf_test_layer_fails("{name: bx, type: batchnorm, eps: 0}", &bn_in, 1, -PF_EPARSE, "bx", "eps");
    pf_test_layer_fails("{name: bx, type: batchnorm, eps: -1}", &bn_in, 1, -PF_EPARSE, "bx", "eps");
    pf_test_layer_fails("{name: bx, type: batchnorm, momentum: 1.5}", &bn_in, 1, -PF_EPARSE, "bx",
                        "momentum");
    pf_test_layer_fails("{name: bx, type: batchnorm, act: elu}", &bn_in, 1, -PF_EPARSE, "bx",
                        "elu");
}
END_TEST

START_TEST(test_train_needs_two_values)
{
    struct pf_layer l;
    struct pf_shape in = {2, 1, 1};
    pf_test_layer(&l, BN_ROW, &in, 1);
    float x[2] = {1.0f, 2.0f}, y[2];
    ck_assert_int_eq(l.ops->forward(&l, (const float *const[]){x}, y, 1, true), -PF_ESHAPE);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "bn"));
    pf_layer_destroy(&l);
}
END_TEST

Suite *layer_batchnorm_suite(void);
Suite *layer_batchnorm_suite(void)
{
    Suite *s = suite_create("layer_batchnorm");
    TCase *tc = tcase_create("batchnorm");
    tcase_add_test(tc, test_params_count_yaml);
    tcase_add_test(tc, test_forward_train);
    tcase_add_test(tc, test_forward_eval);
    tcase_add_test(tc, test_gradcheck_train);
    tcase_add_test(tc, test_gradcheck_eval);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_train_needs_two_values);
    suite_add_tcase(s, tc);
    return s;
}
