/* runs.c: the Runs screen. Reads every run directory under runs_root (manifest.yaml, written by
 * learners/common/run.c) into a table (learner, status, accuracy, MACs, size, time), and plots
 * accuracy against MACs (or size) over all runs with the Pareto frontier marked: the runs no
 * other run beats on both. Enter opens a run's model; c marks two runs to compare. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_cfg.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/chart.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

#define MAX_RUNS 1000

enum { K_DOWN = 1, K_UP, K_PGDN, K_PGUP, K_OPEN, K_MARK, K_AXIS, K_RELOAD, K_CLICK };

static const struct pf_binding bindings[] = {
    {'j', K_DOWN, "j/k", "move", "move through the runs"},
    {KEY_DOWN, K_DOWN, NULL, NULL, NULL},
    {'k', K_UP, NULL, NULL, NULL},
    {KEY_UP, K_UP, NULL, NULL, NULL},
    {KEY_NPAGE, K_PGDN, NULL, NULL, NULL},
    {KEY_PPAGE, K_PGUP, NULL, NULL, NULL},
    {'\n', K_OPEN, "Enter", "open model", "open the run's result model on the model screen"},
    {KEY_ENTER, K_OPEN, NULL, NULL, NULL},
    {'c', K_MARK, "c", "compare", "mark a run; c on another compares them layer by layer"},
    {'s', K_AXIS, "s", "MACs/size", "Pareto chart against MACs or stored size"},
    {'R', K_RELOAD, "R", "reload", "read the run directories again"},
    {PF_KEY_CLICK, K_CLICK, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Runs", bindings, (int)PF_ARRAY_LEN(bindings)};

static void free_list(struct pf_runs_view *v)
{
    free(v->recs);
    free(v->frontier);
    v->recs = NULL;
    v->frontier = NULL;
    v->n = 0;
}

static int by_name_desc(const void *a, const void *b)
{
    return -strcmp(((const struct pf_run_rec *)a)->name, ((const struct pf_run_rec *)b)->name);
}

/* Reads one run directory; false if it has no readable manifest. */
static bool read_run(const char *root, const char *name, struct pf_run_rec *r)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/manifest.yaml", root, name);
    struct pf_cfg *c = NULL;
    if (pf_cfg_load(path, &c) < 0) {
        pf_err_clear();
        return false;
    }
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    const char *s = NULL;
    if (pf_cfg_str(c, "learner", "learner", &s) == 0 && s)
        snprintf(r->learner, sizeof r->learner, "%s", s);
    s = NULL;
    if (pf_cfg_str(c, "status", "status", &s) == 0 && s)
        snprintf(r->status, sizeof r->status, "%s", s);
    r->accuracy = -1;
    pf_cfg_float(c, "accuracy", "accuracy", &r->accuracy);
    pf_cfg_float(c, "macs", "macs", &r->macs);
    pf_cfg_float(c, "params", "params", &r->params);
    pf_cfg_float(c, "seconds", "seconds", &r->seconds);
    pf_cfg_free(c);
    pf_err_clear();
    /* a run that never evaluated reports accuracy 0: unknown, not zero */
    if (r->accuracy <= 0 && strcmp(r->status, "finished") && strcmp(r->status, "cancelled"))
        r->accuracy = -1;
    snprintf(path, sizeof path, "%s/%s/model.h5", root, name);
    struct stat st;
    if (stat(path, &st) == 0 && strlen(path) < sizeof r->model)
        memcpy(r->model, path, strlen(path) + 1);
    return true;
}

/* A run is on the frontier when no other run has accuracy >= and cost <=, one of them strictly. */
static void frontier(struct pf_runs_view *v)
{
    for (int i = 0; i < v->n; i++) {
        const struct pf_run_rec *a = &v->recs[i];
        double ca = v->by_size ? a->params : a->macs;
        v->frontier[i] = a->accuracy >= 0;
        for (int j = 0; j < v->n && v->frontier[i]; j++) {
            const struct pf_run_rec *b = &v->recs[j];
            double cb = v->by_size ? b->params : b->macs;
            if (j != i && b->accuracy >= 0 && b->accuracy >= a->accuracy && cb <= ca &&
                (b->accuracy > a->accuracy || cb < ca))
                v->frontier[i] = false;
        }
    }
}

