/* keymap.h: key tables. Every screen has one table of bindings {key, action, names, help}:
 * its key() looks the pressed key up there, the bottom legend shows the rows that have a label,
 * and the help screen lists every row. A key is therefore written once.
 *
 * To add a key to a screen: add a row to its table and a case for the action in its key(). */
#ifndef PF_TUI_KEYMAP_H
#define PF_TUI_KEYMAP_H

#include <curses.h>
#include <stddef.h>

/* Key codes beyond curses' own. */
#define PF_KEY_CLICK   (KEY_MAX + 1) /* left click in the body; position in app->click_y/x */
#define PF_KEY_ESC     27
#define PF_KEY_TAB     '\t'
#define PF_KEY_CTRL(c) ((c)&0x1f)

struct pf_binding {
    int key;           /* the key code (curses KEY_*, a character, PF_KEY_*) */
    int action;        /* the screen's own action number (> 0) */
    const char *name;  /* how the key is written: "j/Down", "+/-", "Enter" */
    const char *label; /* short legend label, or NULL: not in the legend */
    const char *help;  /* one line for the help screen, or NULL: same action as the row above */
};

struct pf_keymap {
    const char *title;          /* heading on the help screen */
    const struct pf_binding *b; /* rows */
    int n;
};

/* The action bound to ch, or 0. */
int pf_keymap_action(const struct pf_keymap *km, int ch);

#endif
