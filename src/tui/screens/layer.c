/* layer.c: the layer detail (Enter on the model screen), a modal view of one layer: its
 * shapes and counts before and after the plan, a histogram of its weights, and the L1 norm of
 * each output channel's weights as bars (what L1 channel pruning ranks by, Li et al. 2017). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/bar.h"
#include "tui/widgets/histogram.h"
#include "tui/widgets/table.h"
#include "tui/widgets/text.h"

enum { K_BACK = 1, K_DOWN, K_UP, K_PGDN, K_PGUP, K_NEXT, K_PREV };

static const struct pf_binding bindings[] = {
    {'j', K_DOWN, "j/k", "channel", "move through the output channels' L1 norms"},
    {KEY_DOWN, K_DOWN, NULL, NULL, NULL},
    {'k', K_UP, NULL, NULL, NULL},
    {KEY_UP, K_UP, NULL, NULL, NULL},
    {KEY_NPAGE, K_PGDN, "PgDn/PgUp", NULL, "a page of channels"},
    {KEY_PPAGE, K_PGUP, NULL, NULL, NULL},
    {'n', K_NEXT, "n/p", "next/prev layer", "the next / previous layer with weights"},
    {'p', K_PREV, NULL, NULL, NULL},
    {'q', K_BACK, "q/Esc", "back", "back to the layer table"},
    {PF_KEY_ESC, K_BACK, NULL, NULL, NULL},
    {'\n', K_BACK, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Layer detail", bindings, (int)PF_ARRAY_LEN(bindings)};

/* Fills v from the layer's weight tensor: range, zeros, per-output-channel L1 norms. */
static int analyse(struct pf_layer_view *v, const struct pf_app *app, int layer)
{
    free(v->l1);
    memset(v, 0, sizeof *v);
    v->layer = layer;
    const struct pf_layer *l = &app->model->layers[layer];
    const struct pf_param *p = pf_layer_param(l, "weight");
    if (!p || !pf_plan_has_weights(l))
        return 0;
    const float *x = p->w.data;
    size_t n = pf_tensor_numel(&p->w);
    if (!n)
        return 0;
    v->has_weights = true;
    v->numel = (long)n;
    v->wmin = v->wmax = x[0];
    long zeros = 0;
    for (size_t i = 0; i < n; i++) {
        v->wmin = fmin(v->wmin, x[i]);
        v->wmax = fmax(v->wmax, x[i]);
        zeros += x[i] == 0.0f;
    }
    v->zeros = (double)zeros / (double)n;
    /* (K, C, R, S) or (out, in): output channels lead, each a contiguous block */
    int K = p->out_axis == 0 ? p->w.shape[0] : 1;
    v->n_ch = K;
    v->l1 = pf_calloc((size_t)K, sizeof *v->l1);
    if (!v->l1)
        return -PF_ENOMEM;
    size_t per = n / (size_t)K;
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (size_t i = 0; i < per; i++)
            s += fabs(x[(size_t)k * per + i]);
        v->l1[k] = s;
        v->l1_max = fmax(v->l1_max, s);
    }
    return 0;
}

static int layer_enter(struct pf_screen *s, struct pf_app *app)
{
    struct pf_layer_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    return analyse(v, app, app->sel_layer);
}

static void layer_leave(struct pf_screen *s)
{
    struct pf_layer_view *v = s->state;
    if (v)
        free(v->l1);
    free(v);
    s->state = NULL;
}

static int list_rows(const struct pf_app *app)
{
    return app->body_h / 2 - 3 > 1 ? app->body_h / 2 - 3 : 1;
}

static enum pf_key_result layer_key(struct pf_screen *s, int ch)
{
    struct pf_layer_view *v = s->state;
    struct pf_app *app = s->app;
    int act = pf_keymap_action(&keymap, ch);
    int page = list_rows(app);
    switch (act) {
    case K_BACK:
        return PF_KEY_POP;
    case K_DOWN:
        v->sel++;
        break;
    case K_UP:
        v->sel--;
        break;
    case K_PGDN:
        v->sel += page;
        break;
    case K_PGUP:
        v->sel -= page;
        break;
    case K_NEXT:
    case K_PREV: {
        int d = act == K_NEXT ? 1 : -1, n = app->model->n_layers;
        for (int i = v->layer + d; i >= 0 && i < n; i += d)
            if (pf_plan_has_weights(&app->model->layers[i])) {
                app->sel_layer = i;
                if (analyse(v, app, i) < 0)
                    pf_app_err(app, -1);
                break;
            }
        break;
    }
    default:
        return PF_KEY_HANDLED; /* a modal view swallows other keys */
    }
    if (v->sel >= v->n_ch)
        v->sel = v->n_ch - 1;
    if (v->sel < 0)
        v->sel = 0;
    pf_w_table_scroll(&v->top, v->sel, page, v->n_ch);
    return PF_KEY_REDRAW;
}

