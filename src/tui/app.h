/* app.h: the workbench's state and its screen stack (TUI-internal API).
 *
 * struct pf_app holds what the screens share: the open model with its channel groups, plan and
 * profile (the model screen edits the plan, the profile answers with new totals), the chosen
 * learner and its option values (the learner screen's form), the active run and what its events
 * said so far (the monitor's series and log), and the screen stack.
 *
 * Two files implement it. app_state.c is curses-free: loading models, editing the plan,
 * starting and cancelling runs, draining the event queue and dispatching keys to the stack, so
 * the tests drive the whole workbench without a terminal. app.c owns the terminal: curses set-up
 * and teardown on every exit path, the main loop, and drawing frames.
 *
 * Threads: only the main thread touches this struct. A run's worker thread reaches the main
 * thread through `evq` only (pf_run's queue), and so does the log sink. */
#ifndef PF_TUI_APP_H
#define PF_TUI_APP_H

#include <stdarg.h>
#include <stdbool.h>

#include "engine/model/graph.h"
#include "engine/model/groups.h"
#include "engine/model/plan.h"
#include "engine/model/profile.h"
#include "learners/learner.h"
#include "tui/screen.h"

#define PF_APP_MAX_STACK  8
#define PF_MON_MAX_SERIES 12
#define PF_SERIES_CAP     1024 /* points kept per series; older ones are thinned, not dropped */
#define PF_MON_LOG        200  /* log lines kept */

/* One metric over steps. When full, every other point is dropped and the series keeps only
 * every stride-th new point, so a long run still spans the whole chart. */
struct pf_series {
    char name[32];
    double x[PF_SERIES_CAP]; /* step */
    double y[PF_SERIES_CAP]; /* value */
    int n;
    int stride;  /* keep one new point in `stride` (1, 2, 4, ...) */
    int skip;    /* new points skipped since the last kept one */
    double last; /* the latest value, kept or not */
};

/* ---- the RL search (learners/common/rlsearch.h, "Events") ---- */

#define PF_RL_MAX_LAYERS 256 /* decided layers kept (ResNet-56 has 57) */

/* What a search decides per layer, from the learner's name. */
enum pf_rl_kind { PF_RL_NONE, PF_RL_CHANNEL, PF_RL_SPARSITY, PF_RL_BITS };

/* One decided layer. Events name it "rl_value/<layer>" cut to the event's name size, so key may
 * be a prefix of the real name: it is matched against the model's layer names (exact first,
 * then by prefix; layers sharing a cut prefix are told apart by the order they arrive in). */
struct pf_rl_layer {
    char key[32];   /* the layer as the events name it */
    char name[64];  /* the model's layer name it matched, else key */
    int layer;      /* its model index, -1 = no layer matched */
    double uniform; /* the uniform strategy's value (NAN = not yet) */
    double value;   /* the latest roll-out's value */
    double best;    /* the best strategy's value */
    long seen[3];   /* step of the last uniform / value / bestv event (matching) */
};

/* What the rl_* metrics and the "RL roll-out k/N" progress of the current run said. */
struct pf_rl_mon {
    bool active;                    /* an RL event arrived in this run */
    enum pf_rl_kind kind;           /* from the run's learner */
    double target;                  /* rl_target: the budget (kept MACs, sparsity or bits); NAN */
    double reward, best;            /* the latest roll-out's reward and the best so far; NAN */
    double budget;                  /* rl_budget of the latest roll-out; NAN */
    double best_budget;             /* rl_budget of the best roll-out; NAN */
    double noise;                   /* rl_noise: the exploration noise std; NAN */
    double seconds;                 /* rl_seconds of the latest roll-out; NAN */
    double actor_loss, critic_loss; /* NAN until the agent trains */
    long rlout;                     /* the latest roll-out (events' step), 0 = none yet */
    long best_rlout;                /* the roll-out of the best strategy, 0 = none */
    long budget_rlout;              /* the roll-out `budget` belongs to */
    int k, n;                       /* the progress text's "roll-out k/N" (0 = not seen) */
    double eta_s;                   /* its "~M s left", < 0 unknown */
    struct pf_rl_layer layers[PF_RL_MAX_LAYERS]; /* in the order the events name them */
    int n_layers;
};

/* The search a learner runs ("channel" -> PF_RL_CHANNEL, "weight-sparse" -> PF_RL_SPARSITY,
 * the quantizers -> PF_RL_BITS), PF_RL_NONE for others. */
