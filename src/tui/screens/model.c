/* model.c: the Model screen. A header with the model, its dataset and accuracy, and the totals
 * (MACs or FLOPs, params, stored size) as "original -> with plan"; below, the layer table with
 * the profiler's per-layer numbers and the four plan columns (prune ratio, sparsity, weight and
 * activation bits). +/- edit the focused plan column of the cursor layer and the profile is
 * updated at once (pf_profile_update: only the layers the edit touches are recomputed). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

const int pf_bits_steps[] = {1, 2, 3, 4, 5, 6, 8, 16, 32};
const int pf_bits_steps_len = (int)PF_ARRAY_LEN(pf_bits_steps);

enum {
    K_UP = 1,
    K_DOWN,
    K_PGUP,
    K_PGDN,
    K_HOME,
    K_END,
    K_INC,
    K_DEC,
    K_NEXTCOL,
    K_PREVCOL,
    K_ALL,
    K_RESET,
    K_FLOPS,
    K_DETAIL,
    K_FILTER,
    K_SKIP,
    K_SAVE,
    K_LOAD,
    K_RUN,
    K_RL,
    K_BLOCKS,
    K_CLICK
};

static const struct pf_binding bindings[] = {
    {'j', K_DOWN, "j/k", "move", "move the cursor down / up the layers (also the arrow keys)"},
    {KEY_DOWN, K_DOWN, NULL, NULL, NULL},
    {'k', K_UP, NULL, NULL, NULL},
    {KEY_UP, K_UP, NULL, NULL, NULL},
    {KEY_NPAGE, K_PGDN, "PgDn/PgUp", NULL, "a page down / up"},
    {KEY_PPAGE, K_PGUP, NULL, NULL, NULL},
    {KEY_HOME, K_HOME, "Home/End", NULL, "first / last layer"},
    {KEY_END, K_END, NULL, NULL, NULL},
    {'+', K_INC, "+/-", "change", "raise / lower the focused plan value of the layer"},
    {'=', K_INC, NULL, NULL, NULL},
    {KEY_RIGHT, K_INC, NULL, NULL, NULL},
    {'-', K_DEC, NULL, NULL, NULL},
    {KEY_LEFT, K_DEC, NULL, NULL, NULL},
    {PF_KEY_TAB, K_NEXTCOL, "Tab", "column", "edit the next plan column (prune, sparsity, bits)"},
    {KEY_BTAB, K_PREVCOL, NULL, NULL, NULL},
    {'u', K_ALL, "u", "all", "set the focused value of this layer on every layer that takes it"},
    {'0', K_RESET, "0", "reset", "reset the plan: nothing pruned, 32-bit everything"},
    {'m', K_FLOPS, "m", "MACs/FLOPs", "count MACs or FLOPs (2 x MACs)"},
    {'b', K_BLOCKS, "b", "blocks",
     "round pruned channel counts to whole 16-channel blocks, which the CPU runs at their MACs "
     "(the plan's round_to 16), or back to exact counts (round_to 1)"},
    {'\n', K_DETAIL, "Enter", "detail", "layer detail: weight histogram, per-channel L1 norms"},
    {KEY_ENTER, K_DETAIL, NULL, NULL, NULL},
    {'/', K_FILTER, "/", "filter", "show only layers whose name or type contains a text"},
    {'x', K_SKIP, "x", NULL, "skip flag: learners leave this layer alone"},
    {'s', K_SAVE, "s", NULL, "save the plan as YAML"},
    {'p', K_LOAD, "p", NULL, "load a plan (YAML, or PocketFlow's ratio.list)"},
    {'r', K_RUN, "r", "learner", "choose a learner and start a run with this plan"},
    {'R', K_RL, "R", "RL search",
     "RL search of per-layer ratios / bits: asks kind, budget, roll-outs, finalists; runs it"},
    {PF_KEY_CLICK, K_CLICK, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Model", bindings, (int)PF_ARRAY_LEN(bindings)};

/* ---- filtering ---- */

