/* check_tui_rl.c: the RL screen and the R prompt without a terminal. A synthetic stream of the
 * events an RL search emits (learners/common/rlsearch.h, "Events") goes through the app's queue
 * as a worker would push it; the test asserts what the screen model computes from it (per-layer
 * uniform / latest / best values matched to the model's layers, also from names cut to the
 * event's name size; the best roll-out and its budget against the target; roll-out k/N and the
 * time estimate; the reward curves) and what the screen draws into an off-screen curses pad.
 * Then the prompt: its parser (kinds, defaults, ranges), its keys (Esc, a refused budget that
 * keeps the prompt open with the message), the all-or-nothing option setting, and a search
 * started from it. The model is assets/nets/fmnist_bn.yaml (see check_tui_model.c). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/core/pf_status.h"
#include "helpers/tui_test.h"

#define TOL 1e-12

static void push(struct pf_app *app, enum pf_event_kind kind, long step, const char *name,
                 double value, const char *text)
{
    struct pf_event e = {.run_id = app->mon.run_id, .step = step, .kind = kind, .value = value};
    snprintf(e.name, sizeof e.name, "%s", name ? name : "");
    snprintf(e.text, sizeof e.text, "%s", text ? text : "");
    pf_evq_push(&app->evq, &e);
}

/* A metric named prefix + layer, cut to the event's name size as the search cuts it. */
static void metric(struct pf_app *app, long step, const char *prefix, const char *layer, double v)
{
    struct pf_event e = {.run_id = app->mon.run_id, .step = step, .kind = PF_EV_METRIC, .value = v};
    snprintf(e.name, sizeof e.name, "%s%s", prefix, layer ? layer : "");
    pf_evq_push(&app->evq, &e);
}

/* The decided layers of a channel search on fmnist_bn, with the values of the stream below. */
static const char *const layers[] = {"conv2", "conv3", "conv4", "conv5", "fc"};
static const int layer_idx[] = {2, 5, 7, 10, 13};
#define N_LAYERS 5

/* A channel search: target 0.5, three roll-outs; the second is the best. */
static void feed_search(struct pf_app *app)
{
    static const double reward[3] = {0.50, 0.70, 0.60}, best[3] = {0.50, 0.70, 0.70};
    static const double budget[3] = {0.52, 0.49, 0.51};
    metric(app, 0, "rl_target", NULL, 0.5);
    for (int t = 0; t < N_LAYERS; t++)
        metric(app, 0, "rl_uniform/", layers[t], 0.5);
    push(app, PF_EV_LOG, 0, NULL, 0, "RL search (channel): 5 layers, 20 roll-outs");
    for (int k = 1; k <= 3; k++) {
        metric(app, k, "rl_reward", NULL, reward[k - 1]);
        metric(app, k, "rl_best", NULL, best[k - 1]);
        metric(app, k, "rl_noise", NULL, 0.5 / k);
        metric(app, k, "rl_budget", NULL, budget[k - 1]);
        metric(app, k, "rl_seconds", NULL, 2.0);
        if (k == 3) {
            metric(app, k, "rl_actor_loss", NULL, -0.25);
            metric(app, k, "rl_critic_loss", NULL, 0.125);
        }
        for (int t = 0; t < N_LAYERS; t++)
            metric(app, k, "rl_value/", layers[t], 0.1 * k + 0.01 * t);
        if (k <= 2) /* the best improves at roll-outs 1 and 2 */
            for (int t = 0; t < N_LAYERS; t++)
                metric(app, k, "rl_bestv/", layers[t], 0.1 * k + 0.01 * t);
        char text[64];
        snprintf(text, sizeof text, "RL roll-out %d/20, ~%d s left", k, 2 * (20 - k));
        push(app, PF_EV_PROGRESS, k, NULL, k / 20.0, text);
        push(app, PF_EV_LOG, k, NULL, 0, "RL roll-out: reward");
    }
}