enum pf_rl_kind pf_rl_kind_of(const char *learner);
/* What a value of that search is: "preserve ratio", "sparsity", "bits" ("value" for none). */
const char *pf_rl_value_label(enum pf_rl_kind kind);
/* What its budget measures: "kept MACs", "sparsity", "equivalent bits" ("budget"). */
const char *pf_rl_budget_label(enum pf_rl_kind kind);
/* The best roll-out's budget as a fraction of the target (the latest's while no roll-out is
 * best yet); NAN while either is unknown. */
double pf_rl_budget_frac(const struct pf_rl_mon *rl);
/* Applies one event of the run to rl (names of layers matched against model's). Returns true
 * if the event was an RL one. Used by pf_app_poll; exposed for tests. */
bool pf_rl_mon_apply(struct pf_rl_mon *rl, const struct pf_model *model, const char *learner,
                     const struct pf_event *e);
/* Clears rl (no search seen). */
void pf_rl_mon_reset(struct pf_rl_mon *rl);

/* What the events of the current (or last) run said. */
struct pf_monitor {
    int run_id; /* 0: no run yet */
    char learner[32];
    char dir[1024];  /* its run directory */
    int status;      /* enum pf_run_status */
    double fraction; /* progress 0..1 */
    long step;
    char phase[64];
    double t_start, t_now;                       /* seconds (monotonic) */
    double eta_s;                                /* < 0: unknown */
    struct pf_series *series[PF_MON_MAX_SERIES]; /* by first appearance; owned */
    int n_series;
    char log[PF_MON_LOG][200]; /* ring of log lines */
    int log_head, log_n;
    char layer[32];      /* layer-wise learners: the layer being worked on */
    double layer_err;    /* its reconstruction error, < 0 unknown */
    char end_text[200];  /* FINISHED / FAILED text */
    long events;         /* events received (tests and the "chart moved" check) */
    struct pf_rl_mon rl; /* its RL search, if it runs one (rl_reward and rl_best are series) */
};

enum pf_msg_level { PF_MSG_INFO, PF_MSG_GOOD, PF_MSG_WARN, PF_MSG_ERROR };

struct pf_app {
    /* ---- the model ---- */
    char model_path[1024];
    char dataset[64];         /* from the model file, "fmnist" if it names none */
    char accuracy[64];        /* from the model file's metrics, "" if unknown */
    struct pf_model *model;   /* owned */
    struct pf_groups *groups; /* owned */
    struct pf_plan plan;      /* owned; the model screen edits it */
    struct pf_profile *prof;  /* owned; recomputed on every plan edit */
    bool show_flops;          /* 'm': FLOPs (2 x MACs) instead of MACs */
    int sel_layer;            /* the model screen's cursor, shared with the detail view */
    int model_gen;            /* bumped whenever another model is opened */

    /* ---- the learner and its options (learner screen) ---- */
    const struct pf_learner_ops *learner;
    struct pf_opts opts; /* common options + the learner's */

    /* ---- runs ---- */
    char runs_root[1024];
    struct pf_run *run;        /* the active or last run; owned */
    struct pf_event_queue evq; /* worker -> main thread */
    struct pf_monitor mon;
    bool runs_changed; /* a run ended: the runs screen rereads its list */

    /* ---- screens ---- */
    struct pf_screen stack[PF_APP_MAX_STACK];
    int depth;
    int body_h, body_w;   /* size of the screens' window (set by app.c; 21 x 80) */
    int click_y, click_x; /* PF_KEY_CLICK position, relative to the body window */
    bool quit;
    bool dirty; /* redraw needed */

    /* ---- the message line ---- */
    char msg[256];
    enum pf_msg_level msg_level;
    double msg_time; /* when it was set; it fades after a few seconds */
};

/* ---- life cycle (app_state.c; no curses) ---- */

/* Loads the model (a .h5 or a netdef) and sets up plan, profile, learner (full-prec) and the
 * event queue, with the model screen on the stack. runs_root NULL or "" means $PF_RUNS_DIR or
 * "runs". Returns 0 or a negative PF_E* code (then pf_app_deinit is still safe). */
int pf_app_init(struct pf_app *app, const char *model_path, const char *runs_root);
/* Cancels and joins an active run, leaves every screen, frees everything. */
void pf_app_deinit(struct pf_app *app);

/* Replaces the open model (refused while a run is active). The plan starts from the identity.
 * Returns 0 or -PF_E* (the old model stays open). */