void pf_model_view_filter(struct pf_model_view *v, const struct pf_app *app, const char *filter)
{
    const struct pf_model *m = app->model;
    int keep = v->n_vis ? v->vis[v->cur] : app->sel_layer;
    snprintf(v->filter, sizeof v->filter, "%s", filter ? filter : "");
    v->n_vis = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (!v->filter[0] || strstr(m->layers[i].name, v->filter) ||
            strstr(m->layers[i].ops->name, v->filter))
            v->vis[v->n_vis++] = i;
    v->cur = 0;
    for (int k = 0; k < v->n_vis; k++)
        if (v->vis[k] == keep)
            v->cur = k;
    v->top = 0;
}

static int page_rows(const struct pf_app *app)
{
    int p = pf_w_table_page(app->body_h - PF_MODEL_HEADER_H);
    return p > 0 ? p : 1;
}

/* ---- plan editing ---- */

/* Can column col of layer i be edited? If not, why (for the message). */
static const char *not_editable(const struct pf_app *app, int i, enum pf_plan_col col)
{
    const struct pf_layer *l = &app->model->layers[i];
    if (col == PF_COL_ABITS)
        return NULL;
    if (!pf_plan_has_weights(l))
        return "only conv2d and dense layers have weights to prune, sparsify or quantize";
    if (col == PF_COL_PRUNE && !pf_app_prunable(app, i)) {
        int g = pf_groups_in_group(app->groups, app->model, i);
        return g < 0 ? "its input mixes several channel groups"
                     : pf_group_fixed_str(app->groups->groups[g].fixed);
    }
    return NULL;
}

static double ratio_step(double v, int dir)
{
    /* snap to the grid, so that 0.3 + 0.05 is exactly 0.35 as printed */
    long k = (long)(v / PF_RATIO_STEP + 0.5) + dir;
    if (k < 0)
        k = 0;
    double r = k * PF_RATIO_STEP;
    return r > PF_RATIO_MAX ? PF_RATIO_MAX : r;
}

static int bits_step(int b, int dir)
{
    int k = 0;
    while (k < pf_bits_steps_len - 1 && pf_bits_steps[k] < b)
        k++;
    /* b between two steps: k is the step above it */
    if (dir > 0)
        k = pf_bits_steps[k] > b ? k : k + 1;
    else
        k = k - 1;
    if (k < 0)
        k = 0;
    if (k >= pf_bits_steps_len)
        k = pf_bits_steps_len - 1;
    return pf_bits_steps[k];
}

static void set_col(struct pf_plan_layer *e, enum pf_plan_col col, const struct pf_plan_layer *src)
{
    switch (col) {
    case PF_COL_PRUNE:
        e->prune_ratio = src->prune_ratio;
        break;
    case PF_COL_SPARSITY:
        e->sparsity = src->sparsity;
        break;
    case PF_COL_WBITS:
        e->w_bits = src->w_bits;
        break;
    default:
        e->a_bits = src->a_bits;
        break;
    }
}

static void edit(struct pf_app *app, int i, enum pf_plan_col col, int dir)
{
    const char *why = not_editable(app, i, col);
    if (why) {
        pf_app_msg(app, PF_MSG_WARN, "%s: %s", app->model->layers[i].name, why);
        return;
    }
    struct pf_plan_layer *e = &app->plan.layers[i], undo = *e;
    switch (col) {
    case PF_COL_PRUNE:
        e->prune_ratio = ratio_step(e->prune_ratio, dir);
        break;
    case PF_COL_SPARSITY:
        e->sparsity = ratio_step(e->sparsity, dir);
        break;
    case PF_COL_WBITS:
        e->w_bits = bits_step(e->w_bits, dir);
        break;
    default:
        e->a_bits = bits_step(e->a_bits, dir);
        break;
    }
    if (pf_app_plan_update(app, i, &undo) < 0)
        return;
    app->msg[0] = 0;
    int gi = app->prof->rows[i].group_in;
    if (col == PF_COL_PRUNE && pf_profile_group_odd(app->prof, gi)) {
        int keep = app->prof->groups[gi].keep;
        pf_app_msg(app, PF_MSG_WARN,
                   "%s keeps %d of %d inputs, which run like %d (%d-channel "
                   "blocks; b rounds)",
                   app->model->layers[i].name, keep, app->prof->groups[gi].channels,
                   (keep + PF_BLK - 1) / PF_BLK * PF_BLK, PF_BLK);
    }
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 100.0;
}

