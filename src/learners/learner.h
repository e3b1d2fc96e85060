/* learner.h: learners, their option tables, runs and the event stream (module API).
 *
 * A learner is one `struct pf_learner_ops` in src/learners/<name>.c, registered in
 * learners/registry.c under PocketFlow's name (full-prec, channel, chn-pruned-rmt, ...). Its
 * options are ONE table of pf_opt_spec rows: that table validates presets and command-line
 * flags, fills the TUI's form and writes the help text. No other code lists a learner's options.
 *
 * A learner runs inside a struct pf_run: it transforms run->model in place (training,
 * pruning, quantizing), polls pf_run_stopped() at least once per step, and reports only through
 * pf_run_emit() (metrics, progress, log lines, per-layer results). It never prints or draws.
 * A run may execute on a worker thread (pf_run_start); the event queue is the only state it
 * shares with the main thread. */
#ifndef PF_LEARNERS_LEARNER_H
#define PF_LEARNERS_LEARNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/core/pf_cfg.h"
#include "engine/io/dataset.h"
#include "engine/model/graph.h"
#include "engine/model/train.h"

/* ---- options ---- */

enum pf_opt_type { PF_OPT_INT, PF_OPT_FLOAT, PF_OPT_BOOL, PF_OPT_STR, PF_OPT_ENUM };

/* One option: PocketFlow's flag name, its type, default (as text), range (numbers: inclusive
 * min and max; enums: the choices, '|'-separated) and a one-line help. A table ends with a row
 * whose key is NULL. */
struct pf_opt_spec {
    const char *key; /* PocketFlow's flag name, e.g. "cpr_prune_ratio" */
    enum pf_opt_type type;
    const char *def;     /* default, as it would be typed */
    double min, max;     /* PF_OPT_INT / PF_OPT_FLOAT: allowed range, inclusive */
    const char *choices; /* PF_OPT_ENUM: "uniform|list|auto" */
    const char *help;    /* one line, shown by --help, the TUI form and the help screen */
};

/* Values for one or more option tables (the run's common table and the learner's own). */
#define PF_OPTS_MAX_TABLES 4
struct pf_opts {
    const struct pf_opt_spec *tables[PF_OPTS_MAX_TABLES];
    int n_tables;
    char **vals; /* one string per row of each table in order; NULL = default */
    int n;       /* total rows */
};

/* Sets up values for the given NULL-terminated list of tables (all defaults).
 * Free with pf_opts_deinit. */
int pf_opts_init(struct pf_opts *o, const struct pf_opt_spec *const *tables);
void pf_opts_deinit(struct pf_opts *o);
/* The row for key, or NULL. PocketFlow's prefix-less spelling from presets (e.g.
 * "prune_ratio" for "cpr_prune_ratio") is NOT matched here; see pf_opts_set_cfg. */
const struct pf_opt_spec *pf_opts_find(const struct pf_opts *o, const char *key, int *index);
/* Validates and stores text for key. `where` prefixes the error ("--cpr_prune_ratio",
 * "preset.yaml:4:3"). Returns 0, or -PF_EINVAL naming the key, the value and the allowed range. */
int pf_opts_set(struct pf_opts *o, const char *key, const char *text, const char *where);
/* Applies every key of a preset map (keys with or without the learner's prefix). */
int pf_opts_set_cfg(struct pf_opts *o, const struct pf_cfg *map, const char *prefix);
/* Typed reads; the key must exist in a table (programmer error otherwise). */
long pf_opts_int(const struct pf_opts *o, const char *key);
double pf_opts_float(const struct pf_opts *o, const char *key);
bool pf_opts_bool(const struct pf_opts *o, const char *key);
const char *pf_opts_str(const struct pf_opts *o, const char *key);
/* Current text of row i (the value or the default). */
const char *pf_opts_text(const struct pf_opts *o, int i);
const struct pf_opt_spec *pf_opts_row(const struct pf_opts *o, int i);

/* ---- events ---- */

