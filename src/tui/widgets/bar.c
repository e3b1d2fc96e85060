/* bar.c: horizontal bars in eighths of a cell (see bar.h). */
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