int pf_app_open_model(struct pf_app *app, const char *path);

/* Sets a message for the message line (printf-style). */
void pf_app_msg(struct pf_app *app, enum pf_msg_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Shows pf_err_user_msg() as an error. Returns rc. */
int pf_app_err(struct pf_app *app, int rc);

/* ---- the plan ---- */

/* Recomputes the profile after plan.layers[layer] changed; layer < 0: everything. On a refused
 * entry the caller's change is undone with `undo` (if not NULL) and the message shown.
 * Returns 0 or -PF_EINVAL. */
int pf_app_plan_update(struct pf_app *app, int layer, const struct pf_plan_layer *undo);
/* Replaces the plan with the plan file at path (YAML, or PocketFlow's ratio .list) and
 * updates the profile. 0 or -PF_E* (the plan stays as it was). */
int pf_app_plan_load(struct pf_app *app, const char *path);
/* True if layer i's input channels may be pruned (a conv2d / dense reading a free group). */
bool pf_app_prunable(const struct pf_app *app, int i);

/* ---- learner and runs ---- */

/* Chooses the learner; option values of the common table are kept. 0 or -PF_E*. */
int pf_app_set_learner(struct pf_app *app, const struct pf_learner_ops *ops);
/* The same, then sets n options (kv[i][0] = key, kv[i][1] = value; `where` names them in
 * errors) on top: all or nothing, an unknown key or a bad value leaves the learner and its
 * options as they were. 0 or -PF_E* (message set). */
int pf_app_set_learner_opts(struct pf_app *app, const struct pf_learner_ops *ops,
                            const char *const (*kv)[2], int n, const char *where);
/* Starts a run of the chosen learner on the open model with the form's options, on a worker
 * thread, in a new directory under runs_root. Refused while one is active. 0 or -PF_E*. */
int pf_app_start_run(struct pf_app *app);
/* Asks the active run to stop at its next step. */
void pf_app_cancel_run(struct pf_app *app);
/* True while a run's worker thread has not ended. */
bool pf_app_run_active(const struct pf_app *app);
/* Drains the event queue into app->mon; joins the worker when it ended. Returns true if
 * anything changed. Called by the main loop every tick. */
bool pf_app_poll(struct pf_app *app);
/* The series named name, or NULL. */
const struct pf_series *pf_app_series(const struct pf_app *app, const char *name);
/* Appends a point (used by pf_app_poll; exposed for tests). */
void pf_series_add(struct pf_series *s, double x, double y);

/* ---- screen stack ---- */

/* Pushes a screen (arg is passed to its enter through s->arg). 0 or -PF_E*. */
int pf_app_push(struct pf_app *app, const struct pf_screen_ops *ops, const void *arg);
/* Leaves and removes the top screen (never the last one). */
void pf_app_pop(struct pf_app *app);
/* Replaces the whole stack with one top-level screen. 0 or -PF_E*. */
int pf_app_switch(struct pf_app *app, const struct pf_screen_ops *ops);
/* The top screen. */
static inline struct pf_screen *pf_app_top(struct pf_app *app)
{
    return &app->stack[app->depth - 1];
}
/* Handles one key: the top screen first, then the global keys (tabs, ?, o, q). */
void pf_app_key(struct pf_app *app, int ch);
/* Periodic work: drains events, ticks the top screen. */
void pf_app_tick(struct pf_app *app);
/* Asks to quit: at once, or through a confirmation while a run is active. */
void pf_app_request_quit(struct pf_app *app);

/* The global key table (tabs, help, open, quit), shown in the help screen. */
extern const struct pf_keymap pf_app_keys;

/* Requests for the prompt screen (pf_screen_prompt's arg). */
struct pf_prompt_req {
    const char *title;   /* "Open model or netdef:" */
    const char *initial; /* initial text (copied) */
    bool confirm;        /* a y/n question instead of a text field */
    /* Called with the text (or "y") when accepted. Returns 0 to close, or a negative code to
     * keep the prompt open (the message is shown). */
    int (*accept)(struct pf_app *app, const char *text);
    const char *hint; /* a dim line under the field (copied), NULL: the prompt's keys */
};

/* Number formatting shared by the screens: 1234567 -> "1.23M" (n >= 8). */
void pf_fmt_count(char *buf, size_t n, double v);
/* Bytes -> "1.10 MiB". */
void pf_fmt_bytes(char *buf, size_t n, double bytes);

#endif