/* A workbench with a (pretend) channel run 42 that has received the stream. */
static struct pf_app *app_with_search(void)
{
    struct pf_app *app = pf_tui_test_app();
    app->mon.run_id = 42; /* as pf_app_start_run sets it */
    snprintf(app->mon.learner, sizeof app->mon.learner, "channel");
    feed_search(app);
    ck_assert(pf_app_poll(app));
    return app;
}

START_TEST(test_events_model)
{
    struct pf_app *app = app_with_search();
    const struct pf_rl_mon *rl = &app->mon.rl;
    ck_assert(rl->active);
    ck_assert_int_eq(rl->kind, PF_RL_CHANNEL);
    ck_assert_double_eq_tol(rl->target, 0.5, TOL);
    ck_assert_int_eq(rl->n_layers, N_LAYERS);
    for (int t = 0; t < N_LAYERS; t++) {
        const struct pf_rl_layer *l = &rl->layers[t];
        ck_assert_str_eq(l->name, layers[t]);
        ck_assert_int_eq(l->layer, layer_idx[t]);
        ck_assert_double_eq_tol(l->uniform, 0.5, TOL);
        ck_assert_double_eq_tol(l->value, 0.3 + 0.01 * t, TOL); /* the latest roll-out */
        ck_assert_double_eq_tol(l->best, 0.2 + 0.01 * t, TOL);  /* the best one (2) */
    }
    ck_assert_double_eq_tol(rl->reward, 0.60, TOL);
    ck_assert_double_eq_tol(rl->best, 0.70, TOL);
    ck_assert_int_eq(rl->rlout, 3);
    ck_assert_int_eq(rl->best_rlout, 2);
    ck_assert_double_eq_tol(rl->budget, 0.51, TOL);
    ck_assert_double_eq_tol(rl->best_budget, 0.49, TOL);
    ck_assert_double_eq_tol(pf_rl_budget_frac(rl), 0.98, 1e-9);
    ck_assert_double_eq_tol(rl->noise, 0.5 / 3, TOL);
    ck_assert_double_eq_tol(rl->actor_loss, -0.25, TOL);
    ck_assert_double_eq_tol(rl->critic_loss, 0.125, TOL);
    ck_assert_int_eq(rl->k, 3);
    ck_assert_int_eq(rl->n, 20);
    ck_assert_double_eq_tol(rl->eta_s, 34.0, TOL);
    /* the reward curves are series (the Run screen charts them too); nothing else is */
    const struct pf_series *r = pf_app_series(app, "rl_reward");
    const struct pf_series *b = pf_app_series(app, "rl_best");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(r->n, 3);
    ck_assert_int_eq(b->n, 3);
    ck_assert_double_eq(r->x[0], 1);
    ck_assert_double_eq(r->x[2], 3);
    ck_assert_double_eq_tol(r->y[1], 0.70, TOL);
    ck_assert_double_eq_tol(b->y[2], 0.70, TOL);
    ck_assert_int_eq(app->mon.n_series, 2);
    ck_assert_ptr_null(pf_app_series(app, "rl_value/conv2"));
    ck_assert_ptr_null(pf_app_series(app, "rl_noise"));
    ck_assert_str_eq(app->mon.phase, "RL roll-out 3/20, ~34 s left");
    ck_assert_int_eq(app->mon.log_n, 4);
    /* a new run starts from nothing */
    pf_rl_mon_reset(&app->mon.rl);
    ck_assert(!rl->active);
    ck_assert_int_eq(rl->n_layers, 0);
    ck_assert(isnan(pf_rl_budget_frac(rl)));
    pf_tui_test_free(app);
}
END_TEST

