/* check_learner_uniform_tf.c: the `uniform-tf` learner on a small conv + batch-norm model and the
 * synthetic set: batch norm is folded away, weights are int8 per channel and biases int32, the
 * int8 path's logits match the simulated (fake-quantized float) logits within a stated tolerance
 * and its accuracy within 0.01, the integer path is bit-identical on cpu and cpu_ref, saving and
 * loading the int8 model keeps both paths' outputs identical, and bad bit widths fail clearly. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "engine/model/groups.h"
#include "engine/model/int8.h"
#include "helpers/pf_test_compress.h"

/* int8 vs simulated logits: an activation may land one quantization step away where float
 * rounding differs at a requantization boundary, which moves a logit by a small fraction of the
 * logits' range; measured here: 2e-7 of it (no step differed), the bound leaves room for a few
 * flipped steps. */
#define TOL_INT8_LOGIT 0.01 /* max |int8 - sim| / max |sim| over the test set */
#define TOL_INT8_AGREE 0.99 /* fraction of test images with the same predicted class */
#define TOL_INT8_ACC   0.01 /* |int8 accuracy - simulated accuracy| */

static char dir[64];
static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

/* Simulated and int8 logits over the synthetic test images; caller frees both. */
static void both_logits(struct pf_model *m, struct pf_int8_net *n, float **sim, float **q8,
                        int *count)
{
    struct pf_dataset *d = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TEST, &d), 0);
    const int B = 50;
    float *x = malloc((size_t)B * 784 * sizeof *x);
    int y[50];
    uint32_t ids[50];
    *sim = malloc((size_t)d->n * 10 * sizeof **sim);
    *q8 = malloc((size_t)d->n * 10 * sizeof **q8);
    for (int s = 0; s < d->n; s += B) {
        int nb = d->n - s < B ? d->n - s : B;
        for (int i = 0; i < nb; i++)
            ids[i] = (uint32_t)(s + i);
        ck_assert_int_eq(pf_dataset_batch(d, ids, nb, x, y, false, NULL), 0);
        ck_assert_int_eq(pf_model_forward(m, x, nb, false), 0);
        memcpy(*sim + (size_t)s * 10, pf_model_logits(m), (size_t)nb * 10 * sizeof(float));
        ck_assert_msg(pf_int8_net_forward(n, x, nb, *q8 + (size_t)s * 10) == 0, "%s", pf_err_msg());
    }
    *count = d->n;
    free(x);
    pf_dataset_free(d);
}

static int argmax10(const float *v)
{
    int b = 0;
    for (int k = 1; k < 10; k++)
        b = v[k] > v[b] ? k : b;
    return b;
}

