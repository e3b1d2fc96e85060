/* check_learner_weight_sparse.c: the weight-sparse learner on a small trained model and the
 * synthetic set: every layer reaches its target sparsity (within 1%) at the end of the ramp, the
 * reported sparsity never goes down, pruned weights are exactly zero at every reported step and
 * at the end, the masks round-trip through the model file with identical predictions, the heurist
 * protocol and a plan set per-layer values, and bad options fail clearly. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/io/model_h5.h"
#include "engine/model/plan.h"
#include "helpers/pf_test_compress.h"
#include "learners/common/masks.h"

#define TOL_SPARSITY 0.01 /* the "within 1%" */

static char dir[64];

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

struct watch {
    struct pf_run *r;
    double last_sparsity;
    int n_sparsity, lowered, nonzero_pruned;
};

/* Runs inside training, on every event: checks the masks hold at each reported step. */
static void on_event(const struct pf_event *e, void *user)
{
    struct watch *w = user;
    if (e->kind != PF_EV_METRIC || strcmp(e->name, "sparsity"))
        return;
    if (e->value + 1e-12 < w->last_sparsity)
        w->lowered++;
    w->last_sparsity = e->value;
    w->n_sparsity++;
    struct pf_model *m = w->r->model;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            const struct pf_param *p = &m->layers[i].params[j];
            const float *v = pf_tensor_f32(&p->w);
            for (size_t k = 0; p->mask && k < pf_tensor_numel(&p->w); k++)
                w->nonzero_pruned += !p->mask[k] && v[k] != 0.0f;
        }
}

static void check_layers(struct pf_model *m, double target)
{
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_param *p = pf_layer_param(&m->layers[i], "weight");
        if (!p)
            continue;
        ck_assert_ptr_nonnull(p->mask);
        size_t n = pf_tensor_numel(&p->w);
        double s = pf_zero_fraction(pf_tensor_f32(&p->w), n);
        if (target >= 0.0)
            ck_assert_msg(fabs(s - target) <= TOL_SPARSITY, "%s: sparsity %.4f, target %.4f",
                          m->layers[i].name, s, target);
        for (size_t k = 0; k < n; k++)
            ck_assert(p->mask[k] || pf_tensor_f32(&p->w)[k] == 0.0f);
    }
}

START_TEST(test_reaches_target)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 2);
    struct pf_run *r = pf_test_run("weight-sparse", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "2", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio", "0.9", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_mask_update_step", "5", "t"), 0);
    struct watch w = {.r = r};
    r->on_event = on_event;
    r->user = &w;
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_int_gt(w.n_sparsity, 5);
    ck_assert_int_eq(w.lowered, 0);
    ck_assert_int_eq(w.nonzero_pruned, 0);
    ck_assert_double_le(fabs(w.last_sparsity - 0.9), TOL_SPARSITY);
    check_layers(r->model, 0.9);
    ck_assert_msg(r->final_accuracy > 0.5, "accuracy %.3f", r->final_accuracy);
    pf_test_save_load_same(r->model, dir, "sparse.h5");
    pf_run_free(r);
}
END_TEST

START_TEST(test_one_shot_and_heurist)
{
    /* nb_epochs 0: no fine-tune, the masks go straight to the target */
    struct pf_run *r = pf_test_run("weight-sparse", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio", "0.5", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    check_layers(r->model, 0.5);
    pf_run_free(r);
    /* heurist: bigger layers pruned more, weighted mean at the target */
    r = pf_test_run("weight-sparse", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio_prtl", "heurist", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    check_layers(r->model, -1.0);
    double zeros = 0.0, all = 0.0, s_conv1 = 0.0, s_fc3 = 0.0;
    for (int i = 0; i < r->model->n_layers; i++) {
        struct pf_param *p = pf_layer_param(&r->model->layers[i], "weight");
        if (!p)
            continue;
        size_t n = pf_tensor_numel(&p->w);
        double s = pf_zero_fraction(pf_tensor_f32(&p->w), n);
        zeros += s * (double)n;
        all += (double)n;
        if (!strcmp(r->model->layers[i].name, "conv1"))
            s_conv1 = s;
        if (!strcmp(r->model->layers[i].name, "fc3"))
            s_fc3 = s;
    }
    ck_assert_double_le(fabs(zeros / all - 0.75), TOL_SPARSITY);
    ck_assert(s_fc3 > s_conv1);
    pf_run_free(r);
    /* PocketFlow's restart from random weights, as an option: the kept weights are new ones */
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 1);
    struct pf_model *m0 = NULL;
    ck_assert_int_eq(pf_model_load(model, &m0, NULL, 0), 0);
    r = pf_test_run("weight-sparse", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_enbl_rand_init", "True", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    struct pf_param *a = pf_layer_param(&m0->layers[4], "weight");
    struct pf_param *b = pf_layer_param(&r->model->layers[4], "weight");
    int same = 0;
    for (size_t k = 0; k < pf_tensor_numel(&a->w); k++)
        same += b->mask[k] && pf_tensor_f32(&a->w)[k] == pf_tensor_f32(&b->w)[k];
    ck_assert_int_eq(same, 0);
    pf_model_free(m0);
    pf_run_free(r);
}
END_TEST

START_TEST(test_plan_drives)
{
    char path[128];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("layers:\n  conv2: {sparsity: 0.6}\n  fc3: {sparsity: 0.95}\n", f);
    fclose(f);
    struct pf_run *r = pf_test_run("weight-sparse", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "plan", path, "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    const char *names[] = {"conv1", "conv2", "fc3", "fc5"};
    const double want[] = {0.0, 0.6, 0.95, 0.0};
    for (int k = 0; k < 4; k++) {
        struct pf_param *p =
            pf_layer_param(&r->model->layers[pf_model_find(r->model, names[k])], "weight");
        double s = pf_zero_fraction(pf_tensor_f32(&p->w), pf_tensor_numel(&p->w));
        ck_assert_msg(fabs(s - want[k]) <= TOL_SPARSITY, "%s: %.4f", names[k], s);
    }
    pf_run_free(r);
}
END_TEST

START_TEST(test_bad_options)
{
    struct pf_run *r = pf_test_run("weight-sparse", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio", "1.5", "--ws_prune_ratio"),
                     -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "ws_prune_ratio = 1.5 is outside"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio", "-0.1", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "ws_prune_ratio = 1 is outside [0, 1)"));
    pf_run_free(r);
    r = pf_test_run("weight-sparse", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio_prtl", "optimal", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "0", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL); /* its rewards need a validation split */
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "validation split"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio_prtl", "best", "t"), -PF_EINVAL);
    pf_run_free(r);
}
END_TEST

Suite *learner_weight_sparse_suite(void);
Suite *learner_weight_sparse_suite(void)
{
    Suite *s = suite_create("learner_weight_sparse");
    TCase *tc = tcase_create("ws");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reaches_target);
    tcase_add_test(tc, test_one_shot_and_heurist);
    tcase_add_test(tc, test_plan_drives);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