/* The best roll-out's budget, whichever of rl_budget and rl_bestv comes first. */
START_TEST(test_best_budget_any_order)
{
    struct pf_rl_mon rl;
    pf_rl_mon_reset(&rl);
    struct pf_event e = {.run_id = 1, .kind = PF_EV_METRIC, .step = 4, .value = 0.4};
    snprintf(e.name, sizeof e.name, "rl_bestv/conv2");
    ck_assert(pf_rl_mon_apply(&rl, NULL, "channel", &e));
    snprintf(e.name, sizeof e.name, "rl_budget");
    e.value = 0.45;
    pf_rl_mon_apply(&rl, NULL, "channel", &e);
    snprintf(e.name, sizeof e.name, "rl_target");
    e.step = 0;
    e.value = 0.5;
    pf_rl_mon_apply(&rl, NULL, "channel", &e);
    ck_assert_int_eq(rl.best_rlout, 4);
    ck_assert_double_eq_tol(rl.best_budget, 0.45, TOL);
    ck_assert_double_eq_tol(pf_rl_budget_frac(&rl), 0.9, 1e-9);
    /* no model: the row keeps the event's name */
    ck_assert_int_eq(rl.n_layers, 1);
    ck_assert_int_eq(rl.layers[0].layer, -1);
    ck_assert_str_eq(rl.layers[0].name, "conv2");
    /* other events are not RL ones */
    snprintf(e.name, sizeof e.name, "loss");
    ck_assert(!pf_rl_mon_apply(&rl, NULL, "channel", &e));
    e.kind = PF_EV_PROGRESS;
    snprintf(e.text, sizeof e.text, "fine-tune");
    ck_assert(!pf_rl_mon_apply(&rl, NULL, "channel", &e));
    ck_assert_int_eq(pf_rl_kind_of("weight-sparse"), PF_RL_SPARSITY);
    ck_assert_int_eq(pf_rl_kind_of("non-uniform"), PF_RL_BITS);
    ck_assert_int_eq(pf_rl_kind_of("full-prec"), PF_RL_NONE);
    ck_assert_str_eq(pf_rl_budget_label(PF_RL_CHANNEL), "kept MACs");
    ck_assert_str_eq(pf_rl_value_label(PF_RL_BITS), "bits");
}
END_TEST

/* Layer names longer than an event name allows: matched by prefix, in order; an uncut name
 * matches exactly (conv1 is not conv10). */
START_TEST(test_cut_names)
{
    char path[] = "/tmp/pf-rl-names-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs("name: long-names\ninput: [1, 8, 8]\nclasses: 4\nlayers:\n"
          "  - {name: conv1, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
          "  - {name: conv10, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
          "  - {name: stage1_unit1_branch2_conv_first, type: conv2d, filters: 4, kernel: 3, "
          "pad: same}\n"
          "  - {name: stage1_unit1_branch2_bn_between, type: batchnorm}\n"
          "  - {name: stage1_unit1_branch2_conv_second, type: conv2d, filters: 4, kernel: 3, "
          "pad: same}\n"
          "  - {name: flat, type: flatten}\n"
          "  - {name: fc, type: dense, units: 4}\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    struct pf_model *m = NULL;
    int rc = pf_model_from_file(path, &m);
    remove(path);
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
    static const char *const decided[] = {"conv10", "stage1_unit1_branch2_conv_first",
                                          "stage1_unit1_branch2_conv_second", "conv1"};
    static const int idx[] = {1, 2, 4, 0};
    struct pf_rl_mon rl;
    pf_rl_mon_reset(&rl);
    struct pf_event e = {.run_id = 1, .kind = PF_EV_METRIC};
    for (int step = 0; step <= 2; step++) {
        const char *prefix = step == 0 ? "rl_uniform/" : step == 1 ? "rl_value/" : "rl_bestv/";
        for (int t = 0; t < 4; t++) {
            e.step = step ? 1 : 0;
            e.value = step * 10 + t;
            snprintf(e.name, sizeof e.name, "%s%s", prefix, decided[t]);
            ck_assert(pf_rl_mon_apply(&rl, m, "weight-sparse", &e));
        }
    }
    ck_assert_int_eq(rl.kind, PF_RL_SPARSITY);
    ck_assert_int_eq(rl.n_layers, 4);
    for (int t = 0; t < 4; t++) {
        ck_assert_int_eq(rl.layers[t].layer, idx[t]);
        ck_assert_str_eq(rl.layers[t].name, decided[t]);
        ck_assert_double_eq(rl.layers[t].uniform, t);
        ck_assert_double_eq(rl.layers[t].value, 10 + t);
        ck_assert_double_eq(rl.layers[t].best, 20 + t);
    }
    /* the two long ones came with cut keys of different lengths */
    ck_assert_int_lt((int)strlen(rl.layers[1].key), (int)strlen(decided[1]));
    pf_model_free(m);
}
END_TEST

