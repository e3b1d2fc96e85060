/* table.c: the scrolling table (see table.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/widgets/bar.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

void pf_w_table_scroll(int *top, int sel, int page, int n)
{
    if (page < 1)
        page = 1;
    if (sel < *top)
        *top = sel;
    if (sel >= *top + page)
        *top = sel - page + 1;
    if (*top > n - page)
        *top = n - page;
    if (*top < 0)
        *top = 0;
}

bool pf_w_scroll_key(int action, int *top, int page, int n)
{
    if (page < 1)
        page = 1;
    switch (action) {
    case PF_SCROLL_DOWN:
        *top += 1;
        break;
    case PF_SCROLL_UP:
        *top -= 1;
        break;
    case PF_SCROLL_PGDN:
        *top += page;
        break;
    case PF_SCROLL_PGUP:
        *top -= page;
        break;
    case PF_SCROLL_HOME:
        *top = 0;
        break;
    case PF_SCROLL_END:
        *top = n - page;
        break;
    default:
        return false;
    }
    if (*top > n - page)
        *top = n - page;
    if (*top < 0)
        *top = 0;
    return true;
}

/* Column widths for the given total: fixed ones first, flex gets the rest; columns that do not
 * fit get width 0. Returns the number of visible columns. */
static int layout(const struct pf_w_table *t, int width, int *wd)
{
    int used = 0, flex = -1, shown = 0;
    for (int c = 0; c < t->n_cols; c++) {
        int need = t->cols[c].width + (c ? 1 : 0);
        if (used + need > width) {
            for (int k = c; k < t->n_cols; k++)
                wd[k] = 0;
            break;
        }
        wd[c] = t->cols[c].width;
        used += need;
        shown++;
        if (t->cols[c].flex && flex < 0)
            flex = c;
    }
    if (flex >= 0)
        wd[flex] += width - used;
    return shown;
}

void pf_w_table_draw(WINDOW *w, int y, int x, int h, int width, const struct pf_w_table *t)
{
    int wd[32];
    if (t->n_cols > 32 || h < 1)
        return;
    int shown = layout(t, width, wd);
    /* header */
    pf_w_fill(w, y, x, width, pf_theme(PF_ROLE_HEADER));
    for (int c = 0, cx = x; c < shown; cx += wd[c] + 1, c++) {
        int len = (int)strlen(t->cols[c].title);
        int off = t->cols[c].right && len < wd[c] ? wd[c] - len : 0;
        attr_t ha = pf_theme(PF_ROLE_HEADER) | (c == t->focus_col ? A_REVERSE : 0);
        if (c == t->focus_col)
            pf_w_fill(w, y, cx, wd[c], ha);
        pf_w_put(w, y, cx + off, wd[c], ha, t->cols[c].title);
    }
    int page = pf_w_table_page(h);
    for (int r = 0; r < page; r++) {
        int row = t->top + r;
        if (row >= t->n_rows)
            break;
        bool sel = row == t->sel;
        attr_t base = sel ? pf_theme(PF_ROLE_SELECTED) : A_NORMAL;
        pf_w_fill(w, y + 1 + r, x, width, base);
        for (int c = 0, cx = x; c < shown; cx += wd[c] + 1, c++) {
            char buf[128] = "";
            enum pf_role role = PF_ROLE_NORMAL;
            t->cell(t->user, row, c, buf, sizeof buf, &role);
            attr_t a = sel ? base : pf_theme(role);
            if (sel && c == t->focus_col)
                a = pf_theme(PF_ROLE_FOCUS) | A_UNDERLINE |
                    (pf_theme(PF_ROLE_SELECTED) & ~A_REVERSE);
            if (t->cols[c].bar) {
                if (buf[0])
                    pf_w_bar(w, y + 1 + r, cx, wd[c], atof(buf),
                             sel ? base : pf_theme(PF_ROLE_BAR) | A_BOLD);
                if (sel)
                    pf_w_fill(w, y + 1 + r, cx + wd[c], 1, base);
                continue;
            }
            int len = (int)strlen(buf);
            int off = t->cols[c].right && len < wd[c] ? wd[c] - len : 0;
            if (sel && c == t->focus_col)
                pf_w_fill(w, y + 1 + r, cx, wd[c], a);
            pf_w_put(w, y + 1 + r, cx + off, wd[c], a, buf);
        }
    }
}
