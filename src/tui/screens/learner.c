/* learner.c: the Learner screen. On the left the learners of the registry (pf_learners[]), on
 * the right a form of the chosen learner's options, built from its option table and the run's
 * common table (type, range, help and validation all come from pf_opt_spec: this file knows no
 * learner). Presets are YAML files in `pocketflow run --preset` format; r starts a run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_cfg.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/form.h"
#include "tui/widgets/text.h"

#define LIST_W 22
#define TOP_H  3

enum {
    K_DOWN = 1,
    K_UP,
    K_PGDN,
    K_PGUP,
    K_ENTER,
    K_SWITCH,
    K_TOGGLE,
    K_LEFT,
    K_RIGHT,
    K_DEFAULT,
    K_FIND,
    K_RUN,
    K_LOAD,
    K_SAVE,
    K_CLICK
};

static const struct pf_binding bindings[] = {
    {'j', K_DOWN, "j/k", "move", "move in the learner list or the option form"},
    {KEY_DOWN, K_DOWN, NULL, NULL, NULL},
    {'k', K_UP, NULL, NULL, NULL},
    {KEY_UP, K_UP, NULL, NULL, NULL},
    {KEY_NPAGE, K_PGDN, NULL, NULL, NULL},
    {KEY_PPAGE, K_PGUP, NULL, NULL, NULL},
    {'\n', K_ENTER, "Enter", "edit", "list: go to the options; form: edit the value"},
    {KEY_ENTER, K_ENTER, NULL, NULL, NULL},
    {PF_KEY_TAB, K_SWITCH, "Tab", "list/form", "switch between the learner list and the form"},
    {' ', K_TOGGLE, "Space", NULL, "toggle a True/False option"},
    {KEY_LEFT, K_LEFT, "Left/Right", NULL, "previous / next choice of an enum option"},
    {KEY_RIGHT, K_RIGHT, NULL, NULL, NULL},
    {'d', K_DEFAULT, "d", "default", "restore the option's default"},
    {'/', K_FIND, "/", "find", "jump to the option whose name contains a text"},
    {'r', K_RUN, "r", "run", "start a run with these options (then watch it on the Run screen)"},
    {KEY_F(5), K_RUN, NULL, NULL, NULL},
    {'L', K_LOAD, "L", NULL, "load a preset (YAML: learner, model, data, options)"},
    {'W', K_SAVE, "W", NULL, "write the options as a preset"},
    {PF_KEY_CLICK, K_CLICK, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Learner", bindings, (int)PF_ARRAY_LEN(bindings)};

/* Keys while a value is being typed (shown in the help screen through the table above's
 * Enter row; listed here for dispatch only). */
enum { E_ACCEPT = 1, E_CANCEL, E_LEFT, E_RIGHT, E_BKSP, E_KILL, E_HOME, E_END };
static const struct pf_binding edit_bindings[] = {
    {'\n', E_ACCEPT, "Enter", "accept", NULL},
    {KEY_ENTER, E_ACCEPT, NULL, NULL, NULL},
    {PF_KEY_ESC, E_CANCEL, "Esc", "cancel", NULL},
    {KEY_LEFT, E_LEFT, NULL, NULL, NULL},
    {KEY_RIGHT, E_RIGHT, NULL, NULL, NULL},
    {KEY_BACKSPACE, E_BKSP, NULL, NULL, NULL},
    {127, E_BKSP, NULL, NULL, NULL},
    {8, E_BKSP, NULL, NULL, NULL},
    {PF_KEY_CTRL('u'), E_KILL, "^U", "clear", NULL},
    {KEY_HOME, E_HOME, NULL, NULL, NULL},
    {PF_KEY_CTRL('a'), E_HOME, NULL, NULL, NULL},
    {KEY_END, E_END, NULL, NULL, NULL},
    {PF_KEY_CTRL('e'), E_END, NULL, NULL, NULL},
};
static const struct pf_keymap edit_keymap = {"Editing a value", edit_bindings,
                                             (int)PF_ARRAY_LEN(edit_bindings)};

static int form_page(const struct pf_app *app)
{
    return pf_w_form_page(app->body_h - TOP_H);
}

bool pf_learner_view_find(struct pf_learner_view *v, const struct pf_app *app, const char *text)
{
    for (int i = 0; i < app->opts.n; i++)
        if (strstr(pf_opts_row(&app->opts, i)->key, text)) {
            v->fsel = i;
            v->form = true;
            int page = form_page(app);
            if (v->fsel < v->ftop)
                v->ftop = v->fsel;
            if (v->fsel >= v->ftop + page)
                v->ftop = v->fsel - page + 1;
            return true;
        }
    return false;
}