/* ---- drawing into an off-screen pad ---- */

struct vterm {
    SCREEN *scr;
    FILE *out, *in;
    WINDOW *pad;
};

static void vterm_open(struct vterm *t, int h, int w)
{
    t->out = fopen("/dev/null", "w");
    t->in = fopen("/dev/null", "r");
    ck_assert(t->out && t->in);
    t->scr = newterm("xterm", t->out, t->in);
    if (!t->scr)
        t->scr = newterm("vt100", t->out, t->in);
    ck_assert_msg(t->scr != NULL, "no terminfo entry for xterm or vt100");
    set_term(t->scr);
    t->pad = newpad(h, w);
    ck_assert_ptr_nonnull(t->pad);
}

static void vterm_close(struct vterm *t)
{
    delwin(t->pad);
    endwin();
    delscreen(t->scr);
    fclose(t->out);
    fclose(t->in);
}

/* The pad's text, one line per row. */
static void vterm_text(const struct vterm *t, char *buf, size_t n)
{
    int H, W;
    getmaxyx(t->pad, H, W);
    size_t k = 0;
    for (int y = 0; y < H && k + (size_t)W + 2 < n; y++) {
        mvwinnstr(t->pad, y, 0, buf + k, W);
        k += strlen(buf + k);
        buf[k++] = '\n';
    }
    buf[k] = 0;
}

START_TEST(test_draw)
{
    struct pf_app *app = app_with_search();
    app->body_h = 27;
    app->body_w = 100;
    pf_tui_test_type(app, "6");
    pf_tui_test_top(app, &pf_screen_rl);
    struct vterm t;
    vterm_open(&t, 27, 100);
    const struct pf_screen *s = pf_app_top(app);
    s->ops->draw(s, t.pad);
    static char text[27 * 102 + 1];
    vterm_text(&t, text, sizeof text);
    vterm_close(&t);
    static const char *const want[] = {
        "RL search of preserve ratio: run 42 (channel)",
        "roll-out 3/20",
        "RL roll-out 3/20, ~34 s left",
        "reward 0.6000",
        "best 0.7000 (roll-out 2)",
        "actor -0.25",
        "kept MACs [",
        "0.490 of target 0.500 (98%), best",
        "reward, best",
        "uniform",
        "latest",
        "RL roll-out: reward",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]), "'%s' not drawn:\n%s", want[i], text);
    /* every layer row: its name, uniform, best and latest values */
    for (int l = 0; l < N_LAYERS; l++) {
        char row[128];
        snprintf(row, sizeof row, "%s", layers[l]);
        const char *p = strstr(text, row);
        for (; p; p = strstr(p + 1, row))
            if (p == text || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '|')
                break;
        ck_assert_msg(p, "layer %s not drawn:\n%s", layers[l], text);
        snprintf(row, sizeof row, "0.500   0.%03d   0.%03d", 200 + 10 * l, 300 + 10 * l);
        ck_assert_msg(strstr(p, row), "row of %s: no '%s':\n%s", layers[l], row, text);
    }
    /* any size draws inside the window (ASan watches), with or without a search */
    static const int sizes[][2] = {{21, 80}, {60, 200}, {12, 40}, {6, 30}, {3, 10}, {1, 1}};
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            vterm_open(&t, sizes[i][0], sizes[i][1]);
            s->ops->draw(s, t.pad);
            vterm_close(&t);
        }
        pf_rl_mon_reset(&app->mon.rl);
    }
    pf_tui_test_free(app);
}
END_TEST

/* ---- the screen's keys ---- */

