/* tui.h: the workbench's entry point for main.c (curses-free, so main.c never sees curses).
 *
 * pf_tui_main opens the interactive workbench on a model file or netdef: it loads the model
 * before curses starts (so a bad path is an ordinary error on stderr), then runs the screens
 * until the user quits. It refuses when stdin or stdout is not a terminal. */
#ifndef PF_TUI_TUI_H
#define PF_TUI_TUI_H

/* Runs the workbench on model_path (a .h5 model or a netdef .yaml) with run directories under
 * runs_root. Returns 0 when the user quits, or a negative PF_E* code with pf_err_msg() set
 * (nothing started, or the terminal could not be set up; the terminal is restored either
 * way). */
int pf_tui_main(const char *model_path, const char *runs_root);

#endif