static int accept_find(struct pf_app *app, const char *text)
{
    struct pf_learner_view *v = app->stack[app->depth - 2].state;
    if (!pf_learner_view_find(v, app, text))
        return PF_ERR(PF_EINVAL, "no option of %s contains '%s'", app->learner->name, text);
    return 0;
}

/* ---- presets ---- */

static int accept_save(struct pf_app *app, const char *path)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    fprintf(f, "# pocketflow preset (pocketflow run --preset %s)\n", path);
    fprintf(f, "learner: %s\nmodel: \"%s\"\ndata: \"%s\"\noptions:\n", app->learner->name,
            app->model_path, app->dataset);
    int n = 0;
    for (int i = 0; i < app->opts.n; i++)
        if (app->opts.vals[i]) {
            fprintf(f, "  %s: \"%s\"\n", pf_opts_row(&app->opts, i)->key, app->opts.vals[i]);
            n++;
        }
    if (!n)
        fprintf(f, "  {}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) < 0) {
        unlink(tmp);
        return PF_ERR(PF_EIO, "%s: write error", path);
    }
    pf_app_msg(app, PF_MSG_GOOD, "preset written to %s", path);
    return 0;
}

static int accept_load(struct pf_app *app, const char *path)
{
    struct pf_cfg *c = NULL;
    int rc = pf_cfg_load(path, &c);
    if (rc < 0)
        return rc;
    const char *learner = NULL, *model = NULL, *data = NULL;
    if ((rc = pf_cfg_str(c, "learner", "learner", &learner)) < 0 ||
        (rc = pf_cfg_str(c, "model", "model", &model)) < 0 ||
        (rc = pf_cfg_str(c, "data", "data", &data)) < 0)
        goto done;
    if (learner) {
        const struct pf_learner_ops *ops = pf_learner_find(learner);
        if (!ops) {
            rc = PF_ERR(PF_EINVAL, "%s: unknown learner '%s'", path, learner);
            goto done;
        }
        if ((rc = pf_app_set_learner(app, ops)) < 0)
            goto done;
        struct pf_learner_view *v = app->stack[app->depth - 2].state;
        for (size_t i = 0; i < pf_learners_len; i++)
            if (pf_learners[i] == ops)
                v->lsel = (int)i;
    }
    if (model && strcmp(model, app->model_path) && (rc = pf_app_open_model(app, model)) < 0)
        goto done;
    if (data)
        snprintf(app->dataset, sizeof app->dataset, "%s", data);
    const struct pf_cfg *o = pf_cfg_get(c, "options");
    if (o && o->kind == PF_CFG_MAP &&
        (rc = pf_opts_set_cfg(&app->opts, o, app->learner->prefix)) < 0)
        goto done;
    pf_app_msg(app, PF_MSG_GOOD, "preset %s loaded", path);
done:
    pf_cfg_free(c);
    return rc;
}

/* ---- editing ---- */

static void begin_edit(struct pf_learner_view *v, const struct pf_app *app)
{
    v->editing = true;
    snprintf(v->edit, sizeof v->edit, "%s", pf_opts_text(&app->opts, v->fsel));
    v->edit_pos = (int)strlen(v->edit);
}

static void set_value(struct pf_app *app, int i, const char *text)
{
    const struct pf_opt_spec *s = pf_opts_row(&app->opts, i);
    if (pf_opts_set(&app->opts, s->key, text, "form") < 0)
        pf_app_err(app, -1);
    else
        pf_app_msg(app, PF_MSG_INFO, "%s = %s", s->key, pf_opts_text(&app->opts, i));
}

/* Next / previous choice of an enum, or the other boolean. */
static void cycle(struct pf_app *app, int i, int dir)
{
    const struct pf_opt_spec *s = pf_opts_row(&app->opts, i);
    const char *cur = pf_opts_text(&app->opts, i);
    if (s->type == PF_OPT_BOOL) {
        bool on = !strcmp(cur, "True") || !strcmp(cur, "true") || !strcmp(cur, "1");
        set_value(app, i, on ? "False" : "True");
        return;
    }
    if (s->type != PF_OPT_ENUM || !s->choices)
        return;
    char ch[16][32];
    int n = 0, at = 0;
    for (const char *p = s->choices; p && *p && n < 16;) {
        const char *bar = strchr(p, '|');
        int len = bar ? (int)(bar - p) : (int)strlen(p);
        snprintf(ch[n], sizeof ch[n], "%.*s", len, p);
        if (!strcmp(ch[n], cur))
            at = n;
        n++;
        p = bar ? bar + 1 : NULL;
    }
    if (n)
        set_value(app, i, ch[(at + dir + n) % n]);
}

