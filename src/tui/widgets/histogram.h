/* histogram.h: vertical bars of counts (a weight histogram), in a box. */
#ifndef PF_TUI_WIDGETS_HISTOGRAM_H
#define PF_TUI_WIDGETS_HISTOGRAM_H

#include <curses.h>

/* Plot columns available inside an h x width box (= how many bins to compute). */
int pf_w_histogram_bins(int width);
/* Draws n bin counts as vertical bars scaled to the largest, with lo / hi labels under the
 * first and last bin. */
void pf_w_histogram_draw(WINDOW *w, int y, int x, int h, int width, const char *title,
                         const double *counts, int n, double lo, double hi);

#endif
