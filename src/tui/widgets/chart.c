/* chart.c: line charts on a braille (or ASCII) dot grid, and scatter plots (see chart.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"
#include "tui/theme.h"
#include "tui/widgets/chart.h"
#include "tui/widgets/text.h"

#define MAX_CELLS 8192 /* plot cells at most (a 200 x 60 terminal's chart is well below) */

/* Plot geometry: cells and dots per cell. */
struct grid {
    int rows, cols; /* cells */
    int dx, dy;     /* dots per cell: braille 2 x 4, ASCII 1 x 2 */
    uint8_t *bits;  /* rows x cols dot masks */
    attr_t *attr;   /* rows x cols: attribute of the series that drew last */
};

static void dot(struct grid *g, int px, int py, attr_t a)
{
    if (px < 0 || py < 0 || px >= g->cols * g->dx || py >= g->rows * g->dy)
        return;
    int c = px / g->dx, r = py / g->dy, sx = px % g->dx, sy = py % g->dy;
    uint8_t bit;
    if (g->dx == 2) {
        /* braille dot numbering: left column 1,2,3,7; right column 4,5,6,8 */
        static const uint8_t left[4] = {0x01, 0x02, 0x04, 0x40};
        static const uint8_t right[4] = {0x08, 0x10, 0x20, 0x80};
        bit = sx ? right[sy] : left[sy];
    } else {
        bit = (uint8_t)(1u << sy);
    }
    g->bits[r * g->cols + c] |= bit;
    g->attr[r * g->cols + c] = a;
}

/* Joins two dots (Bresenham). */
static void line(struct grid *g, int x0, int y0, int x1, int y1, attr_t a)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (int guard = 0; guard < 100000; guard++) {
        dot(g, x0, y0, a);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static void label(char *buf, size_t n, double v, bool percent)
{
    if (percent)
        snprintf(buf, n, "%.1f%%", 100.0 * v);
    else if (fabs(v) >= 1e4)
        pf_fmt_count(buf, n, v);
    else if (fabs(v) >= 100 || v == 0)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.3g", v);
}

void pf_w_chart_draw(WINDOW *w, int y, int x, int h, int width, const struct pf_w_chart *c,
                     const struct pf_w_series *s, int ns)
{
    pf_w_box(w, y, x, h, width, c->title);
    const int ylab = 7;                        /* y labels column */
    int rows = h - 3, cols = width - 3 - ylab; /* border 2, x-axis row 1 */
    if (rows < 1 || cols < 2)
        return;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int total = 0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                continue;
            x0 = fmin(x0, s[k].x[i]);
            x1 = fmax(x1, s[k].x[i]);
            y0 = fmin(y0, s[k].y[i]);
            y1 = fmax(y1, s[k].y[i]);
            total++;
        }
    if (!total) {
        pf_w_put(w, y + h / 2, x + 2, width - 4, pf_theme(PF_ROLE_DIM), "waiting for data");
        return;
    }
    if (y1 - y0 < 1e-12) {
        double pad = fabs(y0) > 1e-12 ? fabs(y0) * 0.05 : 0.5;
        y0 -= pad;
        y1 += pad;
    }
    if (x1 - x0 < 1e-12) {
        x0 -= 0.5;
        x1 += 0.5;
    }
    /* axes */
    char lo[16], hi[16], xl[16], xh[16];
    label(hi, sizeof hi, y1, c->percent);
    label(lo, sizeof lo, y0, c->percent);
    pf_w_put(w, y + 1, x + 1, ylab, pf_theme(PF_ROLE_DIM), hi);
    pf_w_put(w, y + rows, x + 1, ylab, pf_theme(PF_ROLE_DIM), lo);
    label(xl, sizeof xl, x0, false);
    label(xh, sizeof xh, x1, false);
    pf_w_put(w, y + h - 2, x + 2 + ylab, cols, pf_theme(PF_ROLE_DIM), xl);
    pf_w_putf(w, y + h - 2, x + 2 + ylab + cols / 2 - 2, cols / 2, pf_theme(PF_ROLE_DIM), "%s",
              c->xlabel ? c->xlabel : "");
    int xw = (int)strlen(xh);
    pf_w_put(w, y + h - 2, x + 2 + ylab + cols - xw, xw, pf_theme(PF_ROLE_DIM), xh);

    bool braille = pf_theme_utf8();
    if (rows * cols > MAX_CELLS)
        rows = MAX_CELLS / cols;
    struct grid g = {rows, cols, braille ? 2 : 1, braille ? 4 : 2, NULL, NULL};
    uint8_t bits[MAX_CELLS];
    attr_t attrs[MAX_CELLS];
    memset(bits, 0, (size_t)(rows * cols));
    g.bits = bits;
    g.attr = attrs;
    int px_max = cols * g.dx - 1, py_max = rows * g.dy - 1;
    int ox = x + 2 + ylab, oy = y + 1;
    for (int k = 0; k < ns; k++) {
        int prev_x = -1, prev_y = -1;
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                continue;
            int px = (int)lround((s[k].x[i] - x0) / (x1 - x0) * px_max);
            int py = (int)lround((y1 - s[k].y[i]) / (y1 - y0) * py_max);
            if (c->scatter) {
                int cx = px / g.dx, cy = py / g.dy;
                if (s[k].glyph || s[k].ascii)
                    pf_w_glyph(w, oy + cy, ox + cx, s[k].attr, s[k].glyph, s[k].ascii);
                else
                    dot(&g, px, py, s[k].attr);
                continue;
            }
            if (prev_x >= 0)
                line(&g, prev_x, prev_y, px, py, s[k].attr);
            else
                dot(&g, px, py, s[k].attr);
            prev_x = px;
            prev_y = py;
        }
    }
    for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++) {
            uint8_t b = bits[r * cols + col];
            if (!b)
                continue;
            if (braille) {
                /* U+2800 + mask, as UTF-8: E2 A0|(b>>6) 80|(b&0x3f) */
                char u[4] = {(char)0xE2, (char)(0xA0 | (b >> 6)), (char)(0x80 | (b & 0x3F)), 0};
                pf_w_glyph(w, oy + r, ox + col, attrs[r * cols + col], u, '*');
            } else {
                char a = b == 3 ? ':' : b == 1 ? '\'' : '.';
                pf_w_glyph(w, oy + r, ox + col, attrs[r * cols + col], NULL, a);
            }
        }
}
