/* progress.h: a progress bar with percentage and a free text (ETA, phase). */
#ifndef PF_TUI_WIDGETS_PROGRESS_H
#define PF_TUI_WIDGETS_PROGRESS_H

#include <curses.h>

/* Draws "[bar] 42.0%  text" in width cells at (y, x). eta_s < 0: no ETA shown. */
void pf_w_progress(WINDOW *w, int y, int x, int width, double frac, double eta_s, const char *text);
/* Seconds as "1h02m", "3m05s", "42s". */
void pf_fmt_duration(char *buf, int n, double s);

#endif