/* After a whole-plan update was refused and the caller restored the plan: recomputes the
 * profile and says "not applied", keeping the refusal's message. */
static void refused(struct pf_app *app)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", app->msg);
    pf_profile_update_all(app->prof);
    pf_app_msg(app, PF_MSG_ERROR, "not applied: %s", msg);
}

/* Toggles the plan's round_to between PF_BLK and 1 (from any other value: to PF_BLK). */
static void round_blocks(struct pf_app *app)
{
    int undo = app->plan.round_to;
    app->plan.round_to = undo == PF_BLK ? 1 : PF_BLK;
    if (pf_app_plan_update(app, -1, NULL) < 0) {
        app->plan.round_to = undo;
        refused(app);
        return;
    }
    const struct pf_profile *p = app->prof;
    double macs = pct(p->after.macs, p->before.macs);
    int odd = pf_profile_n_odd(p);
    if (app->plan.round_to == PF_BLK)
        pf_app_msg(app, PF_MSG_INFO, "round_to %d: whole %d-channel blocks, MACs %.1f%%", PF_BLK,
                   PF_BLK, macs);
    else
        pf_app_msg(app, PF_MSG_INFO,
                   "round_to 1: exact counts, MACs %.1f%%; %d group%s between blocks (highlighted)",
                   macs, odd, odd == 1 ? "" : "s");
}

static const char *const col_names[PF_COL_N] = {"prune ratio", "sparsity", "weight bits",
                                                "activation bits"};

static void set_all(struct pf_app *app, int i, enum pf_plan_col col)
{
    struct pf_plan saved = {0};
    if (pf_plan_copy(&saved, &app->plan) < 0) {
        pf_app_err(app, -1);
        return;
    }
    struct pf_plan_layer src = app->plan.layers[i];
    int n = 0;
    for (int k = 0; k < app->model->n_layers; k++)
        if (!not_editable(app, k, col)) {
            set_col(&app->plan.layers[k], col, &src);
            n++;
        }
    if (pf_app_plan_update(app, -1, NULL) < 0) {
        for (int k = 0; k < app->model->n_layers; k++)
            app->plan.layers[k] = saved.layers[k];
        refused(app);
    } else {
        int odd = col == PF_COL_PRUNE ? pf_profile_n_odd(app->prof) : 0;
        char tail[96] = "";
        if (odd)
            snprintf(tail, sizeof tail, "; %d group%s between blocks (b rounds)", odd,
                     odd == 1 ? "" : "s");
        pf_app_msg(app, odd ? PF_MSG_WARN : PF_MSG_INFO, "%s of %s set on %d layers%s",
                   col_names[col], app->model->layers[i].name, n, tail);
    }
    pf_plan_deinit(&saved);
}

static int accept_filter(struct pf_app *app, const char *text)
{
    struct pf_screen *s = &app->stack[app->depth - 2]; /* the model screen under the prompt */
    pf_model_view_filter(s->state, app, text);
    return 0;
}

static int accept_save(struct pf_app *app, const char *text)
{
    int rc = pf_plan_save(&app->plan, app->model, text);
    if (rc == 0)
        pf_app_msg(app, PF_MSG_GOOD, "plan saved to %s", text);
    return rc;
}

static int accept_load(struct pf_app *app, const char *text)
{
    int rc = pf_app_plan_load(app, text);
    if (rc == 0)
        pf_app_msg(app, PF_MSG_GOOD, "plan loaded from %s", text);
    return rc;
}

/* ---- screen ops ---- */

static int model_enter(struct pf_screen *s, struct pf_app *app)
{
    struct pf_model_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    v->vis = pf_calloc((size_t)app->model->n_layers + 1, sizeof *v->vis);
    if (!v->vis)
        return -PF_ENOMEM;
    v->gen = app->model_gen;
    pf_model_view_filter(v, app, "");
    pf_w_table_scroll(&v->top, v->cur, page_rows(app), v->n_vis);
    return 0;
}

static void model_leave(struct pf_screen *s)
{
    struct pf_model_view *v = s->state;
    if (v)
        free(v->vis);
    free(v);
    s->state = NULL;
}

