/* check_chanprune.c: the channel pruners' shared solvers and machinery (learners/common/lasso,
 * chanprune): LASSO by ISTA and coordinate descent against closed-form solutions and the KKT
 * conditions, the penalty searches landing on exactly the target count, least squares against
 * an independent normal-equation solve in double precision, and on a small model: channels
 * removed physically give the same logits as the full-size model with those channels zeroed,
 * with smaller tensors, and the model saves and loads back. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/dataset.h"
#include "helpers/pf_test.h"
#include "helpers/pf_test_compress.h"
#include "learners/common/chanprune.h"
#include "learners/common/lasso.h"

#define TOL_LASSO  1e-6 /* converged LASSO vs closed form / KKT */
#define TOL_LSTSQ  1e-7 /* Cholesky vs Gaussian elimination, relative */
#define TOL_PRUNED 1e-4 /* the max relative difference, pruned vs zeroed */

/* A random symmetric positive definite n x n Gram G = F'F / r of an r x n F, and c = F'y / r. */
static void random_problem(int n, int r, uint64_t seed, double *G, double *c)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    double *F = malloc((size_t)r * n * sizeof *F), *y = malloc((size_t)r * sizeof *y);
    ck_assert(F && y);
    for (int i = 0; i < r; i++) {
        y[i] = 0.0;
        for (int j = 0; j < n; j++) {
            F[(size_t)i * n + j] = pf_rng_normal(&rng);
            y[i] += F[(size_t)i * n + j] * (j % 3 == 0 ? 1.0 : 0.2 * j / n);
        }
        y[i] += 0.1 * pf_rng_normal(&rng);
    }
    for (int a = 0; a < n; a++) {
        c[a] = 0.0;
        for (int i = 0; i < r; i++)
            c[a] += F[(size_t)i * n + a] * y[i] / r;
        for (int b = 0; b < n; b++) {
            double s = 0.0;
            for (int i = 0; i < r; i++)
                s += F[(size_t)i * n + a] * F[(size_t)i * n + b];
            G[(size_t)a * n + b] = s / r;
        }
    }
    free(F);
    free(y);
}

/* Max violation of the LASSO optimality conditions of b. */
static double kkt(const double *G, const double *c, int n, double gamma, const double *b)
{
    double worst = 0.0;
    for (int j = 0; j < n; j++) {
        double g = c[j];
        for (int k = 0; k < n; k++)
            g -= G[(size_t)j * n + k] * b[k];
        double v = b[j] != 0.0 ? fabs(g - gamma * (b[j] > 0 ? 1.0 : -1.0))
                               : (fabs(g) > gamma ? fabs(g) - gamma : 0.0);
        worst = v > worst ? v : worst;
    }
    return worst;
}

START_TEST(test_lasso_known)
{
    /* orthogonal design: b_j = S(c_j, gamma) / d_j exactly */
    enum { N = 5 };
    double G[N * N] = {0}, c[N] = {0.9, -0.3, 0.05, 2.0, -1.2}, d[N] = {1.0, 2.0, 0.5, 4.0, 1.5};
    double gamma = 0.2, b[N], b0[N] = {0}, want[N];
    for (int j = 0; j < N; j++) {
        G[j * N + j] = d[j];
        double s = fabs(c[j]) > gamma ? (fabs(c[j]) - gamma) * (c[j] > 0 ? 1 : -1) : 0.0;
        want[j] = s / d[j];
    }
    ck_assert_int_ge(pf_lasso_ista(G, c, N, gamma, 0.2, 2000, b0, b), 0);
    for (int j = 0; j < N; j++)
        ck_assert_double_le(fabs(b[j] - want[j]), TOL_LASSO);
    memset(b, 0, sizeof b);
    ck_assert_int_gt(pf_lasso_cd(G, c, N, gamma, 100, 1e-12, b), 0);
    for (int j = 0; j < N; j++)
        ck_assert_double_le(fabs(b[j] - want[j]), TOL_LASSO);
    ck_assert_int_eq(pf_lasso_nnz(want, N), 4);
    /* correlated design: both solvers satisfy the KKT conditions and agree */
    enum { M = 12 };
    double G2[M * M], c2[M], bi[M], bc[M] = {0}, z[M] = {0};
    random_problem(M, 200, 7, G2, c2);
    pf_lasso_cd(G2, c2, M, 0.05, 10000, 1e-13, bc);
    pf_lasso_ista(G2, c2, M, 0.05, 0.3, 20000, z, bi);
    ck_assert_double_le(kkt(G2, c2, M, 0.05, bc), TOL_LASSO);
    ck_assert_double_le(kkt(G2, c2, M, 0.05, bi), TOL_LASSO);
    for (int j = 0; j < M; j++)
        ck_assert_double_le(fabs(bi[j] - bc[j]), 1e-5);
}
END_TEST

