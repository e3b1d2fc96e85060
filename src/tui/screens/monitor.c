/* monitor.c: the Run screen. Watches the active (or last) run through app->mon, which the app
 * fills from the run's event queue every tick: a progress bar with ETA, the latest value of
 * every metric, live charts of the metrics against steps (loss, accuracy, sparsity, kept MACs,
 * learning rate: whatever the learner reports), the layer a layer-wise learner is working on,
 * and a scrolling log. c cancels cleanly; b goes back to the model while the run goes on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/chart.h"
#include "tui/widgets/progress.h"
#include "tui/widgets/text.h"

enum { K_CANCEL = 1, K_BACK, K_NEXT, K_PREV, K_OPEN, K_LOGUP, K_LOGDN, K_NEW };

static const struct pf_binding bindings[] = {
    {'c', K_CANCEL, "c", "cancel", "cancel the run: it keeps the model of its last finished step"},
    {'b', K_BACK, "b", "back", "back to the model screen (the run goes on)"},
    {PF_KEY_TAB, K_NEXT, "Tab", "charts", "show the next metrics' charts"},
    {KEY_BTAB, K_PREV, NULL, NULL, NULL},
    {'o', K_OPEN, "o", "open result", "open the finished run's model"},
    {'k', K_LOGUP, "j/k", "log", "scroll the log"},
    {KEY_UP, K_LOGUP, NULL, NULL, NULL},
    {'j', K_LOGDN, NULL, NULL, NULL},
    {KEY_DOWN, K_LOGDN, NULL, NULL, NULL},
    {'n', K_NEW, "n", NULL, "a new run: back to the learner screen"},
};
static const struct pf_keymap keymap = {"Run", bindings, (int)PF_ARRAY_LEN(bindings)};

/* Metrics in the order they are charted; others follow in order of appearance. */
static const char *const preferred[] = {"loss",     "accuracy",  "val_acc", "train_acc",
                                        "sparsity", "kept_macs", "lr",      "recon_err"};

/* The charted series in display order; returns how many. */
static int chart_order(const struct pf_app *app, const struct pf_series **out, int max)
{
    int n = 0;
    const struct pf_monitor *m = &app->mon;
    for (size_t p = 0; p < PF_ARRAY_LEN(preferred); p++)
        for (int i = 0; i < m->n_series && n < max; i++)
            if (!strcmp(m->series[i]->name, preferred[p]))
                out[n++] = m->series[i];
    for (int i = 0; i < m->n_series && n < max; i++) {
        bool known =
            !strcmp(m->series[i]->name, "img_per_s") || !strcmp(m->series[i]->name, "test_acc");
        for (size_t p = 0; p < PF_ARRAY_LEN(preferred); p++)
            known |= !strcmp(m->series[i]->name, preferred[p]);
        if (!known)
            out[n++] = m->series[i];
    }
    return n;
}

static bool result_model(const struct pf_app *app, char *path, size_t n)
{
    if (pf_app_run_active(app) || !app->mon.run_id || !app->mon.dir[0])
        return false;
    snprintf(path, n, "%s/model.h5", app->mon.dir);
    struct stat st;
    return stat(path, &st) == 0;
}

static int monitor_enter(struct pf_screen *s, struct pf_app *app)
{
    (void)app;
    s->state = pf_calloc(1, sizeof(struct pf_monitor_view));
    return s->state ? 0 : -PF_ENOMEM;
}

static void monitor_leave(struct pf_screen *s)
{
    free(s->state);
    s->state = NULL;
}