int pf_runs_view_load(struct pf_runs_view *v, const char *runs_root)
{
    free_list(v);
    DIR *d = opendir(runs_root);
    if (!d)
        return 0;
    int cap = 16;
    v->recs = pf_calloc((size_t)cap, sizeof *v->recs);
    if (!v->recs) {
        closedir(d);
        return -PF_ENOMEM;
    }
    struct dirent *e;
    while ((e = readdir(d)) && v->n < MAX_RUNS) {
        if (e->d_name[0] == '.')
            continue;
        if (v->n == cap) {
            struct pf_run_rec *nr = pf_realloc_array(v->recs, (size_t)cap * 2, sizeof *nr);
            if (!nr)
                break;
            v->recs = nr;
            cap *= 2;
        }
        if (read_run(runs_root, e->d_name, &v->recs[v->n]))
            v->n++;
    }
    closedir(d);
    qsort(v->recs, (size_t)v->n, sizeof *v->recs, by_name_desc);
    v->frontier = pf_calloc((size_t)v->n + 1, sizeof *v->frontier);
    if (!v->frontier) {
        free_list(v);
        return -PF_ENOMEM;
    }
    frontier(v);
    if (v->cur >= v->n)
        v->cur = v->n ? v->n - 1 : 0;
    v->mark = -1;
    return 0;
}

static int table_h(const struct pf_app *app)
{
    return app->body_h / 2 > 4 ? app->body_h / 2 : 4;
}

static int runs_enter(struct pf_screen *s, struct pf_app *app)
{
    struct pf_runs_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    v->mark = -1;
    app->runs_changed = false;
    return pf_runs_view_load(v, app->runs_root);
}

static void runs_leave(struct pf_screen *s)
{
    struct pf_runs_view *v = s->state;
    if (v)
        free_list(v);
    free(v);
    s->state = NULL;
}

static void runs_tick(struct pf_screen *s)
{
    struct pf_app *app = s->app;
    if (!app->runs_changed)
        return;
    app->runs_changed = false;
    if (pf_runs_view_load(s->state, app->runs_root) < 0)
        pf_app_err(app, -1);
    app->dirty = true;
}