START_TEST(test_keys)
{
    struct pf_app *app = pf_tui_test_app();
    /* 6 opens it from anywhere, with no run yet */
    pf_tui_test_type(app, "6");
    struct pf_rl_view *v = pf_tui_test_top(app, &pf_screen_rl);
    pf_tui_test_type(app, "c");
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    ck_assert(strstr(app->msg, "no run") != NULL);
    pf_tui_test_type(app, "p");
    ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    pf_tui_test_type(app, "jjk");
    ck_assert_int_eq(v->top, 0);
    /* q goes back (it does not quit here), Esc too */
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_model);
    ck_assert(!app->quit);
    pf_tui_test_type(app, "6");
    pf_tui_test_key(app, PF_KEY_ESC);
    pf_tui_test_top(app, &pf_screen_model);
    /* R here opens the prompt too */
    pf_tui_test_type(app, "6R");
    pf_tui_test_top(app, &pf_screen_prompt);
    pf_tui_test_key(app, PF_KEY_ESC);
    pf_tui_test_top(app, &pf_screen_rl);
    /* global keys still work: help lists R and this screen's keys */
    pf_tui_test_type(app, "?");
    struct pf_help_view *h = pf_tui_test_top(app, &pf_screen_help);
    bool r = false, use = false;
    for (int i = 0; i < h->n; i++) {
        r |= strstr(h->lines[i], "R ") && strstr(h->lines[i], "RL search of per-layer");
        use |= strstr(h->lines[i], "best.plan.yaml") != NULL;
    }
    ck_assert(r && use);
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_rl);
    pf_tui_test_free(app);
}
END_TEST

/* p loads the strategy the search kept: rl/final.plan.yaml when finalists ran, else
 * rl/best.plan.yaml */
static void write_plan(const char *dir, const char *file, double ratio)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/rl/%s", dir, file);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "layers:\n  conv2: {prune_ratio: %g}\n", ratio);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_use_kept_plan)
{
    struct pf_app *app = app_with_search();
    char tmpl[] = "/tmp/pf_tui_rl_XXXXXX", path[1200];
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(app->mon.dir, sizeof app->mon.dir, "%s", tmpl);
    snprintf(path, sizeof path, "%s/rl", tmpl);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    write_plan(tmpl, "best.plan.yaml", 0.25);
    pf_tui_test_type(app, "6p");
    ck_assert_int_eq(app->msg_level, PF_MSG_GOOD);
    ck_assert_double_eq_tol(app->plan.layers[layer_idx[0]].prune_ratio, 0.25, 1e-12);
    write_plan(tmpl, "final.plan.yaml", 0.5);
    pf_tui_test_type(app, "p");
    ck_assert_int_eq(app->msg_level, PF_MSG_GOOD);
    ck_assert(strstr(app->msg, "finalist") != NULL);
    ck_assert_double_eq_tol(app->plan.layers[layer_idx[0]].prune_ratio, 0.5, 1e-12);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    ck_assert_int_eq(system(cmd), 0);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_scroll)
{
    struct pf_app *app = app_with_search();
    app->body_h = 12; /* a page of two layer rows */
    pf_tui_test_type(app, "6");
    struct pf_rl_view *v = pf_tui_test_top(app, &pf_screen_rl);
    pf_tui_test_type(app, "jj");
    ck_assert_int_eq(v->top, 2);
    pf_tui_test_key(app, KEY_END);
    ck_assert_int_eq(v->top, N_LAYERS - 2);
    pf_tui_test_type(app, "jjj");
    ck_assert_int_eq(v->top, N_LAYERS - 2);
    pf_tui_test_key(app, KEY_HOME);
    ck_assert_int_eq(v->top, 0);
    pf_tui_test_free(app);
}
END_TEST

/* ---- the R prompt ---- */

static void assert_kv(const struct pf_rl_request *q, int i, const char *key, const char *val)
{
    ck_assert_str_eq(q->kv[i][0], key);
    ck_assert_str_eq(q->kv[i][1], val);
}

