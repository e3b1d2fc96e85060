/* sensitivity.c: the Sensitivity screen. For every prunable channel group and a few prune
 * ratios, L1-norm pruning of that group alone (pf_group_l1_keep + pf_model_prune_group on a
 * clone, no fine-tuning) and the accuracy on validation images, shown as a heatmap: the groups
 * that lose little accuracy are the ones worth pruning hard (the same analysis as
 * `pocketflow sensitivity`, on fewer images so that it takes seconds).
 *
 * The cells are computed on a worker thread of this screen, which owns a clone of the model and
 * its own dataset; the only state it shares with the main thread is the result array under a
 * mutex. Leaving the screen stops and joins it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/model/train.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/text.h"

const double pf_sens_ratios[PF_SENS_RATIOS] = {0.25, 0.5, 0.75, 0.9};

#define SENS_IMAGES 1000 /* validation images per cell: seconds, not minutes */

enum { K_START = 1, K_STOP, K_DOWN, K_UP, K_LEFT, K_RIGHT };

static const struct pf_binding bindings[] = {
    {'s', K_START, "s", "start", "compute the heatmap (L1 pruning of each group, no fine-tuning)"},
    {'x', K_STOP, "x", "stop", "stop computing"},
    {'j', K_DOWN, "hjkl", "move", "move the cursor over the cells (also the arrow keys)"},
    {KEY_DOWN, K_DOWN, NULL, NULL, NULL},
    {'k', K_UP, NULL, NULL, NULL},
    {KEY_UP, K_UP, NULL, NULL, NULL},
    {'h', K_LEFT, NULL, NULL, NULL},
    {KEY_LEFT, K_LEFT, NULL, NULL, NULL},
    {'l', K_RIGHT, NULL, NULL, NULL},
    {KEY_RIGHT, K_RIGHT, NULL, NULL, NULL},
};
static const struct pf_keymap keymap = {"Sensitivity", bindings, (int)PF_ARRAY_LEN(bindings)};

/* The worker's job; shared fields under `lock`. */
struct job {
    pthread_t thread;
    bool started;
    atomic_int stop;
    struct pf_model *m; /* the worker's clone; owned */
    char data[64];
    int n_groups;
    int *group; /* copy of the view's list; owned */
    pthread_mutex_t lock;
    double *acc;   /* n_groups x ratios; guarded */
    double base;   /* guarded */
    int done;      /* cells finished; guarded */
    bool finished; /* guarded */
    char err[200]; /* guarded */
};

static int cell(struct pf_model *m, int gi, double ratio, const struct pf_dataset *d,
                const uint32_t *idx, uint32_t n, double *acc)
{
    struct pf_model *s = NULL;
    struct pf_groups *g = NULL;
    uint8_t *keep = NULL;
    int rc = pf_model_clone(m, &s);
    if (rc < 0)
        return rc;
    if ((rc = pf_groups_build(s, &g)) < 0)
        goto done;
    int k = pf_plan_keep_count(g->groups[gi].channels, ratio);
    keep = pf_malloc((size_t)g->groups[gi].channels);
    if (!keep) {
        rc = -PF_ENOMEM;
        goto done;
    }
    struct pf_eval_result r;
    if ((rc = pf_group_l1_keep(s, g, gi, k < 1 ? 1 : k, keep)) < 0 ||
        (rc = pf_model_prune_group(s, g, gi, keep)) < 0 ||
        (rc = pf_evaluate(s, d, idx, n, 250, &r, NULL)) < 0)
        goto done;
    *acc = r.accuracy;
done:
    free(keep);
    pf_groups_free(g);
    pf_model_free(s);
    return rc;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct pf_dataset *d = NULL;
    uint32_t *tr = NULL, *val = NULL, n_tr = 0, n_val = 0;
    int rc = pf_dataset_load(j->data, PF_SPLIT_TRAIN, &d);
    if (rc == 0)
        rc = pf_dataset_split(d, d->n > SENS_IMAGES ? SENS_IMAGES : d->n / 5, &tr, &n_tr, &val,
                              &n_val);
    struct pf_eval_result base;
    if (rc == 0)
        rc = pf_evaluate(j->m, d, val, n_val, 250, &base, NULL);
    if (rc == 0) {
        pthread_mutex_lock(&j->lock);
        j->base = base.accuracy;
        pthread_mutex_unlock(&j->lock);
    }
    for (int c = 0; rc == 0 && c < j->n_groups * PF_SENS_RATIOS && !atomic_load(&j->stop); c++) {
        double a = 0;
        rc = cell(j->m, j->group[c / PF_SENS_RATIOS], pf_sens_ratios[c % PF_SENS_RATIOS], d, val,
                  n_val, &a);
        if (rc < 0)
            break;
        pthread_mutex_lock(&j->lock);
        j->acc[c] = a;
        j->done = c + 1;
        pthread_mutex_unlock(&j->lock);
    }
    pthread_mutex_lock(&j->lock);
    if (rc < 0)
        snprintf(j->err, sizeof j->err, "%s", pf_err_user_msg());
    j->finished = true;
    pthread_mutex_unlock(&j->lock);
    free(tr);
    free(val);
    pf_dataset_free(d);
    return NULL;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    if (j->started) {
        atomic_store(&j->stop, 1);
        pthread_join(j->thread, NULL);
    }
    pthread_mutex_destroy(&j->lock);
    pf_model_free(j->m);
    free(j->group);
    free(j->acc);
    free(j);
}