enum pf_event_kind {
    PF_EV_METRIC,     /* name = value at step (loss, accuracy, lr, sparsity, kept_macs, ...) */
    PF_EV_PROGRESS,   /* value = fraction done 0..1; text = phase ("fine-tune", "layer conv3") */
    PF_EV_LOG,        /* text = one log line */
    PF_EV_LAYER_DONE, /* name = layer; value = reconstruction error after; text = details */
    PF_EV_FINISHED,   /* the run ended well; value = final accuracy */
    PF_EV_FAILED,     /* text = the error message (or "cancelled") */
};

struct pf_event {
    int run_id;
    long step;
    enum pf_event_kind kind;
    char name[32];
    double value;
    char text[200];
};

/* A bounded ring buffer, safe between one producer and one consumer thread. When full, the
 * oldest METRIC/PROGRESS event is dropped (never a LOG, LAYER_DONE, FINISHED or FAILED one). */
#define PF_EVQ_CAP 4096
struct pf_event_queue {
    pthread_mutex_t lock;
    struct pf_event ev[PF_EVQ_CAP];
    int head, len;
    long dropped;
};
void pf_evq_init(struct pf_event_queue *q);
void pf_evq_deinit(struct pf_event_queue *q);
void pf_evq_push(struct pf_event_queue *q, const struct pf_event *e);
/* Pops up to max events into out; returns how many. */
int pf_evq_pop(struct pf_event_queue *q, struct pf_event *out, int max);

/* ---- runs ---- */

enum pf_run_status { PF_RUN_NEW, PF_RUN_RUNNING, PF_RUN_FINISHED, PF_RUN_CANCELLED, PF_RUN_FAILED };

struct pf_learner_ops;
struct pf_plan;

struct pf_run {
    int id;
    const struct pf_learner_ops *learner;
    struct pf_opts opts;             /* common options + the learner's */
    struct pf_model *model;          /* transformed in place; owned by the run */
    struct pf_dataset *train, *test; /* owned by the run */
    uint32_t *train_idx, *val_idx;   /* PocketFlow's split: val = first nb_smpls_val images */
    uint32_t n_train, n_val;
    char model_path[1024];        /* where the starting model came from */
    char data_spec[256];          /* dataset spec as given */
    char dir[900];                /* run directory (runs/<stamp>-<learner>), "" = none */
    char out_path[1024];          /* where the result model is written ("" = dir/model.h5) */
    FILE *metrics;                /* dir/metrics.csv: step,name,value */
    FILE *log;                    /* dir/log.txt */
    atomic_int stop;              /* set by pf_run_cancel; learners poll pf_run_stopped */
    _Atomic int status;           /* enum pf_run_status */
    struct pf_event_queue *queue; /* optional: events also go here (the TUI) */
    void (*on_event)(const struct pf_event *e, void *user); /* optional: the CLI logger */
    void *user;
    pthread_t thread;
    bool thread_started;
    struct pf_plan *plan;  /* per-layer targets from the `plan` option (a plan
                            * file, model/plan.h), loaded by pf_run_exec; NULL =
                            * none: learners use their uniform options. Owned. */
    int mute;              /* > 0: pf_run_emit drops everything but FINISHED / FAILED (an RL
                            * search's inner evaluations; nested, so a counter) */
    double final_accuracy; /* test accuracy of the result, after the run */
    long last_step;        /* step of the latest metric (for the final ones) */
    long step_base;        /* added to the step of pf_run_metric and pf_run_progress: where a
                            * learner fine-tunes several candidates in turn (the RL finalists)
                            * their curves follow one another instead of restarting at 0 */
    /* distillation's teacher (enbl_dst): a clone of the model as loaded, taken by pf_run_exec
     * before the learner changes `model`; every pf_run_finetune(_cfg) distils from it
     * (common/distill.h). NULL without enbl_dst. Owned. */
    struct pf_model *teacher;
};

/* The options every run has (nb_epochs_rat, lrn_rate_init, batch_size, ...). */
extern const struct pf_opt_spec pf_run_common_opts[];

/* Creates a run of learner `name` on the model file (or netdef) at model_path and dataset spec
 * data: loads both, sets up options (defaults). Apply options with pf_opts_set before
 * pf_run_exec/pf_run_start. Caller frees with pf_run_free. */
int pf_run_new(struct pf_run **out, const char *learner, const char *model_path, const char *data);
void pf_run_free(struct pf_run *r);

