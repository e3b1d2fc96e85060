/* form.h: an option form drawn from a learner's option tables (struct pf_opts): one row per
 * option with its value (changed values marked), and the cursor row's help, type and range
 * below. The learner screen owns the editing state; this widget only draws it. */
#ifndef PF_TUI_WIDGETS_FORM_H
#define PF_TUI_WIDGETS_FORM_H

#include <curses.h>
#include <stdbool.h>

#include "learners/learner.h"

struct pf_w_form {
    const struct pf_opts *opts;
    int sel, top;     /* cursor row and first row shown */
    bool focused;     /* the form (not the learner list) has the keyboard */
    const char *edit; /* text being typed into the cursor row, or NULL */
    int edit_pos;     /* cursor position in edit */
};

/* Rows of options shown in an h-line form (the rest holds the help). */
int pf_w_form_page(int h);
/* Draws the form into the h x width rectangle at (y, x). */
void pf_w_form_draw(WINDOW *w, int y, int x, int h, int width, const struct pf_w_form *f);
/* "float 0.0001..100", "one of cosine|piecewise|constant", "true/false" ... */
void pf_w_form_range(const struct pf_opt_spec *s, char *buf, int n);

#endif
