/* check_tui_sensitivity.c: the Sensitivity screen without a terminal: the prunable channel
 * groups of the model as heatmap rows, cursor keys bounded by the grid, the list rebuilt when
 * another model is opened. (Computing the cells needs a dataset and seconds per cell: the
 * tmux test and `pocketflow sensitivity` cover it.) */
#include <check.h>

#include "helpers/tui_test.h"

START_TEST(test_grid_and_cursor)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "5");
    struct pf_sens_view *v = pf_tui_test_top(app, &pf_screen_sensitivity);
    /* fmnist_bn: the outputs of conv1..conv5 (fc's output is the logits, fixed) */
    ck_assert_int_eq(v->n_groups, 5);
    ck_assert(!v->running);
    for (int i = 0; i < v->n_groups * PF_SENS_RATIOS; i++)
        ck_assert_double_lt(v->acc[i], 0);
    pf_tui_test_type(app, "jjjjjjjj");
    ck_assert_int_eq(v->row, 4);
    pf_tui_test_type(app, "llllll");
    ck_assert_int_eq(v->col, PF_SENS_RATIOS - 1);
    pf_tui_test_type(app, "hk");
    ck_assert_int_eq(v->col, PF_SENS_RATIOS - 2);
    ck_assert_int_eq(v->row, 3);
    pf_tui_test_type(app, "x"); /* stop with nothing running is harmless */
    ck_assert(!v->running);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_model_change)
{
    struct pf_app *app = pf_tui_test_app();
    ck_assert_int_eq(pf_app_open_model(app, "assets/nets/lenet5_fmnist.yaml"), 0);
    pf_tui_test_type(app, "5");
    struct pf_sens_view *v = pf_tui_test_top(app, &pf_screen_sensitivity);
    int n = v->n_groups;
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(pf_app_open_model(app, PF_TUI_TEST_NET), 0);
    pf_app_tick(app);
    ck_assert_int_eq(v->n_groups, 5);
    pf_tui_test_free(app);
}
END_TEST

Suite *tui_sensitivity_suite(void);
Suite *tui_sensitivity_suite(void)
{
    Suite *s = suite_create("tui_sensitivity");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_grid_and_cursor);
    tcase_add_test(tc, test_model_change);
    suite_add_tcase(s, tc);
    return s;
}
