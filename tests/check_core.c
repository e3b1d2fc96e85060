/* check_core.c: errors, YAML config wrapper, RNG, tensors. */
#include <check.h>
#include <string.h>

#include "engine/core/pf_cfg.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/tensor.h"

START_TEST(test_err_message_names_site)
{
    int rc = PF_ERR(PF_EINVAL, "bad value %d", 7);
    ck_assert_int_eq(rc, -PF_EINVAL);
    ck_assert_int_eq(pf_err_code(), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "check_core.c:"));
    ck_assert_str_eq(pf_err_user_msg(), "bad value 7");
}
END_TEST

START_TEST(test_cfg_parse_positions)
{
    const char *y = "name: net\nlayers:\n  - {name: c1, type: conv2d, filters: 8}\n  - name: p\n   "
                    " type: maxpool\n";
    struct pf_cfg *c = NULL;
    ck_assert_int_eq(pf_cfg_parse(y, strlen(y), "t.yaml", &c), 0);
    const struct pf_cfg *layers = pf_cfg_get(c, "layers");
    ck_assert_ptr_nonnull(layers);
    ck_assert_int_eq(layers->kind, PF_CFG_SEQ);
    ck_assert_int_eq((int)layers->n, 2);
    long f = 0;
    ck_assert_int_eq(pf_cfg_int(layers->items[0], "filters", "filters", &f), 0);
    ck_assert_int_eq(f, 8);
    const struct pf_cfg *t = pf_cfg_get(layers->items[1], "type");
    ck_assert_int_eq(t->line, 5);
    ck_assert_int_eq(t->col, 11);
    static const char *const allowed[] = {"name", "type", NULL};
    ck_assert_int_eq(pf_cfg_check_keys(layers->items[0], allowed, "c1"), -PF_EPARSE);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "t.yaml:3:"));
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "unknown key 'filters'"));
    pf_cfg_free(c);
}
END_TEST

START_TEST(test_cfg_errors)
{
    struct pf_cfg *c = NULL;
    const char *bad = "a: [1, 2\nb: 3\n";
    ck_assert_int_eq(pf_cfg_parse(bad, strlen(bad), "bad.yaml", &c), -PF_EPARSE);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "bad.yaml:"));
    const char *dup = "a: 1\na: 2\n";
    ck_assert_int_eq(pf_cfg_parse(dup, strlen(dup), "dup.yaml", &c), -PF_EPARSE);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "duplicate key 'a'"));
    const char *num = "a: 12x\n";
    ck_assert_int_eq(pf_cfg_parse(num, strlen(num), "n.yaml", &c), 0);
    long v;
    ck_assert_int_eq(pf_cfg_int(c, "a", "a", &v), -PF_EPARSE);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "n.yaml:1:4: a must be an integer"));
    pf_cfg_free(c);
    ck_assert_int_eq(pf_cfg_load("/nonexistent/x.yaml", &c), -PF_EIO);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "/nonexistent/x.yaml"));
}
END_TEST

START_TEST(test_rng_reproducible)
{
    struct pf_rng a, b;
    pf_rng_seed(&a, 42);
    pf_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(pf_rng_u64(&a), pf_rng_u64(&b));
    /* uniform mean and below() range: loose statistical checks */
    double s = 0;
    for (int i = 0; i < 100000; i++) {
        float u = pf_rng_uniform(&a);
        ck_assert(u >= 0.0f && u < 1.0f);
        s += u;
        ck_assert_uint_lt(pf_rng_below(&a, 7), 7);
    }
    ck_assert_double_eq_tol(s / 100000, 0.5, 0.01);
    double m = 0, v = 0;
    for (int i = 0; i < 100000; i++) {
        double z = pf_rng_normal(&a);
        m += z;
        v += z * z;
    }
    ck_assert_double_eq_tol(m / 100000, 0.0, 0.02);
    ck_assert_double_eq_tol(v / 100000, 1.0, 0.03);
}
END_TEST

START_TEST(test_tensor_basics)
{
    struct pf_tensor t, u;
    int shape[] = {2, 3, 4};
    ck_assert_int_eq(pf_tensor_init(&t, PF_DTYPE_F32, 3, shape), 0);
    ck_assert_uint_eq(pf_tensor_numel(&t), 24);
    ck_assert_float_eq(pf_tensor_f32(&t)[23], 0.0f);
    pf_tensor_f32(&t)[5] = 3.5f;
    ck_assert_int_eq(pf_tensor_init(&u, PF_DTYPE_F32, 1, (int[]){24}), 0);
    ck_assert_int_eq(pf_tensor_copy(&u, &t), 0);
    ck_assert_float_eq(pf_tensor_f32(&u)[5], 3.5f);
    char buf[32];
    ck_assert_str_eq(pf_tensor_shape_str(&t, buf, sizeof buf), "2x3x4");
    pf_tensor_deinit(&u);
    ck_assert_int_eq(pf_tensor_init(&u, PF_DTYPE_F32, 5, shape), -PF_EINVAL);
    pf_tensor_deinit(&t);
}
END_TEST

Suite *core_suite(void);
Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_err_message_names_site);
    tcase_add_test(tc, test_cfg_parse_positions);
    tcase_add_test(tc, test_cfg_errors);
    tcase_add_test(tc, test_rng_reproducible);
    tcase_add_test(tc, test_tensor_basics);
    suite_add_tcase(s, tc);
    return s;
}
