/* check_tui_learner.c: the Learner screen's keys without a terminal: the learner list, the
 * option form built from the option tables (edit, validation, enum / bool cycling, defaults,
 * find), presets written and read back, and a real run started with r (a tiny full-prec run on
 * synthetic data) whose events reach the monitor. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers/tui_test.h"

static struct pf_learner_view *open_form(struct pf_app *app)
{
    pf_tui_test_type(app, "2");
    struct pf_learner_view *v = pf_tui_test_top(app, &pf_screen_learner);
    pf_tui_test_key(app, '\t');
    ck_assert(v->form);
    return v;
}

/* Finds an option with the / prompt, as a user does. */
static void find(struct pf_app *app, const char *key)
{
    pf_tui_test_type(app, "/");
    pf_tui_test_top(app, &pf_screen_prompt);
    pf_tui_test_type(app, key);
    pf_tui_test_type(app, "\n");
    pf_tui_test_top(app, &pf_screen_learner);
}

START_TEST(test_edit_value)
{
    struct pf_app *app = pf_tui_test_app();
    struct pf_learner_view *v = open_form(app);
    find(app, "nb_epochs_rat");
    int row = pf_tui_test_opt(app, "nb_epochs_rat");
    ck_assert_int_eq(v->fsel, row);
    pf_tui_test_type(app, "\n");
    ck_assert(v->editing);
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "0.25\n");
    ck_assert(!v->editing);
    ck_assert_str_eq(pf_opts_text(&app->opts, row), "0.25");
    /* digits and q belong to the field while editing: no screen switch, no quit */
    pf_tui_test_type(app, "\n");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "13q");
    ck_assert(!app->quit);
    pf_tui_test_top(app, &pf_screen_learner);
    ck_assert_str_eq(v->edit, "13q");
    /* an invalid value is refused and the field stays open */
    pf_tui_test_type(app, "\n");
    ck_assert(v->editing);
    ck_assert_int_eq(app->msg_level, PF_MSG_ERROR);
    ck_assert_str_eq(pf_opts_text(&app->opts, row), "0.25");
    /* Esc cancels */
    pf_tui_test_key(app, PF_KEY_ESC);
    ck_assert(!v->editing);
    ck_assert_str_eq(pf_opts_text(&app->opts, row), "0.25");
    /* out of range */
    pf_tui_test_type(app, "\n");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "1000000\n");
    ck_assert(v->editing);
    pf_tui_test_key(app, PF_KEY_ESC);
    /* d restores the default */
    pf_tui_test_type(app, "d");
    ck_assert_str_eq(pf_opts_text(&app->opts, row), pf_opts_row(&app->opts, row)->def);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_enum_and_bool)
{
    struct pf_app *app = pf_tui_test_app();
    open_form(app);
    find(app, "lrn_rate_dcy");
    int row = pf_tui_test_opt(app, "lrn_rate_dcy");
    char before[64];
    snprintf(before, sizeof before, "%s", pf_opts_text(&app->opts, row));
    pf_tui_test_key(app, KEY_RIGHT);
    ck_assert_str_ne(pf_opts_text(&app->opts, row), before);
    pf_tui_test_key(app, KEY_LEFT);
    ck_assert_str_eq(pf_opts_text(&app->opts, row), before);
    find(app, "enbl_augment");
    row = pf_tui_test_opt(app, "enbl_augment");
    pf_tui_test_type(app, " ");
    ck_assert_str_eq(pf_opts_text(&app->opts, row), "False");
    pf_tui_test_type(app, " ");
    ck_assert_str_eq(pf_opts_text(&app->opts, row), "True");
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_learner_list)
{
    struct pf_app *app = pf_tui_test_app();
    struct pf_learner_view *v = open_form(app);
    find(app, "nb_epochs_rat");
    pf_tui_test_type(app, "\n");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "0.5\n");
    pf_tui_test_key(app, '\t');
    ck_assert(!v->form);
    ck_assert_ptr_eq(app->learner, pf_learners[0]);
    pf_tui_test_type(app, "j");
    if (pf_learners_len > 1) {
        ck_assert_int_eq(v->lsel, 1);
        ck_assert_ptr_eq(app->learner, pf_learners[1]);
        /* the common options keep what was typed */
        ck_assert_str_eq(pf_opts_str(&app->opts, "nb_epochs_rat"), "0.5");
    }
    pf_tui_test_type(app, "kkkk");
    ck_assert_int_eq(v->lsel, 0);
    ck_assert_ptr_eq(app->learner, pf_learners[0]);
    /* help from here lists the learner screen's keys first */
    pf_tui_test_type(app, "?");
    struct pf_help_view *h = pf_tui_test_top(app, &pf_screen_help);
    ck_assert(strstr(h->lines[3], "Learner") != NULL);
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_learner);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_preset_roundtrip)
{
    struct pf_app *app = pf_tui_test_app();
    open_form(app);
    char path[1200];
    snprintf(path, sizeof path, "%s.preset.yaml", app->runs_root);
    find(app, "batch_size");
    pf_tui_test_type(app, "\n");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "64\n");
    pf_tui_test_type(app, "W");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, path);
    pf_tui_test_type(app, "\n");
    ck_assert_int_eq(access(path, R_OK), 0);
    pf_tui_test_type(app, "d");
    ck_assert_str_eq(pf_opts_str(&app->opts, "batch_size"), "128");
    pf_tui_test_type(app, "L");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, path);
    pf_tui_test_type(app, "\n");
    pf_tui_test_top(app, &pf_screen_learner);
    ck_assert_str_eq(pf_opts_str(&app->opts, "batch_size"), "64");
    remove(path);
    pf_tui_test_free(app);
}
END_TEST