START_TEST(test_int8_matches_simulated)
{
    const char *model = pf_test_trained(dir, "bn", pf_test_bn_yaml, 3);
    struct pf_run *r = pf_test_run("uniform-tf", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "lrn_rate_init", "0.1", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    struct pf_model *m = r->model;
    for (int i = 0; i < m->n_layers; i++) {
        ck_assert_str_ne(m->layers[i].ops->name, "batchnorm");
        struct pf_param *w = pf_layer_param(&m->layers[i], "weight");
        struct pf_param *b = pf_layer_param(&m->layers[i], "bias");
        if (!w)
            continue;
        ck_assert(w->quant && w->quant->mode == PF_QMODE_AFFINE && w->quant->bits == 8);
        ck_assert_int_eq(w->quant->bucket, PF_QBUCKET_CHANNEL);
        ck_assert(b && b->quant && b->quant->bits == 32);
    }
    struct pf_int8_net *n = NULL;
    ck_assert_msg(pf_int8_net_new(m, &n) == 0, "%s", pf_err_msg());
    float *sim, *q8;
    int cnt;
    both_logits(m, n, &sim, &q8, &cnt);
    double maxabs = 0.0, maxdiff = 0.0;
    int agree = 0;
    for (int i = 0; i < cnt * 10; i++) {
        maxabs = fmax(maxabs, fabs(sim[i]));
        maxdiff = fmax(maxdiff, fabs(sim[i] - q8[i]));
    }
    for (int i = 0; i < cnt; i++)
        agree += argmax10(sim + i * 10) == argmax10(q8 + i * 10);
    ck_assert_msg(maxdiff <= TOL_INT8_LOGIT * maxabs, "int8 vs simulated: max diff %g, max %g",
                  maxdiff, maxabs);
    ck_assert_msg(agree >= TOL_INT8_AGREE * cnt, "same class on %d of %d", agree, cnt);
    struct pf_eval_result ri, rs;
    ck_assert_int_eq(pf_int8_net_evaluate(n, r->test, NULL, 0, 100, &ri, NULL), 0);
    ck_assert_int_eq(pf_run_evaluate(r, true, &rs), 0);
    ck_assert_msg(fabs(ri.accuracy - rs.accuracy) <= TOL_INT8_ACC, "int8 %.4f vs sim %.4f",
                  ri.accuracy, rs.accuracy);
    ck_assert_msg(rs.accuracy > 0.3, "accuracy %.3f", rs.accuracy);

    /* the oracle: the integer path on cpu_ref is bit-identical */
    ck_assert_int_eq(pf_backend_select("cpu_ref"), 0);
    struct pf_int8_net *nr = NULL;
    ck_assert_int_eq(pf_int8_net_new(m, &nr), 0);
    float *sim2, *q8r;
    both_logits(m, nr, &sim2, &q8r, &cnt);
    ck_assert_int_eq(pf_backend_select("cpu"), 0);
    ck_assert_mem_eq(q8, q8r, (size_t)cnt * 10 * sizeof(float));

    /* a pruned copy keeps its quantized weights (sliced, not re-quantized): its int8 network
     * is built and matches its own simulated quantization as closely as the whole model's */
    struct pf_model *pm = NULL;
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_model_clone(m, &pm), 0);
    ck_assert_int_eq(pf_groups_build(pm, &g), 0);
    int pruned = 0;
    for (int gi = 0; gi < g->n_groups; gi++) {
        int C = g->groups[gi].channels;
        uint8_t keep[64];
        if (g->groups[gi].fixed || C < 2 || C > 64)
            continue;
        ck_assert_int_eq(pf_group_l1_keep(pm, g, gi, C / 2, keep), 0);
        ck_assert_msg(pf_model_prune_group(pm, g, gi, keep) == 0, "%s", pf_err_msg());
        pruned++;
    }
    ck_assert_int_ge(pruned, 2);
    for (int i = 0; i < pm->n_layers; i++) {
        struct pf_param *w = pf_layer_param(&pm->layers[i], "weight");
        if (w)
            ck_assert_msg(w->quant && pf_qtensor_matches(w->quant, pf_tensor_f32(&w->w),
                                                         pf_tensor_numel(&w->w)),
                          "%s lost its quantized form", pm->layers[i].name);
    }
    struct pf_int8_net *np = NULL;
    ck_assert_msg(pf_int8_net_new(pm, &np) == 0, "%s", pf_err_msg());
    float *simp, *q8p;
    both_logits(pm, np, &simp, &q8p, &cnt);
    double pabs = 0.0, pdiff = 0.0;
    for (int i = 0; i < cnt * 10; i++) {
        pabs = fmax(pabs, fabs(simp[i]));
        pdiff = fmax(pdiff, fabs(simp[i] - q8p[i]));
    }
    ck_assert_msg(pdiff <= TOL_INT8_LOGIT * pabs, "pruned int8 vs simulated: max diff %g, max %g",
                  pdiff, pabs);
    free(simp);
    free(q8p);
    pf_int8_net_free(np);
    pf_groups_free(g);
    pf_model_free(pm);

    /* save / load: the simulated model and the int8 path both unchanged */
    pf_test_save_load_same(m, dir, "int8.h5");
    char path[128];
    snprintf(path, sizeof path, "%s/int8.h5", dir);
    struct pf_model *b = NULL;
    ck_assert_int_eq(pf_model_load(path, &b, NULL, 0), 0);
    struct pf_int8_net *nb = NULL;
    ck_assert_msg(pf_int8_net_new(b, &nb) == 0, "%s", pf_err_msg());
    float *sim3, *q8b;
    both_logits(b, nb, &sim3, &q8b, &cnt);
    ck_assert_mem_eq(q8, q8b, (size_t)cnt * 10 * sizeof(float));
    /* weights changed after quantization: no int8 network from a stale quantized form */
    struct pf_param *w0 = NULL;
    for (int i = 0; i < b->n_layers && !w0; i++)
        w0 = pf_layer_param(&b->layers[i], "weight");
    pf_tensor_f32(&w0->w)[0] += 0.5f;
    struct pf_int8_net *ns = NULL;
    ck_assert_int_lt(pf_int8_net_new(b, &ns), 0);
    ck_assert_ptr_null(ns);
    ck_assert_msg(strstr(pf_err_msg(), "changed after they were quantized"), "%s", pf_err_msg());
    free(sim);
    free(q8);
    free(sim2);
    free(q8r);
    free(sim3);
    free(q8b);
    pf_int8_net_free(nb);
    pf_int8_net_free(nr);
    pf_int8_net_free(n);
    pf_model_free(b);
    pf_run_free(r);
}
END_TEST

