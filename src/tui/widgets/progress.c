/* progress.c: the progress bar of the run monitor (see progress.h). */
#include <stdio.h>
#include <string.h>

#include "tui/theme.h"
#include "tui/widgets/bar.h"
#include "tui/widgets/progress.h"
#include "tui/widgets/text.h"

void pf_fmt_duration(char *buf, int n, double s)
{
    if (s < 0)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, (size_t)n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, (size_t)n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, (size_t)n, "%lds", t);
}

void pf_w_progress(WINDOW *w, int y, int x, int width, double frac, double eta_s, const char *text)
{
    char right[160], eta[32] = "";
    if (eta_s >= 0) {
        char d[24];
        pf_fmt_duration(d, sizeof d, eta_s);
        snprintf(eta, sizeof eta, "  ETA %s", d);
    }
    snprintf(right, sizeof right, " %5.1f%%%s  %s", 100.0 * (frac < 0 ? 0 : frac), eta,
             text ? text : "");
    int rlen = (int)strlen(right);
    int bw = width - 2 - (rlen < width / 2 ? rlen : width / 2);
    if (bw < 4)
        bw = width > 6 ? 4 : 0;
    pf_w_fill(w, y, x, width, A_NORMAL);
    if (bw > 0) {
        pf_w_put(w, y, x, 1, A_NORMAL, "[");
        pf_w_bar(w, y, x + 1, bw, frac, pf_theme(PF_ROLE_BAR) | A_BOLD);
        pf_w_put(w, y, x + 1 + bw, 1, A_NORMAL, "]");
    }
    pf_w_put(w, y, x + bw + 2, width - bw - 2, A_NORMAL, right);
}