static enum pf_key_result edit_key(struct pf_learner_view *v, struct pf_app *app, int ch)
{
    int len = (int)strlen(v->edit);
    switch (pf_keymap_action(&edit_keymap, ch)) {
    case E_ACCEPT: {
        const struct pf_opt_spec *s = pf_opts_row(&app->opts, v->fsel);
        if (pf_opts_set(&app->opts, s->key, v->edit, "form") < 0) {
            pf_app_err(app, -1); /* stay in the field: the user corrects it */
        } else {
            v->editing = false;
            pf_app_msg(app, PF_MSG_INFO, "%s = %s", s->key, pf_opts_text(&app->opts, v->fsel));
        }
        break;
    }
    case E_CANCEL:
        v->editing = false;
        break;
    case E_LEFT:
        v->edit_pos -= v->edit_pos > 0;
        break;
    case E_RIGHT:
        v->edit_pos += v->edit_pos < len;
        break;
    case E_HOME:
        v->edit_pos = 0;
        break;
    case E_END:
        v->edit_pos = len;
        break;
    case E_BKSP:
        if (v->edit_pos > 0) {
            memmove(v->edit + v->edit_pos - 1, v->edit + v->edit_pos,
                    (size_t)(len - v->edit_pos + 1));
            v->edit_pos--;
        }
        break;
    case E_KILL:
        v->edit[0] = 0;
        v->edit_pos = 0;
        break;
    default:
        if (ch >= 32 && ch < 127 && len + 1 < (int)sizeof v->edit) {
            memmove(v->edit + v->edit_pos + 1, v->edit + v->edit_pos,
                    (size_t)(len - v->edit_pos + 1));
            v->edit[v->edit_pos++] = (char)ch;
        }
        break;
    }
    return PF_KEY_REDRAW; /* every key belongs to the field while editing */
}

/* ---- screen ops ---- */

static int learner_enter(struct pf_screen *s, struct pf_app *app)
{
    struct pf_learner_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    for (size_t i = 0; i < pf_learners_len; i++)
        if (pf_learners[i] == app->learner)
            v->lsel = (int)i;
    return 0;
}

static void learner_leave(struct pf_screen *s)
{
    free(s->state);
    s->state = NULL;
}

