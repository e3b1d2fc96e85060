/* check_cp_residual.c: CP's residual correction of reconstruction targets at adds
 * (learners/common/chanprune, PocketFlow's residual_branch_diff). On a small residual net
 * (conv -> bn -> relu -> conv -> bn -> add, with a conv + bn shortcut) whose shortcut has been
 * pruned first: the sampled statistics equal sums over the corrected target computed here by
 * plain forward passes, (add input sum of the full model - shortcut of the model being pruned
 * - bn shift) / bn scale - conv bias; without the correction they equal the plain target; the
 * refit on corrected targets reconstructs the add's output better than the plain one; the
 * walk to the add is recognised on ResNet-20 (second conv and projection of each block only);
 * and the `channel` learner turns it on. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/dataset.h"
#include "helpers/pf_test.h"
#include "helpers/pf_test_compress.h"
#include "learners/common/chanprune.h"

#define N_SMPL   64   /* sampled images */
#define TOL_STAT 1e-5 /* float Gram sums vs the test's double sums, relative to the largest */
#define BN2_EPS  0.5  /* not the default: the correction must read the layer's own eps */

/* conv2 and proj see their whole 4x4 input: one output position, so every sampled image gives
 * exactly one row and the test knows the rows without the sampler's random positions. */
static const char res_yaml[] =
    "name: res\n"
    "input: [1, 12, 12]\n"
    "classes: 10\n"
    "layers:\n"
    "  - {name: conv0, type: conv2d, filters: 4, kernel: 3, stride: 3}\n"
    "  - {name: bn0, type: batchnorm, act: relu}\n"
    "  - {name: conv1, type: conv2d, filters: 4, kernel: 3, pad: same}\n"
    "  - {name: bn1, type: batchnorm, act: relu}\n"
    "  - {name: conv2, type: conv2d, filters: 6, kernel: 4}\n"
    "  - {name: bn2, type: batchnorm, eps: 0.5}\n"
    "  - {name: proj, type: conv2d, inputs: [bn0], filters: 6, kernel: 4}\n"
    "  - {name: bnp, type: batchnorm}\n"
    "  - {name: add, type: add, inputs: [bn2, bnp], act: relu}\n"
    "  - {name: flat, type: flatten}\n"
    "  - {name: fc, type: dense, units: 10}\n";

static int idx(const struct pf_model *m, const char *name)
{
    int i = pf_model_find(m, name);
    ck_assert_msg(i >= 0, "no layer %s", name);
    return i;
}

static const float *param(const struct pf_model *m, const char *layer, const char *name)
{
    struct pf_param *p = pf_layer_param(&m->layers[idx(m, layer)], name);
    ck_assert_ptr_nonnull(p);
    return pf_tensor_f32(&p->w);
}

/* A run on the synthetic 12x12 set holding the residual net with batchnorm statistics, biases
 * and scales away from the identity (a misplaced scale, shift or bias shows). */
static struct pf_run *res_run(const char *learner)
{
    struct pf_run *r = NULL;
    ck_assert_msg(
        pf_run_new(&r, learner, "assets/nets/lenet5_fmnist.yaml", "synthetic:1x12x12:300") == 0,
        "%s", pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "32", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "50", "t"), 0);
    pf_model_free(r->model);
    r->model = NULL;
    ck_assert_int_eq(pf_model_from_yaml(res_yaml, strlen(res_yaml), "res", &r->model), 0);
    pf_model_init_params(r->model, 7);
    for (int i = 0; i < r->model->n_layers; i++)
        for (int j = 0; j < r->model->layers[i].n_params; j++) {
            struct pf_param *p = &r->model->layers[i].params[j];
            if (!strcmp(p->name, "running_var") || !strcmp(p->name, "gamma"))
                pf_test_fill(pf_tensor_f32(&p->w), pf_tensor_numel(&p->w), 0.5f, 1.5f, 30 + i);
            else if (strcmp(p->name, "weight"))
                pf_test_fill(pf_tensor_f32(&p->w), pf_tensor_numel(&p->w), -0.3f, 0.3f, 50 + i);
        }
    return r;
}

/* Plain forward passes of m over the sampled images; returns the outputs of `layer`
 * ((n, numel) floats, caller frees). */
static float *outputs(struct pf_model *m, const struct pf_dataset *d, const uint32_t *ids, int n,
                      const char *layer)
{
    int li = idx(m, layer);
    size_t per = pf_shape_numel(m->layers[li].out), in = pf_shape_numel(m->input);
    float *x = malloc((size_t)n * in * sizeof *x), *out = malloc((size_t)n * per * sizeof *out);
    ck_assert(x && out);
    ck_assert_int_eq(pf_dataset_batch(d, ids, n, x, NULL, false, NULL), 0);
    ck_assert_int_eq(pf_model_set_batch(m, n), 0);
    ck_assert_int_eq(pf_model_forward(m, x, n, false), 0);
    memcpy(out, m->y[li], (size_t)n * per * sizeof *out);
    free(x);
    return out;
}

