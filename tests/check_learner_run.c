/* check_learner_run.c: option tables (validation, presets), the event queue, and a whole run
 * of the full-prec learner: run directory, metrics, manifest, cancellation from another thread. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_status.h"
#include "learners/learner.h"

static const struct pf_opt_spec test_opts[] = {
    {"cpr_prune_ratio", PF_OPT_FLOAT, "0.5", 0.0, 0.99, NULL, "fraction removed"},
    {"cpr_nb_smpls", PF_OPT_INT, "5000", 1, 100000, NULL, "samples"},
    {"cpr_warm_start", PF_OPT_BOOL, "True", 0, 0, NULL, "warm start"},
    {"cp_prune_option", PF_OPT_ENUM, "auto", 0, 0, "uniform|list|auto", "mode"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

START_TEST(test_opts_validate)
{
    struct pf_opts o;
    const struct pf_opt_spec *tables[] = {pf_run_common_opts, test_opts, NULL};
    ck_assert_int_eq(pf_opts_init(&o, tables), 0);
    ck_assert_double_eq_tol(pf_opts_float(&o, "cpr_prune_ratio"), 0.5, 1e-12);
    ck_assert(pf_opts_bool(&o, "cpr_warm_start"));
    ck_assert_int_eq(pf_opts_set(&o, "cpr_prune_ratio", "0.25", "--cpr_prune_ratio"), 0);
    ck_assert_double_eq_tol(pf_opts_float(&o, "cpr_prune_ratio"), 0.25, 1e-12);
    ck_assert_int_eq(pf_opts_set(&o, "cpr_prune_ratio", "1.5", "--x"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "outside 0..0.99"));
    ck_assert_double_eq_tol(pf_opts_float(&o, "cpr_prune_ratio"), 0.25, 1e-12); /* unchanged */
    ck_assert_int_eq(pf_opts_set(&o, "cpr_nb_smpls", "12.5", "--x"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&o, "cpr_warm_start", "maybe", "--x"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&o, "cp_prune_option", "list", "--x"), 0);
    ck_assert_str_eq(pf_opts_str(&o, "cp_prune_option"), "list");
    ck_assert_int_eq(pf_opts_set(&o, "cp_prune_option", "lis", "--x"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "uniform|list|auto"));
    ck_assert_int_eq(pf_opts_set(&o, "nope", "1", "--nope"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&o, "nb_epochs_rat", "0.1", "--x"), 0);
    ck_assert_double_eq_tol(pf_opts_float(&o, "nb_epochs_rat"), 0.1, 1e-12);
    /* presets: keys with or without the learner prefix, positions in errors */
    const char *y = "prune_ratio: 0.3\ncpr_nb_smpls: 100\nwarm_start: false\n";
    struct pf_cfg *c = NULL;
    ck_assert_int_eq(pf_cfg_parse(y, strlen(y), "p.yaml", &c), 0);
    ck_assert_int_eq(pf_opts_set_cfg(&o, c, "cpr_"), 0);
    ck_assert_double_eq_tol(pf_opts_float(&o, "cpr_prune_ratio"), 0.3, 1e-12);
    ck_assert_int_eq(pf_opts_int(&o, "cpr_nb_smpls"), 100);
    ck_assert(!pf_opts_bool(&o, "cpr_warm_start"));
    pf_cfg_free(c);
    y = "nb_smpls: 0\n";
    ck_assert_int_eq(pf_cfg_parse(y, strlen(y), "p.yaml", &c), 0);
    ck_assert_int_eq(pf_opts_set_cfg(&o, c, "cpr_"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "p.yaml:1:11"));
    pf_cfg_free(c);
    pf_opts_deinit(&o);
}
END_TEST

