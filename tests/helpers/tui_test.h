/* tui_test.h: helpers for the workbench's key-sequence tests (tests/check_tui_*.c). A test
 * opens a workbench state on a netdef without a terminal, types keys into it (pf_app_key: the
 * same dispatch as the real loop) and asserts on the screens' state. */
#ifndef PF_TESTS_HELPERS_TUI_TEST_H
#define PF_TESTS_HELPERS_TUI_TEST_H

#include "tui/app.h"
#include "tui/screens/screens.h"

#define PF_TUI_TEST_NET "assets/nets/fmnist_bn.yaml"

/* A workbench on PF_TUI_TEST_NET with runs under a fresh temporary directory; fails the test on
 * error. Free with pf_tui_test_free (removes the directory). */
struct pf_app *pf_tui_test_app(void);
void pf_tui_test_free(struct pf_app *app);
/* Types each character of keys (then runs one tick, as the main loop does). */
void pf_tui_test_type(struct pf_app *app, const char *keys);
/* One key code (curses KEY_*, PF_KEY_*), then a tick. */
void pf_tui_test_key(struct pf_app *app, int ch);
/* The state of the top screen, asserting it is `ops`. */
void *pf_tui_test_top(struct pf_app *app, const struct pf_screen_ops *ops);
/* Row index of option key in app->opts (fails the test if absent). */
int pf_tui_test_opt(const struct pf_app *app, const char *key);

#endif
