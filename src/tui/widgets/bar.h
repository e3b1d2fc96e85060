/* bar.h: a horizontal bar of a fraction (share of MACs, L1 norm of a channel, progress), and a
 * gauge: the same bar with a target mark (a budget against its target). */
#ifndef PF_TUI_WIDGETS_BAR_H
#define PF_TUI_WIDGETS_BAR_H

#include <curses.h>

/* Draws frac (clamped to 0..1) of width cells at (y, x): eighth blocks in UTF-8, '#' in ASCII;
 * the rest of the width is left blank. */
void pf_w_bar(WINDOW *w, int y, int x, int width, double frac, attr_t attr);

/* A bar with a target mark: frac of width cells as pf_w_bar, then a '|' (in mark_attr) at the
 * cell of mark (0..1; outside it, or NAN: no mark), over the bar or past its end. */
void pf_w_gauge(WINDOW *w, int y, int x, int width, double frac, double mark, attr_t attr,
                attr_t mark_attr);

#endif