START_TEST(test_parse)
{
    struct pf_rl_request q;
    ck_assert_int_eq(pf_rl_request_parse("channel", &q), 0);
    ck_assert_int_eq(q.kind, PF_RL_CHANNEL);
    ck_assert_str_eq(q.learner, "channel");
    ck_assert_int_eq(q.n_kv, 3);
    assert_kv(&q, 0, "cp_prune_option", "auto");
    assert_kv(&q, 1, "cp_preserve_ratio", "0.5");
    assert_kv(&q, 2, "cp_nb_rlouts", "20");
    ck_assert_int_eq(pf_rl_request_parse("  Sparsity, 0.8  5 ", &q), 0);
    ck_assert_str_eq(q.learner, "weight-sparse");
    assert_kv(&q, 0, "ws_prune_ratio_prtl", "optimal");
    assert_kv(&q, 1, "ws_prune_ratio", "0.8");
    assert_kv(&q, 2, "ws_nb_rlouts", "5");
    ck_assert_int_eq(pf_rl_request_parse("s", &q), 0);
    assert_kv(&q, 1, "ws_prune_ratio", "0.9");
    ck_assert_int_eq(pf_rl_request_parse("bits", &q), 0);
    ck_assert_str_eq(q.learner, "uniform");
    assert_kv(&q, 0, "uql_enbl_rl_agent", "True");
    assert_kv(&q, 1, "uql_equivalent_bits", "4");
    assert_kv(&q, 2, "uql_nb_rlouts", "20");
    ck_assert_int_eq(pf_rl_request_parse("b 2 1", &q), 0);
    ck_assert_int_eq(q.rlouts, 1);
    ck_assert_int_eq(pf_rl_request_parse("macs 0.25 100", &q), 0);
    ck_assert_int_eq(q.kind, PF_RL_CHANNEL);
    ck_assert_double_eq(q.budget, 0.25);
    ck_assert_int_eq(q.n_kv, 3); /* no finalists typed: the option keeps its default */
    ck_assert_int_eq(pf_rl_request_parse("channel 0.25 20 4", &q), 0);
    ck_assert_int_eq(q.n_kv, 4);
    assert_kv(&q, 2, "cp_nb_rlouts", "20");
    assert_kv(&q, 3, "cp_nb_finalists", "4");
    ck_assert_int_eq(pf_rl_request_parse("channel 0.25 20 0", &q), 0);
    assert_kv(&q, 3, "cp_nb_finalists", "0");
    /* refused, each with a message that says what is allowed */
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "which search"},
        {"foo", "unknown search 'foo'"},
        {"channel 1.5", "outside (0, 1)"},
        {"channel 1", "outside (0, 1)"},
        {"channel 0", "outside (0, 1)"},
        {"sparsity 1", "outside (0, 1)"},
        {"sparsity -0.2", "outside (0, 1)"},
        {"bits 9", "outside [2, 8]"},
        {"bits 1", "outside [2, 8]"},
        {"channel half", "not a number"},
        {"channel nan", "not a number"},
        {"channel 0.5 0", "whole number"},
        {"channel 0.5 2.5", "whole number"},
        {"channel 0.5 x", "whole number"},
        {"channel 0.5 20 4 1", "too much"},
        {"channel 0.5 20 -1", "finalists '-1' must be a whole number"},
        {"channel 0.5 20 1.5", "finalists '1.5' must be a whole number"},
        {"sparsity 0.9 20 4", "channel searches only"},
        {"bits 4 20 4", "channel searches only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(pf_rl_request_parse(bad[i].text, &q) == -PF_EINVAL, "'%s' accepted",
                      bad[i].text);
        ck_assert_msg(strstr(pf_err_user_msg(), bad[i].msg), "'%s': message '%s'", bad[i].text,
                      pf_err_user_msg());
    }
}
END_TEST

/* Whether `learner` has every option of the request (the lead adds some as the searches land). */
static bool has_opts(const struct pf_rl_request *q)
{
    struct pf_opts o;
    const struct pf_learner_ops *ops = pf_learner_find(q->learner);
    if (!ops || pf_learner_opts_init(&o, ops) < 0)
        return false;
    bool all = true;
    for (int i = 0; i < q->n_kv; i++)
        all &= pf_opts_find(&o, q->kv[i][0], NULL) != NULL;
    pf_opts_deinit(&o);
    return all;
}

/* Types `text` into the open R prompt: refused with `msg`, the prompt stays, nothing started and
 * the learner is still `before`. */