/* Creates runs_root/<YYYYmmdd-HHMMSS>-<learner>/ with manifest.yaml, metrics.csv, log.txt.
 * Optional: without it a run writes no files but its result model. */
int pf_run_open_dir(struct pf_run *r, const char *runs_root);

/* Runs the learner on the calling thread: validates options, trains, evaluates on the test
 * split, writes the model (out_path or dir/model.h5) and the manifest status. Returns 0,
 * -PF_ECANCELLED (the model keeps its last finished step and is still written, status
 * "cancelled") or an error (status "failed"). Emits FINISHED or FAILED last. */
int pf_run_exec(struct pf_run *r);
/* pf_run_exec on a new thread; pf_run_join waits for it and returns its result. */
int pf_run_start(struct pf_run *r);
int pf_run_join(struct pf_run *r);
/* Asks a running learner to stop at its next step (thread-safe). */
void pf_run_cancel(struct pf_run *r);
static inline bool pf_run_stopped(const struct pf_run *r)
{
    return atomic_load(&r->stop) != 0;
}

/* Reports an event (thread-safe for one producer): metrics.csv / log.txt, the queue, the
 * callback. Helpers for the common kinds: */
void pf_run_emit(struct pf_run *r, const struct pf_event *e);
void pf_run_metric(struct pf_run *r, long step, const char *name, double value);
void pf_run_progress(struct pf_run *r, long step, double fraction, const char *phase);
void pf_run_log(struct pf_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The training configuration from the run's common options (PocketFlow's flags). */
void pf_run_train_cfg(const struct pf_run *r, struct pf_train_cfg *c);
/* Fine-tunes run->model with the run's schedule on the training split, reporting loss,
 * accuracy and lr as metrics and polling the stop flag. Used by every learner. With a teacher
 * (enbl_dst) the distillation term is added to every step (after the learner's own hooks) and
 * its mean is reported as "loss_dst"; "loss" stays the task loss. */
int pf_run_finetune(struct pf_run *r, const char *phase);
/* The same with a configuration the learner adjusted (from pf_run_train_cfg: another optimizer,
 * epochs, training hooks). Runs when c->epochs * c->nb_epochs_rat > 0. */
int pf_run_finetune_cfg(struct pf_run *r, const char *phase, const struct pf_train_cfg *c);
/* Evaluates run->model on the validation split (or the test split with test = true). */
int pf_run_evaluate(struct pf_run *r, bool test, struct pf_eval_result *res);

/* ---- presets ---- */

/* A preset file (presets/<name>.yaml): which model, dataset and learner, the learner's and the
 * schedule's options (PocketFlow's names, with or without the learner's prefix) and the output
 * path. Keys: model, data, learner, out, options. */
struct pf_preset {
    struct pf_cfg *cfg;             /* owned */
    const char *model, *data, *out; /* borrowed from cfg; NULL when absent */
    const char *learner;            /* borrowed from cfg; "full-prec" when absent */
    const struct pf_cfg *options;   /* the options map, or NULL */
};

/* Loads and fully validates a preset: keys, learner name, and every option against the
 * learner's table (errors name file:line:col). Free with pf_preset_free. */
int pf_preset_load(const char *path, struct pf_preset *p);
void pf_preset_free(struct pf_preset *p);

/* ---- learners ---- */

struct pf_learner_ops {
    const char *name;               /* PocketFlow's --learner value */
    const char *summary;            /* one line for pickers and --help */
    const char *prefix;             /* its option prefix ("cpr_"), "" if none */
    const struct pf_opt_spec *opts; /* its option table (may be an empty table) */
    /* Transforms r->model; polls pf_run_stopped; reports through pf_run_emit. */
    int (*train)(struct pf_run *r);
    bool rl; /* it can search per-layer values with the DDPG agent: takes the ddpg_* options */
};

/* Sets up o with every option a run of ops takes: the common ones, the learner's, and the
 * agent's ddpg_* rows (common/ddpg.h) when ops->rl. Free with pf_opts_deinit. */
int pf_learner_opts_init(struct pf_opts *o, const struct pf_learner_ops *ops);

extern const struct pf_learner_ops *const pf_learners[];
extern const size_t pf_learners_len;
/* NULL if unknown. */
const struct pf_learner_ops *pf_learner_find(const char *name);

#endif
