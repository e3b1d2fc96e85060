/* check_layer_maxpool.c: maxpool shapes, counts, YAML, forward against PyTorch (explicit pad
 * with -inf padding, default stride, TF SAME), gradient checks on inputs without near-ties,
 * the set_batch limit, bad configs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "helpers/pf_test.h"

#define GC_EPS 1e-2

static const struct pf_shape mp_in = {3, 7, 7};

static void fwd(const char *row, const char *want_name, int oh, int ow)
{
    struct pf_layer l;
    size_t n;
    pf_test_layer(&l, row, &mp_in, 1);
    ck_assert_int_eq(l.out.c, 3);
    ck_assert_int_eq(l.out.h, oh);
    ck_assert_int_eq(l.out.w, ow);
    float *x = pf_test_fixture("maxpool.bin", "x", &n);
    float *want = pf_test_fixture("maxpool.bin", want_name, &n);
    ck_assert_uint_eq(n, 2 * pf_shape_numel(l.out));
    float *y = malloc(n * sizeof(float));
    pf_test_forward(&l, (const float *const[]){x}, y, 2, false);
    pf_test_close(y, want, n, PF_TOL_FWD_ATOL, PF_TOL_FWD_RTOL, want_name);
    free(y);
    free(want);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_forward)
{
    fwd("{name: p, type: maxpool, kernel: 3, stride: 2, pad: 1}", "max_k3s2p1", 4, 4);
    fwd("{name: p, type: maxpool, kernel: 2}", "max_k2", 3, 3);
    fwd("{name: p, type: maxpool, kernel: 2, pad: same}", "max_same_k2", 4, 4);
}
END_TEST

START_TEST(test_count_yaml)
{
    struct pf_layer l;
    pf_test_layer(&l, "{name: p, type: maxpool, kernel: 3, stride: 2, pad: 1}", &mp_in, 1);
    struct pf_count c;
    l.ops->count(&l, &c);
    ck_assert_uint_eq(c.other_ops, 3u * 4 * 4 * 9);
    ck_assert_uint_eq(c.params, 0);
    char buf[128];
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", kernel: 3, stride: 2, pad: 1");
    pf_layer_destroy(&l);
    pf_test_layer(&l, "{name: p, type: maxpool, kernel: 2, pad: same}", &mp_in, 1);
    l.ops->to_yaml(&l, buf, sizeof buf);
    ck_assert_str_eq(buf, ", kernel: 2, pad: same");
    pf_layer_destroy(&l);
}
END_TEST

/* Distinct values 0.1 apart in shuffled order: no two cells of a window come within 2 eps. */
static void fill_distinct(float *x, size_t n, unsigned long long seed)
{
    uint32_t *idx = malloc(n * sizeof *idx);
    ck_assert_ptr_nonnull(idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    struct pf_rng r;
    pf_rng_seed(&r, seed);
    pf_rng_shuffle(&r, idx, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.1f * ((float)idx[i] - (float)n / 2);
    free(idx);
}

static void grad_case(const char *row, struct pf_shape in, int N, unsigned long long seed)
{
    struct pf_layer l;
    pf_test_layer(&l, row, &in, 1);
    size_t nx = (size_t)N * pf_shape_numel(in);
    float *x = malloc(nx * sizeof(float));
    fill_distinct(x, nx, seed);
    double err = pf_test_gradcheck(&l, (float *const[]){x}, N, GC_EPS);
    ck_assert_msg(err < PF_TOL_GRAD, "%s: gradcheck error %g", row, err);
    free(x);
    pf_layer_destroy(&l);
}

START_TEST(test_gradcheck)
{
    grad_case("{name: p, type: maxpool, kernel: 3, stride: 2, pad: 1}", (struct pf_shape){2, 5, 5},
              2, 41);
    grad_case("{name: p, type: maxpool, kernel: 2, pad: same}", (struct pf_shape){2, 5, 4}, 2, 42);
    grad_case("{name: p, type: maxpool, kernel: [2, 3], stride: 1}", (struct pf_shape){1, 4, 5}, 3,
              43);
}
END_TEST

START_TEST(test_batch_limit)
{
    struct pf_layer l;
    struct pf_shape in = {1, 2, 2};
    pf_test_layer(&l, "{name: p, type: maxpool, kernel: 2}", &in, 1);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[2];
    ck_assert_int_eq(l.ops->set_batch(&l, 1), 0);
    ck_assert_int_eq(l.ops->forward(&l, (const float *const[]){x}, y, 2, true), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "p: batch 2"));
    ck_assert_int_eq(l.ops->set_batch(&l, 2), 0);
    ck_assert_int_eq(l.ops->forward(&l, (const float *const[]){x}, y, 2, true), 0);
    ck_assert_float_eq(y[0], 4.0f);
    ck_assert_float_eq(y[1], 8.0f);
    pf_layer_destroy(&l);
}
END_TEST

START_TEST(test_bad_config)
{
    pf_test_layer_fails("{name: px, type: maxpool, size: 2}", &mp_in, 1, -PF_EPARSE, "px",
                        "unknown key 'size'");
    pf_test_layer_fails("{name: px, type: maxpool}", &mp_in, 1, -PF_EPARSE, "px", "kernel");
    pf_test_layer_fails("{name: px, type: maxpool, kernel: 0}", &mp_in, 1, -PF_EPARSE, "px",
                        "kernel");
    pf_test_layer_fails("{name: px, type: maxpool, kernel: 2, pad: 2}", &mp_in, 1, -PF_EPARSE, "px",
                        "pad");
    pf_test_layer_fails("{name: px, type: maxpool, kernel: 8}", &mp_in, 1, -PF_EPARSE, "px",
                        "does not fit");
    pf_test_layer_fails("{name: px, type: maxpool, kernel: 2, pad: full}", &mp_in, 1, -PF_EPARSE,
                        "px", "pad");
}
END_TEST

Suite *layer_maxpool_suite(void);
Suite *layer_maxpool_suite(void)
{
    Suite *s = suite_create("layer_maxpool");
    TCase *tc = tcase_create("maxpool");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_count_yaml);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_batch_limit);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
