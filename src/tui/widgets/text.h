/* text.h: clipped text and box drawing shared by the widgets and screens.
 *
 * Every function clips to the window (and to `width` cells), so a draw at any terminal size
 * never writes outside its window. Text is ASCII; glyphs are UTF-8 with an ASCII fallback
 * (theme.h decides which). */
#ifndef PF_TUI_WIDGETS_TEXT_H
#define PF_TUI_WIDGETS_TEXT_H

#include <curses.h>

/* Writes at most width cells of s at (y, x) with attr. Returns the cells written. */
int pf_w_put(WINDOW *w, int y, int x, int width, attr_t attr, const char *s);
/* printf-style pf_w_put. */
int pf_w_putf(WINDOW *w, int y, int x, int width, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* width spaces with attr (clears a cell range, or paints a selected row). */
void pf_w_fill(WINDOW *w, int y, int x, int width, attr_t attr);
/* One glyph cell: the UTF-8 string when Unicode is on, else the ASCII character. */
void pf_w_glyph(WINDOW *w, int y, int x, attr_t attr, const char *utf8, char ascii);
/* Clears the rectangle and draws a border with a title on its top edge. */
void pf_w_box(WINDOW *w, int y, int x, int h, int width, const char *title);

#endif
