/* bar.h: a horizontal bar of a fraction (share of MACs, L1 norm of a channel, progress). */
#ifndef PF_TUI_WIDGETS_BAR_H
#define PF_TUI_WIDGETS_BAR_H

#include <curses.h>

/* Draws frac (clamped to 0..1) of width cells at (y, x): eighth blocks in UTF-8, '#' in ASCII;
 * the rest of the width is left blank. */
void pf_w_bar(WINDOW *w, int y, int x, int width, double frac, attr_t attr);

#endif