/* Starts the worker on a clone of the open model. */
static int job_start(struct pf_sens_view *v, struct pf_app *app)
{
    job_free(v->priv);
    v->priv = NULL;
    struct job *j = pf_calloc(1, sizeof *j);
    if (!j)
        return -PF_ENOMEM;
    pthread_mutex_init(&j->lock, NULL);
    j->n_groups = v->n_groups;
    j->group = pf_calloc((size_t)v->n_groups + 1, sizeof *j->group);
    j->acc = pf_calloc((size_t)v->n_groups * PF_SENS_RATIOS + 1, sizeof *j->acc);
    int rc = !j->group || !j->acc ? -PF_ENOMEM : pf_model_clone(app->model, &j->m);
    if (rc < 0) {
        job_free(j);
        return rc;
    }
    memcpy(j->group, v->group, (size_t)v->n_groups * sizeof *j->group);
    snprintf(j->data, sizeof j->data, "%s", app->dataset);
    j->base = -1;
    if (pthread_create(&j->thread, NULL, worker, j) != 0) {
        job_free(j);
        return PF_ERR(PF_ENOMEM, "cannot start a worker thread");
    }
    j->started = true;
    v->priv = j;
    v->running = true;
    v->next = 0;
    v->base_acc = -1;
    for (int i = 0; i < v->n_groups * PF_SENS_RATIOS; i++)
        v->acc[i] = -1;
    return 0;
}

/* The prunable groups of the open model (as `pocketflow sensitivity` picks them). */
static int list_groups(struct pf_sens_view *v, const struct pf_app *app)
{
    const struct pf_groups *g = app->groups;
    free(v->group);
    free(v->acc);
    v->group = pf_calloc((size_t)g->n_groups + 1, sizeof *v->group);
    v->acc = pf_calloc((size_t)g->n_groups * PF_SENS_RATIOS + 1, sizeof *v->acc);
    if (!v->group || !v->acc)
        return -PF_ENOMEM;
    v->n_groups = 0;
    for (int i = 0; i < g->n_groups; i++)
        if (!g->groups[i].fixed && g->groups[i].n_consumers > 0 && g->groups[i].channels > 1)
            v->group[v->n_groups++] = i;
    for (int i = 0; i < v->n_groups * PF_SENS_RATIOS; i++)
        v->acc[i] = -1;
    v->base_acc = -1;
    v->row = v->col = v->next = 0;
    v->gen = app->model_gen;
    v->note[0] = 0;
    if (!v->n_groups)
        snprintf(v->note, sizeof v->note, "%s has no prunable channel group", app->model->name);
    return 0;
}

static int sens_enter(struct pf_screen *s, struct pf_app *app)
{
    struct pf_sens_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    v->n_eval = SENS_IMAGES;
    return list_groups(v, app);
}