/* A dense layer reading a (C, H, W) conv output: the int8 path permutes its weights to its
 * channels-last activations; predictions must still match the simulated model. */
START_TEST(test_dense_on_spatial_input)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 1);
    struct pf_run *r = pf_test_run("uniform-tf", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    struct pf_int8_net *n = NULL;
    ck_assert_msg(pf_int8_net_new(r->model, &n) == 0, "%s", pf_err_msg());
    float *sim, *q8;
    int cnt;
    both_logits(r->model, n, &sim, &q8, &cnt);
    double maxabs = 0.0, maxdiff = 0.0;
    for (int i = 0; i < cnt * 10; i++) {
        maxabs = fmax(maxabs, fabs(sim[i]));
        maxdiff = fmax(maxdiff, fabs(sim[i] - q8[i]));
    }
    ck_assert_msg(maxdiff <= TOL_INT8_LOGIT * maxabs, "max diff %g, max %g", maxdiff, maxabs);
    free(sim);
    free(q8);
    pf_int8_net_free(n);
    pf_run_free(r);
}
END_TEST

START_TEST(test_freeze_delay_and_no_training)
{
    const char *model = pf_test_trained(dir, "bn", pf_test_bn_yaml, 2);
    /* live batch norm for 20 steps, then folded; quantization after 10 float steps */
    struct pf_run *r = pf_test_run("uniform-tf", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uqtf_freeze_bn_delay", "20", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uqtf_quant_delay", "10", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    struct pf_int8_net *n = NULL;
    ck_assert_msg(pf_int8_net_new(r->model, &n) == 0, "%s", pf_err_msg());
    pf_int8_net_free(n);
    pf_run_free(r);
    /* no training at all: ranges come from a calibration pass */
    r = pf_test_run("uniform-tf", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_msg(pf_int8_net_new(r->model, &n) == 0, "%s", pf_err_msg());
    pf_int8_net_free(n);
    pf_run_free(r);
}
END_TEST

START_TEST(test_bad_options)
{
    struct pf_run *r = pf_test_run("uniform-tf", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "uqtf_weight_bits", "16", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "uqtf_weight_bits = 16"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "uqtf_weight_bits", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uqtf_activation_bits", "33", "t"), -PF_EINVAL);
    pf_run_free(r);
    /* an int8 network needs an int8-ready model */
    struct pf_model *m = NULL;
    ck_assert_int_eq(pf_model_from_yaml(pf_test_bn_yaml, strlen(pf_test_bn_yaml), "bn", &m), 0);
    struct pf_int8_net *n = NULL;
    ck_assert_int_eq(pf_int8_net_new(m, &n), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "no activation quantization"));
    pf_model_free(m);
}
END_TEST

Suite *learner_uniform_tf_suite(void);
Suite *learner_uniform_tf_suite(void)
{
    Suite *s = suite_create("learner_uniform_tf");
    TCase *tc = tcase_create("uqtf");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_int8_matches_simulated);
    tcase_add_test(tc, test_dense_on_spatial_input);
    tcase_add_test(tc, test_freeze_delay_and_no_training);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
