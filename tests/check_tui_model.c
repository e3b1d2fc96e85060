/* check_tui_model.c: the Model screen's keys, without a terminal: cursor movement, plan edits
 * and the profile's totals answering them, column switching, set-all, reset, MACs/FLOPs, the
 * filter prompt and the layer detail. The model is assets/nets/fmnist_bn.yaml:
 *   0 conv1  1 bn1  2 conv2  3 bn2  4 pool2  5 conv3  6 bn3  7 conv4  8 bn4  9 pool4
 *   10 conv5  11 bn5  12 gap  13 fc */
#include <check.h>
#include <string.h>

#include "helpers/tui_test.h"

START_TEST(test_starts_on_model)
{
    struct pf_app *app = pf_tui_test_app();
    struct pf_model_view *v = pf_tui_test_top(app, &pf_screen_model);
    ck_assert_int_eq(v->n_vis, 14);
    ck_assert_int_eq(v->cur, 0);
    ck_assert_int_eq(v->col, PF_COL_PRUNE);
    ck_assert_uint_eq(app->prof->after.macs, app->prof->before.macs);
    ck_assert_uint_gt(app->prof->before.macs, 0);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_move_and_clamp)
{
    struct pf_app *app = pf_tui_test_app();
    struct pf_model_view *v = pf_app_top(app)->state;
    pf_tui_test_type(app, "jj");
    ck_assert_int_eq(v->cur, 2);
    ck_assert_int_eq(app->sel_layer, 2);
    pf_tui_test_type(app, "kkkkk");
    ck_assert_int_eq(v->cur, 0);
    pf_tui_test_key(app, KEY_END);
    ck_assert_int_eq(v->cur, 13);
    pf_tui_test_type(app, "jjj");
    ck_assert_int_eq(v->cur, 13);
    pf_tui_test_key(app, KEY_HOME);
    ck_assert_int_eq(v->cur, 0);
    pf_tui_test_key(app, KEY_NPAGE);
    ck_assert_int_gt(v->cur, 0);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_prune_changes_totals)
{
    struct pf_app *app = pf_tui_test_app();
    uint64_t macs0 = app->prof->before.macs, params0 = app->prof->before.params;
    pf_tui_test_type(app, "jj+");
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, PF_RATIO_STEP, 1e-12);
    ck_assert_uint_lt(app->prof->after.macs, macs0);
    ck_assert_uint_lt(app->prof->after.params, params0);
    ck_assert_uint_eq(app->prof->before.macs, macs0);
    pf_tui_test_type(app, "++");
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, 3 * PF_RATIO_STEP, 1e-12);
    pf_tui_test_type(app, "---");
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, 0.0, 1e-12);
    ck_assert_uint_eq(app->prof->after.macs, macs0);
    /* left / right are - / + too */
    pf_tui_test_key(app, KEY_RIGHT);
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, PF_RATIO_STEP, 1e-12);
    pf_tui_test_key(app, KEY_LEFT);
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, 0.0, 1e-12);
    /* the ratio stops at its maximum */
    for (int i = 0; i < 40; i++)
        pf_tui_test_type(app, "+");
    ck_assert_double_le(app->plan.layers[2].prune_ratio, PF_RATIO_MAX + 1e-12);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_input_layer_not_prunable)
{
    struct pf_app *app = pf_tui_test_app();
    /* conv1 reads the network input: its input channels cannot be pruned */
    pf_tui_test_type(app, "+");
    ck_assert_double_eq(app->plan.layers[0].prune_ratio, 0.0);
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    ck_assert(app->msg[0] != 0);
    /* a batchnorm has no weights to prune */
    pf_tui_test_type(app, "j+");
    ck_assert_double_eq(app->plan.layers[1].prune_ratio, 0.0);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_columns)
{
    struct pf_app *app = pf_tui_test_app();
    struct pf_model_view *v = pf_app_top(app)->state;
    uint64_t bytes0 = app->prof->before.bytes;
    pf_tui_test_key(app, '\t');
    ck_assert_int_eq(v->col, PF_COL_SPARSITY);
    pf_tui_test_type(app, "jj+");
    ck_assert_double_eq_tol(app->plan.layers[2].sparsity, PF_RATIO_STEP, 1e-12);
    pf_tui_test_key(app, '\t');
    ck_assert_int_eq(v->col, PF_COL_WBITS);
    pf_tui_test_type(app, "--");
    ck_assert_int_eq(app->plan.layers[2].w_bits, 8);
    ck_assert_uint_lt(app->prof->after.bytes, bytes0);
    pf_tui_test_type(app, "+");
    ck_assert_int_eq(app->plan.layers[2].w_bits, 16);
    pf_tui_test_key(app, '\t');
    ck_assert_int_eq(v->col, PF_COL_ABITS);
    pf_tui_test_type(app, "j-"); /* bn2 takes activation bits */
    ck_assert_int_eq(app->plan.layers[3].a_bits, 16);
    pf_tui_test_key(app, '\t');
    ck_assert_int_eq(v->col, PF_COL_PRUNE);
    pf_tui_test_key(app, KEY_BTAB);
    ck_assert_int_eq(v->col, PF_COL_ABITS);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_set_all_and_reset)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "jj++u");
    static const int weighted[] = {2, 5, 7, 10, 13};
    for (size_t k = 0; k < sizeof weighted / sizeof weighted[0]; k++)
        ck_assert_double_eq_tol(app->plan.layers[weighted[k]].prune_ratio, 2 * PF_RATIO_STEP,
                                1e-12);
    ck_assert_double_eq(app->plan.layers[0].prune_ratio, 0.0); /* reads the input */
    ck_assert_double_eq(app->plan.layers[1].prune_ratio, 0.0); /* no weights */
    ck_assert_uint_lt(app->prof->after.macs, app->prof->before.macs);
    pf_tui_test_type(app, "0");
    for (int i = 0; i < app->plan.n_layers; i++)
        ck_assert_double_eq(app->plan.layers[i].prune_ratio, 0.0);
    ck_assert_uint_eq(app->prof->after.macs, app->prof->before.macs);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_flops_toggle)
{
    struct pf_app *app = pf_tui_test_app();
    ck_assert(!app->show_flops);
    pf_tui_test_type(app, "m");
    ck_assert(app->show_flops);
    pf_tui_test_type(app, "m");
    ck_assert(!app->show_flops);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_filter)
{
    struct pf_app *app = pf_tui_test_app();
    struct pf_model_view *v = pf_app_top(app)->state;
    pf_tui_test_type(app, "/");
    pf_tui_test_top(app, &pf_screen_prompt);
    pf_tui_test_type(app, "bn\n");
    ck_assert_ptr_eq(pf_app_top(app)->state, v);
    ck_assert_int_eq(v->n_vis, 5);
    ck_assert_str_eq(v->filter, "bn");
    ck_assert_str_eq(app->model->layers[v->vis[0]].name, "bn1");
    pf_tui_test_type(app, "j");
    ck_assert_int_eq(app->sel_layer, 3);
    /* by type, and an empty filter shows all again */
    pf_tui_test_type(app, "/");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "conv2d\n");
    ck_assert_int_eq(v->n_vis, 5);
    pf_tui_test_type(app, "/");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "\n");
    ck_assert_int_eq(v->n_vis, 14);
    /* Esc leaves the filter alone */
    pf_tui_test_type(app, "/x");
    pf_tui_test_key(app, PF_KEY_ESC);
    ck_assert_int_eq(v->n_vis, 14);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_layer_detail)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "jj\n");
    struct pf_layer_view *lv = pf_tui_test_top(app, &pf_screen_layer);
    ck_assert_int_eq(lv->layer, 2);
    ck_assert(lv->has_weights);
    ck_assert_int_eq(lv->n_ch, 32);
    pf_tui_test_type(app, "jjj");
    ck_assert_int_eq(lv->sel, 3);
    pf_tui_test_type(app, "n");
    ck_assert_int_eq(lv->layer, 5); /* the next layer with weights: conv3 */
    ck_assert_int_eq(lv->n_ch, 64);
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_model);
    ck_assert_int_eq(app->depth, 1);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_plan_save_load)
{
    struct pf_app *app = pf_tui_test_app();
    char path[1200];
    snprintf(path, sizeof path, "%s.plan.yaml", app->runs_root);
    pf_tui_test_type(app, "jj+++s");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, path);
    pf_tui_test_type(app, "\n0");
    ck_assert_double_eq(app->plan.layers[2].prune_ratio, 0.0);
    pf_tui_test_type(app, "p");
    pf_tui_test_type(app, path);
    pf_tui_test_type(app, "\n");
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, 3 * PF_RATIO_STEP, 1e-12);
    ck_assert_uint_lt(app->prof->after.macs, app->prof->before.macs);
    remove(path);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_global_keys)
{
    struct pf_app *app = pf_tui_test_app();
    pf_tui_test_type(app, "2");
    pf_tui_test_top(app, &pf_screen_learner);
    pf_tui_test_type(app, "1");
    pf_tui_test_top(app, &pf_screen_model);
    pf_tui_test_type(app, "q");
    ck_assert(app->quit);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_whole_blocks)
{
    /* conv2 reads conv1's 32 channels (the netdef): ratio 0.3 keeps lround(22.4) = 22, not whole
     * 16-channel blocks, so the edit warns; 0.5 keeps 16 and does not */
    struct pf_app *app = pf_tui_test_app();
    const struct pf_prof_row *conv2 = &app->prof->rows[2];
    int g = app->prof->rows[0].group_out;
    pf_tui_test_type(app, "jj++++++");
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, 0.3, 1e-12);
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    ck_assert_ptr_nonnull(strstr(app->msg, "conv2 keeps 22 of 32 inputs, which run like 32"));
    ck_assert(pf_profile_group_odd(app->prof, g));
    ck_assert_int_eq(pf_profile_n_odd(app->prof), 1);
    ck_assert_uint_eq(conv2->after.macs * 32, conv2->before.macs * 22);
    /* b rounds to whole blocks: 22 -> 16 */
    pf_tui_test_type(app, "b");
    ck_assert_int_eq(app->plan.round_to, 16);
    ck_assert_uint_eq(conv2->after.macs * 32, conv2->before.macs * 16);
    ck_assert_int_eq(pf_profile_n_odd(app->prof), 0);
    ck_assert_ptr_nonnull(strstr(app->msg, "round_to 16: whole 16-channel blocks"));
    /* and back to exact counts */
    pf_tui_test_type(app, "b");
    ck_assert_int_eq(app->plan.round_to, 1);
    ck_assert_uint_eq(conv2->after.macs * 32, conv2->before.macs * 22);
    ck_assert_ptr_nonnull(strstr(app->msg, "; 1 group between blocks"));
    /* 0.5 keeps 16: whole blocks, no warning */
    pf_tui_test_type(app, "++++");
    ck_assert_double_eq_tol(app->plan.layers[2].prune_ratio, 0.5, 1e-12);
    ck_assert_int_eq(app->msg[0], 0);
    ck_assert(!pf_profile_group_odd(app->prof, g));
    /* a round_to from a plan file (4) goes to whole blocks first */
    app->plan.round_to = 4;
    pf_profile_update_all(app->prof);
    pf_tui_test_type(app, "b");
    ck_assert_int_eq(app->plan.round_to, 16);
    /* u at 0.3 under round_to 1: the inputs of conv2, conv3, conv4, conv5 and fc keep 22, 22,
     * 45, 45 and 90 of 32, 32, 64, 64 and 128 channels: five groups between blocks */
    pf_tui_test_type(app, "b----u");
    ck_assert_int_eq(app->plan.round_to, 1);
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    ck_assert_msg(strstr(app->msg, "on 5 layers; 5 groups between blocks (b rounds)"), "%s",
                  app->msg);
    pf_tui_test_type(app, "0");
    pf_tui_test_type(app, "u");
    ck_assert_int_eq(app->msg_level, PF_MSG_INFO);
    ck_assert_ptr_null(strstr(app->msg, "blocks"));
    pf_tui_test_free(app);
}
END_TEST

Suite *tui_model_suite(void);
Suite *tui_model_suite(void)
{
    Suite *s = suite_create("tui_model");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_starts_on_model);
    tcase_add_test(tc, test_move_and_clamp);
    tcase_add_test(tc, test_prune_changes_totals);
    tcase_add_test(tc, test_input_layer_not_prunable);
    tcase_add_test(tc, test_columns);
    tcase_add_test(tc, test_set_all_and_reset);
    tcase_add_test(tc, test_flops_toggle);
    tcase_add_test(tc, test_filter);
    tcase_add_test(tc, test_layer_detail);
    tcase_add_test(tc, test_plan_save_load);
    tcase_add_test(tc, test_global_keys);
    tcase_add_test(tc, test_whole_blocks);
    suite_add_tcase(s, tc);
    return s;
}
