/* check_layer_layernorm.c: layernorm params, counts and YAML; forward (train and eval, with and
 * without the fused relu) against plain double loops; gradient checks on flat and (C, H, W)
 * inputs; batch larger than set_batch; bad configs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define GC_EPS 1e-2
#define LN_ROW "{name: ln, type: layernorm}"

/* The oracle: per sample, mean and biased variance over all C*H*W values, in double. */
static void ln_oracle(const float *x, const float *gamma, const float *beta, struct pf_shape s,
                      int N, double eps, bool relu, float *y)
{
    size_t HW = (size_t)s.h * s.w, D = (size_t)s.c * HW;
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * D;
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < D; i++)
            mean += xn[i];
        mean /= (double)D;
        for (size_t i = 0; i < D; i++)
            var += (xn[i] - mean) * (xn[i] - mean);
        var /= (double)D;
        for (size_t i = 0; i < D; i++) {
            size_t c = i / HW;
            double v = (xn[i] - mean) / sqrt(var + eps) * gamma[c] + beta[c];
            y[(size_t)n * D + i] = (float)(relu && v < 0.0 ? 0.0 : v);
        }
    }
}

START_TEST(test_params_count_yaml)
{
    struct pf_layer l;
    struct pf_shape in = {6, 1, 1};
    pf_test_layer(&l, LN_ROW, &in, 1);
    ck_assert_int_eq(l.out.c, 6);
    ck_assert_int_eq(l.out.h, 1);
    ck_assert_int_eq(l.n_params, 2);
    struct pf_param *g = pf_layer_param(&l, "gamma"), *b = pf_layer_param(&l, "beta");
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(b);
    ck_assert(g->trainable && b->trainable);
    ck_assert(!g->decay && !b->decay);
    for (int c = 0; c < 6; c++) {
        ck_assert_float_eq(pf_tensor_f32(&g->w)[c], 1.0f);
        ck_assert_float_eq(pf_tensor_f32(&b->w)[c], 0.0f);
    }
    struct pf_count cnt;
    l.ops->count(&l, &cnt);
    ck_assert_uint_eq(cnt.params, 12);
    ck_assert_uint_eq(cnt.macs, 0);
    ck_assert_uint_eq(cnt.other_ops, 4u * 6);
    char buf[128];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    pf_layer_destroy(&l);
    pf_test_layer(&l, "{name: ln, type: layernorm, eps: 0.001, act: relu}", &in, 1);
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", eps: 0.001, act: relu");
    l.ops->count(&l, &cnt);
    ck_assert_uint_eq(cnt.other_ops, 5u * 6);
    pf_layer_destroy(&l);
}
END_TEST

static void forward_case(const char *row, struct pf_shape in, int N, double eps, bool relu,
                         unsigned long long seed)
{
    struct pf_layer l;
    pf_test_layer(&l, row, &in, 1);
    size_t n = (size_t)N * pf_shape_numel(in);
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    float *want = malloc(n * sizeof(float));
    /* an offset and a spread per sample, so that the normalisation has work to do */
    pf_test_fill(x, n, -3.0f, 5.0f, seed);
    pf_test_fill_param(&l, "gamma", 0.5f, 2.0f, seed + 1);
    pf_test_fill_param(&l, "beta", -1.0f, 1.0f, seed + 2);
    ln_oracle(x, pf_tensor_f32(&pf_layer_param(&l, "gamma")->w),
              pf_tensor_f32(&pf_layer_param(&l, "beta")->w), in, N, eps, relu, want);
    pf_test_forward(&l, (const float *const[]){x}, y, N, true);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "layernorm train");
    /* no running statistics: eval computes the same */
    memset(y, 0, n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, N, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, "layernorm eval");
    free(want);
    free(y);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_forward_flat)
{
    forward_case(LN_ROW, (struct pf_shape){7, 1, 1}, 5, 1e-5, false, 11);
}
END_TEST