static enum pf_key_result learner_key(struct pf_screen *s, int ch)
{
    struct pf_learner_view *v = s->state;
    struct pf_app *app = s->app;
    if (v->editing)
        return edit_key(v, app, ch);
    int act = pf_keymap_action(&keymap, ch);
    static const struct pf_prompt_req find_req = {.title = "Find option (part of its name):",
                                                  .accept = accept_find};
    static const struct pf_prompt_req save_req = {
        .title = "Write preset to:", .initial = "preset.yaml", .accept = accept_save};
    static const struct pf_prompt_req load_req = {
        .title = "Load preset:", .initial = "presets/", .accept = accept_load};
    int page = form_page(app);
    switch (act) {
    case 0:
        return PF_KEY_IGNORED;
    case K_DOWN:
    case K_UP:
    case K_PGDN:
    case K_PGUP: {
        int d = act == K_DOWN ? 1 : act == K_UP ? -1 : act == K_PGDN ? page : -page;
        if (!v->form) {
            int n = (int)pf_learners_len;
            int k = v->lsel + (d > 0 ? 1 : -1);
            if (k >= 0 && k < n) {
                v->lsel = k;
                if (pf_app_set_learner(app, pf_learners[k]) < 0)
                    pf_app_err(app, -1);
                v->fsel = v->ftop = 0;
            }
        } else {
            v->fsel += d;
            if (v->fsel >= app->opts.n)
                v->fsel = app->opts.n - 1;
            if (v->fsel < 0)
                v->fsel = 0;
        }
        break;
    }
    case K_ENTER:
        if (!v->form) {
            v->form = true;
            break;
        }
        if (app->opts.n == 0)
            break;
        {
            const struct pf_opt_spec *sp = pf_opts_row(&app->opts, v->fsel);
            if (sp->type == PF_OPT_BOOL || sp->type == PF_OPT_ENUM)
                cycle(app, v->fsel, 1);
            else
                begin_edit(v, app);
        }
        break;
    case K_SWITCH:
        v->form = !v->form;
        break;
    case K_TOGGLE:
        if (v->form && app->opts.n)
            cycle(app, v->fsel, 1);
        break;
    case K_LEFT:
    case K_RIGHT:
        if (v->form && app->opts.n)
            cycle(app, v->fsel, act == K_RIGHT ? 1 : -1);
        else if (act == K_RIGHT)
            v->form = true;
        break;
    case K_DEFAULT:
        if (v->form && app->opts.n) {
            const struct pf_opt_spec *sp = pf_opts_row(&app->opts, v->fsel);
            free(app->opts.vals[v->fsel]);
            app->opts.vals[v->fsel] = NULL;
            pf_app_msg(app, PF_MSG_INFO, "%s = %s (default)", sp->key, sp->def ? sp->def : "");
        }
        break;
    case K_FIND:
        pf_app_push(app, &pf_screen_prompt, &find_req);
        break;
    case K_RUN:
        if (pf_app_start_run(app) < 0)
            pf_app_err(app, -1);
        else if (pf_app_switch(app, &pf_screen_monitor) < 0)
            pf_app_err(app, -1);
        return PF_KEY_REDRAW; /* this screen may be gone: touch nothing more */
    case K_LOAD:
        pf_app_push(app, &pf_screen_prompt, &load_req);
        break;
    case K_SAVE:
        pf_app_push(app, &pf_screen_prompt, &save_req);
        break;
    case K_CLICK: {
        int row = app->click_y - TOP_H;
        if (app->click_x < LIST_W) {
            if (row >= 1 && row - 1 < (int)pf_learners_len) {
                v->lsel = row - 1;
                v->form = false;
                if (pf_app_set_learner(app, pf_learners[v->lsel]) < 0)
                    pf_app_err(app, -1);
                v->fsel = v->ftop = 0;
            }
        } else if (row >= 1 && v->ftop + row - 1 < app->opts.n) {
            v->form = true;
            v->fsel = v->ftop + row - 1;
        }
        break;
    }
    }
    if (v->fsel < v->ftop)
        v->ftop = v->fsel;
    if (v->fsel >= v->ftop + page)
        v->ftop = v->fsel - page + 1;
    return PF_KEY_REDRAW;
}

static void learner_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_learner_view *v = s->state;
    const struct pf_app *app = s->app;
    int H, W;
    getmaxyx(w, H, W);
    pf_w_putf(w, 0, 0, W, A_BOLD, "%s", app->learner->name);
    pf_w_putf(w, 0, (int)strlen(app->learner->name) + 1, W, A_NORMAL, "- %s",
              app->learner->summary);
    pf_w_putf(w, 1, 0, W, pf_theme(PF_ROLE_DIM), "on %s, data %s; runs go to %s/", app->model_path,
              app->dataset, app->runs_root);
    if (pf_app_run_active(app))
        pf_w_put(w, 2, 0, W, pf_theme(PF_ROLE_WARN), "a run is active: see the Run screen (3)");
    /* learner list */
    int lw = W >= 60 ? LIST_W : W / 3;
    pf_w_fill(w, TOP_H, 0, lw, pf_theme(PF_ROLE_HEADER));
    pf_w_put(w, TOP_H, 1, lw - 1, pf_theme(PF_ROLE_HEADER), "learner");
    for (int i = 0; i < (int)pf_learners_len && TOP_H + 1 + i < H; i++) {
        bool sel = i == v->lsel;
        attr_t a = sel ? (!v->form ? pf_theme(PF_ROLE_SELECTED) : A_BOLD) : A_NORMAL;
        pf_w_fill(w, TOP_H + 1 + i, 0, lw - 1, a);
        pf_w_putf(w, TOP_H + 1 + i, 0, lw - 1, a, "%c%s", sel ? '>' : ' ', pf_learners[i]->name);
    }
    struct pf_w_form f = {&app->opts, v->fsel, v->ftop, v->form, v->editing ? v->edit : NULL,
                          v->edit_pos};
    pf_w_form_draw(w, TOP_H, lw, H - TOP_H, W - lw, &f);
}

const struct pf_screen_ops pf_screen_learner = {
    .name = "Learner",
    .keys = &keymap,
    .tab = '2',
    .enter = learner_enter,
    .draw = learner_draw,
    .key = learner_key,
    .leave = learner_leave,
};
