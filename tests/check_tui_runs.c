/* check_tui_runs.c: the Runs screen without a terminal: run directories read back from their
 * manifests, newest first; the Pareto frontier of accuracy against MACs (and size); cursor,
 * axis toggle and compare marking. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/tui_test.h"

static void fake_run(const char *root, const char *name, const char *status, double acc,
                     double macs, double params)
{
    char path[1300];
    mkdir(root, 0755);
    snprintf(path, sizeof path, "%s/%s", root, name);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/%s/manifest.yaml", root, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "format: pocketflow-run\nversion: 1\nlearner: full-prec\nstatus: %s\n"
            "seconds: 12.5\naccuracy: %f\nmacs: %.0f\nparams: %.0f\n",
            status, acc, macs, params);
    fclose(f);
}

START_TEST(test_list_and_frontier)
{
    struct pf_app *app = pf_tui_test_app();
    /* A: best accuracy, most MACs; B: dominated by A (same MACs, lower accuracy);
     * C: fewest MACs; D: failed (no accuracy) */
    fake_run(app->runs_root, "20250101-000001-full-prec", "finished", 0.90, 1000, 500);
    fake_run(app->runs_root, "20250101-000002-full-prec", "finished", 0.80, 1000, 100);
    fake_run(app->runs_root, "20250101-000003-full-prec", "cancelled", 0.70, 500, 400);
    fake_run(app->runs_root, "20250101-000004-full-prec", "failed", 0.0, 0, 0);
    pf_tui_test_type(app, "4");
    struct pf_runs_view *v = pf_tui_test_top(app, &pf_screen_runs);
    ck_assert_int_eq(v->n, 4);
    ck_assert_str_eq(v->recs[0].name, "20250101-000004-full-prec"); /* newest first */
    ck_assert_double_lt(v->recs[0].accuracy, 0);
    ck_assert(!v->frontier[0]);
    ck_assert(v->frontier[1]);  /* C */
    ck_assert(!v->frontier[2]); /* B */
    ck_assert(v->frontier[3]);  /* A */
    /* by size: B (100 params) joins the frontier, C (400) leaves it (A is 500) */
    pf_tui_test_type(app, "s");
    ck_assert(v->by_size);
    ck_assert(v->frontier[2]);
    ck_assert(!v->frontier[1]);
    ck_assert(v->frontier[3]);
    pf_tui_test_type(app, "jj");
    ck_assert_int_eq(v->cur, 2);
    pf_tui_test_type(app, "jjjjj");
    ck_assert_int_eq(v->cur, 3);
    /* c marks; c on the same run unmarks; without model files compare is refused */
    pf_tui_test_type(app, "c");
    ck_assert_int_eq(v->mark, 3);
    pf_tui_test_type(app, "kc");
    pf_tui_test_top(app, &pf_screen_runs);
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    /* Enter on a run without a model says so */
    pf_tui_test_type(app, "\n");
    pf_tui_test_top(app, &pf_screen_runs);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_empty_and_reload)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "4");
    struct pf_runs_view *v = pf_tui_test_top(app, &pf_screen_runs);
    ck_assert_int_eq(v->n, 0);
    pf_tui_test_type(app, "jk\n");
    fake_run(app->runs_root, "20250101-000001-full-prec", "finished", 0.9, 10, 10);
    pf_tui_test_type(app, "R");
    ck_assert_int_eq(v->n, 1);
    /* a finished run elsewhere makes the screen reread on its next tick */
    fake_run(app->runs_root, "20250101-000002-full-prec", "finished", 0.8, 5, 5);
    app->runs_changed = true;
    pf_app_tick(app);
    ck_assert_int_eq(v->n, 2);
    pf_tui_test_free(app);
}
END_TEST

Suite *tui_runs_suite(void);
Suite *tui_runs_suite(void)
{
    Suite *s = suite_create("tui_runs");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_list_and_frontier);
    tcase_add_test(tc, test_empty_and_reload);
    suite_add_tcase(s, tc);
    return s;
}
