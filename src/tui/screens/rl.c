/* rl.c: the RL screen, the live view of a DDPG search (learners/common/rlsearch.h), and the R
 * prompt that starts one. The app digests the search's events into app->mon.rl (app_state.c):
 * this screen draws the reward of every roll-out with the best so far (the series rl_reward and
 * rl_best), the best strategy per layer as bars with the uniform strategy's value as a mark,
 * the budget the best strategy reaches against its target, the agent's noise and losses, and
 * roll-out k/N with the search's own time estimate. Values are preserve ratios (channel
 * pruning under a MACs budget), sparsities or bits, labelled from the run's learner.
 *
 * R (model screen, or here) asks "<kind> [budget] [roll-outs] [finalists]" (finalists: channel
 * searches only, cp_nb_finalists), then chooses the learner with
 * the options that make it search (pf_app_set_learner_opts: all or nothing), starts the run as
 * the learner screen does (pf_app_start_run) and switches here. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/bar.h"
#include "tui/widgets/chart.h"
#include "tui/widgets/progress.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

#define HEAD_H   5  /* rows above the chart and the layer table */
#define LOG_H    4  /* the log: a header and three lines */
#define BITS_MAX 8. /* the bars' full scale for bit-widths (PocketFlow's uql_w_bit_max) */

enum { K_CANCEL = PF_SCROLL_LAST + 1, K_BACK, K_PLAN, K_NEW };

static const struct pf_binding bindings[] = {
    {'c', K_CANCEL, "c", "cancel", "cancel the search: the run stops after its current roll-out"},
    {'q', K_BACK, "q/Esc", "back", "back to the model screen (the search goes on)"},
    {PF_KEY_ESC, K_BACK, NULL, NULL, NULL},
    {'b', K_BACK, NULL, NULL, NULL},
    {'j', PF_SCROLL_DOWN, "j/k", "layers",
     "scroll the per-layer strategy (also the arrows, PgUp/PgDn)"},
    {KEY_DOWN, PF_SCROLL_DOWN, NULL, NULL, NULL},
    {'k', PF_SCROLL_UP, NULL, NULL, NULL},
    {KEY_UP, PF_SCROLL_UP, NULL, NULL, NULL},
    {KEY_NPAGE, PF_SCROLL_PGDN, NULL, NULL, NULL},
    {KEY_PPAGE, PF_SCROLL_PGUP, NULL, NULL, NULL},
    {KEY_HOME, PF_SCROLL_HOME, NULL, NULL, NULL},
    {KEY_END, PF_SCROLL_END, NULL, NULL, NULL},
    {'p', K_PLAN, "p", "use best",
     "load the strategy the search kept into the model screen's plan (the run's "
     "rl/final.plan.yaml after finalists, else rl/best.plan.yaml)"},
    {'R', K_NEW, "R", "new search", "start another RL search (kind, budget, roll-outs, finalists)"},
};
static const struct pf_keymap keymap = {"RL search", bindings, (int)PF_ARRAY_LEN(bindings)};

/* ---- the R prompt ---- */

static const struct {
    const char *word; /* what may be typed (or a prefix of it) */
    enum pf_rl_kind kind;
} kinds[] = {
    {"channel", PF_RL_CHANNEL}, {"macs", PF_RL_CHANNEL}, {"sparsity", PF_RL_SPARSITY},
    {"weight", PF_RL_SPARSITY}, {"bits", PF_RL_BITS},    {"quant", PF_RL_BITS},
};

/* The learner and option keys of each kind (PocketFlow's flags). */
static const struct {
    const char *learner;
    const char *mode_key, *mode_val; /* what turns the search on */
    const char *budget_key, *rlouts_key;
    const char *finalists_key; /* NULL: the search has no finalists */
} searches[] = {
    [PF_RL_CHANNEL] = {"channel", "cp_prune_option", "auto", "cp_preserve_ratio", "cp_nb_rlouts",
                       "cp_nb_finalists"},
    [PF_RL_SPARSITY] = {"weight-sparse", "ws_prune_ratio_prtl", "optimal", "ws_prune_ratio",
                        "ws_nb_rlouts", NULL},
    [PF_RL_BITS] = {"uniform", "uql_enbl_rl_agent", "True", "uql_equivalent_bits", "uql_nb_rlouts",
                    NULL},
};

