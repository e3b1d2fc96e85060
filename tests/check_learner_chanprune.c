/* check_learner_chanprune.c: the channel-pruning learners (chn-pruned-rmt, channel,
 * chn-pruned-gpu) on small models and the synthetic set: the planned channels leave the model
 * (smaller tensors, smaller file, same predictions after save + load), per-layer events and kept
 * MACs are reported, a plan with round_to sets the counts, pruning ResNet-20 keeps every add's
 * inputs the same width and the model runs, and bad options fail with clear messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/core/pf_status.h"
#include "helpers/pf_test_compress.h"

static char dir[64];
static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

struct seen {
    int layer_done, kept_macs;
    double last_kept;
};

static void on_event(const struct pf_event *e, void *user)
{
    struct seen *s = user;
    if (e->kind == PF_EV_LAYER_DONE)
        s->layer_done++;
    if (e->kind == PF_EV_METRIC && !strcmp(e->name, "kept_macs")) {
        s->kept_macs++;
        s->last_kept = e->value;
    }
}

static int in_channels(const struct pf_model *m, const char *layer)
{
    int i = pf_model_find(m, layer);
    ck_assert_int_ge(i, 0);
    return m->layers[i].in[0].c;
}

static struct pf_run *fast_run(const char *learner, const char *model)
{
    struct pf_run *r = pf_test_run(learner, model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    return r;
}

static long file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

START_TEST(test_cpr_removes_channels)
{
    const char *model = pf_test_trained(dir, "bn", pf_test_bn_yaml, 1);
    char full[512];
    snprintf(full, sizeof full, "%s", model);
    struct pf_run *r = fast_run("chn-pruned-rmt", full);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0.3", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_nb_smpls", "200", "t"), 0);
    struct seen s = {0};
    r->on_event = on_event;
    r->user = &s;
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    /* conv1 reads the image; conv2 and conv3 lose half their inputs (conv1's and conv2's
     * filters, and bn1 / bn2 with them) */
    ck_assert_int_eq(in_channels(r->model, "conv2"), 4);
    ck_assert_int_eq(in_channels(r->model, "conv3"), 8);
    ck_assert_int_eq(in_channels(r->model, "fc"), 16);
    ck_assert_int_eq(s.layer_done, 2);
    ck_assert_int_ge(s.kept_macs, 3); /* per layer, at the end, and during fine-tuning */
    ck_assert(s.last_kept > 0.2 && s.last_kept < 0.6);
    long small = pf_test_save_load_same(r->model, dir, "cpr.h5");
    ck_assert_int_lt(small, file_size(full));
    ck_assert_msg(r->final_accuracy > 0.3, "accuracy %.3f", r->final_accuracy);
    pf_run_free(r);
}
END_TEST

