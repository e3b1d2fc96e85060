/* statusbar.h: the top bar (program, tabs, run state), the message line and the key legend.
 *
 * The legend is generated from key tables: the top screen's labelled bindings, then the global
 * ones. The hit-test functions use the same layout as the draw functions, so a click on a tab
 * or a legend entry does what its key does. */
#ifndef PF_TUI_WIDGETS_STATUSBAR_H
#define PF_TUI_WIDGETS_STATUSBAR_H

#include <curses.h>

#include "tui/app.h"

/* The top bar, one line of w's width at row y. */
void pf_w_titlebar_draw(WINDOW *w, int y, const struct pf_app *app);
/* The tab key under column x of the top bar, or 0. */
int pf_w_titlebar_hit(const struct pf_app *app, int width, int x);
/* The message line (app->msg) at row y. */
void pf_w_message_draw(WINDOW *w, int y, const struct pf_app *app);
/* The legend of n key tables at row y. */
void pf_w_legend_draw(WINDOW *w, int y, const struct pf_keymap *const *maps, int n);
/* The key of the legend entry under column x (in a legend of the given width), or 0. */
int pf_w_legend_hit(const struct pf_keymap *const *maps, int n, int width, int x);

#endif