static void sens_leave(struct pf_screen *s)
{
    struct pf_sens_view *v = s->state;
    if (v) {
        job_free(v->priv);
        free(v->group);
        free(v->acc);
    }
    free(v);
    s->state = NULL;
}

/* Copies the worker's results into the view. */
static void sens_tick(struct pf_screen *s)
{
    struct pf_sens_view *v = s->state;
    if (v->gen != s->app->model_gen) {
        /* another model was opened: start over on its groups */
        job_free(v->priv);
        v->priv = NULL;
        v->running = false;
        if (list_groups(v, s->app) < 0)
            pf_app_err(s->app, -1);
        s->app->dirty = true;
    }
    struct job *j = v->priv;
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    bool changed = j->done != v->next || j->base != v->base_acc || j->finished == v->running;
    for (int i = 0; i < j->done && i < v->n_groups * PF_SENS_RATIOS; i++)
        v->acc[i] = j->acc[i];
    v->base_acc = j->base;
    v->next = j->done;
    bool fin = j->finished;
    if (j->err[0])
        snprintf(v->note, sizeof v->note, "%s", j->err);
    pthread_mutex_unlock(&j->lock);
    if (fin) {
        v->running = false;
        if (v->note[0])
            pf_app_msg(s->app, PF_MSG_ERROR, "sensitivity: %s", v->note);
    }
    if (changed)
        s->app->dirty = true;
}

static enum pf_key_result sens_key(struct pf_screen *s, int ch)
{
    struct pf_sens_view *v = s->state;
    struct pf_app *app = s->app;
    switch (pf_keymap_action(&keymap, ch)) {
    case K_START:
        if (!v->n_groups)
            break;
        if (list_groups(v, app) < 0 || job_start(v, app) < 0)
            pf_app_err(app, -1);
        else
            pf_app_msg(app, PF_MSG_INFO, "computing %d cells on %d validation images each",
                       v->n_groups * PF_SENS_RATIOS, v->n_eval);
        break;
    case K_STOP:
        if (v->priv) {
            sens_tick(s);
            job_free(v->priv);
            v->priv = NULL;
            v->running = false;
        }
        break;
    case K_DOWN:
        v->row += v->row < v->n_groups - 1;
        break;
    case K_UP:
        v->row -= v->row > 0;
        break;
    case K_RIGHT:
        v->col += v->col < PF_SENS_RATIOS - 1;
        break;
    case K_LEFT:
        v->col -= v->col > 0;
        break;
    default:
        return PF_KEY_IGNORED;
    }
    return PF_KEY_REDRAW;
}

/* "conv3+conv4" names a group by its producers. */
static void group_name(const struct pf_app *app, int gi, char *buf, size_t n)
{
    const struct pf_group *g = &app->groups->groups[gi];
    size_t used = 0;
    buf[0] = 0;
    for (int k = 0; k < g->n_producers && used + 2 < n; k++) {
        int w = snprintf(buf + used, n - used, "%s%s", k ? "+" : "",
                         app->model->layers[g->producers[k]].name);
        used += w > 0 ? (size_t)w : 0;
    }
}

