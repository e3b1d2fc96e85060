/* check_masks.c: learners/common/masks: Zhu & Gupta's schedule (target reached at the end step,
 * never lowered), exact-count magnitude masks checked against a sort, PocketFlow's heurist
 * protocol, and clear errors for sparsity outside [0, 1). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "learners/common/masks.h"

#define TOL_EXACT 1e-12

START_TEST(test_schedule_shape)
{
    const long tb = 100, te = 500;
    const double sf = 0.9;
    double prev = -1.0;
    for (long t = 0; t <= 800; t++) {
        double s = pf_sparsity_schedule(t, tb, te, sf, 3.0);
        ck_assert_msg(s >= prev, "schedule lowered at step %ld: %g < %g", t, s, prev);
        ck_assert(s >= 0.0 && s <= sf);
        prev = s;
    }
    ck_assert_double_eq_tol(pf_sparsity_schedule(tb - 1, tb, te, sf, 3.0), 0.0, TOL_EXACT);
    ck_assert_double_eq_tol(pf_sparsity_schedule(te, tb, te, sf, 3.0), sf, TOL_EXACT);
    ck_assert_double_eq_tol(pf_sparsity_schedule(te + 1000, tb, te, sf, 3.0), sf, TOL_EXACT);
    /* halfway: s_f (1 - 0.5^3) */
    ck_assert_double_eq_tol(pf_sparsity_schedule(300, tb, te, sf, 3.0), sf * 0.875, TOL_EXACT);
    /* a degenerate ramp jumps at t_b */
    ck_assert_double_eq_tol(pf_sparsity_schedule(99, 100, 100, 0.5, 3.0), 0.0, TOL_EXACT);
    ck_assert_double_eq_tol(pf_sparsity_schedule(100, 100, 100, 0.5, 3.0), 0.5, TOL_EXACT);
}
END_TEST

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

START_TEST(test_magnitude_mask_exact)
{
    enum { N = 4099 };
    static float v[N], mags[N];
    static uint8_t mask[N];
    struct pf_rng rng;
    pf_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++)
        v[i] = pf_rng_normal(&rng);
    const double ratios[] = {0.0, 0.5, 0.75, 0.9, 0.95, 0.999};
    for (size_t r = 0; r < sizeof ratios / sizeof *ratios; r++) {
        long k = pf_mask_magnitude(v, N, ratios[r], mask);
        ck_assert_int_eq(k, lround(ratios[r] * N));
        size_t zeros = 0;
        float max_pruned = 0.0f, min_kept = INFINITY;
        for (int i = 0; i < N; i++) {
            zeros += mask[i] == 0;
            if (!mask[i])
                max_pruned = fmaxf(max_pruned, fabsf(v[i]));
            else
                min_kept = fminf(min_kept, fabsf(v[i]));
        }
        ck_assert_int_eq((long)zeros, k);
        ck_assert(max_pruned <= min_kept);
        /* independent: the k-th smallest magnitude from a full sort is the largest pruned */
        for (int i = 0; i < N; i++)
            mags[i] = fabsf(v[i]);
        qsort(mags, N, sizeof *mags, cmp_f);
        if (k > 0)
            ck_assert(max_pruned == mags[k - 1]);
        ck_assert_double_eq_tol(pf_mask_sparsity(mask, N), (double)k / N, TOL_EXACT);
    }
    /* ties: all equal magnitudes, exactly k pruned, the first ones */
    for (int i = 0; i < 10; i++)
        v[i] = i % 2 ? 1.0f : -1.0f;
    ck_assert_int_eq(pf_mask_magnitude(v, 10, 0.3, mask), 3);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(mask[i], i < 3 ? 0 : 1);
}
END_TEST

START_TEST(test_bad_sparsity)
{
    float v[4] = {1, 2, 3, 4};
    uint8_t mask[4];
    ck_assert_int_eq(pf_mask_magnitude(v, 4, 1.0, mask), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "sparsity 1 is outside [0, 1)"));
    ck_assert_int_eq(pf_mask_magnitude(v, 4, -0.1, mask), -PF_EINVAL);
    ck_assert_int_eq(pf_mask_magnitude(v, 4, NAN, mask), -PF_EINVAL);
    double out[2];
    size_t n[2] = {10, 100};
    ck_assert_int_eq(pf_sparsity_heurist(n, 2, 1.0, 0.99, out), -PF_EINVAL);
}
END_TEST

START_TEST(test_heurist)
{
    size_t n[4] = {800, 51200, 3211264, 10240}; /* PocketFlow's FMNIST ConvNet */
    double out[4], pr = 0.75;
    ck_assert_int_eq(pf_sparsity_heurist(n, 4, pr, 0.99, out), 0);
    double sum = 0.0, tot = 0.0;
    for (int l = 0; l < 4; l++) {
        sum += out[l] * (double)n[l];
        tot += (double)n[l];
        ck_assert(out[l] > 0.0 && out[l] <= 0.99);
    }
    ck_assert_double_eq_tol(sum / tot, pr, 1e-9);
    ck_assert(out[2] > out[1] && out[1] > out[3] && out[3] > out[0]);
    /* uncapped: exactly alpha ln(n) */
    double alpha =
        pr * tot /
        (800 * log(800) + 51200 * log(51200) + 3211264 * log(3211264) + 10240 * log(10240));
    ck_assert_double_eq_tol(out[0], alpha * log(800), 1e-12);
    /* a target the big layer cannot carry alone: capped at 0.99, the others take the rest */
    ck_assert_int_eq(pf_sparsity_heurist(n, 4, 0.98, 0.99, out), 0);
    sum = 0.0;
    for (int l = 0; l < 4; l++) {
        sum += out[l] * (double)n[l];
        ck_assert(out[l] <= 0.99 + 1e-12);
    }
    ck_assert_double_eq_tol(sum / tot, 0.98, 1e-6);
}
END_TEST

Suite *masks_suite(void);
Suite *masks_suite(void)
{
    Suite *s = suite_create("masks");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_schedule_shape);
    tcase_add_test(tc, test_magnitude_mask_exact);
    tcase_add_test(tc, test_bad_sparsity);
    tcase_add_test(tc, test_heurist);
    suite_add_tcase(s, tc);
    return s;
}