START_TEST(test_event_queue)
{
    static struct pf_event_queue q;
    pf_evq_init(&q);
    struct pf_event e = {.kind = PF_EV_LOG};
    snprintf(e.text, sizeof e.text, "first log");
    pf_evq_push(&q, &e);
    for (int i = 0; i < PF_EVQ_CAP + 10; i++) {
        struct pf_event m = {.kind = PF_EV_METRIC, .step = i};
        pf_evq_push(&q, &m);
    }
    /* full: metrics were dropped, oldest first; the log survived */
    ck_assert_int_eq(q.len, PF_EVQ_CAP);
    ck_assert_int_eq(q.dropped, 11);
    struct pf_event out[8];
    ck_assert_int_eq(pf_evq_pop(&q, out, 2), 2);
    ck_assert_int_eq(out[0].kind, PF_EV_LOG);
    ck_assert_str_eq(out[0].text, "first log");
    ck_assert_int_eq(out[1].step, 11);
    pf_evq_deinit(&q);
}
END_TEST

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* rm -rf of a run root made by mkdtemp: one level of run directories of plain files */
static void remove_tree(const char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static struct pf_run *synthetic_run(const char *root)
{
    struct pf_run *r = NULL;
    ck_assert_msg(pf_run_new(&r, "full-prec", "assets/nets/lenet5_fmnist.yaml", "synthetic") == 0,
                  "%s", pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "200", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "32", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "lrn_rate_init", "0.1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "summ_step", "5", "t"), 0);
    ck_assert_int_eq(pf_run_open_dir(r, root), 0);
    return r;
}

START_TEST(test_full_prec_run)
{
    char root[] = "/tmp/pf_runs_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    struct pf_run *r = synthetic_run(root);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "3", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(atomic_load(&r->status), PF_RUN_FINISHED);
    ck_assert_msg(r->final_accuracy > 0.8, "accuracy %.3f", r->final_accuracy);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.yaml", r->dir);
    char *m = read_file(path);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(strstr(m, "status: finished"));
    ck_assert_ptr_nonnull(strstr(m, "learner: full-prec"));
    ck_assert_ptr_nonnull(strstr(m, "batch_size: \"32\""));
    snprintf(path, sizeof path, "%s/metrics.csv", r->dir);
    m = read_file(path);
    ck_assert_ptr_nonnull(strstr(m, "step,name,value\n5,loss,"));
    ck_assert_ptr_nonnull(strstr(m, ",test_acc,"));
    snprintf(path, sizeof path, "%s/model.h5", r->dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    pf_run_free(r);
    remove_tree(root);
}
END_TEST

static void cancel_on_first_metric(const struct pf_event *e, void *user)
{
    struct pf_run *r = user;
    if (e->kind == PF_EV_METRIC && !strcmp(e->name, "loss"))
        pf_run_cancel(r);
}

START_TEST(test_cancel_keeps_model)
{
    char root[] = "/tmp/pf_runs_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    struct pf_run *r = synthetic_run(root);
    static struct pf_event_queue q;
    pf_evq_init(&q);
    r->queue = &q;
    r->on_event = cancel_on_first_metric;
    r->user = r;
    ck_assert_int_eq(pf_run_start(r), 0);
    ck_assert_int_eq(pf_run_join(r), -PF_ECANCELLED);
    ck_assert_int_eq(atomic_load(&r->status), PF_RUN_CANCELLED);
    /* the last event says so, and the model of the last finished step was written */
    struct pf_event ev[64], last = {0};
    int n;
    while ((n = pf_evq_pop(&q, ev, 64)) > 0)
        last = ev[n - 1];
    ck_assert_int_eq(last.kind, PF_EV_FAILED);
    ck_assert_ptr_nonnull(strstr(last.text, "cancelled"));
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.yaml", r->dir);
    ck_assert_ptr_nonnull(strstr(read_file(path), "status: cancelled"));
    snprintf(path, sizeof path, "%s/model.h5", r->dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    pf_run_free(r);
    pf_evq_deinit(&q);
    remove_tree(root);
}
END_TEST

START_TEST(test_bad_runs)
{
    struct pf_run *r = NULL;
    ck_assert_int_eq(
        pf_run_new(&r, "no-such-learner", "assets/nets/lenet5_fmnist.yaml", "synthetic"),
        -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "full-prec"));
    ck_assert_int_lt(pf_run_new(&r, "full-prec", "/nonexistent.h5", "synthetic"), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "/nonexistent.h5"));
    ck_assert_int_lt(pf_run_new(&r, "full-prec", "assets/nets/lenet5_fmnist.yaml", "mnist:/nope"),
                     0);
    ck_assert_ptr_null(r);
}
END_TEST

Suite *learner_run_suite(void);
Suite *learner_run_suite(void)
{
    Suite *s = suite_create("learner_run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_opts_validate);
    tcase_add_test(tc, test_event_queue);
    tcase_add_test(tc, test_full_prec_run);
    tcase_add_test(tc, test_cancel_keeps_model);
    tcase_add_test(tc, test_bad_runs);
    suite_add_tcase(s, tc);
    return s;
}
