/* app_state.c: the workbench's state without curses (see app.h): the open model and its plan
 * and profile, the learner and its options, the active run and its events, the screen stack
 * and key dispatch. The tests link this file and drive screens through pf_app_key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/model_h5.h"
#include "tui/app.h"

#define DEFAULT_RUNS "runs"

static bool is_yaml(const char *p)
{
    size_t n = strlen(p);
    return (n > 5 && !strcmp(p + n - 5, ".yaml")) || (n > 4 && !strcmp(p + n - 4, ".yml"));
}

/* ---- messages and formatting ---- */

void pf_app_msg(struct pf_app *app, enum pf_msg_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->msg, sizeof app->msg, fmt, ap);
    va_end(ap);
    app->msg_level = level;
    app->msg_time = pf_now_s();
    app->dirty = true;
}

int pf_app_err(struct pf_app *app, int rc)
{
    pf_app_msg(app, PF_MSG_ERROR, "%s", pf_err_user_msg());
    return rc;
}

void pf_fmt_count(char *buf, size_t n, double v)
{
    if (v >= 1e9)
        snprintf(buf, n, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, n, "%.1fK", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
}

void pf_fmt_bytes(char *buf, size_t n, double b)
{
    if (b >= 1 << 20)
        snprintf(buf, n, "%.2f MiB", b / (1 << 20));
    else if (b >= 1 << 10)
        snprintf(buf, n, "%.1f KiB", b / (1 << 10));
    else
        snprintf(buf, n, "%.0f B", b);
}

/* ---- the model ---- */

/* Model-dependent state, freed together. */
static void model_free(struct pf_app *app)
{
    pf_profile_free(app->prof);
    app->prof = NULL;
    pf_plan_deinit(&app->plan);
    pf_groups_free(app->groups);
    app->groups = NULL;
    pf_model_free(app->model);
    app->model = NULL;
}

/* Loads path into fresh model, groups, plan and profile; only on success are they swapped in. */
static int model_load(struct pf_app *app, const char *path)
{
    struct pf_app tmp;
    memset(&tmp, 0, sizeof tmp);
    char dataset[64] = "";
    int rc;
    if (is_yaml(path))
        rc = pf_model_from_file(path, &tmp.model);
    else
        rc = pf_model_load(path, &tmp.model, dataset, sizeof dataset);
    if (rc < 0)
        return rc;
    if ((rc = pf_groups_build(tmp.model, &tmp.groups)) < 0 ||
        (rc = pf_plan_init(&tmp.plan, tmp.model)) < 0 ||
        (rc = pf_profile_new(tmp.model, tmp.groups, &tmp.plan, &tmp.prof)) < 0) {
        model_free(&tmp);
        return rc;
    }
    model_free(app);
    app->model = tmp.model;
    app->groups = tmp.groups;
    app->plan = tmp.plan;
    app->prof = tmp.prof;
    /* the profile borrows the plan: point it at the plan's new home */
    app->prof->plan = &app->plan;
    snprintf(app->model_path, sizeof app->model_path, "%s", path);
    snprintf(app->dataset, sizeof app->dataset, "%s", dataset[0] ? dataset : "fmnist");
    app->accuracy[0] = 0;
    if (!is_yaml(path)) {
        struct pf_meta meta;
        pf_meta_init(&meta);
        if (pf_model_read_meta(path, &meta) == 0 && pf_meta_get(&meta, "metrics"))
            snprintf(app->accuracy, sizeof app->accuracy, "%s", pf_meta_get(&meta, "metrics"));
        pf_meta_deinit(&meta);
        pf_err_clear();
    } else {
        snprintf(app->accuracy, sizeof app->accuracy, "untrained netdef");
    }
    app->sel_layer = 0;
    app->model_gen++;
    app->dirty = true;
    return 0;
}

int pf_app_open_model(struct pf_app *app, const char *path)
{
    if (pf_app_run_active(app))
        return PF_ERR(PF_EINVAL, "a run is active: cancel it (c on the run screen) first");
    int rc = model_load(app, path);
    if (rc == 0)
        pf_app_msg(app, PF_MSG_GOOD, "opened %s", path);
    return rc;
}

int pf_app_plan_update(struct pf_app *app, int layer, const struct pf_plan_layer *undo)
{
    int rc = layer < 0 ? pf_profile_update_all(app->prof) : pf_profile_update(app->prof, layer);
    app->dirty = true;
    if (rc == 0)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", pf_err_user_msg());
    if (undo && layer >= 0) {
        app->plan.layers[layer] = *undo;
        pf_profile_update(app->prof, layer);
    }
    pf_app_msg(app, PF_MSG_ERROR, "%s", msg);
    return rc;
}

int pf_app_plan_load(struct pf_app *app, const char *path)
{
    struct pf_plan p = {0};
    int rc = pf_plan_init(&p, app->model);
    if (rc == 0)
        rc = pf_plan_load(&p, app->model, path);
    if (rc < 0) {
        pf_plan_deinit(&p);
        return rc;
    }
    pf_plan_deinit(&app->plan);
    app->plan = p;
    app->prof->plan = &app->plan;
    pf_app_plan_update(app, -1, NULL);
    return 0;
}

bool pf_app_prunable(const struct pf_app *app, int i)
{
    if (i < 0 || i >= app->model->n_layers || !pf_plan_has_weights(&app->model->layers[i]))
        return false;
    int g = pf_groups_in_group(app->groups, app->model, i);
    return g >= 0 && app->groups->groups[g].fixed == PF_GROUP_FREE;
}

/* ---- learner and runs ---- */

int pf_app_set_learner(struct pf_app *app, const struct pf_learner_ops *ops)
{
    return pf_app_set_learner_opts(app, ops, NULL, 0, NULL);
}

int pf_app_set_learner_opts(struct pf_app *app, const struct pf_learner_ops *ops,
                            const char *const (*kv)[2], int n, const char *where)
{
    struct pf_opts o;
    int rc = pf_learner_opts_init(&o, ops);
    if (rc < 0) {
        pf_opts_deinit(&o);
        return rc;
    }
    /* keep what the user typed into the common options */
    for (int i = 0; app->learner && i < app->opts.n; i++) {
        const struct pf_opt_spec *s = pf_opts_row(&app->opts, i);
        if (app->opts.vals[i] && pf_opts_find(&o, s->key, NULL))
            pf_opts_set(&o, s->key, app->opts.vals[i], "form");
    }
    /* then the caller's: the first refused one undoes everything */
    for (int i = 0; i < n; i++) {
        if (!pf_opts_find(&o, kv[i][0], NULL))
            rc = PF_ERR(PF_EINVAL, "learner %s has no option %s (not in this build yet)", ops->name,
                        kv[i][0]);
        else
            rc = pf_opts_set(&o, kv[i][0], kv[i][1], where ? where : "option");
        if (rc < 0) {
            pf_opts_deinit(&o);
            return rc;
        }
    }
    pf_opts_deinit(&app->opts);
    app->opts = o;
    app->learner = ops;
    app->dirty = true;
    return 0;
}

bool pf_app_run_active(const struct pf_app *app)
{
    return app->run && app->run->thread_started;
}

static void monitor_reset(struct pf_monitor *m)
{
    for (int i = 0; i < m->n_series; i++)
        free(m->series[i]);
    memset(m, 0, sizeof *m);
    m->eta_s = -1;
    m->layer_err = -1;
    pf_rl_mon_reset(&m->rl);
}

/* True if the plan is not the identity. */
static bool plan_changed(const struct pf_plan *p)
{
    if (p->skip_first || p->skip_last || p->n_skip_names || p->round_to > 1)
        return true;
    for (int i = 0; i < p->n_layers; i++) {
        const struct pf_plan_layer *e = &p->layers[i];
        if (e->prune_ratio > 0 || e->sparsity > 0 || e->w_bits != PF_PLAN_BITS_FULL ||
            e->a_bits != PF_PLAN_BITS_FULL || e->skip)
            return true;
    }
    return false;
}

int pf_app_start_run(struct pf_app *app)
{
    if (pf_app_run_active(app))
        return PF_ERR(PF_EINVAL, "a run is already active (c on the run screen cancels it)");
    struct pf_run *r = NULL;
    int rc = pf_run_new(&r, app->learner->name, app->model_path, app->dataset);
    if (rc < 0)
        return rc;
    for (int i = 0; i < app->opts.n; i++)
        if (app->opts.vals[i] && (rc = pf_opts_set(&r->opts, pf_opts_row(&app->opts, i)->key,
                                                   app->opts.vals[i], "form")) < 0)
            goto fail;
    if ((rc = pf_run_open_dir(r, app->runs_root)) < 0)
        goto fail;
    /* the model screen's plan is the run's target unless the form names a plan file */
    const char *form_plan =
        pf_opts_find(&app->opts, "plan", NULL) ? pf_opts_str(&app->opts, "plan") : NULL;
    if (form_plan && !form_plan[0] && plan_changed(&app->plan)) {
        char path[1100];
        snprintf(path, sizeof path, "%s/plan.yaml", r->dir);
        if ((rc = pf_plan_save(&app->plan, app->model, path)) < 0 ||
            (rc = pf_opts_set(&r->opts, "plan", path, "workbench")) < 0)
            goto fail;
    }
    r->queue = &app->evq;
    pf_run_free(app->run);
    app->run = NULL;
    /* events of an earlier run still queued are dropped by run id in pf_app_poll */
    monitor_reset(&app->mon);
    app->mon.run_id = r->id;
    app->mon.status = PF_RUN_RUNNING;
    snprintf(app->mon.learner, sizeof app->mon.learner, "%s", r->learner->name);
    snprintf(app->mon.dir, sizeof app->mon.dir, "%s", r->dir);
    snprintf(app->mon.phase, sizeof app->mon.phase, "starting");
    app->mon.t_start = app->mon.t_now = pf_now_s();
    if ((rc = pf_run_start(r)) < 0)
        goto fail;
    app->run = r;
    app->runs_changed = true;
    pf_app_msg(app, PF_MSG_INFO, "started %s in %s", r->learner->name, r->dir);
    return 0;
fail:
    pf_run_free(r);
    return rc;
}

void pf_app_cancel_run(struct pf_app *app)
{
    if (!pf_app_run_active(app)) {
        pf_app_msg(app, PF_MSG_WARN, "no run is active");
        return;
    }
    pf_run_cancel(app->run);
    snprintf(app->mon.phase, sizeof app->mon.phase, "cancelling");
    pf_app_msg(app, PF_MSG_WARN, "cancelling: the run stops after its current step");
}

void pf_series_add(struct pf_series *s, double x, double y)
{
    s->last = y;
    if (s->stride < 1)
        s->stride = 1;
    if (++s->skip < s->stride && s->n > 0)
        return;
    s->skip = 0;
    if (s->n == PF_SERIES_CAP) {
        /* thin: keep every other point, and from now on every other new one */
        for (int i = 0; i < PF_SERIES_CAP / 2; i++) {
            s->x[i] = s->x[2 * i];
            s->y[i] = s->y[2 * i];
        }
        s->n = PF_SERIES_CAP / 2;
        s->stride *= 2;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

const struct pf_series *pf_app_series(const struct pf_app *app, const char *name)
{
    for (int i = 0; i < app->mon.n_series; i++)
        if (!strcmp(app->mon.series[i]->name, name))
            return app->mon.series[i];
    return NULL;
}

static struct pf_series *series_get(struct pf_monitor *m, const char *name)
{
    for (int i = 0; i < m->n_series; i++)
        if (!strcmp(m->series[i]->name, name))
            return m->series[i];
    if (m->n_series == PF_MON_MAX_SERIES)
        return NULL;
    struct pf_series *s = pf_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->stride = 1;
    m->series[m->n_series++] = s;
    return s;
}

static void log_add(struct pf_monitor *m, const char *text)
{
    int i = (m->log_head + m->log_n) % PF_MON_LOG;
    if (m->log_n == PF_MON_LOG)
        m->log_head = (m->log_head + 1) % PF_MON_LOG;
    else
        m->log_n++;
    snprintf(m->log[i], sizeof m->log[i], "%.199s", text);
}

static void apply_event(struct pf_app *app, const struct pf_event *e)
{
    struct pf_monitor *m = &app->mon;
    if (e->run_id > 0 && e->run_id != m->run_id)
        return; /* a late event of an earlier run */
    if (e->run_id <= 0) {
        log_add(m, e->text); /* the log sink's lines */
        return;
    }
    m->events++;
    m->t_now = pf_now_s();
    if (e->step > m->step)
        m->step = e->step;
    /* the RL search's per-layer and agent metrics live in m->rl only; its reward curves are
     * series too (the Run screen charts them) */
    if (pf_rl_mon_apply(&m->rl, app->model, m->learner, e) && e->kind == PF_EV_METRIC &&
        strcmp(e->name, "rl_reward") && strcmp(e->name, "rl_best"))
        return;
    switch (e->kind) {
    case PF_EV_METRIC: {
        struct pf_series *s = series_get(m, e->name);
        if (s)
            pf_series_add(s, (double)e->step, e->value);
        break;
    }
    case PF_EV_PROGRESS:
        m->fraction = e->value;
        snprintf(m->phase, sizeof m->phase, "%.63s", e->text);
        if (e->value > 0.0 && e->value <= 1.0)
            m->eta_s = (m->t_now - m->t_start) * (1.0 - e->value) / e->value;
        break;
    case PF_EV_LOG:
        log_add(m, e->text);
        break;
    case PF_EV_LAYER_DONE: {
        char line[256];
        snprintf(m->layer, sizeof m->layer, "%s", e->name);
        m->layer_err = e->value;
        snprintf(line, sizeof line, "%.31s: reconstruction error %.4g %.150s", e->name, e->value,
                 e->text);
        log_add(m, line);
        break;
    }
    case PF_EV_FINISHED:
    case PF_EV_FAILED:
        snprintf(m->end_text, sizeof m->end_text, "%s", e->text);
        log_add(m, e->text);
        if (e->kind == PF_EV_FINISHED)
            m->fraction = 1.0;
        m->eta_s = -1;
        break;
    }
}

/* ---- the RL search's events ---- */

enum { RL_UNIFORM, RL_VALUE, RL_BESTV };

enum pf_rl_kind pf_rl_kind_of(const char *learner)
{
    static const struct {
        const char *learner;
        enum pf_rl_kind kind;
    } map[] = {
        {"channel", PF_RL_CHANNEL},        {"chn-pruned-gpu", PF_RL_CHANNEL},
        {"chn-pruned-rmt", PF_RL_CHANNEL}, {"dis-chn-pruned", PF_RL_CHANNEL},
        {"weight-sparse", PF_RL_SPARSITY}, {"uniform", PF_RL_BITS},
        {"uniform-tf", PF_RL_BITS},        {"non-uniform", PF_RL_BITS},
    };
    for (size_t i = 0; learner && i < PF_ARRAY_LEN(map); i++)
        if (!strcmp(learner, map[i].learner))
            return map[i].kind;
    return PF_RL_NONE;
}

const char *pf_rl_value_label(enum pf_rl_kind kind)
{
    static const char *const l[] = {"value", "preserve ratio", "sparsity", "bits"};
    return kind >= PF_RL_NONE && kind <= PF_RL_BITS ? l[kind] : l[0];
}

const char *pf_rl_budget_label(enum pf_rl_kind kind)
{
    static const char *const l[] = {"budget", "kept MACs", "sparsity", "equivalent bits"};
    return kind >= PF_RL_NONE && kind <= PF_RL_BITS ? l[kind] : l[0];
}

double pf_rl_budget_frac(const struct pf_rl_mon *rl)
{
    double b = rl->best_rlout ? rl->best_budget : rl->budget;
    if (isnan(b) || isnan(rl->target) || rl->target == 0.0)
        return NAN;
    return b / rl->target;
}

void pf_rl_mon_reset(struct pf_rl_mon *rl)
{
    memset(rl, 0, sizeof *rl);
    rl->target = rl->reward = rl->best = rl->budget = rl->best_budget = NAN;
    rl->noise = rl->seconds = rl->actor_loss = rl->critic_loss = NAN;
    rl->eta_s = -1;
}

/* The step-th roll-out has the best strategy (told by rl_best or rl_bestv, in any order). */
static void rl_mark_best(struct pf_rl_mon *rl, long step)
{
    if (rl->best_rlout == step)
        return;
    rl->best_rlout = step;
    rl->best_budget = rl->budget_rlout == step ? rl->budget : NAN;
}

/* Whether the event key names row l: the same name, or (a cut key) the start of its name. */
static bool rl_names(const struct pf_rl_layer *l, const char *key, bool cut)
{
    return cut ? !strncmp(l->name, key, strlen(key)) : !strcmp(l->name, key);
}

/* The model layer a new row's key names: the layer of that name, else (a cut key) the first
 * layer in model order whose name starts with it and that no row has yet, one with weights
 * first (the searches decide conv2d and dense layers). -1 if none. */
static int rl_match(const struct pf_rl_mon *rl, const struct pf_model *model, const char *key)
{
    if (!model)
        return -1;
    for (int i = 0; i < model->n_layers; i++)
        if (!strcmp(model->layers[i].name, key))
            return i;
    size_t n = strlen(key);
    for (int pass = 0; n && pass < 2; pass++)
        for (int i = 0; i < model->n_layers; i++) {
            if (strncmp(model->layers[i].name, key, n) ||
                (pass == 0 && !pf_plan_has_weights(&model->layers[i])))
                continue;
            bool taken = false;
            for (int k = 0; k < rl->n_layers && !taken; k++)
                taken = rl->layers[k].layer == i;
            if (!taken)
                return i;
        }
    return -1;
}

/* The row a per-layer event of kind `which` at `step` belongs to: the first row it names that
 * was not told this step (layers sharing a cut key arrive in the same order every time), or a
 * new one. Keys are cut to the event's name size, so the same layer may come with keys of
 * different lengths ("rl_uniform/" is longer than "rl_value/"). NULL when the table is full. */
static struct pf_rl_layer *rl_row(struct pf_rl_mon *rl, const struct pf_model *model,
                                  const char *key, bool cut, int which, long step)
{
    for (int i = 0; i < rl->n_layers; i++) {
        struct pf_rl_layer *l = &rl->layers[i];
        if (rl_names(l, key, cut) && l->seen[which] != step)
            return l;
    }
    if (rl->n_layers == PF_RL_MAX_LAYERS)
        return NULL;
    int layer = rl_match(rl, model, key);
    struct pf_rl_layer *l = &rl->layers[rl->n_layers++];
    snprintf(l->key, sizeof l->key, "%s", key);
    l->layer = layer;
    snprintf(l->name, sizeof l->name, "%s", layer >= 0 ? model->layers[layer].name : key);
    l->uniform = l->value = l->best = NAN;
    l->seen[RL_UNIFORM] = l->seen[RL_VALUE] = l->seen[RL_BESTV] = -1;
    return l;
}

/* "RL roll-out k/N, ~M s left" (also "~M min" / "~M h"). */
static void rl_progress(struct pf_rl_mon *rl, const char *text)
{
    int k = 0, n = 0;
    double left = -1;
    char unit[8] = "";
    int got = sscanf(text, "RL roll-out %d/%d, ~%lf %7s", &k, &n, &left, unit);
    if (got < 2)
        return;
    rl->k = k;
    rl->n = n;
    rl->eta_s = -1;
    if (got == 4 && left >= 0)
        rl->eta_s = left * (!strncmp(unit, "min", 3) ? 60.0 : !strcmp(unit, "h") ? 3600.0 : 1.0);
}

bool pf_rl_mon_apply(struct pf_rl_mon *rl, const struct pf_model *model, const char *learner,
                     const struct pf_event *e)
{
    if (e->kind == PF_EV_PROGRESS) {
        if (strncmp(e->text, "RL roll-out ", 12))
            return false;
        rl_progress(rl, e->text);
    } else if (e->kind != PF_EV_METRIC || strncmp(e->name, "rl_", 3)) {
        return false;
    }
    if (!rl->active) {
        rl->active = true;
        rl->kind = pf_rl_kind_of(learner);
    }
    if (e->kind == PF_EV_PROGRESS)
        return true;
    static const char *const layer_prefix[] = {"rl_uniform/", "rl_value/", "rl_bestv/"};
    for (int w = RL_UNIFORM; w <= RL_BESTV; w++) {
        size_t n = strlen(layer_prefix[w]);
        if (strncmp(e->name, layer_prefix[w], n))
            continue;
        bool cut = strlen(e->name) == sizeof e->name - 1;
        struct pf_rl_layer *l = rl_row(rl, model, e->name + n, cut, w, e->step);
        if (!l)
            return true;
        l->seen[w] = e->step;
        if (w == RL_UNIFORM)
            l->uniform = e->value;
        else if (w == RL_VALUE)
            l->value = e->value;
        else {
            l->best = e->value;
            rl_mark_best(rl, e->step);
        }
        return true;
    }
    const char *name = e->name + 3;
    double v = e->value;
    if (e->step > rl->rlout)
        rl->rlout = e->step;
    if (!strcmp(name, "target")) {
        rl->target = v;
    } else if (!strcmp(name, "reward")) {
        rl->reward = v;
    } else if (!strcmp(name, "best")) {
        if (isnan(rl->best) || v != rl->best)
            rl_mark_best(rl, e->step);
        rl->best = v;
    } else if (!strcmp(name, "budget")) {
        rl->budget = v;
        rl->budget_rlout = e->step;
        if (rl->best_rlout == e->step)
            rl->best_budget = v;
    } else if (!strcmp(name, "noise")) {
        rl->noise = v;
    } else if (!strcmp(name, "seconds")) {
        rl->seconds = v;
    } else if (!strcmp(name, "actor_loss")) {
        rl->actor_loss = v;
    } else if (!strcmp(name, "critic_loss")) {
        rl->critic_loss = v;
    }
    return true;
}

bool pf_app_poll(struct pf_app *app)
{
    struct pf_event ev[64];
    bool changed = false;
    int n;
    while ((n = pf_evq_pop(&app->evq, ev, (int)PF_ARRAY_LEN(ev))) > 0) {
        for (int i = 0; i < n; i++)
            apply_event(app, &ev[i]);
        changed = true;
    }
    struct pf_run *r = app->run;
    if (r && r->thread_started) {
        int s = atomic_load(&r->status);
        if (s == PF_RUN_FINISHED || s == PF_RUN_CANCELLED || s == PF_RUN_FAILED) {
            /* the FINISHED / FAILED event is emitted last, so after this join the queue
             * holds everything the run said */
            pf_run_join(r);
            while ((n = pf_evq_pop(&app->evq, ev, (int)PF_ARRAY_LEN(ev))) > 0)
                for (int i = 0; i < n; i++)
                    apply_event(app, &ev[i]);
            app->mon.status = s;
            app->runs_changed = true;
            pf_app_msg(app, s == PF_RUN_FINISHED ? PF_MSG_GOOD : PF_MSG_WARN, "run %s",
                       app->mon.end_text[0]    ? app->mon.end_text
                       : s == PF_RUN_CANCELLED ? "cancelled"
                                               : "ended");
            changed = true;
        }
    }
    if (changed)
        app->dirty = true;
    return changed;
}

/* ---- life cycle ---- */

int pf_app_init(struct pf_app *app, const char *model_path, const char *runs_root)
{
    memset(app, 0, sizeof *app);
    pf_evq_init(&app->evq);
    monitor_reset(&app->mon);
    app->body_h = 21;
    app->body_w = 80;
    const char *env = getenv("PF_RUNS_DIR");
    if (!runs_root || !runs_root[0])
        runs_root = env && env[0] ? env : DEFAULT_RUNS;
    snprintf(app->runs_root, sizeof app->runs_root, "%s", runs_root);
    int rc = model_load(app, model_path);
    if (rc < 0)
        return rc;
    if (pf_learners_len == 0)
        return PF_ERR(PF_EUNSUPPORTED, "no learners are built in");
    if ((rc = pf_app_set_learner(app, pf_learners[0])) < 0)
        return rc;
    if ((rc = pf_app_push(app, &pf_screen_model, NULL)) < 0)
        return rc;
    app->msg[0] = 0;
    app->dirty = true;
    return 0;
}

void pf_app_deinit(struct pf_app *app)
{
    while (app->depth > 0) {
        struct pf_screen *s = pf_app_top(app);
        if (s->ops->leave)
            s->ops->leave(s);
        app->depth--;
    }
    if (app->run) {
        pf_run_cancel(app->run);
        pf_run_free(app->run); /* joins the worker */
        app->run = NULL;
    }
    monitor_reset(&app->mon);
    pf_opts_deinit(&app->opts);
    model_free(app);
    pf_evq_deinit(&app->evq);
}

/* ---- the screen stack ---- */

int pf_app_push(struct pf_app *app, const struct pf_screen_ops *ops, const void *arg)
{
    if (app->depth == PF_APP_MAX_STACK)
        return PF_ERR(PF_EINVAL, "too many screens open");
    struct pf_screen *s = &app->stack[app->depth];
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->app = app;
    s->arg = arg;
    int rc = ops->enter ? ops->enter(s, app) : 0;
    if (rc < 0) {
        if (ops->leave)
            ops->leave(s);
        return rc;
    }
    app->depth++;
    app->dirty = true;
    return 0;
}

void pf_app_pop(struct pf_app *app)
{
    if (app->depth <= 1)
        return;
    struct pf_screen *s = pf_app_top(app);
    if (s->ops->leave)
        s->ops->leave(s);
    app->depth--;
    app->dirty = true;
}

int pf_app_switch(struct pf_app *app, const struct pf_screen_ops *ops)
{
    while (app->depth > 1)
        pf_app_pop(app);
    if (app->depth == 1 && app->stack[0].ops == ops)
        return 0;
    /* enter the new screen first, so a failure keeps the old one */
    struct pf_screen s = {.ops = ops, .app = app};
    int rc = ops->enter ? ops->enter(&s, app) : 0;
    if (rc < 0) {
        if (ops->leave)
            ops->leave(&s);
        return rc;
    }
    if (app->depth == 1 && app->stack[0].ops->leave)
        app->stack[0].ops->leave(&app->stack[0]);
    app->stack[0] = s;
    app->depth = 1;
    app->dirty = true;
    return 0;
}

/* ---- global keys ---- */

enum { G_HELP = 1, G_OPEN, G_QUIT, G_REDRAW };

static const struct pf_binding global_bindings[] = {
    {'?', G_HELP, "?/F1", "help", "help: every key of every screen, and the learners explained"},
    {KEY_F(1), G_HELP, NULL, NULL, NULL},
    {'o', G_OPEN, "o", "open", "open another model (.h5) or netdef (.yaml)"},
    {'q', G_QUIT, "q", "quit", "quit (asks first while a run is active)"},
    {PF_KEY_CTRL('l'), G_REDRAW, "^L", NULL, "redraw the screen"},
};
const struct pf_keymap pf_app_keys = {"Everywhere (1-6 switch screens)", global_bindings,
                                      (int)PF_ARRAY_LEN(global_bindings)};

static int accept_open(struct pf_app *app, const char *text)
{
    return pf_app_open_model(app, text);
}

static int accept_quit(struct pf_app *app, const char *text)
{
    (void)text;
    if (pf_app_run_active(app))
        pf_run_cancel(app->run);
    app->quit = true;
    return 0;
}

void pf_app_request_quit(struct pf_app *app)
{
    if (!pf_app_run_active(app)) {
        app->quit = true;
        return;
    }
    static const struct pf_prompt_req req = {
        .title = "A run is active. Cancel it and quit? (y/n)",
        .confirm = true,
        .accept = accept_quit,
    };
    pf_app_push(app, &pf_screen_prompt, &req);
}

void pf_app_key(struct pf_app *app, int ch)
{
    struct pf_screen *s = pf_app_top(app);
    enum pf_key_result r = s->ops->key ? s->ops->key(s, ch) : PF_KEY_IGNORED;
    if (r != PF_KEY_IGNORED) {
        app->dirty = true;
        if (r & PF_KEY_POP)
            pf_app_pop(app);
        if (r & PF_KEY_QUIT)
            pf_app_request_quit(app);
        return;
    }
    /* global keys: only under a non-modal screen, so a prompt keeps its letters */
    if (s->ops->modal)
        return;
    for (size_t i = 0; i < pf_screens_len; i++)
        if (pf_screens[i]->tab && pf_screens[i]->tab == ch) {
            if (pf_app_switch(app, pf_screens[i]) < 0)
                pf_app_err(app, -1);
            return;
        }
    static const struct pf_prompt_req open_req = {
        .title = "Open model (.h5) or netdef (.yaml):",
        .accept = accept_open,
    };
    switch (pf_keymap_action(&pf_app_keys, ch)) {
    case G_HELP:
        pf_app_push(app, &pf_screen_help, s->ops);
        break;
    case G_OPEN:
        pf_app_push(app, &pf_screen_prompt, &open_req);
        break;
    case G_QUIT:
        pf_app_request_quit(app);
        break;
    case G_REDRAW:
        app->dirty = true;
        break;
    default:
        break;
    }
}

void pf_app_tick(struct pf_app *app)
{
    pf_app_poll(app);
    if (pf_app_run_active(app))
        app->mon.t_now = pf_now_s(); /* the elapsed time runs on between events */
    struct pf_screen *s = pf_app_top(app);
    if (s->ops->tick)
        s->ops->tick(s);
    /* the message fades after a while */
    if (app->msg[0] && app->msg_level != PF_MSG_ERROR && pf_now_s() - app->msg_time > 8.0) {
        app->msg[0] = 0;
        app->dirty = true;
    }
}

int pf_keymap_action(const struct pf_keymap *km, int ch)
{
    for (int i = 0; i < km->n; i++)
        if (km->b[i].key == ch)
            return km->b[i].action;
    return 0;
}