/* Another model was opened (o): rebuild the row list for it. */
static void model_tick(struct pf_screen *s)
{
    struct pf_model_view *v = s->state;
    struct pf_app *app = s->app;
    if (v->gen == app->model_gen)
        return;
    int *nv = pf_realloc_array(v->vis, (size_t)app->model->n_layers + 1, sizeof *nv);
    if (!nv)
        return;
    v->vis = nv;
    v->n_vis = 0;
    v->gen = app->model_gen;
    pf_model_view_filter(v, app, "");
}

static enum pf_key_result model_key(struct pf_screen *s, int ch)
{
    struct pf_model_view *v = s->state;
    struct pf_app *app = s->app;
    int act = pf_keymap_action(&keymap, ch);
    if (!act)
        return PF_KEY_IGNORED;
    model_tick(s);
    int page = page_rows(app);
    int i = v->n_vis ? v->vis[v->cur] : -1;
    static const struct pf_prompt_req filter_req = {
        .title = "Filter layers (name or type, empty = all):", .accept = accept_filter};
    static const struct pf_prompt_req save_req = {
        .title = "Save plan to:", .initial = "plan.yaml", .accept = accept_save};
    static const struct pf_prompt_req load_req = {.title = "Load plan (.yaml or ratio .list):",
                                                  .accept = accept_load};
    switch (act) {
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
    case K_HOME:
        v->cur = 0;
        break;
    case K_END:
        v->cur = v->n_vis - 1;
        break;
    case K_CLICK: {
        int row = app->click_y - PF_MODEL_HEADER_H - 1;
        if (row < 0 || v->top + row >= v->n_vis)
            return PF_KEY_HANDLED;
        v->cur = v->top + row;
        break;
    }
    case K_INC:
    case K_DEC:
        if (i >= 0)
            edit(app, i, v->col, act == K_INC ? 1 : -1);
        break;
    case K_NEXTCOL:
    case K_PREVCOL:
        v->col = (enum pf_plan_col)((v->col + (act == K_NEXTCOL ? 1 : PF_COL_N - 1)) % PF_COL_N);
        pf_app_msg(app, PF_MSG_INFO, "+/- now change the %s", col_names[v->col]);
        break;
    case K_ALL:
        if (i >= 0)
            set_all(app, i, v->col);
        break;
    case K_RESET:
        pf_plan_reset(&app->plan);
        pf_app_plan_update(app, -1, NULL);
        pf_app_msg(app, PF_MSG_INFO, "plan reset");
        break;
    case K_FLOPS:
        app->show_flops = !app->show_flops;
        break;
    case K_BLOCKS:
        round_blocks(app);
        break;
    case K_DETAIL:
        if (i >= 0) {
            app->sel_layer = i;
            if (pf_app_push(app, &pf_screen_layer, NULL) < 0)
                pf_app_err(app, -1);
        }
        return PF_KEY_REDRAW;
    case K_FILTER:
        pf_app_push(app, &pf_screen_prompt, &filter_req);
        return PF_KEY_REDRAW;
    case K_SKIP:
        if (i >= 0) {
            struct pf_plan_layer undo = app->plan.layers[i];
            app->plan.layers[i].skip = !undo.skip;
            pf_app_plan_update(app, i, &undo);
        }
        break;
    case K_SAVE:
        pf_app_push(app, &pf_screen_prompt, &save_req);
        return PF_KEY_REDRAW;
    case K_LOAD:
        pf_app_push(app, &pf_screen_prompt, &load_req);
        return PF_KEY_REDRAW;
    case K_RUN:
        if (pf_app_switch(app, &pf_screen_learner) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW;
    case K_RL:
        if (pf_app_run_active(app))
            pf_app_msg(app, PF_MSG_WARN, "a run is active: cancel it (c on the Run screen) first");
        else
            pf_app_push(app, &pf_screen_prompt, &pf_rl_prompt);
        return PF_KEY_REDRAW;
    }
    if (v->cur >= v->n_vis)
        v->cur = v->n_vis - 1;
    if (v->cur < 0)
        v->cur = 0;
    if (v->n_vis)
        app->sel_layer = v->vis[v->cur];
    pf_w_table_scroll(&v->top, v->cur, page, v->n_vis);
    return PF_KEY_REDRAW;
}

/* ---- drawing ---- */

enum {
    C_IDX,
    C_NAME,
    C_TYPE,
    C_OUT,
    C_PARAMS,
    C_MACS,
    C_SHARE,
    C_GRP,
    C_PRUNE,
    C_SPARS,
    C_WB,
    C_AB,
    C_N
};

static const struct pf_w_col cols[C_N] = {
    [C_IDX] = {"#", 3, true, false, false},         [C_NAME] = {"layer", 8, false, true, false},
    [C_TYPE] = {"type", 9, false, false, false},    [C_OUT] = {"output", 10, false, false, false},
    [C_PARAMS] = {"params", 7, true, false, false}, [C_MACS] = {"MACs", 7, true, false, false},
    [C_SHARE] = {"share", 6, false, false, true},   [C_GRP] = {"grp", 3, true, false, false},
    [C_PRUNE] = {"prune", 5, true, false, false},   [C_SPARS] = {"spars", 5, true, false, false},
    [C_WB] = {"wb", 2, true, false, false},         [C_AB] = {"ab", 2, true, false, false},
};

struct cell_ctx {
    const struct pf_app *app;
    const struct pf_model_view *v;
};

static void cell(const void *user, int row, int col, char *buf, size_t n, enum pf_role *role)
{
    const struct cell_ctx *c = user;
    const struct pf_app *app = c->app;
    int i = c->v->vis[row];
    const struct pf_layer *l = &app->model->layers[i];
    const struct pf_prof_row *pr = &app->prof->rows[i];
    const struct pf_plan_layer *e = &app->plan.layers[i];
    double mul = app->show_flops ? 2.0 : 1.0;
    switch (col) {
    case C_IDX:
        snprintf(buf, n, "%d", i);
        break;
    case C_NAME:
        snprintf(buf, n, "%s%s", pr->skipped ? "~" : "", l->name);
        break;
    case C_TYPE:
        snprintf(buf, n, "%s", l->ops->name);
        break;
    case C_OUT:
        snprintf(buf, n, "%dx%dx%d", pr->after.out.c, pr->after.out.h, pr->after.out.w);
        if (pf_profile_group_odd(app->prof, pr->group_out))
            *role = PF_ROLE_WARN; /* padded to whole blocks: slower than its MACs */
        else if (pr->after.out.c != pr->before.out.c)
            *role = PF_ROLE_CHANGED;
        break;
    case C_PARAMS:
        pf_fmt_count(buf, n, (double)pr->after.params);
        if (pr->after.params != pr->before.params)
            *role = PF_ROLE_CHANGED;
        else if (!pr->after.params)
            *role = PF_ROLE_DIM;
        break;
    case C_MACS:
        pf_fmt_count(buf, n, mul * (double)pr->after.macs);
        if (pr->after.macs != pr->before.macs)
            *role = PF_ROLE_CHANGED;
        else if (!pr->after.macs)
            *role = PF_ROLE_DIM;
        break;
    case C_SHARE:
        snprintf(buf, n, "%.4f", pf_profile_share(pr->after.macs, app->prof->after.macs));
        break;
    case C_GRP:
        if (pr->group_out >= 0)
            snprintf(buf, n, "%d", pr->group_out);
        else
            snprintf(buf, n, "-");
        *role = PF_ROLE_DIM;
        break;
    case C_PRUNE:
        if (not_editable(app, i, PF_COL_PRUNE)) {
            snprintf(buf, n, "-");
            *role = PF_ROLE_DIM;
        } else {
            snprintf(buf, n, "%.2f", e->prune_ratio);
            *role = e->prune_ratio > 0 ? PF_ROLE_CHANGED : PF_ROLE_DIM;
        }
        break;
    case C_SPARS:
        if (not_editable(app, i, PF_COL_SPARSITY)) {
            snprintf(buf, n, "-");
            *role = PF_ROLE_DIM;
        } else {
            snprintf(buf, n, "%.2f", e->sparsity);
            *role = e->sparsity > 0 ? PF_ROLE_CHANGED : PF_ROLE_DIM;
        }
        break;
    case C_WB:
        if (not_editable(app, i, PF_COL_WBITS)) {
            snprintf(buf, n, "-");
            *role = PF_ROLE_DIM;
        } else {
            snprintf(buf, n, "%d", e->w_bits);
            *role = e->w_bits < 32 ? PF_ROLE_CHANGED : PF_ROLE_DIM;
        }
        break;
    default:
        snprintf(buf, n, "%d", e->a_bits);
        *role = e->a_bits < 32 ? PF_ROLE_CHANGED : PF_ROLE_DIM;
        break;
    }
}

static void model_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_model_view *v = s->state;
    const struct pf_app *app = s->app;
    const struct pf_profile *p = app->prof;
    int H, W;
    getmaxyx(w, H, W);
    if (v->gen != app->model_gen)
        return; /* the next tick rebuilds the rows */
    const char *base = strrchr(app->model_path, '/');
    base = base ? base + 1 : app->model_path;
    pf_w_putf(w, 0, 0, W, A_BOLD, "%s", base);
    int x = (int)strlen(base) + 1;
    pf_w_putf(w, 0, x, W - x, A_NORMAL, "(%s)  data %s  %s%s", app->model->name, app->dataset,
              app->accuracy[0] ? "accuracy: " : "", app->accuracy);
    const char *unit = app->show_flops ? "FLOPs" : "MACs";
    unsigned long long mb = p->before.macs * (app->show_flops ? 2ull : 1ull);
    unsigned long long ma = p->after.macs * (app->show_flops ? 2ull : 1ull);
    bool changed = p->after.macs != p->before.macs || p->after.params != p->before.params ||
                   p->after.bytes != p->before.bytes;
    attr_t ca = changed ? pf_theme(PF_ROLE_CHANGED) : A_NORMAL;
    pf_w_putf(w, 1, 0, W, ca, "%-5s %llu -> %llu (%.1f%%)   params %llu -> %llu (%.1f%%)", unit, mb,
              ma, pct(p->after.macs, p->before.macs), (unsigned long long)p->before.params,
              (unsigned long long)p->after.params, pct(p->after.params, p->before.params));
    char b1[32];
    pf_fmt_bytes(b1, sizeof b1, (double)p->after.bytes);
    int n_changed = 0;
    for (int i = 0; i < app->plan.n_layers; i++) {
        const struct pf_plan_layer *e = &app->plan.layers[i];
        n_changed +=
            e->prune_ratio > 0 || e->sparsity > 0 || e->w_bits < 32 || e->a_bits < 32 || e->skip;
    }
    pf_w_putf(w, 2, 0, W, ca, "bytes %llu -> %llu (%.1f%%, %s)   plan: %d layer%s changed",
              (unsigned long long)p->before.bytes, (unsigned long long)p->after.bytes,
              pct(p->after.bytes, p->before.bytes), b1, n_changed, n_changed == 1 ? "" : "s");
    if (v->filter[0]) {
        char f[80];
        snprintf(f, sizeof f, " filter: %s ", v->filter);
        pf_w_put(w, 2, W - (int)strlen(f), (int)strlen(f), pf_theme(PF_ROLE_WARN), f);
    }
    static const int plan_col[PF_COL_N] = {C_PRUNE, C_SPARS, C_WB, C_AB};
    struct cell_ctx ctx = {app, v};
    struct pf_w_table t = {cols, C_N, v->n_vis, v->top, v->cur, plan_col[v->col], cell, &ctx};
    pf_w_table_draw(w, PF_MODEL_HEADER_H, 0, H - PF_MODEL_HEADER_H, W, &t);
    if (!v->n_vis)
        pf_w_put(w, PF_MODEL_HEADER_H + 1, 2, W - 2, pf_theme(PF_ROLE_DIM),
                 "no layer matches the filter (/ and an empty text shows all)");
}

const struct pf_screen_ops pf_screen_model = {
    .name = "Model",
    .keys = &keymap,
    .tab = '1',
    .enter = model_enter,
    .draw = model_draw,
    .key = model_key,
    .tick = model_tick,
    .leave = model_leave,
};
