/* bar.c: horizontal bars in eighths of a cell, and gauges with a target mark (see bar.h). */
#include <math.h>

#include "tui/theme.h"
#include "tui/widgets/bar.h"
#include "tui/widgets/text.h"

void pf_w_bar(WINDOW *w, int y, int x, int width, double frac, attr_t attr)
{
    static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    if (width <= 0)
        return;
    if (!(frac > 0.0))
        frac = 0.0;
    if (frac > 1.0)
        frac = 1.0;
    pf_w_fill(w, y, x, width, A_NORMAL);
    if (pf_theme_utf8()) {
        int units = (int)(frac * width * 8 + 0.5);
        int full = units / 8, part = units % 8;
        for (int i = 0; i < full; i++)
            pf_w_glyph(w, y, x + i, attr, "█", '#');
        if (part && full < width)
            pf_w_glyph(w, y, x + full, attr, eighths[part], '#');
    } else {
        int full = (int)(frac * width + 0.5);
        for (int i = 0; i < full; i++)
            pf_w_glyph(w, y, x + i, attr, NULL, '#');
    }
}

void pf_w_gauge(WINDOW *w, int y, int x, int width, double frac, double mark, attr_t attr,
                attr_t mark_attr)
{
    pf_w_bar(w, y, x, width, frac, attr);
    if (width <= 0 || !(mark >= 0.0 && mark <= 1.0))
        return;
    int c = (int)lround(mark * width);
    if (c >= width)
        c = width - 1;
    pf_w_glyph(w, y, x + c, mark_attr, "│", '|');
}
