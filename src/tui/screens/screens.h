/* screens.h: the state of each screen, visible to the key-sequence tests (tests/check_tui_*).
 *
 * Each struct belongs to one file in screens/ and is made by that screen's enter(). Nothing
 * outside its screen and the tests reads it; screens share data through struct pf_app. */
#ifndef PF_TUI_SCREENS_SCREENS_H
#define PF_TUI_SCREENS_SCREENS_H

#include <stdbool.h>

#include "tui/app.h"

/* ---- model.c ---- */

enum pf_plan_col { PF_COL_PRUNE, PF_COL_SPARSITY, PF_COL_WBITS, PF_COL_ABITS, PF_COL_N };

#define PF_MODEL_HEADER_H 3 /* lines above the layer table */

struct pf_model_view {
    int *vis; /* layer indices shown (all, or those matching the filter); owned */
    int n_vis;
    int cur;              /* cursor position in vis */
    int top;              /* first row shown */
    enum pf_plan_col col; /* the plan column +/- edits */
    char filter[64];      /* '/' filter over layer names and types, "" = all */
    int gen;              /* app->model_gen the list was made for */
};

/* The step +/- applies to ratios, and the bit-widths +/- walks through. */
#define PF_RATIO_STEP 0.05
#define PF_RATIO_MAX  0.95
extern const int pf_bits_steps[];
extern const int pf_bits_steps_len;

/* Re-filters the layer list (keeps the cursor on the same layer when it is still shown). */
void pf_model_view_filter(struct pf_model_view *v, const struct pf_app *app, const char *filter);

/* ---- layer.c (detail of one layer) ---- */

#define PF_LAYER_HIST_BINS 200

struct pf_layer_view {
    int layer; /* model index */
    bool has_weights;
    double wmin, wmax; /* weight range */
    long numel;
    double zeros; /* fraction of exact zeros */
    double *l1;   /* per output channel L1 norm of its weights; owned */
    int n_ch;
    double l1_max;
    int top; /* first channel shown in the L1 list */
    int sel; /* channel under the cursor */
};

/* ---- learner.c ---- */

struct pf_learner_view {
    int lsel;       /* learner list cursor (index in pf_learners) */
    int fsel, ftop; /* form cursor and first row shown */
    bool form;      /* the form has the keyboard (else the list) */
    bool editing;   /* typing a value into the cursor row */
    char edit[256];
    int edit_pos;
};

/* Moves the form cursor to the first option whose key contains text; false if none. */
bool pf_learner_view_find(struct pf_learner_view *v, const struct pf_app *app, const char *text);

/* ---- monitor.c ---- */

struct pf_monitor_view {
    int first;      /* first series shown (Tab cycles) */
    int log_scroll; /* lines scrolled back in the log, 0 = follow */
};

/* ---- rl.c (the RL search monitor, and the R prompt that starts a search) ---- */

struct pf_rl_view {
    int top; /* first layer row shown */
};

/* A search as typed into the R prompt: "<kind> [budget] [roll-outs] [finalists]". */
#define PF_RL_REQ_OPTS 4
struct pf_rl_request {
    enum pf_rl_kind kind;
    double budget;                  /* kept MACs, sparsity or bits */
    int rlouts;                     /* roll-outs */
    int finalists;                  /* cp_nb_finalists (channel only; 0 unless typed) */
    const char *learner;            /* the learner that runs it */
    char kv[PF_RL_REQ_OPTS][2][32]; /* its options: key, value */
    int n_kv;
};

/* Defaults: 0.5 kept MACs, 0.9 sparsity, 4 bits, 20 roll-outs. */
#define PF_RL_DEFAULT_MACS     0.5
#define PF_RL_DEFAULT_SPARSITY 0.9
#define PF_RL_DEFAULT_BITS     4
#define PF_RL_DEFAULT_RLOUTS   20

/* Parses the prompt's text: a kind (channel / macs, sparsity / weight, bits / quant, or a prefix
 * of one), then optionally the budget, the roll-outs and (channel only) the finalists; fills req
 * with the learner and its options. Returns 0, or -PF_EINVAL with a message that says what is
 * wrong and what is allowed (kept MACs and sparsity in (0, 1), bits in [2, 8], roll-outs a whole
 * number >= 1, finalists a whole number >= 0, whose upper bound the option row checks). */
int pf_rl_request_parse(const char *text, struct pf_rl_request *req);
/* Chooses req's learner with its options (all or nothing), starts the run and switches to the
 * RL screen. 0 or -PF_E* (message set; nothing started). */
int pf_rl_request_start(struct pf_app *app, const struct pf_rl_request *req);
/* The R prompt (model and RL screens push it). */
extern const struct pf_prompt_req pf_rl_prompt;

/* ---- runs.c ---- */

struct pf_run_rec {
    char name[256]; /* directory name under runs_root */
    char learner[32];
    char status[16];
    double accuracy;     /* test accuracy, < 0 unknown */
    double macs, params; /* of the result model */
    double seconds;
    char model[1024]; /* result model path ("" if none) */
};

struct pf_runs_view {
    struct pf_run_rec *recs; /* newest first; owned */
    int n;
    int cur, top;
    int mark;       /* run marked for comparison, -1 = none */
    bool by_size;   /* Pareto x axis: size (params x 4 bytes) instead of MACs */
    bool *frontier; /* n: on the accuracy / cost Pareto frontier; owned */
};

/* Rereads runs_root into v (frees the old list). Returns 0 or -PF_ENOMEM (an unreadable or
 * missing directory is an empty list). */
int pf_runs_view_load(struct pf_runs_view *v, const char *runs_root);

/* ---- compare.c ---- */

struct pf_compare_view {
    struct pf_model *a, *b; /* owned */
    char name_a[256], name_b[256];
    int top;
};

/* ---- sensitivity.c ---- */

#define PF_SENS_RATIOS 4

struct pf_sens_view {
    int n_groups;    /* rows: prunable channel groups */
    int *group;      /* their indices; owned */
    double *acc;     /* n_groups x PF_SENS_RATIOS accuracy after pruning, < 0 = not yet */
    double base_acc; /* accuracy of the unpruned model, < 0 = not yet */
    int row, col;    /* cursor */
    int next;        /* next cell to compute; n_groups * PF_SENS_RATIOS = done */
    bool running;    /* computing (one cell per tick) */
    int n_eval;      /* validation images per cell */
    void *priv;      /* dataset and scratch; owned */
    char note[200];  /* why it cannot run, or "" */
    int gen;         /* app->model_gen the groups are of */
};
extern const double pf_sens_ratios[PF_SENS_RATIOS];

/* ---- help.c ---- */

struct pf_help_view {
    char **lines; /* owned */
    int n;
    int top;
};

/* ---- prompt.c ---- */

struct pf_prompt_view {
    struct pf_prompt_req req; /* copied; req.initial is not kept */
    char title[128];
    char hint[128];
    char text[1024];
    int pos;
};

#endif
