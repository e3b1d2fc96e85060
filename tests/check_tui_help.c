/* check_tui_help.c: the help screen is generated from the key tables and the learners' option
 * tables, opens from any top-level screen with ? or F1, scrolls, and closes; modal screens keep
 * their own letters (? typed into a prompt is text). */
#include <check.h>
#include <string.h>

#include "helpers/tui_test.h"

static bool has_line(const struct pf_help_view *h, const char *needle)
{
    for (int i = 0; i < h->n; i++)
        if (strstr(h->lines[i], needle))
            return true;
    return false;
}

START_TEST(test_generated)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "?");
    struct pf_help_view *h = pf_tui_test_top(app, &pf_screen_help);
    ck_assert_int_gt(h->n, 40);
    /* a row of each screen's key table, the global keys, every learner and common option */
    ck_assert(has_line(h, "raise / lower the focused plan value"));
    ck_assert(has_line(h, "cancel the run"));
    ck_assert(has_line(h, "Pareto chart"));
    ck_assert(has_line(h, "quit (asks first"));
    for (size_t i = 0; i < pf_learners_len; i++)
        ck_assert(has_line(h, pf_learners[i]->name));
    ck_assert(has_line(h, "--nb_epochs_rat"));
    pf_tui_test_type(app, "jj");
    ck_assert_int_eq(h->top, 2);
    pf_tui_test_key(app, KEY_END);
    ck_assert_int_gt(h->top, 2);
    pf_tui_test_key(app, KEY_HOME);
    ck_assert_int_eq(h->top, 0);
    /* keys of other screens do nothing here */
    pf_tui_test_type(app, "2+");
    pf_tui_test_top(app, &pf_screen_help);
    pf_tui_test_key(app, PF_KEY_ESC);
    pf_tui_test_top(app, &pf_screen_model);
    pf_tui_test_key(app, KEY_F(1));
    pf_tui_test_top(app, &pf_screen_help);
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_model);
    ck_assert(!app->quit);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_prompt_keeps_letters)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "o");
    struct pf_prompt_view *p = pf_tui_test_top(app, &pf_screen_prompt);
    pf_tui_test_type(app, "?q1/");
    ck_assert_str_eq(p->text, "?q1/");
    ck_assert(!app->quit);
    pf_tui_test_key(app, KEY_LEFT);
    pf_tui_test_key(app, KEY_BACKSPACE);
    ck_assert_str_eq(p->text, "?q/");
    /* a model that does not exist: the prompt stays, with the error */
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "/nonexistent/model.h5\n");
    pf_tui_test_top(app, &pf_screen_prompt);
    ck_assert_int_eq(app->msg_level, PF_MSG_ERROR);
    /* a netdef opens: the model screen rebuilds its rows */
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "assets/nets/convnet_fmnist.yaml\n");
    struct pf_model_view *v = pf_tui_test_top(app, &pf_screen_model);
    ck_assert_int_eq(v->n_vis, app->model->n_layers);
    ck_assert_str_eq(app->model_path, "assets/nets/convnet_fmnist.yaml");
    pf_tui_test_free(app);
}
END_TEST

Suite *tui_help_suite(void);
Suite *tui_help_suite(void)
{
    Suite *s = suite_create("tui_help");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_generated);
    tcase_add_test(tc, test_prompt_keeps_letters);
    suite_add_tcase(s, tc);
    return s;
}