static void sens_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_sens_view *v = s->state;
    const struct pf_app *app = s->app;
    int H, W;
    getmaxyx(w, H, W);
    if (v->gen != app->model_gen)
        return; /* the next tick lists the new model's groups */
    pf_w_putf(w, 0, 0, W, A_BOLD, "Pruning sensitivity of %s", app->model->name);
    pf_w_put(w, 1, 0, W, pf_theme(PF_ROLE_DIM),
             "accuracy after L1-norm pruning of one channel group, no fine-tuning; s starts");
    if (!v->n_groups) {
        pf_w_put(w, 3, 2, W - 2, A_NORMAL, v->note);
        return;
    }
    int done = v->next, total = v->n_groups * PF_SENS_RATIOS;
    char base[32] = "-";
    if (v->base_acc >= 0)
        snprintf(base, sizeof base, "%.2f%%", 100.0 * v->base_acc);
    pf_w_putf(w, 2, 0, W, A_NORMAL, "baseline accuracy %s   %d/%d cells%s", base, done, total,
              v->running ? "  (computing...)" : "");
    /* heatmap: rows = groups, columns = ratios; darker = larger accuracy drop */
    int nw = 24, cw = 9, y0 = 4;
    pf_w_fill(w, y0 - 1, 0, W, pf_theme(PF_ROLE_HEADER));
    pf_w_put(w, y0 - 1, 0, nw, pf_theme(PF_ROLE_HEADER), "group (channels)");
    for (int c = 0; c < PF_SENS_RATIOS; c++)
        pf_w_putf(w, y0 - 1, nw + c * cw, cw, pf_theme(PF_ROLE_HEADER), "prune%.0f%%",
                  100 * pf_sens_ratios[c]);
    static const char *const shades[] = {" ", "░", "▒", "▓", "█"};
    static const char ascii[] = " .:#@";
    int rows = H - y0 - 3;
    int top = v->row >= rows ? v->row - rows + 1 : 0;
    for (int r = 0; r < rows && top + r < v->n_groups; r++) {
        int gi = v->group[top + r];
        char name[128];
        group_name(app, gi, name, sizeof name);
        pf_w_putf(w, y0 + r, 0, nw - 1, top + r == v->row ? A_BOLD : A_NORMAL, "%d %s (%d)", gi,
                  name, app->groups->groups[gi].channels);
        for (int c = 0; c < PF_SENS_RATIOS; c++) {
            double a = v->acc[(top + r) * PF_SENS_RATIOS + c];
            bool cur = top + r == v->row && c == v->col;
            attr_t at = cur ? pf_theme(PF_ROLE_SELECTED) : A_NORMAL;
            int x = nw + c * cw;
            if (a < 0) {
                pf_w_put(w, y0 + r, x, cw - 1, cur ? at : pf_theme(PF_ROLE_DIM), "   ...  ");
                continue;
            }
            double drop = v->base_acc > 0 ? v->base_acc - a : 0;
            int k = drop <= 0.005 ? 0 : drop <= 0.02 ? 1 : drop <= 0.05 ? 2 : drop <= 0.15 ? 3 : 4;
            pf_w_putf(w, y0 + r, x, cw - 3, at, "%5.1f%%", 100.0 * a);
            for (int q = 0; q < 2; q++)
                pf_w_glyph(w, y0 + r, x + 7 + q,
                           at | pf_theme(k >= 3 ? PF_ROLE_ERROR : PF_ROLE_WARN), shades[k],
                           ascii[k]);
        }
    }
    /* the cell under the cursor, explained */
    int gi = v->group[v->row];
    const struct pf_group *g = &app->groups->groups[gi];
    double ratio = pf_sens_ratios[v->col], a = v->acc[v->row * PF_SENS_RATIOS + v->col];
    char name[128];
    group_name(app, gi, name, sizeof name);
    int keep = pf_plan_keep_count(g->channels, ratio);
    pf_w_fill(w, H - 2, 0, W, A_NORMAL);
    pf_w_fill(w, H - 1, 0, W, A_NORMAL);
    pf_w_putf(w, H - 2, 0, W, A_NORMAL,
              "group %d (%s): pruning %.0f%% keeps %d of %d channels, by the L1 norm of %s filters",
              gi, name, 100 * ratio, keep < 1 ? 1 : keep, g->channels,
              g->n_producers > 1 ? "their" : "its");
    if (a >= 0 && v->base_acc >= 0)
        pf_w_putf(w, H - 1, 0, W, A_BOLD, "accuracy %.2f%% (%+.2f points against %.2f%%)", 100 * a,
                  100 * (a - v->base_acc), 100 * v->base_acc);
    else
        pf_w_put(w, H - 1, 0, W, pf_theme(PF_ROLE_DIM), "not computed yet (s starts)");
}

const struct pf_screen_ops pf_screen_sensitivity = {
    .name = "Sensitivity",
    .keys = &keymap,
    .tab = '5',
    .enter = sens_enter,
    .draw = sens_draw,
    .key = sens_key,
    .tick = sens_tick,
    .leave = sens_leave,
};
