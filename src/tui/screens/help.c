/* help.c: the help screen (? or F1 from anywhere). Its text is generated: the keys of the
 * screen it was opened from, the global keys, every other screen's keys (all from the same key
 * tables that drive dispatch and the legend), then every learner with its summary, its options
 * (from its option table) and, where present, the teaching text in assets/help/<learner>.txt. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/form.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

#define HELP_DIR "assets/help"

enum { K_BACK = PF_SCROLL_LAST + 1 };

static const struct pf_binding bindings[] = {
    {'j', PF_SCROLL_DOWN, "j/k", "scroll", "scroll the help"},
    {KEY_DOWN, PF_SCROLL_DOWN, NULL, NULL, NULL},
    {'k', PF_SCROLL_UP, NULL, NULL, NULL},
    {KEY_UP, PF_SCROLL_UP, NULL, NULL, NULL},
    {KEY_NPAGE, PF_SCROLL_PGDN, "PgDn/PgUp", "page", "a page down / up"},
    {' ', PF_SCROLL_PGDN, NULL, NULL, NULL},
    {KEY_PPAGE, PF_SCROLL_PGUP, NULL, NULL, NULL},
    {KEY_HOME, PF_SCROLL_HOME, NULL, NULL, NULL},
    {KEY_END, PF_SCROLL_END, NULL, NULL, NULL},
    {'q', K_BACK, "q/Esc", "close", "close the help"},
    {PF_KEY_ESC, K_BACK, NULL, NULL, NULL},
    {'?', K_BACK, NULL, NULL, NULL},
    {KEY_F(1), K_BACK, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Help", bindings, (int)PF_ARRAY_LEN(bindings)};

static int add(struct pf_help_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(struct pf_help_view *v, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nl = pf_realloc_array(v->lines, (size_t)v->n + 1, sizeof *nl);
    if (!nl)
        return -PF_ENOMEM;
    v->lines = nl;
    if (!(v->lines[v->n] = strdup(buf)))
        return -PF_ENOMEM;
    v->n++;
    return 0;
}

static int add_keys(struct pf_help_view *v, const struct pf_keymap *km)
{
    int rc = add(v, "## %s", km->title);
    for (int i = 0; rc == 0 && i < km->n; i++)
        if (km->b[i].help)
            rc = add(v, "  %-12s %s", km->b[i].name ? km->b[i].name : "", km->b[i].help);
    return rc ? rc : add(v, "%s", "");
}

static int add_learner(struct pf_help_view *v, const struct pf_learner_ops *l)
{
    int rc = add(v, "## learner %s: %s", l->name, l->summary);
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/%s.txt", HELP_DIR, l->name);
    FILE *f = fopen(path, "r");
    while (rc == 0 && f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        rc = add(v, "  %s", line);
    }
    if (f)
        fclose(f);
    for (const struct pf_opt_spec *s = l->opts; rc == 0 && s && s->key; s++) {
        char range[160];
        pf_w_form_range(s, range, sizeof range);
        rc = add(v, "  --%s (%s, default %s): %s", s->key, range, s->def ? s->def : "-",
                 s->help ? s->help : "");
    }
    return rc ? rc : add(v, "%s", "");
}

static int help_enter(struct pf_screen *s, struct pf_app *app)
{
    (void)app;
    struct pf_help_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    const struct pf_screen_ops *from = s->arg;
    int rc = add(v, "pocketflow workbench: compress a CNN by planning per-layer pruning, sparsity "
                    "and bit-widths,");
    if (rc == 0)
        rc = add(v, "then running a learner (PocketFlow's methods) and watching it live.");
    if (rc == 0)
        rc = add(v, "%s", "");
    if (rc == 0 && from && from->keys)
        rc = add_keys(v, from->keys);
    if (rc == 0)
        rc = add_keys(v, &pf_app_keys);
    for (size_t i = 0; rc == 0 && i < pf_screens_len; i++) {
        const struct pf_screen_ops *o = pf_screens[i];
        if (o == from || !o->keys || o == &pf_screen_help)
            continue;
        if (o->tab)
            rc = add(v, "(%c opens %s)", o->tab, o->name);
        if (rc == 0)
            rc = add_keys(v, o->keys);
    }
    if (rc == 0)
        rc = add(v, "## Learners (each one's options are on the Learner screen)");
    for (size_t i = 0; rc == 0 && i < pf_learners_len; i++)
        rc = add_learner(v, pf_learners[i]);
    if (rc == 0) {
        rc = add(v, "## Options every run has");
        for (const struct pf_opt_spec *sp = pf_run_common_opts; rc == 0 && sp->key; sp++)
            rc = add(v, "  --%s (default %s): %s", sp->key, sp->def ? sp->def : "-",
                     sp->help ? sp->help : "");
    }
    return rc;
}

static void help_leave(struct pf_screen *s)
{
    struct pf_help_view *v = s->state;
    for (int i = 0; v && i < v->n; i++)
        free(v->lines[i]);
    if (v)
        free(v->lines);
    free(v);
    s->state = NULL;
}

static enum pf_key_result help_key(struct pf_screen *s, int ch)
{
    struct pf_help_view *v = s->state;
    int page = s->app->body_h - 3 > 1 ? s->app->body_h - 3 : 1;
    int a = pf_keymap_action(&keymap, ch);
    if (a == K_BACK)
        return PF_KEY_POP;
    return pf_w_scroll_key(a, &v->top, page, v->n) ? PF_KEY_REDRAW : PF_KEY_HANDLED;
}

static void help_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_help_view *v = s->state;
    int H, W;
    getmaxyx(w, H, W);
    pf_w_box(w, 0, 1, H, W - 2, "Help (q closes)");
    for (int r = 0; r < H - 2 && v->top + r < v->n; r++) {
        const char *l = v->lines[v->top + r];
        bool head = !strncmp(l, "## ", 3);
        pf_w_put(w, 1 + r, 3, W - 6, head ? pf_theme(PF_ROLE_HEADER) : A_NORMAL, head ? l + 3 : l);
    }
}

const struct pf_screen_ops pf_screen_help = {
    .name = "Help",
    .keys = &keymap,
    .modal = true,
    .enter = help_enter,
    .draw = help_draw,
    .key = help_key,
    .leave = help_leave,
};