/* A number that is the whole token. */
static bool number(const char *tok, double *v)
{
    char *end;
    *v = strtod(tok, &end);
    return end != tok && !*end && isfinite(*v);
}

int pf_rl_request_parse(const char *text, struct pf_rl_request *req)
{
    memset(req, 0, sizeof *req);
    char buf[256], *tok[5], *save = NULL;
    int n = 0;
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    for (char *t = strtok_r(buf, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
        if (n == 4)
            return PF_ERR(PF_EINVAL, "too much: type <kind> [budget] [roll-outs] [finalists], "
                                     "e.g. 'channel 0.25 20 4'");
        tok[n++] = t;
    }
    if (!n)
        return PF_ERR(PF_EINVAL, "which search? channel (kept MACs), sparsity or bits, "
                                 "e.g. 'channel 0.5 20'");
    for (char *c = tok[0]; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (size_t i = 0; i < PF_ARRAY_LEN(kinds) && !req->kind; i++)
        if (!strncmp(kinds[i].word, tok[0], strlen(tok[0])))
            req->kind = kinds[i].kind;
    if (!req->kind)
        return PF_ERR(PF_EINVAL, "unknown search '%s': channel (kept MACs), sparsity or bits",
                      tok[0]);
    req->budget = req->kind == PF_RL_CHANNEL    ? PF_RL_DEFAULT_MACS
                  : req->kind == PF_RL_SPARSITY ? PF_RL_DEFAULT_SPARSITY
                                                : PF_RL_DEFAULT_BITS;
    req->rlouts = PF_RL_DEFAULT_RLOUTS;
    double v;
    if (n > 1) {
        if (!number(tok[1], &v))
            return PF_ERR(PF_EINVAL, "budget '%s' is not a number", tok[1]);
        if (req->kind == PF_RL_CHANNEL && !(v > 0 && v < 1))
            return PF_ERR(PF_EINVAL,
                          "kept MACs %g is outside (0, 1): the fraction of the MACs the pruned "
                          "model keeps, e.g. 0.5",
                          v);
        if (req->kind == PF_RL_SPARSITY && !(v > 0 && v < 1))
            return PF_ERR(PF_EINVAL,
                          "sparsity %g is outside (0, 1): the fraction of weights set to zero, "
                          "e.g. 0.9",
                          v);
        if (req->kind == PF_RL_BITS && !(v >= 2 && v <= 8))
            return PF_ERR(PF_EINVAL,
                          "bits %g is outside [2, 8]: the average bit-width of the weights, "
                          "e.g. 4",
                          v);
        req->budget = v;
    }
    if (n > 2) {
        if (!number(tok[2], &v) || v != floor(v) || v < 1 || v > 1e6)
            return PF_ERR(PF_EINVAL, "roll-outs '%s' must be a whole number from 1, e.g. 20",
                          tok[2]);
        req->rlouts = (int)v;
    }
    if (n > 3) {
        if (!searches[req->kind].finalists_key)
            return PF_ERR(PF_EINVAL, "finalists are for channel searches only; type <kind> "
                                     "[budget] [roll-outs] for sparsity and bits");
        /* the upper bound is the option row's (rlsearch.h), checked when the run is set up */
        if (!number(tok[3], &v) || v != floor(v) || v < 0 || v > 1e6)
            return PF_ERR(PF_EINVAL,
                          "finalists '%s' must be a whole number from 0 (0: keep the search's "
                          "best), e.g. 4",
                          tok[3]);
        req->finalists = (int)v;
    }
    req->learner = searches[req->kind].learner;
    const char *keys[3] = {searches[req->kind].mode_key, searches[req->kind].budget_key,
                           searches[req->kind].rlouts_key};
    snprintf(req->kv[0][1], sizeof req->kv[0][1], "%s", searches[req->kind].mode_val);
    snprintf(req->kv[1][1], sizeof req->kv[1][1], "%g", req->budget);
    snprintf(req->kv[2][1], sizeof req->kv[2][1], "%d", req->rlouts);
    for (int i = 0; i < 3; i++)
        snprintf(req->kv[i][0], sizeof req->kv[i][0], "%s", keys[i]);
    req->n_kv = 3;
    if (n > 3) {
        snprintf(req->kv[3][0], sizeof req->kv[3][0], "%s", searches[req->kind].finalists_key);
        snprintf(req->kv[3][1], sizeof req->kv[3][1], "%d", req->finalists);
        req->n_kv = 4;
    }
    return 0;
}

int pf_rl_request_start(struct pf_app *app, const struct pf_rl_request *req)
{
    if (pf_app_run_active(app))
        return PF_ERR(PF_EINVAL, "a run is active: cancel it (c) before a new search");
    const struct pf_learner_ops *ops = pf_learner_find(req->learner);
    if (!ops)
        return PF_ERR(PF_EUNSUPPORTED, "this build has no learner %s", req->learner);
    const char *kv[PF_RL_REQ_OPTS][2];
    for (int i = 0; i < req->n_kv; i++) {
        kv[i][0] = req->kv[i][0];
        kv[i][1] = req->kv[i][1];
    }
    int rc = pf_app_set_learner_opts(app, ops, (const char *const(*)[2])kv, req->n_kv, "RL search");
    if (rc < 0 || (rc = pf_app_start_run(app)) < 0)
        return rc;
    if (pf_app_switch(app, &pf_screen_rl) < 0)
        pf_app_err(app, -1); /* the run goes on; 6 shows it */
    else
        pf_app_msg(app, PF_MSG_INFO, "RL search of %s started: %s %g, %d roll-out%s%s",
                   pf_rl_value_label(req->kind), pf_rl_budget_label(req->kind), req->budget,
                   req->rlouts, req->rlouts == 1 ? "" : "s",
                   req->finalists ? ", then finalists" : "");
    return 0;
}

/* The prompt's accept: on a refusal the prompt stays open with the message. On success the
 * stack is replaced by the RL screen (the prompt is gone: text is not touched after that). */
static int accept_rl(struct pf_app *app, const char *text)
{
    struct pf_rl_request req;
    int rc = pf_rl_request_parse(text, &req);
    return rc < 0 ? rc : pf_rl_request_start(app, &req);
}

const struct pf_prompt_req pf_rl_prompt = {
    .title = "RL search: <kind> [budget] [roll-outs] [finalists, channel only]",
    .initial = "channel 0.5 20",
    .accept = accept_rl,
    /* both lines fit the prompt's 68 columns */
    .hint = "defaults: MACs 0.5, sparsity 0.9, bits 4; 20 roll-outs; 0 finalists",
};

/* ---- keys ---- */

/* Layer rows that fit: what draw() leaves for the table (approximate before the first draw). */
static int page_rows(const struct pf_app *app)
{
    int p = app->body_h - HEAD_H - LOG_H - 1;
    return p > 1 ? p : 1;
}

static int rl_enter(struct pf_screen *s, struct pf_app *app)
{
    (void)app;
    s->state = pf_calloc(1, sizeof(struct pf_rl_view));
    return s->state ? 0 : -PF_ENOMEM;
}

static void rl_leave(struct pf_screen *s)
{
    free(s->state);
    s->state = NULL;
}

static void use_best(struct pf_app *app)
{
    char path[1100];
    if (!app->mon.run_id || !app->mon.dir[0]) {
        pf_app_msg(app, PF_MSG_WARN, "no search yet: R starts one");
        return;
    }
    snprintf(path, sizeof path, "%s/rl/final.plan.yaml", app->mon.dir);
    bool final = access(path, R_OK) == 0; /* the finalist kept (cp_nb_finalists) */
    if (!final)
        snprintf(path, sizeof path, "%s/rl/best.plan.yaml", app->mon.dir);
    if (pf_app_plan_load(app, path) < 0) {
        pf_app_err(app, -1);
        return;
    }
    pf_app_msg(app, PF_MSG_GOOD, "the %s strategy of run %d is the plan now (1 shows it)",
               final ? "kept finalist's" : "best", app->mon.run_id);
}

static enum pf_key_result rl_key(struct pf_screen *s, int ch)
{
    struct pf_rl_view *v = s->state;
    struct pf_app *app = s->app;
    int page = page_rows(app), n = app->mon.rl.n_layers, a = pf_keymap_action(&keymap, ch);
    switch (a) {
    case K_CANCEL:
        pf_app_cancel_run(app);
        break;
    case K_BACK:
        if (pf_app_switch(app, &pf_screen_model) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW; /* this screen is gone */
    case K_PLAN:
        use_best(app);
        break;
    case K_NEW:
        if (pf_app_run_active(app))
            pf_app_msg(app, PF_MSG_WARN, "a run is active: cancel it (c) before a new search");
        else
            pf_app_push(app, &pf_screen_prompt, &pf_rl_prompt);
        return PF_KEY_REDRAW;
    default:
        return pf_w_scroll_key(a, &v->top, page, n) ? PF_KEY_REDRAW : PF_KEY_IGNORED;
    }
    return PF_KEY_REDRAW;
}

/* ---- drawing ---- */

/* A value of the search: "-" unknown, bits as whole numbers, ratios with three decimals. */
static void fmt_val(char *buf, size_t n, enum pf_rl_kind kind, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (kind == PF_RL_BITS && v == floor(v))
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, kind == PF_RL_BITS ? "%.2f" : "%.3f", v);
}

/* The full scale of the bars and the gauge: 1 for fractions, 8 bits (or more) for bits. */
static double full_scale(const struct pf_rl_mon *rl)
{
    if (rl->kind != PF_RL_BITS)
        return 1.0;
    double s = BITS_MAX;
    for (int i = 0; i < rl->n_layers; i++)
        s = fmax(s, fmax(rl->layers[i].best, rl->layers[i].uniform));
    return fmax(s, fmax(rl->target, rl->budget));
}

/* "reward 0.81  best 0.83 (roll-out 5)  noise 0.4 ..." */
static void draw_stats(WINDOW *w, int y, int W, const struct pf_rl_mon *rl)
{
    char r[16], b[16];
    snprintf(r, sizeof r, isnan(rl->reward) ? "-" : "%.4f", rl->reward);
    snprintf(b, sizeof b, isnan(rl->best) ? "-" : "%.4f", rl->best);
    int x = pf_w_putf(w, y, 0, W, A_NORMAL, "reward %s  ", r);
    x += pf_w_putf(w, y, x, W - x, pf_theme(PF_ROLE_GOOD) | A_BOLD, "best %s", b);
    if (rl->best_rlout)
        x += pf_w_putf(w, y, x, W - x, A_NORMAL, " (roll-out %ld)", rl->best_rlout);
    if (!isnan(rl->noise))
        x += pf_w_putf(w, y, x, W - x, A_NORMAL, "  noise %.3g", rl->noise);
    if (!isnan(rl->actor_loss))
        x += pf_w_putf(w, y, x, W - x, A_NORMAL, "  actor %.3g  critic %.3g", rl->actor_loss,
                       rl->critic_loss);
    else
        x += pf_w_put(w, y, x, W - x, pf_theme(PF_ROLE_DIM), "  (agent not training yet)");
    if (!isnan(rl->seconds))
        pf_w_putf(w, y, x, W - x, pf_theme(PF_ROLE_DIM), "  %.1f s/roll-out", rl->seconds);
}

/* "kept MACs [#######|   ] 0.49 of 0.50 (98%)" */
static void draw_budget(WINDOW *w, int y, int W, const struct pf_rl_mon *rl)
{
    const char *label = pf_rl_budget_label(rl->kind);
    double b = rl->best_rlout ? rl->best_budget : rl->budget, scale = full_scale(rl);
    char bs[16], ts[16], right[96];
    fmt_val(bs, sizeof bs, rl->kind, b);
    fmt_val(ts, sizeof ts, rl->kind, rl->target);
    double f = pf_rl_budget_frac(rl);
    char pct[24] = "";
    if (!isnan(f))
        snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * f);
    snprintf(right, sizeof right, " %s of target %s%s%s", bs, ts, pct,
             isnan(b)         ? ""
             : rl->best_rlout ? ", best"
                              : ", latest");
    int x = pf_w_putf(w, y, 0, W, A_BOLD, "%s ", label);
    int gw = W - x - (int)strlen(right) - 2;
    if (gw > 40)
        gw = 40;
    if (gw >= 6) {
        pf_w_put(w, y, x, 1, A_NORMAL, "[");
        pf_w_gauge(w, y, x + 1, gw, isnan(b) ? 0 : b / scale,
                   isnan(rl->target) ? NAN : rl->target / scale, pf_theme(PF_ROLE_BAR) | A_BOLD,
                   pf_theme(PF_ROLE_WARN) | A_BOLD);
        pf_w_put(w, y, x + 1 + gw, 1, A_NORMAL, "]");
        x += gw + 2;
    }
    pf_w_put(w, y, x, W - x, A_NORMAL, right);
}

/* The layers: name, uniform, best, latest, and a bar of the best value with the uniform one
 * marked. */
static void draw_layers(WINDOW *w, int y, int x, int h, int width, const struct pf_rl_mon *rl,
                        int top)
{
    const int nw = 7; /* a number column */
    bool latest = width >= 56;
    int gw = width / 4 < 8 ? 8 : width / 4;
    int namew = width - 2 * (nw + 1) - (latest ? nw + 1 : 0) - gw - 1;
    if (namew < 6) {
        gw = 0;
        namew = width - 2 * (nw + 1) - (latest ? nw + 1 : 0);
    }
    attr_t ha = pf_theme(PF_ROLE_HEADER);
    pf_w_fill(w, y, x, width, ha);
    int cx = x + namew;
    pf_w_put(w, y, x, namew, ha, "layer");
    pf_w_putf(w, y, cx, width - namew, ha, " %*s %*s", nw, "uniform", nw, "best");
    if (latest)
        pf_w_putf(w, y, cx + 2 * (nw + 1), nw + 1, ha, " %*s", nw, "latest");
    if (gw)
        pf_w_putf(w, y, x + width - gw, gw, ha, "%s (| uniform)", pf_rl_value_label(rl->kind));
    double scale = full_scale(rl);
    int page = h - 1;
    if (top > rl->n_layers - page)
        top = rl->n_layers - page;
    if (top < 0)
        top = 0;
    for (int r = 0; r < page && top + r < rl->n_layers; r++) {
        const struct pf_rl_layer *l = &rl->layers[top + r];
        int ry = y + 1 + r;
        char u[16], b[16], lv[16];
        fmt_val(u, sizeof u, rl->kind, l->uniform);
        fmt_val(b, sizeof b, rl->kind, l->best);
        fmt_val(lv, sizeof lv, rl->kind, l->value);
        bool moved = !isnan(l->best) && !isnan(l->uniform) && fabs(l->best - l->uniform) > 5e-3;
        pf_w_put(w, ry, x, namew - 1, l->layer < 0 ? pf_theme(PF_ROLE_DIM) : A_NORMAL, l->name);
        pf_w_putf(w, ry, cx, nw + 1, pf_theme(PF_ROLE_DIM), " %*s", nw, u);
        pf_w_putf(w, ry, cx + nw + 1, nw + 1, moved ? pf_theme(PF_ROLE_CHANGED) : A_NORMAL, " %*s",
                  nw, b);
        if (latest)
            pf_w_putf(w, ry, cx + 2 * (nw + 1), nw + 1, pf_theme(PF_ROLE_DIM), " %*s", nw, lv);
        if (gw)
            pf_w_gauge(w, ry, x + width - gw, gw, isnan(l->best) ? 0 : l->best / scale,
                       isnan(l->uniform) ? NAN : l->uniform / scale, pf_theme(PF_ROLE_BAR) | A_BOLD,
                       pf_theme(PF_ROLE_WARN) | A_BOLD);
    }
    if (!rl->n_layers)
        pf_w_put(w, y + 1, x + 1, width - 1, pf_theme(PF_ROLE_DIM), "no layer values yet");
    else if (rl->n_layers > page)
        pf_w_putf(w, y, x + namew - 9 > x + 6 ? x + namew - 9 : x + 6, 9, ha, "%d-%d/%d", top + 1,
                  top + page < rl->n_layers ? top + page : rl->n_layers, rl->n_layers);
}

/* The log: newest at the bottom. */
static void draw_log(WINDOW *w, int y, int h, int W, const struct pf_monitor *m)
{
    pf_w_fill(w, y, 0, W, pf_theme(PF_ROLE_HEADER));
    pf_w_put(w, y, 0, W, pf_theme(PF_ROLE_HEADER), "log");
    for (int r = 0; r < h - 1; r++) {
        int k = m->log_n - (h - 1) + r;
        if (k >= 0 && k < m->log_n)
            pf_w_put(w, y + 1 + r, 0, W, A_NORMAL, m->log[(m->log_head + k) % PF_MON_LOG]);
    }
}

static void rl_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_rl_view *v = s->state;
    const struct pf_app *app = s->app;
    const struct pf_monitor *m = &app->mon;
    const struct pf_rl_mon *rl = &m->rl;
    int H, W;
    getmaxyx(w, H, W);
    if (!m->run_id) {
        pf_w_put(w, 1, 2, W - 4, A_BOLD, "No RL search yet.");
        pf_w_put(w, 3, 2, W - 4, A_NORMAL,
                 "Press R on the Model screen (1) to start one: the DDPG agent searches per-layer");
        pf_w_put(w, 4, 2, W - 4, A_NORMAL,
                 "preserve ratios under a MACs budget, sparsities, or bit-widths.");
        pf_w_put(w, 5, 2, W - 4, pf_theme(PF_ROLE_DIM),
                 "Each roll-out's reward, the best strategy against the uniform one and the "
                 "budget it reaches are shown here.");
        return;
    }
    bool active = pf_app_run_active(app);
    static const char *const st[] = {"new", "running", "finished", "cancelled", "failed"};
    int status = active ? PF_RUN_RUNNING : m->status;
    enum pf_role sr = status == PF_RUN_FINISHED    ? PF_ROLE_GOOD
                      : status == PF_RUN_RUNNING   ? PF_ROLE_NORMAL
                      : status == PF_RUN_CANCELLED ? PF_ROLE_WARN
                                                   : PF_ROLE_ERROR;
    int x = pf_w_putf(w, 0, 0, W, A_BOLD, "RL search of %s: run %d (%s) ",
                      pf_rl_value_label(rl->active ? rl->kind : pf_rl_kind_of(m->learner)),
                      m->run_id, m->learner);
    x += pf_w_putf(w, 0, x, W - x, pf_theme(sr) | A_BOLD, "%s",
                   status >= 0 && status < 5 ? st[status] : "?");
    if (rl->n)
        pf_w_putf(w, 0, x, W - x, pf_theme(PF_ROLE_DIM), "  roll-out %d/%d", rl->k, rl->n);
    pf_w_progress(w, 1, 0, W, m->fraction, active ? rl->eta_s : -1, m->phase);
    int logh = H - HEAD_H >= LOG_H + 4 ? LOG_H : 0;
    if (!active && m->end_text[0])
        pf_w_putf(w, 4, 0, W, pf_theme(sr), "%s", m->end_text);
    if (!rl->active) {
        pf_w_put(w, 2, 0, W, pf_theme(PF_ROLE_DIM),
                 active ? "waiting for the search's first events..."
                        : "this run did not report an RL search (its curves are on the Run "
                          "screen, 3)");
    } else {
        draw_stats(w, 2, W, rl);
        draw_budget(w, 3, W, rl);
        int bh = H - HEAD_H - logh;
        int cw = W >= 70 ? W * 2 / 5 : 0;
        if (bh >= 5 && cw) {
            const struct pf_series *rw = pf_app_series(app, "rl_reward");
            const struct pf_series *be = pf_app_series(app, "rl_best");
            struct pf_w_series ser[2] = {
                {rw ? rw->x : NULL, rw ? rw->y : NULL, rw ? rw->n : 0, pf_theme(PF_ROLE_LINE1),
                 NULL, 0},
                {be ? be->x : NULL, be ? be->y : NULL, be ? be->n : 0, pf_theme(PF_ROLE_LINE2),
                 NULL, 0},
            };
            struct pf_w_chart c = {"reward, best", "roll-out", false, false};
            pf_w_chart_draw(w, HEAD_H, 0, bh, cw, &c, ser, 2);
        }
        if (bh >= 2)
            draw_layers(w, HEAD_H, cw ? cw + 1 : 0, bh, W - (cw ? cw + 1 : 0), rl, v->top);
    }
    if (logh)
        draw_log(w, H - logh, logh, W, m);
}

const struct pf_screen_ops pf_screen_rl = {
    .name = "RL",
    .keys = &keymap,
    .tab = '6',
    .enter = rl_enter,
    .draw = rl_draw,
    .key = rl_key,
    .leave = rl_leave,
};
