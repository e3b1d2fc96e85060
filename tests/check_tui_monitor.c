/* check_tui_monitor.c: the Run screen and the event path without a terminal: events pushed
 * into the app's queue (as a run's worker does) become series, progress, log lines and the
 * layer-wise status; long series are thinned, not cut; the screen's keys (cancel without a
 * run, chart cycling, log scrolling, back). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "helpers/tui_test.h"

static void push(struct pf_app *app, enum pf_event_kind kind, long step, const char *name,
                 double value, const char *text)
{
    struct pf_event e = {.run_id = app->mon.run_id, .step = step, .kind = kind, .value = value};
    snprintf(e.name, sizeof e.name, "%s", name ? name : "");
    snprintf(e.text, sizeof e.text, "%s", text ? text : "");
    pf_evq_push(&app->evq, &e);
}

START_TEST(test_no_run)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "3");
    pf_tui_test_top(app, &pf_screen_monitor);
    pf_tui_test_type(app, "c");
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    ck_assert(strstr(app->msg, "no run") != NULL);
    pf_tui_test_type(app, "b");
    pf_tui_test_top(app, &pf_screen_model);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_events_to_series)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "3");
    struct pf_monitor_view *v = pf_tui_test_top(app, &pf_screen_monitor);
    app->mon.run_id = 42; /* as pf_app_start_run sets it */
    for (int s = 1; s <= 5; s++) {
        push(app, PF_EV_METRIC, s, "loss", 2.0 / s, NULL);
        push(app, PF_EV_METRIC, s, "accuracy", 0.1 * s, NULL);
    }
    push(app, PF_EV_PROGRESS, 5, "progress", 0.5, "fine-tune");
    push(app, PF_EV_LOG, 5, NULL, 0, "hello from the worker");
    push(app, PF_EV_LAYER_DONE, 5, "conv3", 0.0123, "kept 32 of 64");
    /* an event of another run is ignored */
    struct pf_event stale = {.run_id = 41, .kind = PF_EV_METRIC, .step = 1, .value = 9};
    snprintf(stale.name, sizeof stale.name, "stale");
    pf_evq_push(&app->evq, &stale);
    ck_assert(pf_app_poll(app));
    const struct pf_series *loss = pf_app_series(app, "loss");
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(loss->n, 5);
    ck_assert_double_eq_tol(loss->y[4], 0.4, 1e-12);
    ck_assert_ptr_null(pf_app_series(app, "stale"));
    ck_assert_double_eq_tol(app->mon.fraction, 0.5, 1e-12);
    ck_assert_str_eq(app->mon.phase, "fine-tune");
    ck_assert_int_eq(app->mon.step, 5);
    ck_assert_str_eq(app->mon.layer, "conv3");
    ck_assert_int_eq(app->mon.log_n, 2);
    ck_assert_str_eq(app->mon.log[0], "hello from the worker");
    /* Tab cycles the charts, j/k scroll the log */
    pf_tui_test_key(app, '\t');
    ck_assert_int_eq(v->first, 1);
    pf_tui_test_key(app, '\t');
    ck_assert_int_eq(v->first, 0);
    pf_tui_test_type(app, "k");
    ck_assert_int_eq(v->log_scroll, 1);
    pf_tui_test_type(app, "kkk");
    ck_assert_int_eq(v->log_scroll, 1);
    pf_tui_test_type(app, "jj");
    ck_assert_int_eq(v->log_scroll, 0);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_series_thinning)
{
    static struct pf_series s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 10 * PF_SERIES_CAP; i++)
        pf_series_add(&s, i, i * 0.5);
    ck_assert_int_le(s.n, PF_SERIES_CAP);
    ck_assert_int_ge(s.n, PF_SERIES_CAP / 2);
    ck_assert_double_eq(s.x[0], 0);
    /* the series still spans the whole run */
    ck_assert_double_ge(s.x[s.n - 1], 9 * PF_SERIES_CAP);
    for (int i = 1; i < s.n; i++)
        ck_assert_double_gt(s.x[i], s.x[i - 1]);
    ck_assert_double_eq(s.last, (10 * PF_SERIES_CAP - 1) * 0.5);
}
END_TEST

START_TEST(test_quit_asks_while_running)
{
    struct pf_app *app = pf_tui_test_app();
    snprintf(app->dataset, sizeof app->dataset, "synthetic:1x28x28:256");
    pf_tui_test_type(app, "2r");
    pf_tui_test_top(app, &pf_screen_monitor);
    ck_assert(pf_app_run_active(app));
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_prompt);
    ck_assert(!app->quit);
    pf_tui_test_type(app, "n");
    pf_tui_test_top(app, &pf_screen_monitor);
    ck_assert(pf_app_run_active(app));
    pf_tui_test_type(app, "c"); /* cancel: the run stops at its next step */
    pf_tui_test_type(app, "q");
    if (pf_app_run_active(app)) {
        pf_tui_test_type(app, "y");
    }
    ck_assert(app->quit);
    pf_tui_test_free(app); /* joins the worker */
}
END_TEST

Suite *tui_monitor_suite(void);
Suite *tui_monitor_suite(void)
{
    Suite *s = suite_create("tui_monitor");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_no_run);
    tcase_add_test(tc, test_events_to_series);
    tcase_add_test(tc, test_series_thinning);
    suite_add_tcase(s, tc);
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 300);
    tcase_add_test(run, test_quit_asks_while_running);
    suite_add_tcase(s, run);
    return s;
}
