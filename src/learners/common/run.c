/* run.c: a learner's run: options, data, the run directory (manifest.yaml, metrics.csv,
 * log.txt, model.h5), the worker thread, cancellation and the event stream.
 * Files are written to a temporary name and renamed; a cancelled run still writes the model it
 * had at its last finished step and says "cancelled" in its manifest. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/model_h5.h"
#include "engine/model/plan.h"
#include "learners/common/distill.h"
#include "learners/learner.h"

#define PF_PROGRAM "pocketflow 0.1.0"

/* PocketFlow's global flags that every learner's run shares (reference section 1). */
const struct pf_opt_spec pf_run_common_opts[] = {
    {"nb_epochs", PF_OPT_FLOAT, "10", 0.0, 1000, NULL,
     "epochs of (fine-)tuning before nb_epochs_rat"},
    {"nb_epochs_rat", PF_OPT_FLOAT, "1.0", 0.0001, 100, NULL,
     "scales every schedule: epochs and decay boundaries (0.1 = a tenth)"},
    {"lrn_rate_init", PF_OPT_FLOAT, "0.01", 1e-7, 10, NULL,
     "initial learning rate, scaled by batch_size / batch_size_norm"},
    {"lrn_rate_dcy", PF_OPT_ENUM, "cosine", 0, 0, "cosine|piecewise|constant",
     "schedule: cosine to 0, or x0.1 at 50% and 75% of the epochs"},
    {"batch_size", PF_OPT_INT, "128", 1, 65536, NULL, "mini-batch size"},
    {"batch_size_norm", PF_OPT_INT, "128", 1, 65536, NULL, "batch size lrn_rate_init refers to"},
    {"momentum", PF_OPT_FLOAT, "0.9", 0, 0.999, NULL, "SGD momentum"},
    {"loss_w_dcy", PF_OPT_FLOAT, "3e-4", 0, 1, NULL,
     "weight decay on conv and dense weights (BN and biases excluded)"},
    {"enbl_augment", PF_OPT_BOOL, "True", 0, 0, NULL, "pad-4 random crop and horizontal flip"},
    {"nb_smpls_val", PF_OPT_INT, "5000", 0, 1000000, NULL,
     "training images held out for validation (PocketFlow: 5000)"},
    {"summ_step", PF_OPT_INT, "20", 1, 1000000, NULL, "steps between reported metrics"},
    {"seed", PF_OPT_INT, "0", 0, 2147483647, NULL, "random seed (shuffling, augmentation)"},
    {"plan", PF_OPT_STR, "", 0, 0, NULL,
     "per-layer plan file (sparsity, w_bits, a_bits, skips); empty: the learner's options"},
    {"enbl_dst", PF_OPT_BOOL, "False", 0, 0, NULL,
     "distillation: every fine-tune also matches the model as loaded (the teacher)"},
    {"loss_w_dst", PF_OPT_FLOAT, "4.0", 0.0, 1000, NULL,
     "distillation: weight of the soft cross-entropy added to the task loss"},
    {"tempr_dst", PF_OPT_FLOAT, "4.0", 0.01, 1000, NULL,
     "distillation: softmax temperature of teacher and student logits"},
    {"dst_t2_scaled", PF_OPT_BOOL, "False", 0, 0, NULL,
     "distillation: multiply its loss by tempr_dst^2 (Hinton; not PocketFlow's)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static bool is_yaml(const char *p)
{
    size_t n = strlen(p);
    return (n > 5 && !strcmp(p + n - 5, ".yaml")) || (n > 4 && !strcmp(p + n - 4, ".yml"));
}

int pf_run_new(struct pf_run **out, const char *learner, const char *model_path, const char *data)
{
    *out = NULL;
    const struct pf_learner_ops *ops = pf_learner_find(learner);
    if (!ops) {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < pf_learners_len && used < sizeof list - 40; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     pf_learners[i]->name);
        return PF_ERR(PF_EINVAL, "unknown learner '%s' (known: %s)", learner, list);
    }
    struct pf_run *r = pf_calloc(1, sizeof *r);
    if (!r)
        return -PF_ENOMEM;
    static atomic_int next_id = 1;
    r->id = atomic_fetch_add(&next_id, 1);
    r->learner = ops;
    snprintf(r->model_path, sizeof r->model_path, "%s", model_path);
    snprintf(r->data_spec, sizeof r->data_spec, "%s", data);
    int rc = pf_learner_opts_init(&r->opts, ops);
    if (rc < 0)
        goto fail;
    if (is_yaml(model_path)) {
        if ((rc = pf_model_from_file(model_path, &r->model)) < 0)
            goto fail;
        pf_model_init_params(r->model, 0);
    } else if ((rc = pf_model_load(model_path, &r->model, NULL, 0)) < 0) {
        goto fail;
    }
    if ((rc = pf_dataset_load(data, PF_SPLIT_TRAIN, &r->train)) < 0 ||
        (rc = pf_dataset_load(data, PF_SPLIT_TEST, &r->test)) < 0)
        goto fail;
    atomic_store(&r->status, PF_RUN_NEW);
    *out = r;
    return 0;
fail:
    pf_run_free(r);
    return rc;
}

void pf_run_free(struct pf_run *r)
{
    if (!r)
        return;
    if (r->thread_started)
        pf_run_join(r);
    if (r->metrics)
        fclose(r->metrics);
    if (r->log)
        fclose(r->log);
    free(r->train_idx);
    free(r->val_idx);
    if (r->plan) {
        pf_plan_deinit(r->plan);
        free(r->plan);
    }
    pf_dataset_free(r->train);
    pf_dataset_free(r->test);
    pf_model_free(r->teacher);
    pf_model_free(r->model);
    pf_opts_deinit(&r->opts);
    free(r);
}

/* ---- run directory ---- */

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return PF_ERR(PF_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return PF_ERR(PF_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
    return 0;
}

static const char *status_name(int s)
{
    static const char *const names[] = {"new", "running", "finished", "cancelled", "failed"};
    return s >= 0 && s < 5 ? names[s] : "unknown";
}

/* Writes dir/manifest.yaml atomically: everything needed to repeat the run. */
static int write_manifest(struct pf_run *r, double seconds)
{
    if (!r->dir[0])
        return 0;
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/manifest.yaml", r->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    struct utsname u;
    uname(&u);
    struct pf_count c = {0};
    if (r->model)
        pf_model_count(r->model, &c);
    fprintf(f, "format: pocketflow-run\nversion: 1\nprogram: \"%s\"\n", PF_PROGRAM);
    fprintf(f, "learner: %s\nmodel: \"%s\"\ndata: \"%s\"\nstatus: %s\n", r->learner->name,
            r->model_path, r->data_spec, status_name(atomic_load(&r->status)));
    fprintf(f, "seconds: %.1f\naccuracy: %.6f\nmacs: %llu\nparams: %llu\n", seconds,
            r->final_accuracy, (unsigned long long)c.macs, (unsigned long long)c.params);
    fprintf(f, "out: \"%s\"\nmachine: \"%s %s, %ld cores\"\noptions:\n", r->out_path, u.sysname,
            u.machine, sysconf(_SC_NPROCESSORS_ONLN));
    for (int i = 0; i < r->opts.n; i++)
        fprintf(f, "  %s: \"%s\"\n", pf_opts_row(&r->opts, i)->key, pf_opts_text(&r->opts, i));
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return PF_ERR(PF_EIO, "%s: write error", tmp);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return PF_ERR(PF_EIO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return 0;
}

int pf_run_open_dir(struct pf_run *r, const char *runs_root)
{
    int rc = mkdir_p(runs_root);
    if (rc < 0)
        return rc;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    for (int k = 1; k < 1000; k++) {
        if (k == 1)
            snprintf(r->dir, sizeof r->dir, "%s/%s-%s", runs_root, stamp, r->learner->name);
        else
            snprintf(r->dir, sizeof r->dir, "%s/%s-%s-%d", runs_root, stamp, r->learner->name, k);
        if (mkdir(r->dir, 0755) == 0)
            break;
        if (errno != EEXIST) {
            rc = PF_ERR(PF_EIO, "%s: cannot create run directory: %s", r->dir, strerror(errno));
            r->dir[0] = 0;
            return rc;
        }
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.csv", r->dir);
    if (!(r->metrics = fopen(path, "w")))
        return PF_ERR(PF_EIO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(r->metrics, "step,name,value\n");
    snprintf(path, sizeof path, "%s/log.txt", r->dir);
    if (!(r->log = fopen(path, "w")))
        return PF_ERR(PF_EIO, "%s: cannot write: %s", path, strerror(errno));
    return write_manifest(r, 0.0);
}

/* ---- events ---- */

void pf_run_emit(struct pf_run *r, const struct pf_event *e)
{
    if (r->mute > 0 && e->kind != PF_EV_FINISHED && e->kind != PF_EV_FAILED)
        return;
    if (e->kind == PF_EV_METRIC && e->step > r->last_step)
        r->last_step = e->step;
    if (e->kind == PF_EV_METRIC && r->metrics) {
        fprintf(r->metrics, "%ld,%s,%.9g\n", e->step, e->name, e->value);
        fflush(r->metrics);
    } else if ((e->kind == PF_EV_LOG || e->kind == PF_EV_LAYER_DONE || e->kind == PF_EV_FAILED ||
                e->kind == PF_EV_FINISHED) &&
               r->log) {
        fprintf(r->log, "%s%s%s\n", e->kind == PF_EV_LAYER_DONE ? e->name : "",
                e->kind == PF_EV_LAYER_DONE ? ": " : "", e->text);
        fflush(r->log);
    }
    if (r->queue)
        pf_evq_push(r->queue, e);
    if (r->on_event)
        r->on_event(e, r->user);
}

void pf_run_metric(struct pf_run *r, long step, const char *name, double value)
{
    struct pf_event e = {
        .run_id = r->id, .step = step + r->step_base, .kind = PF_EV_METRIC, .value = value};
    snprintf(e.name, sizeof e.name, "%s", name);
    pf_run_emit(r, &e);
}

void pf_run_progress(struct pf_run *r, long step, double fraction, const char *phase)
{
    struct pf_event e = {
        .run_id = r->id, .step = step + r->step_base, .kind = PF_EV_PROGRESS, .value = fraction};
    snprintf(e.name, sizeof e.name, "progress");
    snprintf(e.text, sizeof e.text, "%s", phase);
    pf_run_emit(r, &e);
}

void pf_run_log(struct pf_run *r, const char *fmt, ...)
{
    struct pf_event e = {.run_id = r->id, .kind = PF_EV_LOG};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    pf_run_emit(r, &e);
}

/* ---- training helpers for learners ---- */

void pf_run_train_cfg(const struct pf_run *r, struct pf_train_cfg *c)
{
    const struct pf_opts *o = &r->opts;
    double epochs = pf_opts_float(o, "nb_epochs");
    pf_train_cfg_default(c, epochs);
    c->nb_epochs_rat = pf_opts_float(o, "nb_epochs_rat");
    c->sched.lrn_rate_init = pf_opts_float(o, "lrn_rate_init");
    c->sched.batch_size_norm = (int)pf_opts_int(o, "batch_size_norm");
    const char *dcy = pf_opts_str(o, "lrn_rate_dcy");
    c->sched.kind = !strcmp(dcy, "piecewise")  ? PF_LR_PIECEWISE
                    : !strcmp(dcy, "constant") ? PF_LR_CONSTANT
                                               : PF_LR_COSINE;
    c->batch = (int)pf_opts_int(o, "batch_size");
    c->optim.momentum = pf_opts_float(o, "momentum");
    c->optim.weight_decay = pf_opts_float(o, "loss_w_dcy");
    c->augment = pf_opts_bool(o, "enbl_augment");
    c->seed = (uint64_t)pf_opts_int(o, "seed");
    c->log_every = (int)pf_opts_int(o, "summ_step");
}

struct ft_ctx {
    struct pf_run *r;
    const char *phase;
    long step0;
    struct pf_distill_hook *dst; /* NULL without a teacher */
};

static int ft_progress(const struct pf_train_progress *p, void *user)
{
    struct ft_ctx *f = user;
    pf_run_metric(f->r, f->step0 + p->step, "loss", p->loss);
    if (f->dst) /* the mean over the same steps as "loss" */
        pf_run_metric(f->r, f->step0 + p->step, "loss_dst", pf_distill_hook_take(f->dst));
    pf_run_metric(f->r, f->step0 + p->step, "train_acc", p->acc);
    pf_run_metric(f->r, f->step0 + p->step, "lr", p->lr);
    pf_run_metric(f->r, f->step0 + p->step, "img_per_s", p->img_per_s);
    pf_run_progress(f->r, f->step0 + p->step, (double)p->step / (double)p->total, f->phase);
    return pf_run_stopped(f->r);
}

int pf_run_finetune(struct pf_run *r, const char *phase)
{
    struct pf_train_cfg c;
    pf_run_train_cfg(r, &c);
    return pf_run_finetune_cfg(r, phase, &c);
}

/* Two clients' hooks as one: every point calls the first's hook, then the second's (a NULL
 * struct or entry is skipped). The learner's hooks go first, so distillation sees the weights
 * and logits the learner's forward used, and its gradient joins before the learner's
 * before_update (masks, straight-through) handles the result. */
struct hook_chain {
    const struct pf_train_hooks *h[2];
};

static int chain_before_forward(struct pf_model *m, long step, void *user)
{
    const struct hook_chain *c = user;
    int rc = 0;
    for (int i = 0; i < 2 && rc >= 0; i++)
        if (c->h[i] && c->h[i]->before_forward)
            rc = c->h[i]->before_forward(m, step, c->h[i]->user);
    return rc;
}

static int chain_before_backward(struct pf_model *m, const float *x, int N, float *dlogits,
                                 long step, void *user)
{
    const struct hook_chain *c = user;
    int rc = 0;
    for (int i = 0; i < 2 && rc >= 0; i++)
        if (c->h[i] && c->h[i]->before_backward)
            rc = c->h[i]->before_backward(m, x, N, dlogits, step, c->h[i]->user);
    return rc;
}

static int chain_before_update(struct pf_model *m, struct pf_optim *o, long step, float lr,
                               void *user)
{
    const struct hook_chain *c = user;
    int rc = 0;
    for (int i = 0; i < 2 && rc >= 0; i++)
        if (c->h[i] && c->h[i]->before_update)
            rc = c->h[i]->before_update(m, o, step, lr, c->h[i]->user);
    return rc;
}

static int chain_after_update(struct pf_model *m, struct pf_optim *o, long step, float lr,
                              void *user)
{
    const struct hook_chain *c = user;
    int rc = 0;
    for (int i = 0; i < 2 && rc >= 0; i++)
        if (c->h[i] && c->h[i]->after_update)
            rc = c->h[i]->after_update(m, o, step, lr, c->h[i]->user);
    return rc;
}

/* The run's distillation settings from its options. */
static void dst_cfg(const struct pf_run *r, struct pf_distill_cfg *d)
{
    d->loss_w = pf_opts_float(&r->opts, "loss_w_dst");
    d->tempr = pf_opts_float(&r->opts, "tempr_dst");
    d->t2_scaled = pf_opts_bool(&r->opts, "dst_t2_scaled");
}

int pf_run_finetune_cfg(struct pf_run *r, const char *phase, const struct pf_train_cfg *cfg)
{
    struct pf_train_cfg c = *cfg;
    if (c.epochs * c.nb_epochs_rat <= 0.0)
        return 0;
    long total = pf_train_total_steps(&c, r->n_train);
    pf_run_log(r, "%s: %ld steps of %d (%.3g epochs x nb_epochs_rat %.3g), lr %.3g %s%s", phase,
               total, c.batch, c.epochs, c.nb_epochs_rat, pf_train_lr_at(&c, r->n_train, 0),
               pf_opts_str(&r->opts, "lrn_rate_dcy"),
               c.optim.kind == PF_OPTIM_ADAM ? ", Adam" : "");
    struct ft_ctx f = {r, phase, 0, NULL};
    struct pf_distill_hook dst;
    struct pf_train_hooks dst_hooks, chained;
    struct hook_chain chain;
    int rc;
    if (r->teacher) {
        struct pf_distill_cfg d;
        dst_cfg(r, &d);
        if ((rc = pf_distill_hook_init(&dst, r->teacher, &d, &dst_hooks)) < 0)
            return rc;
        chain = (struct hook_chain){{cfg->hooks, &dst_hooks}};
        chained = (struct pf_train_hooks){
            .before_forward = chain_before_forward,
            .before_backward = chain_before_backward,
            .before_update = chain_before_update,
            .after_update = chain_after_update,
            .user = &chain,
        };
        c.hooks = &chained;
        f.dst = &dst;
        pf_run_log(r, "%s: distilling from the teacher, loss_w_dst %g, tempr_dst %g%s", phase,
                   d.loss_w, d.tempr, d.t2_scaled ? ", x T^2" : "");
    }
    rc = pf_train(r->model, r->train, r->train_idx, r->n_train, &c, ft_progress, &f);
    if (rc == -PF_ECANCELLED)
        pf_run_log(r, "%s: cancelled; keeping the model of the last finished step", phase);
    return rc;
}

int pf_run_evaluate(struct pf_run *r, bool test, struct pf_eval_result *res)
{
    if (test)
        return pf_evaluate(r->model, r->test, NULL, 0, 100, res, NULL);
    if (!r->n_val)
        return pf_evaluate(r->model, r->train, r->train_idx, r->n_train, 100, res, NULL);
    return pf_evaluate(r->model, r->train, r->val_idx, r->n_val, 100, res, NULL);
}

/* ---- execution ---- */

static void emit_end(struct pf_run *r, enum pf_event_kind kind, double value, const char *text)
{
    struct pf_event e = {.run_id = r->id, .kind = kind, .value = value};
    snprintf(e.text, sizeof e.text, "%s", text);
    pf_run_emit(r, &e);
}

int pf_run_exec(struct pf_run *r)
{
    double t0 = pf_now_s();
    int rc;
    atomic_store(&r->status, PF_RUN_RUNNING);
    free(r->train_idx);
    free(r->val_idx);
    r->train_idx = r->val_idx = NULL;
    int n_val = (int)pf_opts_int(&r->opts, "nb_smpls_val");
    if (n_val >= r->train->n)
        n_val = 0;
    if ((rc = pf_dataset_split(r->train, n_val, &r->train_idx, &r->n_train, &r->val_idx,
                               &r->n_val)) < 0)
        goto end;
    pf_run_log(r, "%s on %s with %s: %u training images, %u for validation", r->learner->name,
               r->model->name, r->train->name, r->n_train, r->n_val);
    const char *plan_path = pf_opts_str(&r->opts, "plan");
    if (plan_path[0] && !r->plan) {
        if (!(r->plan = pf_calloc(1, sizeof *r->plan))) {
            rc = -PF_ENOMEM;
            goto end;
        }
        if ((rc = pf_plan_init(r->plan, r->model)) < 0 ||
            (rc = pf_plan_load(r->plan, r->model, plan_path)) < 0)
            goto end;
        pf_run_log(r, "plan: %s", plan_path);
    }
    pf_model_free(r->teacher);
    r->teacher = NULL;
    if (pf_opts_bool(&r->opts, "enbl_dst")) {
        /* PocketFlow: the teacher is the pre-trained model, evaluated once */
        struct pf_distill_cfg d;
        struct pf_distill_hook probe;
        struct pf_train_hooks unused;
        struct pf_eval_result tr;
        dst_cfg(r, &d);
        if ((rc = pf_distill_hook_init(&probe, r->model, &d, &unused)) < 0 ||
            (rc = pf_model_clone(r->model, &r->teacher)) < 0)
            goto end;
        if (r->n_val)
            rc = pf_evaluate(r->teacher, r->train, r->val_idx, r->n_val, 100, &tr, NULL);
        else
            rc = pf_evaluate(r->teacher, r->train, r->train_idx, r->n_train, 100, &tr, NULL);
        if (rc < 0)
            goto end;
        pf_run_log(r,
                   "distillation: teacher = the model as loaded (validation accuracy %.4f, loss "
                   "%.4f), loss_w_dst %g, tempr_dst %g%s",
                   tr.accuracy, tr.loss, d.loss_w, d.tempr, d.t2_scaled ? ", x T^2" : "");
    }
    rc = r->learner->train(r);
    if (rc < 0 && rc != -PF_ECANCELLED)
        goto end;
    int cancelled = rc == -PF_ECANCELLED;
    struct pf_eval_result res;
    if ((rc = pf_run_evaluate(r, true, &res)) < 0)
        goto end;
    r->final_accuracy = res.accuracy;
    pf_run_metric(r, r->last_step, "test_acc", res.accuracy);
    if (!r->out_path[0] && r->dir[0])
        snprintf(r->out_path, sizeof r->out_path, "%s/model.h5", r->dir);
    if (r->out_path[0]) {
        struct pf_meta meta;
        char seed[32], acc[32];
        pf_meta_init(&meta);
        snprintf(seed, sizeof seed, "%ld", pf_opts_int(&r->opts, "seed"));
        snprintf(acc, sizeof acc, "test_acc %.4f", res.accuracy);
        if ((rc = pf_meta_set(&meta, "learner", r->learner->name)) == 0 &&
            (rc = pf_meta_set(&meta, "seed", seed)) == 0 &&
            (rc = pf_meta_set(&meta, "metrics", acc)) == 0 &&
            (rc = pf_meta_set(&meta, "program", PF_PROGRAM)) == 0 &&
            (rc = pf_meta_set(&meta, "run_dir", r->dir)) == 0)
            rc = pf_model_save(r->model, r->out_path, r->train->name, &meta);
        pf_meta_deinit(&meta);
        if (rc < 0)
            goto end;
    }
    rc = cancelled ? -PF_ECANCELLED : 0;
end:;
    char msg[200];
    if (rc == 0) {
        atomic_store(&r->status, PF_RUN_FINISHED);
        snprintf(msg, sizeof msg, "finished: test accuracy %.4f in %.1fs", r->final_accuracy,
                 pf_now_s() - t0);
    } else if (rc == -PF_ECANCELLED) {
        atomic_store(&r->status, PF_RUN_CANCELLED);
        snprintf(msg, sizeof msg,
                 "cancelled after %.1fs: kept the model of the last finished "
                 "step (test accuracy %.4f)",
                 pf_now_s() - t0, r->final_accuracy);
    } else {
        atomic_store(&r->status, PF_RUN_FAILED);
        snprintf(msg, sizeof msg, "failed: %s", pf_err_user_msg());
    }
    /* the manifest error (if any) must not mask the run's own */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", pf_err_msg());
    int code = pf_err_code();
    write_manifest(r, pf_now_s() - t0);
    if (rc < 0)
        pf_err_restore(code ? code : -rc, keep);
    emit_end(r, rc == 0 ? PF_EV_FINISHED : PF_EV_FAILED, r->final_accuracy, msg);
    return rc;
}

static void *run_thread(void *arg)
{
    struct pf_run *r = arg;
    pf_run_exec(r);
    return NULL;
}

int pf_run_start(struct pf_run *r)
{
    if (r->thread_started)
        return PF_ERR(PF_EINVAL, "run %d already started", r->id);
    atomic_store(&r->status, PF_RUN_RUNNING);
    if (pthread_create(&r->thread, NULL, run_thread, r) != 0) {
        atomic_store(&r->status, PF_RUN_FAILED);
        return PF_ERR(PF_ENOMEM, "cannot start a worker thread");
    }
    r->thread_started = true;
    return 0;
}

int pf_run_join(struct pf_run *r)
{
    if (!r->thread_started)
        return 0;
    pthread_join(r->thread, NULL);
    r->thread_started = false;
    int s = atomic_load(&r->status);
    return s == PF_RUN_FINISHED ? 0 : s == PF_RUN_CANCELLED ? -PF_ECANCELLED : -PF_EINVAL;
}

void pf_run_cancel(struct pf_run *r)
{
    atomic_store(&r->stop, 1);
}
