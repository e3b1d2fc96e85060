/* theme.h: colours, attributes and glyphs of the workbench.
 *
 * Every draw function asks for a role (title, selected row, warning, chart line ...) and gets
 * a curses attribute. With colours off (NO_COLOR set, or a terminal without colours) each role
 * maps to bold / reverse / underline / normal, so the workbench reads the same in monochrome.
 * Glyphs are Unicode (block and braille characters) in a UTF-8 locale, ASCII otherwise. */
#ifndef PF_TUI_THEME_H
#define PF_TUI_THEME_H

#include <curses.h>
#include <stdbool.h>

enum pf_role {
    PF_ROLE_NORMAL,
    PF_ROLE_TITLE,    /* the top bar */
    PF_ROLE_TAB,      /* the current tab in the top bar */
    PF_ROLE_HEADER,   /* table headers, box titles */
    PF_ROLE_SELECTED, /* the cursor row */
    PF_ROLE_FOCUS,    /* the focused cell in the cursor row */
    PF_ROLE_DIM,      /* secondary text, n/a cells */
    PF_ROLE_CHANGED,  /* a value the plan changed */
    PF_ROLE_GOOD,
    PF_ROLE_WARN,
    PF_ROLE_ERROR,
    PF_ROLE_BAR,   /* share bars, progress */
    PF_ROLE_LINE1, /* chart series */
    PF_ROLE_LINE2,
    PF_ROLE_KEY, /* key names in the legend */
    PF_ROLE_N
};

/* Sets up colour pairs (after initscr) unless colour is false. */
void pf_theme_init(bool colour);
/* The attribute of a role (A_NORMAL before pf_theme_init). */
attr_t pf_theme(enum pf_role role);
/* Whether Unicode glyphs may be drawn (set from the locale by the app; tests leave it off). */
void pf_theme_set_utf8(bool on);
bool pf_theme_utf8(void);

#endif