START_TEST(test_gamma_search_exact)
{
    enum { N = 32 };
    double G[N * N], c[N];
    random_problem(N, 400, 3, G, c);
    uint8_t keep[N];
    for (int k = 1; k <= N; k += 3) {
        struct pf_lasso_search s;
        ck_assert_int_eq(pf_lasso_ista_select(G, c, N, k, 1e-2, 100, 11, keep, &s), 0);
        int n = 0;
        for (int j = 0; j < N; j++)
            n += keep[j];
        ck_assert_msg(n == k, "ISTA search kept %d, wanted %d", n, k);
        ck_assert_int_ge(s.trials, 1);
        ck_assert_int_eq(pf_lasso_cd_select(G, c, N, k, 0, keep, &s), 0);
        n = 0;
        for (int j = 0; j < N; j++)
            n += keep[j];
        ck_assert_msg(n == k, "CD search kept %d, wanted %d", n, k);
    }
    /* with PocketFlow's settings most targets are hit by bisection itself, not by ranking */
    struct pf_lasso_search s;
    ck_assert_int_eq(pf_lasso_ista_select(G, c, N, 16, 1e-2, 100, 11, keep, &s), 0);
    ck_assert_int_eq(s.ranked, 0);
    ck_assert_int_eq(s.nnz_found, 16);
    ck_assert_int_eq(pf_lasso_ista_select(G, c, N, 0, 1e-2, 100, 11, keep, &s), -PF_EINVAL);
    ck_assert_int_eq(pf_lasso_cd_select(G, c, N, N + 1, 0, keep, &s), -PF_EINVAL);
}
END_TEST

/* Solves A x = b (n x n, one column at a time) by Gaussian elimination with partial pivoting. */
static void gauss(double *A, double *b, int n)
{
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(A[i * n + k]) > fabs(A[p * n + k]))
                p = i;
        for (int j = 0; j < n; j++) {
            double t = A[k * n + j];
            A[k * n + j] = A[p * n + j];
            A[p * n + j] = t;
        }
        double t = b[k];
        b[k] = b[p];
        b[p] = t;
        for (int i = k + 1; i < n; i++) {
            double f = A[i * n + k] / A[k * n + k];
            for (int j = k; j < n; j++)
                A[i * n + j] -= f * A[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        for (int j = i + 1; j < n; j++)
            b[i] -= A[i * n + j] * b[j];
        b[i] /= A[i * n + i];
    }
}