static void refused_at_start(struct pf_app *app, const struct pf_learner_ops *before,
                             const char *text, const char *msg)
{
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, text);
    pf_tui_test_top(app, &pf_screen_prompt);
    ck_assert_int_eq(app->msg_level, PF_MSG_ERROR);
    ck_assert_msg(strstr(app->msg, msg), "%s", app->msg);
    ck_assert_ptr_eq(app->learner, before);
    ck_assert_int_eq(app->mon.run_id, 0);
}

START_TEST(test_prompt_keys)
{
    struct pf_app *app = pf_tui_test_app();
    const struct pf_learner_ops *before = app->learner;
    pf_tui_test_type(app, "R");
    struct pf_prompt_view *p = pf_tui_test_top(app, &pf_screen_prompt);
    ck_assert_str_eq(p->text, "channel 0.5 20");
    /* Esc: nothing happens */
    pf_tui_test_key(app, PF_KEY_ESC);
    pf_tui_test_top(app, &pf_screen_model);
    ck_assert_ptr_eq(app->learner, before);
    ck_assert_int_eq(app->mon.run_id, 0);
    /* a bad budget: the message, the prompt stays for a correction, nothing changes */
    pf_tui_test_type(app, "R");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "channel 1.5\n");
    pf_tui_test_top(app, &pf_screen_prompt);
    ck_assert_int_eq(app->msg_level, PF_MSG_ERROR);
    ck_assert_msg(strstr(app->msg, "kept MACs 1.5 is outside (0, 1)"), "%s", app->msg);
    ck_assert_ptr_eq(app->learner, before);
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "bits 12\n");
    ck_assert(strstr(app->msg, "outside [2, 8]"));
    /* finalists above the option row's bound: refused where the row is checked, all or nothing */
    refused_at_start(app, before, "channel 0.5 20 5000\n", "cp_nb_finalists");
    /* a search whose options this build lacks: the message, and the learner is unchanged */
    struct pf_rl_request q;
    ck_assert_int_eq(pf_rl_request_parse("bits 4 20", &q), 0);
    if (!has_opts(&q))
        refused_at_start(app, before, "bits 4 20\n", "has no option uql_");
    pf_tui_test_key(app, PF_KEY_ESC);
    pf_tui_test_top(app, &pf_screen_model);
    ck_assert(!app->quit);
    pf_tui_test_free(app);
}
END_TEST

START_TEST(test_set_learner_opts_atomic)
{
    struct pf_app *app = pf_tui_test_app();
    const struct pf_learner_ops *before = app->learner;
    int bs = pf_tui_test_opt(app, "batch_size");
    ck_assert_int_eq(pf_opts_set(&app->opts, "batch_size", "32", "test"), 0);
    const struct pf_learner_ops *ch = pf_learner_find("channel");
    ck_assert_ptr_nonnull(ch);
    const char *const bad[2][2] = {{"cp_preserve_ratio", "0.3"}, {"cp_no_such_option", "1"}};
    ck_assert_int_lt(pf_app_set_learner_opts(app, ch, bad, 2, "RL search"), 0);
    ck_assert(strstr(pf_err_user_msg(), "has no option cp_no_such_option"));
    ck_assert_ptr_eq(app->learner, before);
    ck_assert_str_eq(pf_opts_text(&app->opts, bs), "32");
    const char *const range[1][2] = {{"cp_preserve_ratio", "7"}};
    ck_assert_int_lt(pf_app_set_learner_opts(app, ch, range, 1, "RL search"), 0);
    ck_assert_ptr_eq(app->learner, before);
    const char *const good[2][2] = {{"cp_prune_option", "auto"}, {"cp_preserve_ratio", "0.3"}};
    ck_assert_int_eq(pf_app_set_learner_opts(app, ch, good, 2, "RL search"), 0);
    ck_assert_ptr_eq(app->learner, ch);
    ck_assert_str_eq(pf_opts_str(&app->opts, "cp_prune_option"), "auto");
    ck_assert_double_eq_tol(pf_opts_float(&app->opts, "cp_preserve_ratio"), 0.3, TOL);
    /* the common options the user typed are kept */
    ck_assert_int_eq(pf_opts_int(&app->opts, "batch_size"), 32);
    pf_tui_test_free(app);
}
END_TEST