static void layer_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_layer_view *v = s->state;
    const struct pf_app *app = s->app;
    int H, W;
    getmaxyx(w, H, W);
    int bh = H - 1, bw = W - 4;
    if (bh < 6 || bw < 20)
        return;
    const struct pf_layer *l = &app->model->layers[v->layer];
    const struct pf_prof_row *pr = &app->prof->rows[v->layer];
    char title[128];
    snprintf(title, sizeof title, "%s (%s)", l->name, l->ops->name);
    pf_w_box(w, 0, 2, bh, bw, title);
    int x = 4, iw = bw - 4;
    char pa[16], pb[16], ma[16], mb[16];
    pf_fmt_count(pa, sizeof pa, (double)pr->before.params);
    pf_fmt_count(pb, sizeof pb, (double)pr->after.params);
    pf_fmt_count(ma, sizeof ma, (double)pr->before.macs);
    pf_fmt_count(mb, sizeof mb, (double)pr->after.macs);
    pf_w_putf(w, 1, x, iw, A_NORMAL,
              "in %dx%dx%d  out %dx%dx%d -> %dx%dx%d   params %s -> %s   MACs %s -> %s",
              pr->before.in.c, pr->before.in.h, pr->before.in.w, pr->before.out.c, pr->before.out.h,
              pr->before.out.w, pr->after.out.c, pr->after.out.h, pr->after.out.w, pa, pb, ma, mb);
    if (!v->has_weights) {
        pf_w_put(w, 3, x, iw, pf_theme(PF_ROLE_DIM),
                 "no weight tensor: n/p moves to a layer with weights");
        return;
    }
    pf_w_putf(w, 2, x, iw, pf_theme(PF_ROLE_DIM),
              "%ld weights in [%.4g, %.4g], %.1f%% exactly zero; plan: prune %.2f (realised %.2f), "
              "sparsity %.2f, %d/%d bits",
              v->numel, v->wmin, v->wmax, 100.0 * v->zeros, app->plan.layers[v->layer].prune_ratio,
              pr->eff_prune, pr->after.sparsity, pr->after.w_bits, pr->after.a_bits);
    /* histogram on the top half, L1 norms below */
    int hh = (bh - 4) / 2;
    int bins = pf_w_histogram_bins(iw);
    if (bins > PF_LAYER_HIST_BINS)
        bins = PF_LAYER_HIST_BINS;
    double counts[PF_LAYER_HIST_BINS] = {0};
    const struct pf_param *p = pf_layer_param(l, "weight");
    const float *d = p->w.data;
    double span = v->wmax - v->wmin;
    for (long i = 0; i < v->numel && bins > 0; i++) {
        int b = span > 0 ? (int)((d[i] - v->wmin) / span * bins) : 0;
        counts[b >= bins ? bins - 1 : b < 0 ? 0 : b] += 1;
    }
    pf_w_histogram_draw(w, 3, x, hh, iw, "weight histogram", counts, bins, v->wmin, v->wmax);
    int ly = 3 + hh;
    pf_w_putf(w, ly, x, iw, pf_theme(PF_ROLE_HEADER), "L1 norm per output channel (%d)", v->n_ch);
    int rows = bh - 1 - ly - 1;
    for (int r = 0; r < rows && v->top + r < v->n_ch; r++) {
        int k = v->top + r;
        bool sel = k == v->sel;
        attr_t a = sel ? pf_theme(PF_ROLE_SELECTED) : A_NORMAL;
        pf_w_fill(w, ly + 1 + r, x, iw, a);
        pf_w_putf(w, ly + 1 + r, x, 14, a, "%4d %9.4g", k, v->l1[k]);
        pf_w_bar(w, ly + 1 + r, x + 15, iw - 15, v->l1_max > 0 ? v->l1[k] / v->l1_max : 0,
                 sel ? a : pf_theme(PF_ROLE_BAR) | A_BOLD);
    }
}

const struct pf_screen_ops pf_screen_layer = {
    .name = "Layer",
    .keys = &keymap,
    .modal = true,
    .enter = layer_enter,
    .draw = layer_draw,
    .key = layer_key,
    .leave = layer_leave,
};
