/* compare.c: two runs' models side by side, layer by layer (c, c on the runs screen): output
 * channels and params of each layer in both, so what a learner removed where is visible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/io/model_h5.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

enum { K_BACK = 1, K_DOWN, K_UP };

static const struct pf_binding bindings[] = {
    {'j', K_DOWN, "j/k", "scroll", "scroll the layers"},
    {KEY_DOWN, K_DOWN, NULL, NULL, NULL},
    {'k', K_UP, NULL, NULL, NULL},
    {KEY_UP, K_UP, NULL, NULL, NULL},
    {'q', K_BACK, "q/Esc", "back", "back to the runs"},
    {PF_KEY_ESC, K_BACK, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Compare runs", bindings, (int)PF_ARRAY_LEN(bindings)};

static int compare_enter(struct pf_screen *s, struct pf_app *app)
{
    (void)app;
    struct pf_compare_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    const struct pf_run_rec *const *pair = s->arg;
    int rc;
    if ((rc = pf_model_load(pair[0]->model, &v->a, NULL, 0)) < 0 ||
        (rc = pf_model_load(pair[1]->model, &v->b, NULL, 0)) < 0)
        return rc;
    snprintf(v->name_a, sizeof v->name_a, "%s", pair[0]->name);
    snprintf(v->name_b, sizeof v->name_b, "%s", pair[1]->name);
    return 0;
}

static void compare_leave(struct pf_screen *s)
{
    struct pf_compare_view *v = s->state;
    if (v) {
        pf_model_free(v->a);
        pf_model_free(v->b);
    }
    free(v);
    s->state = NULL;
}

static enum pf_key_result compare_key(struct pf_screen *s, int ch)
{
    struct pf_compare_view *v = s->state;
    switch (pf_keymap_action(&keymap, ch)) {
    case K_BACK:
        return PF_KEY_POP;
    case K_DOWN:
        if (v->top < v->a->n_layers - 1)
            v->top++;
        break;
    case K_UP:
        if (v->top > 0)
            v->top--;
        break;
    default:
        break;
    }
    return PF_KEY_REDRAW;
}

enum { C_NAME, C_TYPE, C_CA, C_CB, C_PA, C_PB, C_N };
static const struct pf_w_col cols[C_N] = {
    {"layer", 10, false, true, false},   {"type", 9, false, false, false},
    {"out A", 6, true, false, false},    {"out B", 6, true, false, false},
    {"params A", 9, true, false, false}, {"params B", 9, true, false, false},
};

static void cell(const void *user, int row, int col, char *buf, size_t n, enum pf_role *role)
{
    const struct pf_compare_view *v = user;
    const struct pf_layer *a = &v->a->layers[row];
    int j = pf_model_find(v->b, a->name);
    const struct pf_layer *b = j >= 0 ? &v->b->layers[j] : NULL;
    struct pf_count ka = {0}, kb = {0};
    if (a->ops->count)
        a->ops->count(a, &ka);
    if (b && b->ops->count)
        b->ops->count(b, &kb);
    bool diff = !b || b->out.c != a->out.c || ka.params != kb.params;
    switch (col) {
    case C_NAME:
        snprintf(buf, n, "%s", a->name);
        break;
    case C_TYPE:
        snprintf(buf, n, "%s", a->ops->name);
        break;
    case C_CA:
        snprintf(buf, n, "%d", a->out.c);
        break;
    case C_CB:
        snprintf(buf, n, "%s", b ? "" : "-");
        if (b)
            snprintf(buf, n, "%d", b->out.c);
        break;
    case C_PA:
        pf_fmt_count(buf, n, (double)ka.params);
        break;
    default:
        pf_fmt_count(buf, n, (double)kb.params);
        break;
    }
    if (diff && col != C_NAME && col != C_TYPE)
        *role = PF_ROLE_CHANGED;
}

static void compare_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_compare_view *v = s->state;
    int H, W;
    getmaxyx(w, H, W);
    int bw = W - 4, bh = H - 1;
    pf_w_box(w, 0, 2, bh, bw, "compare runs");
    pf_w_putf(w, 1, 4, bw - 4, A_NORMAL, "A %s", v->name_a);
    pf_w_putf(w, 2, 4, bw - 4, A_NORMAL, "B %s", v->name_b);
    struct pf_w_table t = {cols, C_N, v->a->n_layers, v->top, -1, -1, cell, v};
    pf_w_table_draw(w, 3, 4, bh - 4, bw - 4, &t);
}

const struct pf_screen_ops pf_screen_compare = {
    .name = "Compare",
    .keys = &keymap,
    .modal = true,
    .enter = compare_enter,
    .draw = compare_draw,
    .key = compare_key,
    .leave = compare_leave,
};