static enum pf_key_result runs_key(struct pf_screen *s, int ch)
{
    struct pf_runs_view *v = s->state;
    struct pf_app *app = s->app;
    int page = pf_w_table_page(table_h(app));
    switch (pf_keymap_action(&keymap, ch)) {
    case K_DOWN:
        v->cur++;
        break;
    case K_UP:
        v->cur--;
        break;
    case K_PGDN:
        v->cur += page;
        break;
    case K_PGUP:
        v->cur -= page;
        break;
    case K_CLICK:
        if (app->click_y - 1 >= 0 && v->top + app->click_y - 1 < v->n &&
            app->click_y < table_h(app))
            v->cur = v->top + app->click_y - 1;
        break;
    case K_OPEN:
        if (!v->n)
            break;
        if (!v->recs[v->cur].model[0]) {
            pf_app_msg(app, PF_MSG_WARN, "%s has no model.h5", v->recs[v->cur].name);
            break;
        }
        if (pf_app_open_model(app, v->recs[v->cur].model) < 0) {
            pf_app_err(app, -1);
            break;
        }
        if (pf_app_switch(app, &pf_screen_model) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW;
    case K_MARK:
        if (!v->n)
            break;
        if (v->mark < 0 || v->mark == v->cur) {
            v->mark = v->mark == v->cur ? -1 : v->cur;
            if (v->mark >= 0)
                pf_app_msg(app, PF_MSG_INFO, "marked %s: c on another run compares them",
                           v->recs[v->mark].name);
            break;
        }
        if (!v->recs[v->mark].model[0] || !v->recs[v->cur].model[0]) {
            pf_app_msg(app, PF_MSG_WARN, "both runs need a model.h5 to compare");
            break;
        }
        {
            const struct pf_run_rec *pair[2] = {&v->recs[v->mark], &v->recs[v->cur]};
            if (pf_app_push(app, &pf_screen_compare, pair) < 0)
                pf_app_err(app, -1);
        }
        break;
    case K_AXIS:
        v->by_size = !v->by_size;
        frontier(v);
        break;
    case K_RELOAD:
        if (pf_runs_view_load(v, app->runs_root) < 0)
            pf_app_err(app, -1);
        break;
    default:
        return PF_KEY_IGNORED;
    }
    if (v->cur >= v->n)
        v->cur = v->n - 1;
    if (v->cur < 0)
        v->cur = 0;
    pf_w_table_scroll(&v->top, v->cur, page, v->n);
    return PF_KEY_REDRAW;
}

enum { C_MARK, C_NAME, C_LEARNER, C_STATUS, C_ACC, C_MACS, C_SIZE, C_TIME, C_N };
static const struct pf_w_col cols[C_N] = {
    {"", 1, false, false, false},         {"run", 16, false, true, false},
    {"learner", 13, false, false, false}, {"status", 9, false, false, false},
    {"acc", 6, true, false, false},       {"MACs", 7, true, false, false},
    {"size", 9, true, false, false},      {"time", 6, true, false, false},
};

static void cell(const void *user, int row, int col, char *buf, size_t n, enum pf_role *role)
{
    const struct pf_runs_view *v = user;
    const struct pf_run_rec *r = &v->recs[row];
    switch (col) {
    case C_MARK:
        snprintf(buf, n, "%s", row == v->mark ? "c" : v->frontier[row] ? "*" : "");
        *role = PF_ROLE_CHANGED;
        break;
    case C_NAME:
        snprintf(buf, n, "%s", r->name);
        break;
    case C_LEARNER:
        snprintf(buf, n, "%s", r->learner);
        break;
    case C_STATUS:
        snprintf(buf, n, "%s", r->status);
        *role = !strcmp(r->status, "finished")    ? PF_ROLE_GOOD
                : !strcmp(r->status, "cancelled") ? PF_ROLE_WARN
                : !strcmp(r->status, "failed")    ? PF_ROLE_ERROR
                                                  : PF_ROLE_NORMAL;
        break;
    case C_ACC:
        if (r->accuracy >= 0)
            snprintf(buf, n, "%.2f%%", 100.0 * r->accuracy);
        else
            snprintf(buf, n, "-");
        break;
    case C_MACS:
        pf_fmt_count(buf, n, r->macs);
        break;
    case C_SIZE:
        pf_fmt_bytes(buf, n, 4.0 * r->params);
        break;
    default: {
        long t = (long)(r->seconds + 0.5);
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
        break;
    }
    }
}

static void runs_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_runs_view *v = s->state;
    const struct pf_app *app = s->app;
    int H, W;
    getmaxyx(w, H, W);
    if (!v->n) {
        pf_w_putf(w, 1, 2, W - 4, A_BOLD, "No runs in %s/ yet.", app->runs_root);
        pf_w_put(w, 3, 2, W - 4, A_NORMAL,
                 "Start one from the Learner screen (2, then r), or with `pocketflow run`.");
        return;
    }
    int th = table_h(app) < H ? table_h(app) : H;
    struct pf_w_table t = {cols, C_N, v->n, v->top, v->cur, -1, cell, v};
    pf_w_table_draw(w, 0, 0, th, W, &t);
    int chh = H - th;
    if (chh < 6)
        return;
    /* Pareto chart: dominated runs as dots, the frontier as diamonds, the cursor run as @ */
    double xs[MAX_RUNS], ys[MAX_RUNS], fx[MAX_RUNS], fy[MAX_RUNS], cx[1], cy[1];
    int n = 0, nf = 0, nc = 0;
    for (int i = 0; i < v->n; i++) {
        const struct pf_run_rec *r = &v->recs[i];
        if (r->accuracy < 0)
            continue;
        double x = v->by_size ? 4.0 * r->params : r->macs;
        if (i == v->cur) {
            cx[0] = x;
            cy[0] = r->accuracy;
            nc = 1;
        } else if (v->frontier[i]) {
            fx[nf] = x;
            fy[nf++] = r->accuracy;
        } else {
            xs[n] = x;
            ys[n++] = r->accuracy;
        }
    }
    struct pf_w_series ser[3] = {
        {xs, ys, n, pf_theme(PF_ROLE_DIM), "·", '+'},
        {fx, fy, nf, pf_theme(PF_ROLE_GOOD), "◆", '*'},
        {cx, cy, nc, pf_theme(PF_ROLE_CHANGED) | A_BOLD, "●", '@'},
    };
    struct pf_w_chart c = {v->by_size ? "accuracy vs size (* = Pareto frontier, @ = cursor)"
                                      : "accuracy vs MACs (* = Pareto frontier, @ = cursor)",
                           v->by_size ? "bytes" : "MACs", true, true};
    pf_w_chart_draw(w, th, 0, chh, W, &c, ser, 3);
}

const struct pf_screen_ops pf_screen_runs = {
    .name = "Runs",
    .keys = &keymap,
    .tab = '4',
    .enter = runs_enter,
    .draw = runs_draw,
    .key = runs_key,
    .tick = runs_tick,
    .leave = runs_leave,
};
