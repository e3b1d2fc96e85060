/* check_learner_dcp.c: dis-chn-pruned (DCP) on the small BN net and the synthetic set: the
 * planned input channels leave the model (conv2 and conv3 halve, conv1 is never pruned), one
 * auxiliary head is trained (dcp_nb_stages 1: a head on bn2, the network's loss for conv3), the
 * per-layer events and kept MACs are reported, the pruned model runs and saves / loads back with
 * the same logits, and out-of-range options fail with clear messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int layer_done, kept_macs, head_loss;
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
    if (e->kind == PF_EV_METRIC && !strcmp(e->name, "dcp_head_loss"))
        s->head_loss++;
}

static int in_channels(const struct pf_model *m, const char *layer)
{
    int i = pf_model_find(m, layer);
    ck_assert_int_ge(i, 0);
    return m->layers[i].in[0].c;
}

START_TEST(test_dcp_removes_channels)
{
    const char *model = pf_test_trained(dir, "bn", pf_test_bn_yaml, 1);
    char full[512];
    snprintf(full, sizeof full, "%s", model);
    struct pf_run *r = pf_test_run("dis-chn-pruned", full);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0.2", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_stages", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_iters_block", "30", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_lrn_rate_adam", "1e-2", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_smpls", "100", "t"), 0);
    struct seen s = {0};
    r->on_event = on_event;
    r->user = &s;
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(in_channels(r->model, "conv1"), 1);
    ck_assert_int_eq(in_channels(r->model, "conv2"), 4);
    ck_assert_int_eq(in_channels(r->model, "conv3"), 8);
    ck_assert_int_eq(in_channels(r->model, "fc"), 16);
    ck_assert_int_eq(s.layer_done, 2);
    ck_assert_int_eq(s.head_loss, 1); /* one head (block 0); block 1 uses the network's loss */
    ck_assert_int_ge(s.kept_macs, 3);
    ck_assert(s.last_kept > 0.2 && s.last_kept < 0.6);
    pf_test_save_load_same(r->model, dir, "dcp.h5");
    ck_assert_msg(r->final_accuracy > 0.3, "accuracy %.3f", r->final_accuracy);
    pf_run_free(r);
}
END_TEST

START_TEST(test_dcp_bad_options)
{
    struct pf_run *r = pf_test_run("dis-chn-pruned", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_prune_ratio", "1.5", "t"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "dcp_prune_ratio = 1.5 is outside"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_stages", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_lrn_rate_adam", "0", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_iters_block", "-1", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_iters_layer", "-1", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_nb_smpls", "0", "t"), -PF_EINVAL);
    pf_run_free(r);
    /* a ratio that leaves no channel: conv2 of a net whose conv1 has 1 filter */
    static const char tiny[] =
        "name: tiny\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
        "  - {name: conv1, type: conv2d, filters: 1, kernel: 3, stride: 2, pad: same}\n"
        "  - {name: conv2, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
        "  - {name: gap, type: gap}\n"
        "  - {name: fc, type: dense, units: 10}\n";
    char nd[128];
    snprintf(nd, sizeof nd, "%s/tiny.yaml", dir);
    FILE *f = fopen(nd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(tiny, f);
    fclose(f);
    r = pf_test_run("dis-chn-pruned", nd);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "dcp_prune_ratio", "0.9", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_msg(strstr(pf_err_msg(), "leaves 0 of its 1 input channels"), "%s", pf_err_msg());
    pf_run_free(r);
}
END_TEST

Suite *learner_dcp_suite(void);
Suite *learner_dcp_suite(void)
{
    Suite *s = suite_create("learner_dcp");
    TCase *tc = tcase_create("dcp");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dcp_removes_channels);
    tcase_add_test(tc, test_dcp_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