/* 10 ms, then what the main loop does every tick. */
static void pause_tick(struct pf_app *app)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pf_app_tick(app);
}

/* R, a good request: the learner with its options, a run, and the RL screen. */
START_TEST(test_start_search)
{
    struct pf_app *app = pf_tui_test_app();
    snprintf(app->dataset, sizeof app->dataset, "synthetic:1x28x28:256");
    /* a validation split for the rewards (the default 5000 is more than the set), and a small
     * one: what the user typed into the form stays when R chooses the learner */
    ck_assert_int_eq(pf_opts_set(&app->opts, "nb_smpls_val", "64", "test"), 0);
    pf_tui_test_type(app, "R");
    pf_tui_test_key(app, PF_KEY_CTRL('u'));
    pf_tui_test_type(app, "channel 0.4 2\n");
    pf_tui_test_top(app, &pf_screen_rl);
    ck_assert_str_eq(app->learner->name, "channel");
    ck_assert_str_eq(pf_opts_str(&app->opts, "cp_prune_option"), "auto");
    ck_assert_double_eq_tol(pf_opts_float(&app->opts, "cp_preserve_ratio"), 0.4, TOL);
    ck_assert_int_eq(pf_opts_int(&app->opts, "cp_nb_rlouts"), 2);
    ck_assert_int_eq(pf_opts_int(&app->opts, "nb_smpls_val"), 64);
    ck_assert_int_gt(app->mon.run_id, 0);
    ck_assert_str_eq(app->mon.learner, "channel");
    /* a second search while this one runs is refused */
    if (pf_app_run_active(app)) {
        pf_tui_test_type(app, "R");
        pf_tui_test_top(app, &pf_screen_rl);
        ck_assert_int_eq(app->msg_level, PF_MSG_WARN);
    }
    /* the search's first events: the target and the uniform strategy, matched to the model */
    const struct pf_rl_mon *rl = &app->mon.rl;
    for (int i = 0; i < 12000 && pf_app_run_active(app) && !(rl->n_layers && !isnan(rl->target));
         i++)
        pause_tick(app);
    ck_assert_msg(rl->active && !isnan(rl->target), "no RL events; the run said: %s",
                  app->mon.end_text);
    ck_assert_int_eq(rl->kind, PF_RL_CHANNEL);
    ck_assert_double_eq_tol(rl->target, 0.4, 1e-9);
    ck_assert_int_gt(rl->n_layers, 0);
    for (int i = 0; i < rl->n_layers; i++)
        ck_assert_msg(rl->layers[i].layer >= 0, "%s: no model layer", rl->layers[i].key);
    pf_tui_test_type(app, "c"); /* cancel: the run stops after its current step */
    for (int i = 0; i < 30000 && pf_app_run_active(app); i++)
        pause_tick(app);
    ck_assert(!pf_app_run_active(app));
    ck_assert_int_ne(app->mon.status, PF_RUN_RUNNING);
    pf_tui_test_type(app, "q");
    pf_tui_test_top(app, &pf_screen_model);
    pf_tui_test_free(app); /* joins the worker */
}
END_TEST

Suite *tui_rl_suite(void);
Suite *tui_rl_suite(void)
{
    Suite *s = suite_create("tui_rl");
    TCase *tc = tcase_create("events");
    tcase_add_test(tc, test_events_model);
    tcase_add_test(tc, test_best_budget_any_order);
    tcase_add_test(tc, test_cut_names);
    tcase_add_test(tc, test_draw);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_use_kept_plan);
    tcase_add_test(tc, test_scroll);
    suite_add_tcase(s, tc);
    TCase *pr = tcase_create("prompt");
    tcase_add_test(pr, test_parse);
    tcase_add_test(pr, test_prompt_keys);
    tcase_add_test(pr, test_set_learner_opts_atomic);
    suite_add_tcase(s, pr);
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 300);
    tcase_add_test(run, test_start_search);
    suite_add_tcase(s, run);
    return s;
}
