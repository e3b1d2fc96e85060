/* chart.h: a line chart (or scatter plot) that rescales to its data.
 *
 * Lines are drawn on a dot grid, 2 x 4 dots per cell as braille characters in UTF-8, and
 * 1 x 2 per cell as ' . : characters in ASCII; consecutive points are joined. Axes: the y range
 * on the left (max at the top, min at the bottom), the x range along the bottom. Every redraw
 * fits the ranges to the data, so a live curve always fills the box. */
#ifndef PF_TUI_WIDGETS_CHART_H
#define PF_TUI_WIDGETS_CHART_H

#include <curses.h>
#include <stdbool.h>

struct pf_w_series {
    const double *x, *y; /* n points, x ascending for lines */
    int n;
    attr_t attr;
    const char *glyph; /* scatter: the point's glyph (UTF-8), NULL = dot */
    char ascii;        /* scatter: its ASCII fallback */
};

struct pf_w_chart {
    const char *title;
    const char *xlabel; /* shown beside the x range, e.g. "step" or "MACs" */
    bool scatter;       /* points instead of lines */
    bool percent;       /* y values are fractions: label them as % */
};

/* Draws a bordered chart of ns series into the h x width rectangle at (y, x). Series without
 * points are skipped; with no points at all the box says "waiting for data". */
void pf_w_chart_draw(WINDOW *w, int y, int x, int h, int width, const struct pf_w_chart *c,
                     const struct pf_w_series *s, int ns);

#endif