/* Prunes the shortcut's group (conv0's outputs: read by conv1 and proj) so that the shortcut
 * of the model carries an error, and returns the set-up pruner positioned at conv2's group. */
static void prune_shortcut_first(struct pf_run *r, struct pf_chanprune *cp, struct pf_plan *plan)
{
    ck_assert_int_eq(
        pf_dataset_split(r->train, 50, &r->train_idx, &r->n_train, &r->val_idx, &r->n_val), 0);
    ck_assert_int_eq(pf_chanprune_plan(r, 0.5, false, false, NULL, 1, plan), 0);
    ck_assert_msg(pf_chanprune_init(cp, r, plan, N_SMPL) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(cp->n_order, 2); /* bn0's group (conv1, proj), then bn1's (conv2) */
    struct pf_cp_sample_cfg sc = {.nb_smpls = N_SMPL, .crops = 1, .residual_correct = true};
    struct pf_cp_lstsq_cfg lc = {.ridge = 1e-6, .refit = true};
    struct pf_cp_stats s;
    ck_assert_msg(pf_chanprune_sample(cp, cp->order[0], &sc, &s) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(s.n_units, 2);
    for (int u = 0; u < 2; u++) {
        const char *name = r->model->layers[s.units[u].layer].name;
        /* proj -> bnp -> add is a branch's last layer; conv1 -> bn1 (relu) is not */
        ck_assert_int_eq(s.units[u].res_add, strcmp(name, "proj") ? -1 : idx(r->model, "add"));
    }
    uint8_t keep[4] = {1, 0, 0, 1};
    ck_assert_int_eq(pf_chanprune_refit(cp, &s, keep, &lc), 0);
    ck_assert_int_eq(pf_chanprune_apply(cp, &s, keep, pf_now_s()), 0);
    pf_cp_stats_free(&s);
}

START_TEST(test_corrected_targets)
{
    struct pf_run *r = res_run("channel");
    struct pf_plan plan = {0};
    struct pf_chanprune cp;
    prune_shortcut_first(r, &cp, &plan);
    struct pf_model *m = r->model, *f = cp.full;
    int gi = cp.order[1];
    struct pf_cp_sample_cfg sc = {.nb_smpls = N_SMPL, .crops = 1};
    struct pf_cp_stats plain, corr;
    ck_assert_int_eq(pf_chanprune_sample(&cp, gi, &sc, &plain), 0);
    sc.residual_correct = true;
    ck_assert_int_eq(pf_chanprune_sample(&cp, gi, &sc, &corr), 0);
    ck_assert_int_eq(plain.units[0].res_add, -1);
    ck_assert_int_eq(corr.units[0].res_add, idx(m, "add"));
    ck_assert_int_eq(corr.units[0].rows, N_SMPL);
    ck_assert_int_eq(corr.units[0].K, 6);
    ck_assert_int_eq(corr.units[0].m, 64);

    /* the test's own targets from forward passes over the sampled images */
    int n = cp.n_smpl, K = 6, M = 64;
    float *x = outputs(m, r->train, cp.smpl, n, "bn1");      /* conv2's input: its whole row */
    float *sc_now = outputs(m, r->train, cp.smpl, n, "bnp"); /* shortcut of the pruned model */
    float *b2_full = outputs(f, r->train, cp.smpl, n, "bn2");
    float *sc_full = outputs(f, r->train, cp.smpl, n, "bnp");
    const float *gamma = param(m, "bn2", "gamma"), *beta = param(m, "bn2", "beta");
    const float *mean = param(m, "bn2", "running_mean"), *var = param(m, "bn2", "running_var");
    const float *bias = param(m, "conv2", "bias");
    double *T = malloc((size_t)n * K * sizeof *T), *Y = malloc((size_t)n * K * sizeof *Y);
    ck_assert(T && Y);
    double shortcut_err = 0.0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            double a = gamma[k] / sqrt((double)var[k] + BN2_EPS), shift = beta[k] - a * mean[k];
            double A_full = (double)b2_full[i * K + k] + sc_full[i * K + k];
            /* what conv2 must output (without its bias) for the add to match the full model */
            T[i * K + k] = (A_full - sc_now[i * K + k] - shift) / a - bias[k];
            /* the plain target: the full model's conv2 output without bias */
            Y[i * K + k] = ((double)b2_full[i * K + k] - shift) / a - bias[k];
            shortcut_err += fabs((double)sc_full[i * K + k] - sc_now[i * K + k]);
        }
    ck_assert_msg(shortcut_err / (n * K) > 1e-2, "the shortcut carries no error (%g)",
                  shortcut_err / (n * K));
    /* the statistics: Bxy = sum x t' / N, yy = sum |t|^2 / N, A = sum x x' / N */
    const struct pf_cp_stats *st[2] = {&corr, &plain};
    const double *tg[2] = {T, Y};
    for (int v = 0; v < 2; v++) {
        const struct pf_cp_unit *u = &st[v]->units[0];
        double bmax = 0.0, bdiff = 0.0, yy = 0.0, amax = 0.0, adiff = 0.0;
        for (int j = 0; j < M; j++)
            for (int k = 0; k < K; k++) {
                double b = 0.0;
                for (int i = 0; i < n; i++)
                    b += (double)x[i * M + j] * tg[v][i * K + k];
                b /= n;
                bmax = fmax(bmax, fabs(b));
                bdiff = fmax(bdiff, fabs(b - u->Bxy[j * K + k]));
            }
        for (int i = 0; i < n * K; i++)
            yy += tg[v][i] * tg[v][i] / n;
        for (int j = 0; j < M; j++)
            for (int l = 0; l < M; l++) {
                double a = 0.0;
                for (int i = 0; i < n; i++)
                    a += (double)x[i * M + j] * x[i * M + l];
                a /= n;
                amax = fmax(amax, fabs(a));
                adiff = fmax(adiff, fabs(a - u->A[j * M + l]));
            }
        ck_assert_msg(bdiff <= TOL_STAT * bmax, "%s: Bxy off by %g (largest %g)",
                      v ? "plain" : "corrected", bdiff, bmax);
        ck_assert_msg(fabs(yy - u->yy) <= TOL_STAT * yy, "%s: yy %.9g, test %.9g",
                      v ? "plain" : "corrected", u->yy, yy);
        ck_assert_double_le(adiff, TOL_STAT * amax);
    }
    /* and the correction is not a rounding error: the two differ well beyond the tolerance */
    double dmax = 0.0, bref = 0.0;
    for (int i = 0; i < M * K; i++) {
        dmax = fmax(dmax, fabs(corr.units[0].Bxy[i] - plain.units[0].Bxy[i]));
        bref = fmax(bref, fabs(plain.units[0].Bxy[i]));
    }
    ck_assert_msg(dmax > 100 * TOL_STAT * bref, "correction moved Bxy by %g only", dmax);
    free(T);
    free(Y);
    free(x);
    free(sc_now);
    free(b2_full);
    free(sc_full);
    pf_cp_stats_free(&plain);
    pf_cp_stats_free(&corr);
    pf_chanprune_deinit(&cp);
    pf_plan_deinit(&plan);
    pf_run_free(r);
}
END_TEST

/* Relative error of the add's input sum (its output before the relu) of m against f over the
 * sampled images. */
static double add_error(struct pf_model *m, struct pf_model *f, const struct pf_dataset *d,
                        const uint32_t *ids, int n)
{
    float *a2 = outputs(m, d, ids, n, "bn2"), *ap = outputs(m, d, ids, n, "bnp");
    float *f2 = outputs(f, d, ids, n, "bn2"), *fp = outputs(f, d, ids, n, "bnp");
    double e = 0.0, ref = 0.0;
    for (int i = 0; i < n * 6; i++) {
        double full = (double)f2[i] + fp[i], now = (double)a2[i] + ap[i];
        e += (now - full) * (now - full);
        ref += full * full;
    }
    free(a2);
    free(ap);
    free(f2);
    free(fp);
    return e / ref;
}

START_TEST(test_add_error_lower)
{
    struct pf_run *r = res_run("channel");
    struct pf_plan plan = {0};
    struct pf_chanprune cp;
    prune_shortcut_first(r, &cp, &plan);
    int gi = cp.order[1];
    struct pf_param *w = pf_layer_param(&r->model->layers[idx(r->model, "conv2")], "weight");
    size_t nw = pf_tensor_numel(&w->w);
    float *w0 = malloc(nw * sizeof *w0);
    ck_assert_ptr_nonnull(w0);
    memcpy(w0, pf_tensor_f32(&w->w), nw * sizeof *w0);
    double before = add_error(r->model, cp.full, r->train, cp.smpl, cp.n_smpl);
    uint8_t keep[4] = {0, 1, 1, 0};
    struct pf_cp_lstsq_cfg lc = {.ridge = 1e-9, .refit = true};
    double err[2];
    for (int v = 0; v < 2; v++) {
        memcpy(pf_tensor_f32(&w->w), w0, nw * sizeof *w0);
        struct pf_cp_sample_cfg sc = {.nb_smpls = N_SMPL, .crops = 1, .residual_correct = v};
        struct pf_cp_stats s;
        ck_assert_int_eq(pf_chanprune_sample(&cp, gi, &sc, &s), 0);
        /* refit writes conv2's kernel with the dropped input slices zeroed: the pruned model */
        ck_assert_int_eq(pf_chanprune_refit(&cp, &s, keep, &lc), 0);
        err[v] = add_error(r->model, cp.full, r->train, cp.smpl, cp.n_smpl);
        pf_cp_stats_free(&s);
    }
    /* on the sample the corrected fit is the least-squares optimum of the add's error itself */
    ck_assert_msg(err[1] < err[0], "add error: corrected %g, plain %g (before conv2: %g)", err[1],
                  err[0], before);
    ck_assert_msg(err[1] < before, "add error: corrected %g, before conv2 was pruned %g", err[1],
                  before);
    free(w0);
    pf_chanprune_deinit(&cp);
    pf_plan_deinit(&plan);
    pf_run_free(r);
}
END_TEST

START_TEST(test_resnet_walk)
{
    struct pf_run *r = NULL;
    ck_assert_msg(
        pf_run_new(&r, "channel", "assets/nets/resnet20_fmnist.yaml", "synthetic:1x28x28:64") == 0,
        "%s", pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "8", "t"), 0);
    ck_assert_int_eq(
        pf_dataset_split(r->train, 8, &r->train_idx, &r->n_train, &r->val_idx, &r->n_val), 0);
    struct pf_plan plan = {0};
    struct pf_chanprune cp;
    ck_assert_int_eq(pf_chanprune_plan(r, 0.5, false, false, NULL, 1, &plan), 0);
    ck_assert_msg(pf_chanprune_init(&cp, r, &plan, 8) == 0, "%s", pf_err_msg());
    struct pf_cp_sample_cfg sc = {.nb_smpls = 8, .crops = 1, .residual_correct = true};
    int n_corrected = 0, n_units = 0;
    for (int i = 0; i < cp.n_order; i++) {
        struct pf_cp_stats s;
        ck_assert_int_eq(pf_chanprune_sample(&cp, cp.order[i], &sc, &s), 0);
        for (int u = 0; u < s.n_units; u++) {
            const char *name = r->model->layers[s.units[u].layer].name;
            size_t len = strlen(name);
            /* sXbY_conv2 -> sXbY_bn2 -> sXbY_add and sXb1_proj -> sXb1_projbn -> sXb1_add */
            bool last = (len > 5 && !strcmp(name + len - 5, "conv2")) ||
                        (len > 4 && !strcmp(name + len - 4, "proj"));
            n_units++;
            if (!last) {
                ck_assert_msg(s.units[u].res_add == -1, "%s: corrected at %d", name,
                              s.units[u].res_add);
                continue;
            }
            n_corrected++;
            ck_assert_int_ge(s.units[u].res_add, 0);
            char want[64];
            snprintf(want, sizeof want, "%.*s_add", (int)(strchr(name, '_') - name), name);
            ck_assert_str_eq(r->model->layers[s.units[u].res_add].name, want);
        }
        pf_cp_stats_free(&s);
    }
    ck_assert_int_ge(n_corrected, 9); /* every block's conv2 */
    ck_assert_int_gt(n_units, n_corrected);
    pf_chanprune_deinit(&cp);
    pf_plan_deinit(&plan);
    pf_run_free(r);
}
END_TEST

struct seen {
    char conv2[200];
};

static void on_event(const struct pf_event *e, void *user)
{
    struct seen *s = user;
    if (e->kind == PF_EV_LAYER_DONE && !strcmp(e->name, "conv2"))
        snprintf(s->conv2, sizeof s->conv2, "%s", e->text);
}

START_TEST(test_channel_learner_corrects)
{
    struct pf_run *r = res_run("channel");
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_nb_batches", "2", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_uniform_preserve_ratio", "0.5", "t"), 0);
    struct seen s = {{0}};
    r->on_event = on_event;
    r->user = &s;
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_msg(strstr(s.conv2, "targets at add") != NULL, "conv2: '%s'", s.conv2);
    pf_run_free(r);
}
END_TEST

Suite *cp_residual_suite(void);
Suite *cp_residual_suite(void)
{
    Suite *s = suite_create("cp_residual");
    TCase *tc = tcase_create("targets");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_corrected_targets);
    tcase_add_test(tc, test_add_error_lower);
    tcase_add_test(tc, test_resnet_walk);
    tcase_add_test(tc, test_channel_learner_corrects);
    suite_add_tcase(s, tc);
    return s;
}
