/* statusbar.c: top bar, message line and key legend (see statusbar.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tui/theme.h"
#include "tui/widgets/statusbar.h"
#include "tui/widgets/text.h"

#define TITLE " pocketflow "

/* Walks the tabs: calls fn for each with its x and width; stops when fn returns nonzero. */
static int tabs_walk(const struct pf_app *app, int width,
                     int (*fn)(const struct pf_screen_ops *o, int x, int n, void *u), void *u)
{
    (void)app;
    int x = (int)strlen(TITLE) + 1;
    for (size_t i = 0; i < pf_screens_len; i++) {
        const struct pf_screen_ops *o = pf_screens[i];
        if (!o->tab)
            continue;
        int n = (int)strlen(o->name) + 4; /* " 1 Model " + gap */
        if (x + n > width)
            break;
        int r = fn(o, x, n, u);
        if (r)
            return r;
        x += n;
    }
    return 0;
}

struct tab_draw {
    WINDOW *w;
    int y;
    const struct pf_screen_ops *cur;
};

static int tab_draw(const struct pf_screen_ops *o, int x, int n, void *u)
{
    struct tab_draw *d = u;
    attr_t a = o == d->cur ? pf_theme(PF_ROLE_TAB) : pf_theme(PF_ROLE_TITLE);
    pf_w_putf(d->w, d->y, x, n - 1, a, " %c %s ", o->tab, o->name);
    return 0;
}

void pf_w_titlebar_draw(WINDOW *w, int y, const struct pf_app *app)
{
    int W = getmaxx(w);
    attr_t t = pf_theme(PF_ROLE_TITLE);
    pf_w_fill(w, y, 0, W, t);
    pf_w_put(w, y, 0, W, t | A_BOLD, TITLE);
    struct tab_draw d = {w, y, app->depth ? app->stack[0].ops : NULL};
    tabs_walk(app, W - 16, tab_draw, &d);
    /* run state on the right, visible from every screen */
    char st[40] = "";
    if (pf_app_run_active(app))
        snprintf(st, sizeof st, "run %3.0f%% ", 100.0 * app->mon.fraction);
    else if (app->mon.run_id)
        snprintf(st, sizeof st, "run %s ",
                 app->mon.status == PF_RUN_FINISHED    ? "finished"
                 : app->mon.status == PF_RUN_CANCELLED ? "cancelled"
                 : app->mon.status == PF_RUN_FAILED    ? "failed"
                                                       : "ended");
    int n = (int)strlen(st);
    if (n && W - n > 0)
        pf_w_put(w, y, W - n, n, t | A_BOLD, st);
}

struct tab_hit {
    int x;
};

static int tab_hit(const struct pf_screen_ops *o, int x, int n, void *u)
{
    struct tab_hit *h = u;
    return h->x >= x && h->x < x + n - 1 ? o->tab : 0;
}

int pf_w_titlebar_hit(const struct pf_app *app, int width, int x)
{
    struct tab_hit h = {x};
    return tabs_walk(app, width - 16, tab_hit, &h);
}

void pf_w_message_draw(WINDOW *w, int y, const struct pf_app *app)
{
    int W = getmaxx(w);
    pf_w_fill(w, y, 0, W, A_NORMAL);
    if (!app->msg[0])
        return;
    static const enum pf_role roles[] = {PF_ROLE_NORMAL, PF_ROLE_GOOD, PF_ROLE_WARN, PF_ROLE_ERROR};
    pf_w_put(w, y, 1, W - 2, pf_theme(roles[app->msg_level]), app->msg);
}

static int entry_len(const struct pf_binding *b)
{
    return (int)(strlen(b->name) + 1 + strlen(b->label));
}

/* Whether entry i of table m is in the legend: it has a label, and a global key (m > 0) is not
 * one the screen's table (maps[0]) binds to something else (q on a screen where q goes back). */
static bool shown(const struct pf_keymap *const *maps, int m, int i)
{
    const struct pf_binding *b = &maps[m]->b[i];
    if (!b->label || !b->name)
        return false;
    return m == 0 || !maps[0] || !pf_keymap_action(maps[0], b->key);
}

/* Walks the legend entries; fn gets each binding and its x; nonzero stops. The first table
 * (the screen's) fills from the left; the others (the global keys) are right-aligned, so help
 * and quit stay visible at any width. */
static int legend_walk(const struct pf_keymap *const *maps, int n, int width,
                       int (*fn)(const struct pf_binding *b, int x, void *u), void *u)
{
    int right = 0;
    for (int m = 1; m < n; m++)
        for (int i = 0; maps[m] && i < maps[m]->n; i++)
            if (shown(maps, m, i))
                right += entry_len(&maps[m]->b[i]) + 2;
    if (right > width / 2)
        right = 0; /* too narrow for both: the screen's keys win */
    int x = 1, limit = width - right - 1;
    for (int m = 0; m < n; m++) {
        if (m == 1) {
            if (!right)
                return 0;
            x = width - right + 1;
            limit = width;
        }
        for (int i = 0; maps[m] && i < maps[m]->n; i++) {
            const struct pf_binding *b = &maps[m]->b[i];
            if (!shown(maps, m, i))
                continue;
            int len = entry_len(b);
            if (x + len > limit)
                break;
            int r = fn(b, x, u);
            if (r)
                return r;
            x += len + 2;
        }
    }
    return 0;
}

struct legend_draw {
    WINDOW *w;
    int y;
};

static int legend_draw(const struct pf_binding *b, int x, void *u)
{
    struct legend_draw *d = u;
    int kn = (int)strlen(b->name);
    pf_w_put(d->w, d->y, x, kn, pf_theme(PF_ROLE_KEY), b->name);
    pf_w_put(d->w, d->y, x + kn + 1, (int)strlen(b->label), A_NORMAL, b->label);
    return 0;
}

void pf_w_legend_draw(WINDOW *w, int y, const struct pf_keymap *const *maps, int n)
{
    int W = getmaxx(w);
    pf_w_fill(w, y, 0, W, A_NORMAL);
    struct legend_draw d = {w, y};
    legend_walk(maps, n, W, legend_draw, &d);
}

struct legend_hit {
    int x;
};

static int legend_hit(const struct pf_binding *b, int x, void *u)
{
    struct legend_hit *h = u;
    return h->x >= x && h->x < x + entry_len(b) ? b->key : 0;
}

int pf_w_legend_hit(const struct pf_keymap *const *maps, int n, int width, int x)
{
    struct legend_hit h = {x};
    return legend_walk(maps, n, width, legend_hit, &h);
}
