/* text.c: clipped text, glyphs and boxes (see text.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tui/theme.h"
#include "tui/widgets/text.h"

int pf_w_put(WINDOW *w, int y, int x, int width, attr_t attr, const char *s)
{
    int H, W;
    getmaxyx(w, H, W);
    if (y < 0 || y >= H || x >= W || width <= 0)
        return 0;
    if (x < 0) {
        int cut = -x;
        if ((int)strlen(s) <= cut)
            return 0;
        s += cut;
        width -= cut;
        x = 0;
    }
    if (width > W - x)
        width = W - x;
    int n = (int)strlen(s);
    if (n > width)
        n = width;
    if (n <= 0)
        return 0;
    wattrset(w, attr);
    mvwaddnstr(w, y, x, s, n);
    wattrset(w, A_NORMAL);
    return n;
}

int pf_w_putf(WINDOW *w, int y, int x, int width, attr_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return pf_w_put(w, y, x, width, attr, buf);
}

void pf_w_fill(WINDOW *w, int y, int x, int width, attr_t attr)
{
    int H, W;
    getmaxyx(w, H, W);
    if (y < 0 || y >= H || x >= W)
        return;
    if (x < 0) {
        width += x;
        x = 0;
    }
    if (width > W - x)
        width = W - x;
    if (width <= 0)
        return;
    wattrset(w, attr);
    mvwhline(w, y, x, ' ', width);
    wattrset(w, A_NORMAL);
}

void pf_w_glyph(WINDOW *w, int y, int x, attr_t attr, const char *utf8, char ascii)
{
    int H, W;
    getmaxyx(w, H, W);
    if (y < 0 || y >= H || x < 0 || x >= W)
        return;
    wattrset(w, attr);
    if (pf_theme_utf8() && utf8)
        mvwaddstr(w, y, x, utf8);
    else
        mvwaddch(w, y, x, (chtype)(unsigned char)ascii);
    wattrset(w, A_NORMAL);
}

void pf_w_box(WINDOW *w, int y, int x, int h, int width, const char *title)
{
    if (h < 2 || width < 2)
        return;
    for (int r = 0; r < h; r++)
        pf_w_fill(w, y + r, x, width, A_NORMAL);
    int H, W;
    getmaxyx(w, H, W);
    /* ACS line drawing works in both UTF-8 and ASCII terminals; clip by hand */
    for (int c = x + 1; c < x + width - 1; c++) {
        if (c >= 0 && c < W) {
            if (y >= 0 && y < H)
                mvwaddch(w, y, c, ACS_HLINE);
            if (y + h - 1 < H)
                mvwaddch(w, y + h - 1, c, ACS_HLINE);
        }
    }
    for (int r = y + 1; r < y + h - 1; r++) {
        if (r < 0 || r >= H)
            continue;
        if (x >= 0 && x < W)
            mvwaddch(w, r, x, ACS_VLINE);
        if (x + width - 1 < W)
            mvwaddch(w, r, x + width - 1, ACS_VLINE);
    }
    if (y >= 0 && y < H) {
        if (x >= 0 && x < W)
            mvwaddch(w, y, x, ACS_ULCORNER);
        if (x + width - 1 < W)
            mvwaddch(w, y, x + width - 1, ACS_URCORNER);
    }
    if (y + h - 1 < H) {
        if (x >= 0 && x < W)
            mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
        if (x + width - 1 < W)
            mvwaddch(w, y + h - 1, x + width - 1, ACS_LRCORNER);
    }
    if (title && title[0])
        pf_w_putf(w, y, x + 2, width - 4, pf_theme(PF_ROLE_HEADER), " %s ", title);
}