static enum pf_key_result monitor_key(struct pf_screen *s, int ch)
{
    struct pf_monitor_view *v = s->state;
    struct pf_app *app = s->app;
    const struct pf_series *order[PF_MON_MAX_SERIES];
    int n = chart_order(app, order, PF_MON_MAX_SERIES);
    char path[1100];
    switch (pf_keymap_action(&keymap, ch)) {
    case K_CANCEL:
        pf_app_cancel_run(app);
        break;
    case K_BACK:
        if (pf_app_switch(app, &pf_screen_model) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW;
    case K_NEW:
        if (pf_app_switch(app, &pf_screen_learner) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW;
    case K_NEXT:
        v->first = n ? (v->first + 1) % n : 0;
        break;
    case K_PREV:
        v->first = n ? (v->first + n - 1) % n : 0;
        break;
    case K_OPEN:
        if (!result_model(app, path, sizeof path))
            return PF_KEY_IGNORED; /* the global o: open any model */
        if (pf_app_open_model(app, path) < 0) {
            pf_app_err(app, -1);
            break;
        }
        if (pf_app_switch(app, &pf_screen_model) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW;
    case K_LOGUP:
        if (v->log_scroll < app->mon.log_n - 1)
            v->log_scroll++;
        break;
    case K_LOGDN:
        if (v->log_scroll > 0)
            v->log_scroll--;
        break;
    default:
        return PF_KEY_IGNORED;
    }
    return PF_KEY_REDRAW;
}

static void monitor_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_monitor_view *v = s->state;
    const struct pf_app *app = s->app;
    const struct pf_monitor *m = &app->mon;
    int H, W;
    getmaxyx(w, H, W);
    if (!m->run_id) {
        pf_w_put(w, 1, 2, W - 4, A_BOLD, "No run yet.");
        pf_w_put(w, 3, 2, W - 4, A_NORMAL,
                 "Choose a learner and its options on the Learner screen (2), then press r.");
        pf_w_put(w, 4, 2, W - 4, pf_theme(PF_ROLE_DIM),
                 "The run's loss, accuracy and other metrics are charted here as it trains.");
        return;
    }
    static const char *const st[] = {"new", "running", "finished", "cancelled", "failed"};
    bool active = pf_app_run_active(app);
    int status = active ? PF_RUN_RUNNING : m->status;
    enum pf_role sr = status == PF_RUN_FINISHED    ? PF_ROLE_GOOD
                      : status == PF_RUN_RUNNING   ? PF_ROLE_NORMAL
                      : status == PF_RUN_CANCELLED ? PF_ROLE_WARN
                                                   : PF_ROLE_ERROR;
    char el[24];
    pf_fmt_duration(el, sizeof el, m->t_now - m->t_start);
    int x = pf_w_putf(w, 0, 0, W, A_BOLD, "run %d: %s ", m->run_id, m->learner);
    x += pf_w_putf(w, 0, x, W - x, pf_theme(sr) | A_BOLD, "%s",
                   status >= 0 && status < 5 ? st[status] : "?");
    pf_w_putf(w, 0, x, W - x, pf_theme(PF_ROLE_DIM), "  %s  step %ld  %s", el, m->step, m->dir);
    char phase[96];
    snprintf(phase, sizeof phase, "%s", m->phase);
    pf_w_progress(w, 1, 0, W, m->fraction, active ? m->eta_s : -1, phase);
    /* latest values */
    int lx = 0;
    for (int i = 0; i < m->n_series && lx < W; i++)
        lx += pf_w_putf(w, 2, lx, W - lx, A_NORMAL, "%s %.4g  ", m->series[i]->name,
                        m->series[i]->last);
    int cy = 3;
    if (m->layer[0]) {
        pf_w_putf(w, cy, 0, W, pf_theme(PF_ROLE_CHANGED), "layer %s: reconstruction error %.4g",
                  m->layer, m->layer_err);
        cy++;
    }
    if (m->rl.active) {
        if (m->rl.best_rlout)
            pf_w_putf(w, cy, 0, W, pf_theme(PF_ROLE_CHANGED),
                      "RL search: best reward %.4f at roll-out %ld; 6 shows the per-layer strategy",
                      m->rl.best, m->rl.best_rlout);
        else
            pf_w_put(w, cy, 0, W, pf_theme(PF_ROLE_CHANGED),
                     "RL search: no roll-out finished yet; 6 shows the per-layer strategy");
        cy++;
    }
    char path[1100];
    if (!active && m->end_text[0]) {
        bool res = result_model(app, path, sizeof path);
        pf_w_putf(w, cy, 0, W, pf_theme(sr), "%s%s", m->end_text,
                  res ? "   (o opens the result model)" : "");
        cy++;
    }
    int logh = H / 4 < 3 ? 3 : H / 4;
    int ch = H - cy - logh;
    if (ch >= 5) {
        const struct pf_series *order[PF_MON_MAX_SERIES];
        int n = chart_order(app, order, PF_MON_MAX_SERIES);
        int nc = W >= 150 ? 3 : W >= 60 ? 2 : 1;
        if (nc > n)
            nc = n ? n : 1;
        int cw = W / nc;
        for (int k = 0; k < nc; k++) {
            const struct pf_series *se = n ? order[(v->first + k) % n] : NULL;
            struct pf_w_series ser = {se ? se->x : NULL,
                                      se ? se->y : NULL,
                                      se ? se->n : 0,
                                      pf_theme(k % 2 ? PF_ROLE_LINE2 : PF_ROLE_LINE1),
                                      NULL,
                                      0};
            char title[64];
            snprintf(title, sizeof title, "%s", se ? se->name : "metrics");
            bool pctv = se && (strstr(se->name, "acc") || strstr(se->name, "sparsity") ||
                               strstr(se->name, "kept"));
            struct pf_w_chart c = {title, "step", false, pctv};
            pf_w_chart_draw(w, cy, k * cw, ch, k == nc - 1 ? W - k * cw : cw, &c, &ser, se ? 1 : 0);
        }
    } else {
        logh = H - cy;
    }
    /* the log: newest at the bottom */
    int ly = H - logh;
    pf_w_fill(w, ly, 0, W, pf_theme(PF_ROLE_HEADER));
    pf_w_putf(w, ly, 0, W, pf_theme(PF_ROLE_HEADER), "log%s",
              v->log_scroll ? " (scrolled: j follows)" : "");
    for (int r = 0; r < logh - 1; r++) {
        int k = m->log_n - v->log_scroll - (logh - 1) + r;
        if (k < 0 || k >= m->log_n)
            continue;
        pf_w_put(w, ly + 1 + r, 0, W, A_NORMAL, m->log[(m->log_head + k) % PF_MON_LOG]);
    }
}

const struct pf_screen_ops pf_screen_monitor = {
    .name = "Run",
    .keys = &keymap,
    .tab = '3',
    .enter = monitor_enter,
    .draw = monitor_draw,
    .key = monitor_key,
    .leave = monitor_leave,
};