START_TEST(test_lstsq)
{
    enum { R = 300, M = 10, K = 3 };
    struct pf_rng rng;
    pf_rng_seed(&rng, 5);
    static double X[R * M], Y[R * K], A[M * M], B[M * K], Xs[M * K];
    for (int i = 0; i < R * M; i++)
        X[i] = pf_rng_normal(&rng);
    for (int i = 0; i < R; i++)
        for (int k = 0; k < K; k++) {
            double s = 0.1 * pf_rng_normal(&rng);
            for (int j = 0; j < M; j++)
                s += X[i * M + j] * (j + 1) * (k + 1) * 0.1;
            Y[i * K + k] = s;
        }
    for (int a = 0; a < M; a++) {
        for (int b = 0; b < M; b++) {
            double s = 0.0;
            for (int i = 0; i < R; i++)
                s += X[i * M + a] * X[i * M + b];
            A[a * M + b] = s / R;
        }
        for (int k = 0; k < K; k++) {
            double s = 0.0;
            for (int i = 0; i < R; i++)
                s += X[i * M + a] * Y[i * K + k];
            B[a * K + k] = s / R;
        }
    }
    ck_assert_int_eq(pf_lstsq_solve(A, B, M, K, 1e-12, Xs), 0);
    for (int k = 0; k < K; k++) {
        double Ac[M * M], bc[M];
        memcpy(Ac, A, sizeof Ac);
        for (int j = 0; j < M; j++)
            bc[j] = B[j * K + k];
        gauss(Ac, bc, M);
        for (int j = 0; j < M; j++)
            ck_assert_msg(fabs(Xs[j * K + k] - bc[j]) <= TOL_LSTSQ * (1.0 + fabs(bc[j])),
                          "x[%d][%d] = %.12g, normal equations %.12g", j, k, Xs[j * K + k], bc[j]);
    }
    /* the error formula agrees with the residual computed directly */
    double yy = 0.0, direct = 0.0, W[K * M];
    for (int i = 0; i < R * K; i++)
        yy += Y[i] * Y[i] / R;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < M; j++)
            W[k * M + j] = Xs[j * K + k];
    for (int i = 0; i < R; i++)
        for (int k = 0; k < K; k++) {
            double p = -Y[i * K + k];
            for (int j = 0; j < M; j++)
                p += X[i * M + j] * W[k * M + j];
            direct += p * p / R;
        }
    double e = pf_lstsq_error(A, B, yy, M, K, W);
    ck_assert_double_le(fabs(e - direct), 1e-9 * (1.0 + direct));
    /* PocketFlow's Adam approaches the same minimum */
    double Wa[K * M] = {0};
    ck_assert_int_eq(pf_lstsq_adam(A, B, M, K, 0.0, 1e-2, 5000, Wa), 0);
    ck_assert_double_le(pf_lstsq_error(A, B, yy, M, K, Wa), e * 1.01 + 1e-6);
}
END_TEST

/* ---- on a model ---- */

static char dir[64];
static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

static struct pf_run *split_run(const char *learner, const char *model)
{
    struct pf_run *r = pf_test_run(learner, model);
    ck_assert_int_eq(
        pf_dataset_split(r->train, 200, &r->train_idx, &r->n_train, &r->val_idx, &r->n_val), 0);
    return r;
}

static float *logits_of(struct pf_model *m, const float *x, int n)
{
    ck_assert_int_eq(pf_model_set_batch(m, n), 0);
    ck_assert_int_eq(pf_model_forward(m, x, n, false), 0);
    float *out = malloc((size_t)n * m->classes * sizeof *out);
    ck_assert_ptr_nonnull(out);
    memcpy(out, pf_model_logits(m), (size_t)n * m->classes * sizeof *out);
    return out;
}