static void set_opt(struct pf_app *app, const char *key, const char *val)
{
    find(app, key);
    pf_tui_test_type(app, "\n");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, val);
    pf_tui_test_type(app, "\n");
    ck_assert_str_eq(pf_opts_str(&app->opts, key), val);
}

START_TEST(test_run_reaches_monitor)
{
    struct pf_app *app = pf_tui_test_app();
    snprintf(app->dataset, sizeof app->dataset, "synthetic:1x28x28:256");
    open_form(app);
    set_opt(app, "nb_epochs", "1");
    set_opt(app, "nb_epochs_rat", "1");
    set_opt(app, "batch_size", "32");
    set_opt(app, "summ_step", "1");
    set_opt(app, "nb_smpls_val", "0");
    /* a plan edit on the model screen travels with the run as its plan file */
    pf_tui_test_type(app, "1jj+2r");
    pf_tui_test_top(app, &pf_screen_monitor);
    ck_assert(app->mon.run_id > 0);
    time_t t0 = time(NULL);
    while (pf_app_run_active(app) && time(NULL) - t0 < 120) {
        usleep(20000);
        pf_app_tick(app);
    }
    ck_assert(!pf_app_run_active(app));
    ck_assert_int_eq(app->mon.status, PF_RUN_FINISHED);
    const struct pf_series *loss = pf_app_series(app, "loss");
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_ge(loss->n, 4);
    ck_assert_double_eq_tol(app->mon.fraction, 1.0, 1e-9);
    ck_assert_int_gt(app->mon.log_n, 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.yaml", app->mon.dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/plan.yaml", app->mon.dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    /* o opens the result model */
    pf_tui_test_type(app, "o");
    pf_tui_test_top(app, &pf_screen_model);
    ck_assert(strstr(app->model_path, "model.h5") != NULL);
    pf_tui_test_free(app);
}
END_TEST

Suite *tui_learner_suite(void);
Suite *tui_learner_suite(void)
{
    Suite *s = suite_create("tui_learner");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_edit_value);
    tcase_add_test(tc, test_enum_and_bool);
    tcase_add_test(tc, test_learner_list);
    tcase_add_test(tc, test_preset_roundtrip);
    suite_add_tcase(s, tc);
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 300);
    tcase_add_test(run, test_run_reaches_monitor);
    suite_add_tcase(s, run);
    return s;
}
