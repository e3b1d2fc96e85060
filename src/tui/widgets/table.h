/* table.h: a scrolling table with a header row, a cursor row and a focused column.
 *
 * Cells come from a callback, so a table of 10 000 rows costs only the visible ones. One
 * column may be `flex`: it takes the width the others leave. A `bar` column's cell text is a
 * fraction ("0.25") drawn as a bar. Columns that do not fit are dropped from the right. */
#ifndef PF_TUI_WIDGETS_TABLE_H
#define PF_TUI_WIDGETS_TABLE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "tui/theme.h"

struct pf_w_col {
    const char *title;
    int width;  /* cells (the minimum for the flex column) */
    bool right; /* right-aligned (numbers) */
    bool flex;  /* takes the spare width */
    bool bar;   /* the cell text is a fraction, drawn as a bar */
};

/* Fills buf with the text of (row, col) and may set *role (default PF_ROLE_NORMAL). */
typedef void (*pf_w_cell_fn)(const void *user, int row, int col, char *buf, size_t n,
                             enum pf_role *role);

struct pf_w_table {
    const struct pf_w_col *cols;
    int n_cols;
    int n_rows;
    int top;       /* first row shown */
    int sel;       /* cursor row, -1 = none */
    int focus_col; /* column highlighted in the cursor row, -1 = none */
    pf_w_cell_fn cell;
    const void *user;
};

/* Draws the header and rows top.. into the h x width rectangle at (y, x). */
void pf_w_table_draw(WINDOW *w, int y, int x, int h, int width, const struct pf_w_table *t);
/* Rows that fit below the header in h lines. */
static inline int pf_w_table_page(int h)
{
    return h > 1 ? h - 1 : 1;
}
/* Adjusts *top so that sel is visible in a page of `page` rows out of n. */
void pf_w_table_scroll(int *top, int sel, int page, int n);

/* Keymap actions of a view that scrolls without a selection (help, the RL layer table); such a
 * screen's own actions start at PF_SCROLL_LAST + 1. */
enum {
    PF_SCROLL_DOWN = 1,
    PF_SCROLL_UP,
    PF_SCROLL_PGDN,
    PF_SCROLL_PGUP,
    PF_SCROLL_HOME,
    PF_SCROLL_END,
    PF_SCROLL_LAST = PF_SCROLL_END
};
/* For a PF_SCROLL_* action, moves *top by it (a page is `page` rows of n) and keeps a full page
 * in view; returns false, *top unchanged, for any other action. */
bool pf_w_scroll_key(int action, int *top, int page, int n);

#endif