START_TEST(test_cp_cpg_and_plan)
{
    /* channel (LASSO by coordinate descent) with uniform preserve 0.5 */
    struct pf_run *r = fast_run("channel", "assets/nets/lenet5_fmnist.yaml");
    pf_model_free(r->model);
    ck_assert_int_eq(pf_model_from_yaml(pf_test_bn_yaml, strlen(pf_test_bn_yaml), "bn", &r->model),
                     0);
    pf_model_init_params(r->model, 1);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_uniform_preserve_ratio", "0.5", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_nb_batches", "4", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(in_channels(r->model, "conv2"), 4);
    ck_assert_int_eq(in_channels(r->model, "conv3"), 16); /* CP never prunes the last conv */
    pf_run_free(r);
    /* chn-pruned-gpu driven by a plan with round_to: conv3 keeps round(16 x 0.7) = 11 -> 12 */
    char path[128];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("round_to: 4\nlayers:\n  conv3: {prune_ratio: 0.3}\n", f);
    fclose(f);
    char nd[128];
    snprintf(nd, sizeof nd, "%s/bn.yaml", dir);
    f = fopen(nd, "w");
    fputs(pf_test_bn_yaml, f);
    fclose(f);
    r = fast_run("chn-pruned-gpu", nd);
    ck_assert_int_eq(pf_opts_set(&r->opts, "plan", path, "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpg_nb_smpls", "100", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpg_nb_iters_layer", "50", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(in_channels(r->model, "conv2"), 8);
    ck_assert_int_eq(in_channels(r->model, "conv3"), 12);
    pf_test_save_load_same(r->model, dir, "cpg.h5");
    pf_run_free(r);
}
END_TEST

START_TEST(test_resnet20)
{
    /* a small synthetic set (200 training, 50 test images) keeps ResNet-20's evaluations short */
    struct pf_run *r = NULL;
    ck_assert_msg(pf_run_new(&r, "chn-pruned-rmt", "assets/nets/resnet20_fmnist.yaml",
                             "synthetic:1x28x28:200") == 0,
                  "%s", pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "16", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_nb_smpls", "16", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_nb_crops_per_smpl", "4", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "32", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_prune_ratio", "0.25", "t"), 0);
    struct pf_count c0, c1;
    pf_model_count(r->model, &c0);
    struct seen s = {0};
    r->on_event = on_event;
    r->user = &s;
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    struct pf_model *m = r->model;
    pf_model_count(m, &c1);
    ck_assert(c1.macs < c0.macs);
    ck_assert_int_gt(s.layer_done, 10);
    int adds = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const struct pf_layer *l = &m->layers[i];
        if (strcmp(l->ops->name, "add"))
            continue;
        adds++;
        ck_assert_msg(l->in[0].c == l->in[1].c && l->out.c == l->in[0].c,
                      "%s: inputs %d and %d channels", l->name, l->in[0].c, l->in[1].c);
    }
    ck_assert_int_eq(adds, 9);
    ck_assert_int_eq(in_channels(m, "s1b1_conv2"), 12); /* 16 x 0.75 */
    float x[2 * 784] = {0};
    for (int i = 0; i < 2 * 784; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    ck_assert_int_eq(pf_model_set_batch(m, 2), 0);
    ck_assert_int_eq(pf_model_forward(m, x, 2, false), 0);
    pf_test_save_load_same(m, dir, "resnet.h5");
    pf_run_free(r);
}
END_TEST

START_TEST(test_bad_options)
{
    struct pf_run *r = fast_run("chn-pruned-rmt", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_prune_ratio", "1.5", "--cpr_prune_ratio"),
                     -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "cpr_prune_ratio = 1.5 is outside"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_nb_smpls", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_nb_crops_per_smpl", "-1", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_ista_lrn_rate", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_lstsq_solver", "qr", "t"), -PF_EINVAL);
    /* a ratio that leaves no channel of conv2's 6 inputs */
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_prune_ratio", "0.95", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_msg(strstr(pf_err_msg(), "leaves 0 of its 6 input channels"), "%s", pf_err_msg());
    pf_run_free(r);
    r = fast_run("chn-pruned-rmt", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_warm_start", "True", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "cpr_save_path_ws"));
    pf_run_free(r);
    r = fast_run("channel", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_uniform_preserve_ratio", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_nb_iters_ft_ratio", "2", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_prune_option", "rl", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_prune_option", "auto", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL); /* lenet5: both convs are skipped */
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "no channel group to prune"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_prune_option", "list", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "cp_prune_list_file"));
    pf_run_free(r);
    r = fast_run("chn-pruned-gpu", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpg_lrn_rate_pgd_decr", "1.5", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpg_nb_iters_layer", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpg_prune_ratio_type", "list", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "cpg_prune_ratio_file"));
    pf_run_free(r);
}
END_TEST

Suite *learner_chanprune_suite(void);
Suite *learner_chanprune_suite(void)
{
    Suite *s = suite_create("learner_chanprune");
    TCase *tc = tcase_create("chanprune");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cpr_removes_channels);
    tcase_add_test(tc, test_cp_cpg_and_plan);
    tcase_add_test(tc, test_resnet20);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
