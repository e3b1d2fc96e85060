/* check_distill.c: PocketFlow's distillation loss against an independent computation
 * (probabilities first, then -sum p log q, in long double), the T^2-scaled form, the gradient by
 * central finite differences, accumulation into dlogits, and the argument checks. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "learners/common/distill.h"

#define N_ROWS   3
#define K_CLS    5
#define LOSS_TOL 1e-5 /* relative, float result vs long double reference */
#define GRAD_TOL 2e-3 /* relative, float analytic gradient vs central differences */
#define FD_EPS   1e-2

static long double ref_loss(const float *zs, const float *zt, double w, double T, bool t2)
{
    long double total = 0.0L;
    for (int n = 0; n < N_ROWS; n++) {
        long double es[K_CLS], et[K_CLS], ss = 0.0L, st = 0.0L;
        for (int k = 0; k < K_CLS; k++) {
            ss += es[k] = expl((long double)zs[n * K_CLS + k] / T);
            st += et[k] = expl((long double)zt[n * K_CLS + k] / T);
        }
        for (int k = 0; k < K_CLS; k++)
            total -= et[k] / st * logl(es[k] / ss);
    }
    return w * (t2 ? T * T : 1.0) * total / N_ROWS;
}

static void fill(float *a, int n, uint64_t seed, float scale)
{
    struct pf_rng r;
    pf_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        a[i] = scale * pf_rng_normal(&r);
}

START_TEST(test_loss_matches_reference)
{
    float zs[N_ROWS * K_CLS], zt[N_ROWS * K_CLS];
    fill(zs, N_ROWS * K_CLS, 1, 3.0f);
    fill(zt, N_ROWS * K_CLS, 2, 3.0f);
    zs[0] = 80.0f; /* large logits stay finite */
    const double temps[] = {1.0, 4.0, 0.5};
    for (int i = 0; i < 3; i++)
        for (int t2 = 0; t2 < 2; t2++) {
            struct pf_distill_cfg c = {PF_DISTILL_LOSS_W, temps[i], t2};
            float loss;
            ck_assert_int_eq(pf_distill_loss(zs, zt, N_ROWS, K_CLS, &c, &loss, NULL), 0);
            double ref = (double)ref_loss(zs, zt, c.loss_w, c.tempr, t2);
            ck_assert_msg(fabs(loss - ref) <= LOSS_TOL * fabs(ref), "T %g t2 %d: %g vs %g",
                          temps[i], t2, (double)loss, ref);
        }
    /* same logits: the loss is w x the entropy of the teacher's soft targets, gradient zero */
    float d[N_ROWS * K_CLS] = {0};
    struct pf_distill_cfg c = {1.0, 4.0, false};
    float loss;
    ck_assert_int_eq(pf_distill_loss(zt, zt, N_ROWS, K_CLS, &c, &loss, d), 0);
    for (int i = 0; i < N_ROWS * K_CLS; i++)
        ck_assert(fabsf(d[i]) < 1e-7f);
}
END_TEST

START_TEST(test_gradient_finite_differences)
{
    float zs[N_ROWS * K_CLS], zt[N_ROWS * K_CLS], d[N_ROWS * K_CLS];
    fill(zs, N_ROWS * K_CLS, 3, 2.0f);
    fill(zt, N_ROWS * K_CLS, 4, 2.0f);
    for (int t2 = 0; t2 < 2; t2++) {
        struct pf_distill_cfg c = {PF_DISTILL_LOSS_W, PF_DISTILL_TEMPR, t2};
        for (int i = 0; i < N_ROWS * K_CLS; i++)
            d[i] = 1.0f; /* accumulates on top */
        ck_assert_int_eq(pf_distill_loss(zs, zt, N_ROWS, K_CLS, &c, NULL, d), 0);
        double max_rel = 0.0, gmax = 0.0;
        for (int i = 0; i < N_ROWS * K_CLS; i++)
            gmax = fmax(gmax, fabs(d[i] - 1.0));
        for (int i = 0; i < N_ROWS * K_CLS; i++) {
            float keep = zs[i];
            zs[i] = keep + (float)FD_EPS;
            double lp = (double)ref_loss(zs, zt, c.loss_w, c.tempr, t2);
            zs[i] = keep - (float)FD_EPS;
            double lm = (double)ref_loss(zs, zt, c.loss_w, c.tempr, t2);
            zs[i] = keep;
            double fd = (lp - lm) / (2 * FD_EPS), an = d[i] - 1.0;
            max_rel = fmax(max_rel, fabs(fd - an) / gmax);
        }
        ck_assert_msg(max_rel < GRAD_TOL, "t2 %d: max relative gradient error %g", t2, max_rel);
    }
}
END_TEST

START_TEST(test_bad_arguments)
{
    float z[K_CLS] = {0};
    struct pf_distill_cfg c = {1.0, 0.0, false};
    ck_assert_int_eq(pf_distill_loss(z, z, 1, K_CLS, &c, NULL, NULL), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "tempr_dst"));
    c.tempr = 1.0;
    c.loss_w = -1.0;
    ck_assert_int_eq(pf_distill_loss(z, z, 1, K_CLS, &c, NULL, NULL), -PF_EINVAL);
    c.loss_w = 1.0;
    ck_assert_int_eq(pf_distill_loss(z, z, 0, K_CLS, &c, NULL, NULL), -PF_EINVAL);
}
END_TEST

Suite *distill_suite(void);
Suite *distill_suite(void)
{
    Suite *s = suite_create("distill");
    TCase *tc = tcase_create("distill");
    tcase_add_test(tc, test_loss_matches_reference);
    tcase_add_test(tc, test_gradient_finite_differences);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