START_TEST(test_pruned_equals_zeroed)
{
    struct pf_run *r = split_run("chn-pruned-rmt", "assets/nets/lenet5_fmnist.yaml");
    pf_model_free(r->model);
    ck_assert_int_eq(pf_model_from_yaml(pf_test_bn_yaml, strlen(pf_test_bn_yaml), "bn", &r->model),
                     0);
    pf_model_init_params(r->model, 3);
    /* BN statistics away from the identity, so a wrong channel shows */
    for (int i = 0; i < r->model->n_layers; i++)
        for (int j = 0; j < r->model->layers[i].n_params; j++) {
            struct pf_param *p = &r->model->layers[i].params[j];
            if (!strcmp(p->name, "running_var") || !strcmp(p->name, "gamma"))
                pf_test_fill(pf_tensor_f32(&p->w), pf_tensor_numel(&p->w), 0.5f, 1.5f, 9 + i);
            else if (strcmp(p->name, "weight"))
                pf_test_fill(pf_tensor_f32(&p->w), pf_tensor_numel(&p->w), -0.3f, 0.3f, 19 + i);
        }
    struct pf_plan plan = {0};
    ck_assert_int_eq(pf_chanprune_plan(r, 0.5, false, false, NULL, 1, &plan), 0);
    struct pf_chanprune cp;
    ck_assert_msg(pf_chanprune_init(&cp, r, &plan, 64) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(cp.n_order, 2); /* conv2's and conv3's inputs (conv1 reads the image) */
    enum { NB = 16 };
    float *x = malloc((size_t)NB * 784 * sizeof *x);
    ck_assert_int_eq(pf_dataset_batch(r->train, r->train_idx, NB, x, NULL, false, NULL), 0);
    struct pf_cp_sample_cfg sc = {.nb_smpls = 64, .crops = 4, .lasso_rows = -1.0};
    struct pf_cp_lstsq_cfg lc = {.ridge = 1e-6, .refit = true};
    for (int i = 0; i < cp.n_order; i++) {
        int gi = cp.order[i];
        struct pf_cp_stats s;
        ck_assert_msg(pf_chanprune_sample(&cp, gi, &sc, &s) == 0, "%s", pf_err_msg());
        uint8_t keep[64] = {0};
        for (int j = 0; j < s.C; j++)
            keep[j] = (j * 7 + i) % 3 != 0; /* an irregular pattern */
        ck_assert_int_eq(pf_chanprune_refit(&cp, &s, keep, &lc), 0);
        ck_assert(s.units[0].err_fit <= s.units[0].err_sel + 1e-9);
        /* the full-size model with the channels zeroed, next to the pruned one */
        struct pf_model *zeroed = NULL;
        ck_assert_int_eq(pf_model_clone(r->model, &zeroed), 0);
        struct pf_count c0;
        pf_model_count(r->model, &c0);
        ck_assert_int_eq(pf_chanprune_apply(&cp, &s, keep, pf_now_s()), 0);
        struct pf_count c1;
        pf_model_count(r->model, &c1);
        ck_assert(c1.params < c0.params && c1.macs < c0.macs);
        float *a = logits_of(r->model, x, NB), *b = logits_of(zeroed, x, NB);
        double rel = pf_test_max_rel(a, b, (size_t)NB * 10, 1e-3);
        ck_assert_msg(rel <= TOL_PRUNED, "group %d: pruned vs zeroed max rel diff %g", gi, rel);
        free(a);
        free(b);
        pf_model_free(zeroed);
        pf_cp_stats_free(&s);
    }
    /* the tensors really shrank: conv2 reads 8 -> 5 channels, conv3 16 -> 11 */
    struct pf_param *w2 =
        pf_layer_param(&r->model->layers[pf_model_find(r->model, "conv2")], "weight");
    struct pf_param *w3 =
        pf_layer_param(&r->model->layers[pf_model_find(r->model, "conv3")], "weight");
    ck_assert_int_eq(w2->w.shape[1], 5);
    ck_assert_int_eq(w2->w.shape[0], 11);
    ck_assert_int_eq(w3->w.shape[1], 11);
    long sz = pf_test_save_load_same(r->model, dir, "pruned.h5");
    ck_assert_int_gt(sz, 0);
    free(x);
    pf_chanprune_deinit(&cp);
    pf_plan_deinit(&plan);
    pf_run_free(r);
}
END_TEST

Suite *chanprune_suite(void);
Suite *chanprune_suite(void)
{
    Suite *s = suite_create("chanprune");
    TCase *tc = tcase_create("solvers");
    tcase_add_test(tc, test_lasso_known);
    tcase_add_test(tc, test_gamma_search_exact);
    tcase_add_test(tc, test_lstsq);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pruned_equals_zeroed);
    suite_add_tcase(s, tc);
    return s;
}
