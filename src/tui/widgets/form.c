/* form.c: the option form (see form.h). */
#include <stdio.h>
#include <string.h>

#include "tui/theme.h"
#include "tui/widgets/form.h"
#include "tui/widgets/text.h"

#define HELP_LINES 3

int pf_w_form_page(int h)
{
    return h - 1 - HELP_LINES > 1 ? h - 1 - HELP_LINES : 1;
}

void pf_w_form_range(const struct pf_opt_spec *s, char *buf, int n)
{
    switch (s->type) {
    case PF_OPT_INT:
        snprintf(buf, (size_t)n, "integer %g..%g", s->min, s->max);
        break;
    case PF_OPT_FLOAT:
        snprintf(buf, (size_t)n, "number %g..%g", s->min, s->max);
        break;
    case PF_OPT_BOOL:
        snprintf(buf, (size_t)n, "True/False (Space toggles)");
        break;
    case PF_OPT_ENUM:
        snprintf(buf, (size_t)n, "one of %s (Left/Right)", s->choices ? s->choices : "");
        break;
    default:
        snprintf(buf, (size_t)n, "text");
        break;
    }
}

void pf_w_form_draw(WINDOW *w, int y, int x, int h, int width, const struct pf_w_form *f)
{
    const struct pf_opts *o = f->opts;
    int kw = 18, vw = 12;
    if (width < kw + vw + 4)
        kw = width / 2 - 1, vw = width / 2 - 2;
    pf_w_fill(w, y, x, width, pf_theme(PF_ROLE_HEADER));
    pf_w_put(w, y, x + 2, kw, pf_theme(PF_ROLE_HEADER), "option");
    pf_w_put(w, y, x + 3 + kw, vw, pf_theme(PF_ROLE_HEADER), "value");
    pf_w_put(w, y, x + 4 + kw + vw, width - kw - vw - 4, pf_theme(PF_ROLE_HEADER), "help");
    int page = pf_w_form_page(h);
    for (int r = 0; r < page && f->top + r < o->n; r++) {
        int i = f->top + r;
        const struct pf_opt_spec *s = pf_opts_row(o, i);
        bool sel = i == f->sel;
        attr_t base = sel && f->focused ? pf_theme(PF_ROLE_SELECTED) : sel ? A_BOLD : A_NORMAL;
        int ry = y + 1 + r;
        pf_w_fill(w, ry, x, width, base);
        bool changed = o->vals[i] != NULL && strcmp(o->vals[i], s->def ? s->def : "");
        pf_w_put(w, ry, x, 1, base, changed ? "*" : " ");
        pf_w_put(w, ry, x + 2, kw, base, s->key);
        if (sel && f->edit) {
            attr_t ea = A_UNDERLINE | A_BOLD;
            pf_w_fill(w, ry, x + 3 + kw, vw, ea);
            int start = f->edit_pos >= vw ? f->edit_pos - vw + 1 : 0;
            pf_w_put(w, ry, x + 3 + kw, vw, ea, f->edit + start);
            pf_w_put(w, ry, x + 3 + kw + f->edit_pos - start, 1, ea | A_REVERSE,
                     f->edit[f->edit_pos] ? (char[]){f->edit[f->edit_pos], 0} : " ");
        } else {
            pf_w_put(w, ry, x + 3 + kw, vw, changed && !sel ? pf_theme(PF_ROLE_CHANGED) : base,
                     pf_opts_text(o, i));
        }
        pf_w_put(w, ry, x + 4 + kw + vw, width - kw - vw - 4, sel ? base : pf_theme(PF_ROLE_DIM),
                 s->help ? s->help : "");
    }
    /* the cursor row's help, in full */
    if (f->sel >= 0 && f->sel < o->n) {
        const struct pf_opt_spec *s = pf_opts_row(o, f->sel);
        char range[160];
        pf_w_form_range(s, range, sizeof range);
        int hy = y + h - HELP_LINES;
        for (int k = 0; k < HELP_LINES; k++)
            pf_w_fill(w, hy + k, x, width, A_NORMAL);
        pf_w_putf(w, hy, x, width, A_BOLD, "%s: %s", s->key, range);
        pf_w_putf(w, hy + 1, x, width, A_NORMAL, "default %s. %s", s->def ? s->def : "-",
                  s->help ? s->help : "");
        pf_w_put(w, hy + 2, x, width, pf_theme(PF_ROLE_DIM),
                 f->edit ? "Enter accepts, Esc cancels, ^U clears"
                         : "Enter edits, d restores the default");
    }
}
