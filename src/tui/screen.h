/* screen.h: struct pf_screen_ops, the one extension point of the workbench (STYLE.md b2).
 *
 * A screen is one file in screens/ defining `const struct pf_screen_ops pf_screen_<name>`, one
 * line in registry.c and one test file (tests/check_tui_<name>.c). key() changes state only (no
 * curses calls), so a test can drive a screen with key sequences and inspect its state without a
 * terminal; draw() reads the state and writes its window only. Screens live on the app's stack:
 * the app draws the stack bottom-up, so a modal screen (help, prompt, layer detail) draws over
 * the one below it.
 *
 * Besides the six functions of STYLE.md b2 an ops table carries its key table (for the legend
 * and the help screen), the tab key that opens it from anywhere, and whether it is modal. */
#ifndef PF_TUI_SCREEN_H
#define PF_TUI_SCREEN_H

#include <curses.h>
#include <stdbool.h>

#include "tui/keymap.h"

struct pf_app;
struct pf_screen_ops;

/* What key() tells the app (bits). */
enum pf_key_result {
    PF_KEY_IGNORED = 0, /* not this screen's key: the app tries its global keys */
    PF_KEY_HANDLED = 1,
    PF_KEY_REDRAW = 2,
    PF_KEY_POP = 4,  /* close this screen (a modal one) */
    PF_KEY_QUIT = 8, /* leave the workbench */
};

/* One screen on the stack. */
struct pf_screen {
    const struct pf_screen_ops *ops;
    struct pf_app *app;
    const void *arg; /* what the pusher passed (e.g. the layer index of a detail view) */
    void *state;     /* the screen's own state, made by enter, freed by leave */
};

struct pf_screen_ops {
    const char *name;             /* title in the tab bar and on the help screen */
    const struct pf_keymap *keys; /* its key table */
    int tab;                      /* key that switches to it from anywhere ('1'..), 0 = none */
    bool modal;                   /* drawn over the screen below */
    int (*enter)(struct pf_screen *s, struct pf_app *app);  /* allocate state; 0 or -PF_E* */
    void (*draw)(const struct pf_screen *s, WINDOW *w);     /* reads state, writes w only */
    enum pf_key_result (*key)(struct pf_screen *s, int ch); /* pure state change; no curses */
    void (*tick)(struct pf_screen *s);                      /* optional: periodic work */
    void (*leave)(struct pf_screen *s);                     /* free state */
};

/* ---- registry (registry.c) ---- */
extern const struct pf_screen_ops *const pf_screens[];
extern const size_t pf_screens_len;
/* NULL if no screen has that name. */
const struct pf_screen_ops *pf_screen_find(const char *name);

/* The screens (one file each in screens/). */
extern const struct pf_screen_ops pf_screen_model;
extern const struct pf_screen_ops pf_screen_learner;
extern const struct pf_screen_ops pf_screen_monitor;
extern const struct pf_screen_ops pf_screen_runs;
extern const struct pf_screen_ops pf_screen_sensitivity;
extern const struct pf_screen_ops pf_screen_help;
extern const struct pf_screen_ops pf_screen_layer;
extern const struct pf_screen_ops pf_screen_prompt;
extern const struct pf_screen_ops pf_screen_compare;
extern const struct pf_screen_ops pf_screen_rl;

#endif