START_TEST(test_forward_chw_relu_eps)
{
    forward_case("{name: ln, type: layernorm, eps: 0.01, act: relu}", (struct pf_shape){3, 2, 4}, 4,
                 0.01, true, 12);
}
END_TEST

START_TEST(test_forward_constant_sample)
{
    /* a constant sample has variance 0: the output is beta (eps keeps it finite) */
    struct pf_layer l;
    struct pf_shape in = {4, 1, 1};
    pf_test_layer(&l, LN_ROW, &in, 1);
    pf_test_fill_param(&l, "beta", -1.0f, 1.0f, 5);
    float x[4] = {2.5f, 2.5f, 2.5f, 2.5f}, y[4];
    pf_test_forward(&l, (const float *const[]){x}, y, 1, true);
    pf_test_close(y, pf_tensor_f32(&pf_layer_param(&l, "beta")->w), 4, PF_TOL_FWD_ATOL,
                  PF_TOL_FWD_RTOL, "constant sample");
    pf_layer_destroy(&l);
}
END_TEST

static void grad_case(const char *row, struct pf_shape in, int N, unsigned long long seed)
{
    struct pf_layer l;
    pf_test_layer(&l, row, &in, 1);
    size_t nx = (size_t)N * pf_shape_numel(in);
    float *x = malloc(nx * sizeof(float));
    pf_test_fill(x, nx, -2.0f, 2.0f, seed);
    pf_test_fill_param(&l, "gamma", 0.5f, 1.5f, seed + 1);
    pf_test_fill_param(&l, "beta", -0.5f, 0.5f, seed + 2);
    double err = pf_test_gradcheck(&l, (float *const[]){x}, N, GC_EPS);
    ck_assert_msg(err < PF_TOL_GRAD, "layernorm %s: gradcheck error %g", row, err);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_gradcheck_flat)
{
    grad_case(LN_ROW, (struct pf_shape){5, 1, 1}, 3, 41);
}
END_TEST

START_TEST(test_gradcheck_chw)
{
    grad_case(LN_ROW, (struct pf_shape){3, 2, 2}, 2, 42);
}
END_TEST

START_TEST(test_batch_over_cap)
{
    struct pf_layer l;
    struct pf_shape in = {3, 1, 1};
    pf_test_layer(&l, LN_ROW, &in, 1);
    ck_assert_int_eq(l.ops->set_batch(&l, 2), 0);
    float x[9] = {0}, y[9];
    ck_assert_int_eq(l.ops->forward(&l, (const float *const[]){x}, y, 3, true), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "ln"));
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    struct pf_shape in = {4, 1, 1};
    pf_test_layer_fails("{name: lx, type: layernorm, epsilon: 0.1}", &in, 1, -PF_EPARSE, "lx",
                        "unknown key 'epsilon'");
    pf_test_layer_fails("{name: lx, type: layernorm, eps: 0}", &in, 1, -PF_EPARSE, "lx", "eps");
    pf_test_layer_fails("{name: lx, type: layernorm, eps: 2}", &in, 1, -PF_EPARSE, "lx", "eps");
    pf_test_layer_fails("{name: lx, type: layernorm, act: elu}", &in, 1, -PF_EPARSE, "lx", "elu");
}
END_TEST

Suite *layer_layernorm_suite(void);
Suite *layer_layernorm_suite(void)
{
    Suite *s = suite_create("layer_layernorm");
    TCase *tc = tcase_create("layernorm");
    tcase_add_test(tc, test_params_count_yaml);
    tcase_add_test(tc, test_forward_flat);
    tcase_add_test(tc, test_forward_chw_relu_eps);
    tcase_add_test(tc, test_forward_constant_sample);
    tcase_add_test(tc, test_gradcheck_flat);
    tcase_add_test(tc, test_gradcheck_chw);
    tcase_add_test(tc, test_batch_over_cap);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
