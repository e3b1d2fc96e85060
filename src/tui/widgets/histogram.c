/* histogram.c: vertical bars in eighths of a cell (see histogram.h). */
#include <stdio.h>
#include <string.h>

#include "tui/theme.h"
#include "tui/widgets/histogram.h"
#include "tui/widgets/text.h"

int pf_w_histogram_bins(int width)
{
    return width > 2 ? width - 2 : 0;
}

void pf_w_histogram_draw(WINDOW *w, int y, int x, int h, int width, const char *title,
                         const double *counts, int n, double lo, double hi)
{
    static const char *const eighths[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    pf_w_box(w, y, x, h, width, title);
    int rows = h - 3, cols = pf_w_histogram_bins(width);
    if (rows < 1 || cols < 1 || n < 1)
        return;
    double top = 0;
    for (int i = 0; i < n; i++)
        if (counts[i] > top)
            top = counts[i];
    attr_t a = pf_theme(PF_ROLE_BAR) | A_BOLD;
    for (int i = 0; i < n && i < cols; i++) {
        int units = top > 0 ? (int)(counts[i] / top * rows * 8 + 0.5) : 0;
        if (counts[i] > 0 && units == 0)
            units = 1; /* a non-empty bin stays visible */
        for (int r = 0; r < rows; r++) {
            int u = units - r * 8;
            if (u <= 0)
                break;
            pf_w_glyph(w, y + rows - r, x + 1 + i, a, eighths[u >= 8 ? 8 : u], u >= 4 ? '#' : '.');
        }
    }
    char l[32], r[32];
    snprintf(l, sizeof l, "%.3g", lo);
    snprintf(r, sizeof r, "%.3g", hi);
    pf_w_put(w, y + h - 2, x + 1, cols, pf_theme(PF_ROLE_DIM), l);
    pf_w_put(w, y + h - 2, x + 1 + cols - (int)strlen(r), (int)strlen(r), pf_theme(PF_ROLE_DIM), r);
}
