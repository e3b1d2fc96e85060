/* rlsearch.c: the roll-out loop of the DDPG searches (rlsearch.h): agent, records, checkpoints,
 * resume, events and the time estimate. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_cfg.h"
#include "engine/core/pf_file.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/model/plan.h"
#include "engine/model/train.h"
#include "learners/common/compress.h"
#include "learners/common/rlsearch.h"

#define RL_STATE_FORMAT  "pocketflow-rl-search"
#define RL_STATE_VERSION 1
/* rlouts.csv: rlout,reward,best,actor_loss,critic_loss,noise,budget,seconds, then the values */
#define RL_FIXED_COLS 8

struct rl_ctx {
    struct pf_run *r;
    struct pf_rl_search *s;
    char dir[1024]; /* <run dir>/rl, "" = no files */
    int nb_rlouts;
    double best_reward;
    double *best; /* n_steps */
    bool has_best;
};

/* Validation images per reward: rl_nb_smpls_eval, at most the whole validation split. */
static long eval_count(const struct pf_run *r)
{
    long n = pf_opts_int(&r->opts, "rl_nb_smpls_eval");
    return n > (long)r->n_val ? (long)r->n_val : n;
}

/* The uniform strategy's per-image outcomes on the reward's validation images, and the
 * p-value a roll-out must reach against them (rl_uniform_p; rlsearch.h). */
struct uni_gate {
    double p;       /* 1: off */
    long n;         /* images */
    uint8_t *right; /* n: uniform classified image i right */
};

/* Of the images the roll-out (s->pred) and the uniform strategy classify differently (*differ),
 * *won are those only the roll-out gets right; *pv the sign test's p-value of that many wins.
 * Returns whether it clears the gate (always true when it is off). */
static bool gate_passes(const struct uni_gate *g, const struct pf_run *r, const int *pred,
                        long *won, long *differ, double *pv)
{
    *won = *differ = 0;
    *pv = 1.0;
    if (g->p >= 1.0)
        return true;
    *pv = pf_rl_vs_uniform(r, g->n, g->right, pred, won, differ);
    return *differ > 0 && *pv <= g->p;
}

void pf_rl_right(const struct pf_run *r, long n, const int *pred, uint8_t *right)
{
    for (long i = 0; i < n; i++)
        right[i] = pred[i] == r->train->labels[r->val_idx[i]];
}

double pf_rl_vs_uniform(const struct pf_run *r, long n, const uint8_t *right, const int *pred,
                        long *won, long *differ)
{
    *won = *differ = 0;
    for (long i = 0; i < n; i++) {
        bool ok = pred[i] == r->train->labels[r->val_idx[i]];
        if (ok != (bool)right[i]) {
            (*differ)++;
            *won += ok;
        }
    }
    return *differ ? pf_sign_test_p(*differ, *won) : 1.0;
}

/* Strategies equal up to the precision rlouts.csv keeps (%.6g): a resumed search's top list
 * matches an uninterrupted one's. */
static bool same_values(const double *a, const double *b, int n)
{
    for (int t = 0; t < n; t++)
        if (fabs(a[t] - b[t]) > 1e-5 * fmax(1.0, fabs(a[t])))
            return false;
    return true;
}

/* Offers a roll-out's strategy to s->top (rlsearch.h). */
static void top_offer(struct pf_rl_search *s, const double *v, double reward)
{
    int T = s->n_steps, n = s->n_kept;
    if (s->n_top <= 0 || !s->top || same_values(v, s->uniform, T))
        return;
    for (int i = 0; i < n; i++) {
        if (!same_values(&s->top[(size_t)i * T], v, T))
            continue;
        if (reward <= s->top_reward[i])
            return;
        /* seen before at a lower reward: drop that entry, insert anew below */
        memmove(&s->top[(size_t)i * T], &s->top[(size_t)(i + 1) * T],
                (size_t)(n - i - 1) * T * sizeof *s->top);
        memmove(&s->top_reward[i], &s->top_reward[i + 1], (size_t)(n - i - 1) * sizeof(double));
        n--;
        break;
    }
    int pos = 0;
    while (pos < n && s->top_reward[pos] >= reward)
        pos++;
    if (pos >= s->n_top) {
        s->n_kept = n;
        return;
    }
    if (n == s->n_top)
        n--; /* the last one drops out */
    memmove(&s->top[(size_t)(pos + 1) * T], &s->top[(size_t)pos * T],
            (size_t)(n - pos) * T * sizeof *s->top);
    memmove(&s->top_reward[pos + 1], &s->top_reward[pos], (size_t)(n - pos) * sizeof(double));
    memcpy(&s->top[(size_t)pos * T], v, (size_t)T * sizeof *v);
    s->top_reward[pos] = reward;
    s->n_kept = n + 1;
}

/* The top list of a resumed search, from the rows of its rlouts.csv (after the header):
 * rlout,reward,best,actor_loss,critic_loss,noise,budget,seconds,v0,v1,... */
static int top_from_rows(struct pf_rl_search *s, const char *rows, const char *path)
{
    if (s->n_top <= 0 || !s->top)
        return 0;
    double *v = pf_malloc((size_t)s->n_steps * sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    const char *line = strchr(rows, '\n');
    int rc = 0;
    for (int ln = 2; line && line[1]; ln++) {
        line++;
        const char *p = line;
        double reward = 0.0;
        int col = 0, t = 0;
        while (*p && *p != '\n') {
            char *end;
            double x = strtod(p, &end);
            bool wanted = col == 1 || (col >= RL_FIXED_COLS && t < s->n_steps);
            if (wanted && (end == p || !isfinite(x))) {
                rc = PF_ERR(PF_EINVAL, "%s:%d: column %d is not a number", path, ln, col + 1);
                break;
            }
            if (col == 1)
                reward = x;
            else if (wanted)
                v[t++] = x;
            p = end;
            while (*p && *p != ',' && *p != '\n')
                p++;
            if (*p == ',') {
                p++;
                col++;
            }
        }
        if (rc < 0)
            break;
        if (t != s->n_steps) {
            rc = PF_ERR(PF_EINVAL, "%s:%d: expected %d values after the %d fixed columns, found %d",
                        path, ln, s->n_steps, RL_FIXED_COLS, t);
            break;
        }
        top_offer(s, v, reward);
        line = strchr(line, '\n');
    }
    free(v);
    return rc;
}

/* "<prefix><layer name>" cut to an event name. */
static void layer_metric(struct pf_run *r, long step, const char *prefix, int layer, double v)
{
    char full[PF_NAME_MAX + 32], name[sizeof((struct pf_event *)0)->name];
    snprintf(full, sizeof full, "%s%s", prefix, r->model->layers[layer].name);
    size_t n = strlen(full) < sizeof name - 1 ? strlen(full) : sizeof name - 1;
    memcpy(name, full, n); /* cut, as rlsearch.h says */
    name[n] = 0;
    pf_run_metric(r, step, name, v);
}

static int path_in(const struct rl_ctx *c, const char *file, char *out, size_t n)
{
    if (snprintf(out, n, "%s/%s", c->dir, file) >= (int)n)
        return PF_ERR(PF_EINVAL, "%s/%s: path too long", c->dir, file);
    return 0;
}

/* rl/state.yaml: what a resume needs besides the agent. */
static int save_state(const struct rl_ctx *c, int done)
{
    const struct pf_rl_search *s = c->s;
    size_t cap = 512 + (size_t)s->n_steps * 32;
    char *t = pf_malloc(cap), path[1100];
    if (!t)
        return -PF_ENOMEM;
    size_t n = (size_t)snprintf(t, cap,
                                "format: %s\nversion: %d\nkind: %s\nsteps: %d\nseed: %ld\n"
                                "target: %.17g\nreward: \"%s\"\nrlouts_done: %d\n"
                                "best_reward: %.17g\nbest: [",
                                RL_STATE_FORMAT, RL_STATE_VERSION, s->kind, s->n_steps,
                                pf_opts_int(&c->r->opts, "seed"), s->target, s->reward_desc, done,
                                c->has_best ? c->best_reward : -HUGE_VAL);
    for (int t_ = 0; t_ < s->n_steps && c->has_best; t_++)
        n += (size_t)snprintf(t + n, cap - n, "%s%.17g", t_ ? ", " : "", c->best[t_]);
    n += (size_t)snprintf(t + n, cap - n, "]\n");
    int rc = path_in(c, "state.yaml", path, sizeof path);
    if (rc == 0)
        rc = pf_file_write_atomic(path, t, n);
    free(t);
    return rc;
}

static int save_plan(const struct rl_ctx *c, const double *values, const char *file)
{
    struct pf_plan plan = {0};
    char path[1100];
    int rc = pf_plan_init(&plan, c->r->model);
    if (rc == 0) {
        c->s->to_plan(c->s, values, &plan);
        if ((rc = path_in(c, file, path, sizeof path)) == 0)
            rc = pf_plan_save(&plan, c->r->model, path);
    }
    pf_plan_deinit(&plan);
    return rc;
}

static int append_row(const struct rl_ctx *c, const char *row)
{
    char path[1100];
    int rc = path_in(c, "rlouts.csv", path, sizeof path);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "a");
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot append: %s", path, strerror(errno));
    fputs(row, f);
    return fclose(f) == 0 ? 0 : PF_ERR(PF_EIO, "%s: write error", path);
}

/* Loads an earlier search from <from>/rl: checks it is the same search, loads the agent, the
 * best strategy and the roll-out rows (copied into this run's rlouts.csv). *done = roll-outs. */
static int resume(struct rl_ctx *c, struct pf_ddpg *agent, const char *from, int *done)
{
    char path[1100];
    struct pf_cfg *st = NULL;
    char *rows = NULL;
    struct pf_rl_search *s = c->s;
    snprintf(path, sizeof path, "%s/rl/state.yaml", from);
    int rc = pf_cfg_load(path, &st);
    if (rc < 0)
        return rc;
    const char *fmt = NULL, *kind = NULL;
    long version = 0, steps = 0, seed = -1, n_done = 0;
    double best_reward = -HUGE_VAL;
    if ((rc = pf_cfg_str(st, "format", "format", &fmt)) < 0 ||
        (rc = pf_cfg_int(st, "version", "version", &version)) < 0 ||
        (rc = pf_cfg_str(st, "kind", "kind", &kind)) < 0 ||
        (rc = pf_cfg_int(st, "steps", "steps", &steps)) < 0 ||
        (rc = pf_cfg_int(st, "seed", "seed", &seed)) < 0 ||
        (rc = pf_cfg_int(st, "rlouts_done", "rlouts_done", &n_done)) < 0 ||
        (rc = pf_cfg_float(st, "best_reward", "best_reward", &best_reward)) < 0)
        goto out;
    rc = -PF_EINVAL;
    if (!fmt || strcmp(fmt, RL_STATE_FORMAT) || version != RL_STATE_VERSION) {
        PF_ERR(PF_EINVAL, "%s: not a pocketflow RL search state (format %s version %d)", path,
               RL_STATE_FORMAT, RL_STATE_VERSION);
        goto out;
    }
    if (!kind || strcmp(kind, s->kind) || steps != s->n_steps) {
        PF_ERR(PF_EINVAL, "%s: a %s search of %ld layers cannot be resumed as a %s search of %d",
               path, kind ? kind : "?", steps, s->kind, s->n_steps);
        goto out;
    }
    if (seed != pf_opts_int(&c->r->opts, "seed")) {
        PF_ERR(PF_EINVAL, "%s: the search used --seed=%ld; resume it with the same seed", path,
               seed);
        goto out;
    }
    const struct pf_cfg *tg = pf_cfg_get(st, "target"); /* absent in older states */
    double target = s->target;
    if (tg && (rc = pf_cfg_as_float(tg, "target", &target)) < 0)
        goto out;
    rc = -PF_EINVAL;
    if (fabs(target - s->target) > 1e-9 * fmax(1.0, fabs(s->target))) {
        PF_ERR(PF_EINVAL,
               "%s: the search was for a budget of %g, this run asks for %g; resume it "
               "with the same budget",
               path, target, s->target);
        goto out;
    }
    const struct pf_cfg *rw = pf_cfg_get(st, "reward"); /* absent in older states */
    const char *desc = s->reward_desc;
    if (rw && (rc = pf_cfg_as_str(rw, "reward", &desc)) < 0)
        goto out;
    rc = -PF_EINVAL;
    if (strcmp(desc, s->reward_desc)) {
        PF_ERR(PF_EINVAL,
               "%s: the search's reward was '%s', this run's is '%s'; resume it with "
               "the same reward options",
               path, desc, s->reward_desc);
        goto out;
    }
    if (n_done < 0 || n_done > c->nb_rlouts) {
        PF_ERR(PF_EINVAL, "%s: %ld roll-out%s done, but this run asks for %d in all", path, n_done,
               n_done == 1 ? "" : "s", c->nb_rlouts);
        goto out;
    }
    const struct pf_cfg *best = pf_cfg_get(st, "best");
    if (best && best->n > 0) {
        if (best->kind != PF_CFG_SEQ || (int)best->n != s->n_steps) {
            rc = pf_cfg_err(best ? best : st, "best: expected a list of %d values", s->n_steps);
            goto out;
        }
        for (int t = 0; t < s->n_steps; t++)
            if ((rc = pf_cfg_as_float(best->items[t], "best value", &c->best[t])) < 0)
                goto out;
        c->has_best = true;
        c->best_reward = best_reward;
    }
    snprintf(path, sizeof path, "%s/rl/agent.bin", from);
    if ((rc = pf_ddpg_load(agent, path)) < 0)
        goto out;
    snprintf(path, sizeof path, "%s/rl/rlouts.csv", from);
    if ((rc = pf_file_read(path, &rows, NULL)) < 0)
        goto out;
    /* keep the rows of the roll-outs the state counts (a crash may add one) */
    int lines = 0;
    char *p = rows;
    while (*p && lines <= n_done) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
        lines++;
    }
    *p = 0;
    if ((rc = top_from_rows(s, rows, path)) < 0)
        goto out;
    if (c->dir[0]) {
        if ((rc = path_in(c, "rlouts.csv", path, sizeof path)) == 0)
            rc = pf_file_write_atomic(path, rows, strlen(rows));
        if (rc < 0)
            goto out;
    }
    *done = (int)n_done;
    pf_run_log(c->r, "RL search resumed from %s after %ld roll-out%s (best reward %.4f)", from,
               n_done, n_done == 1 ? "" : "s", c->has_best ? c->best_reward : 0.0);
    rc = 0;
out:
    free(rows);
    pf_cfg_free(st);
    return rc;
}

static int open_files(struct rl_ctx *c)
{
    if (!c->r->dir[0])
        return 0;
    snprintf(c->dir, sizeof c->dir, "%s/rl", c->r->dir);
    if (mkdir(c->dir, 0777) != 0 && errno != EEXIST)
        return PF_ERR(PF_EIO, "%s: cannot create: %s", c->dir, strerror(errno));
    return 0;
}

static int write_header(const struct rl_ctx *c)
{
    char path[1100];
    int rc = path_in(c, "rlouts.csv", path, sizeof path);
    if (rc < 0)
        return rc;
    size_t cap = 256 + (size_t)c->s->n_steps * (PF_NAME_MAX + 2);
    char *h = pf_malloc(cap);
    if (!h)
        return -PF_ENOMEM;
    size_t n =
        (size_t)snprintf(h, cap, "rlout,reward,best,actor_loss,critic_loss,noise,budget,seconds");
    for (int t = 0; t < c->s->n_steps; t++)
        n += (size_t)snprintf(h + n, cap - n, ",%s", c->r->model->layers[c->s->layer[t]].name);
    n += (size_t)snprintf(h + n, cap - n, "\n");
    rc = pf_file_write_atomic(path, h, n);
    free(h);
    return rc;
}

int pf_rl_run(struct pf_run *r, struct pf_rl_search *s, int nb_rlouts, double *best, int *done)
{
    struct rl_ctx c = {.r = r, .s = s, .nb_rlouts = nb_rlouts, .best = best};
    struct pf_ddpg *agent = NULL;
    struct pf_ddpg_cfg dc;
    struct uni_gate gate = {0};
    int T = s->n_steps, rc, start = 0, gated = 0;
    *done = 0;
    s->n_kept = 0;
    if (T < 1)
        return PF_ERR(PF_EINVAL, "RL search: no layer to decide");
    if (!r->n_val)
        return PF_ERR(PF_EINVAL, "an RL search needs a validation split (nb_smpls_val > 0): its "
                                 "rewards never come from the test set");
    float *st = pf_calloc((size_t)(T + 1) * s->s_dims, sizeof *st);
    float *act = pf_calloc((size_t)T, sizeof *act);
    double *values = pf_calloc((size_t)T, sizeof *values);
    double *rewards = pf_calloc((size_t)T, sizeof *rewards);
    size_t row_cap = 256 + (size_t)T * 32;
    char *row = pf_malloc(row_cap);
    gate.p = s->acc_reward ? pf_opts_float(&r->opts, "rl_uniform_p") : 1.0;
    if (gate.p < 1.0) {
        gate.n = eval_count(r);
        gate.right = pf_malloc((size_t)gate.n);
        s->pred = pf_malloc((size_t)gate.n * sizeof *s->pred);
        if (!gate.right || !s->pred) {
            rc = -PF_ENOMEM;
            goto out;
        }
    }
    if (!st || !act || !values || !rewards || !row) {
        rc = -PF_ENOMEM;
        goto out;
    }
    pf_ddpg_cfg_default(&dc);
    pf_ddpg_cfg_from_opts(&dc, &r->opts);
    dc.s_dims = s->s_dims;
    dc.a_dims = 1;
    dc.a_min = s->a_min;
    dc.a_max = s->a_max;
    dc.nb_rlouts = nb_rlouts;
    dc.buf_size = s->buf_size;
    dc.seed = (uint64_t)pf_opts_int(&r->opts, "seed") * 0x9E3779B97F4A7C15ull + 0x5D;
    if (dc.batch_size > dc.buf_size)
        dc.batch_size = dc.buf_size;
    if ((rc = pf_ddpg_new(&agent, &dc)) < 0 || (rc = open_files(&c)) < 0)
        goto out;
    const char *from = pf_opts_str(&r->opts, "rl_resume");
    if (from[0]) {
        if ((rc = resume(&c, agent, from, &start)) < 0)
            goto out;
        *done = start;
    } else if (c.dir[0] && (rc = write_header(&c)) < 0) {
        goto out;
    }
    if (c.dir[0] && (rc = save_plan(&c, s->uniform, "uniform.plan.yaml")) < 0)
        goto out;
    pf_run_metric(r, 0, "rl_target", s->target);
    for (int t = 0; t < T; t++)
        layer_metric(r, 0, "rl_uniform/", s->layer[t], s->uniform[t]);
    long n_eval = eval_count(r);
    pf_run_log(r,
               "RL search (%s): %d layer%s, %d roll-out%s, reward on %ld validation images%s, "
               "buffer %d transitions",
               s->kind, T, T == 1 ? "" : "s", nb_rlouts, nb_rlouts == 1 ? "" : "s", n_eval,
               n_eval < pf_opts_int(&r->opts, "rl_nb_smpls_eval")
                   ? " (the whole validation split; rl_nb_smpls_eval asks for more)"
                   : "",
               s->buf_size);
    int fill_rlouts = (s->buf_size + T - 1) / T; /* the agent trains once its buffer is full */
    if (fill_rlouts >= nb_rlouts)
        pf_run_log(r,
                   "RL: the agent trains once its buffer is full, after %d roll-out%s; with %d it "
                   "never trains and the search is random exploration (raise nb_rlouts or lower "
                   "nb_rlouts_min)",
                   fill_rlouts, fill_rlouts == 1 ? "" : "s", nb_rlouts);
    /* the uniform strategy first: the best never scores below it (a resume re-evaluates it for
     * the gate's per-image outcomes) */
    double ru = 0.0, bu = 0.0;
    if (start == 0 || gate.p < 1.0) {
        memcpy(values, s->uniform, (size_t)T * sizeof *values);
        if (s->begin)
            s->begin(s, -1);
        r->mute++;
        rc = s->evaluate(s, values, -1, &ru, &bu);
        r->mute--;
        if (rc < 0)
            goto out;
        pf_rl_right(r, gate.n, s->pred, gate.right);
    }
    if (start == 0) {
        c.has_best = true;
        c.best_reward = ru;
        memcpy(best, values, (size_t)T * sizeof *best);
        pf_run_metric(r, 0, "rl_uniform_reward", ru);
        pf_run_log(r, "RL: the uniform strategy scores %.4f (%s %.4f); roll-outs must beat it%s",
                   ru, s->value, bu,
                   gate.p < 1.0 ? ", by more than the noise of the validation sample" : "");
        if (c.dir[0] &&
            ((rc = save_plan(&c, best, "best.plan.yaml")) < 0 || (rc = save_state(&c, 0)) < 0))
            goto out;
    }
    double t_sum = 0.0;
    int timed = 0;
    bool beaten = start > 0;
    for (int k = start; k < nb_rlouts; k++) {
        if (pf_run_stopped(r)) {
            rc = -PF_ECANCELLED;
            goto out;
        }
        double t0 = pf_now_s();
        if (s->begin)
            s->begin(s, k);
        pf_ddpg_init_rlout(agent);
        for (int t = 0; t < T; t++) {
            s->state(s, t, st + (size_t)t * s->s_dims);
            pf_ddpg_act(agent, st + (size_t)t * s->s_dims, true, &act[t]);
            values[t] = s->decide(s, t, act[t]);
        }
        if (s->complete)
            s->complete(s, values);
        memcpy(st + (size_t)T * s->s_dims, st + (size_t)(T - 1) * s->s_dims,
               (size_t)s->s_dims * sizeof *st);
        double reward = 0.0, budget = 0.0;
        r->mute++;
        rc = s->evaluate(s, values, k, &reward, &budget);
        r->mute--;
        if (rc < 0)
            goto out;
        for (int t = 0; t < T; t++) {
            pf_ddpg_record(agent, st + (size_t)t * s->s_dims, &act[t], reward,
                           st + (size_t)(t + 1) * s->s_dims, t == T - 1);
            rewards[t] = reward;
        }
        pf_ddpg_finalize_rlout(agent, rewards, T);
        double la = 0.0, lc = 0.0;
        int trained = 0;
        for (int i = 0; i < s->train_per_rlout; i++) {
            double a_, c_;
            int tr = pf_ddpg_train(agent, &a_, &c_);
            if (tr < 0) {
                rc = tr;
                goto out;
            }
            if (tr == 0) {
                la += a_;
                lc += c_;
                trained++;
            }
        }
        if (trained) {
            la /= trained;
            lc /= trained;
        }
        top_offer(s, values, reward);
        long won = 0, differ = 0;
        double pv = 1.0;
        bool improved = !c.has_best || reward > c.best_reward;
        if (improved && !gate_passes(&gate, r, s->pred, &won, &differ, &pv)) {
            improved = false;
            gated++;
            pf_run_log(r,
                       "RL roll-out %d: reward %.4f above the best, but of the %ld images it and "
                       "the uniform strategy classify differently it gets %ld right and uniform "
                       "%ld (sign test p = %.3g > rl_uniform_p %g): not taken",
                       k + 1, reward, differ, won, differ - won, pv, gate.p);
        }
        beaten |= improved;
        if (improved) {
            c.has_best = true;
            c.best_reward = reward;
            memcpy(best, values, (size_t)T * sizeof *best);
        }
        double secs = pf_now_s() - t0;
        t_sum += secs;
        timed++;
        long step = k + 1;
        /* files first: a crash after this point resumes after roll-out k */
        if (c.dir[0]) {
            char sa[32] = "", sc[32] = ""; /* empty until the agent trains */
            if (trained) {
                snprintf(sa, sizeof sa, "%.6g", la);
                snprintf(sc, sizeof sc, "%.6g", lc);
            }
            size_t n =
                (size_t)snprintf(row, row_cap, "%d,%.6f,%.6f,%s,%s,%.6g,%.6f,%.3f", k + 1, reward,
                                 c.best_reward, sa, sc, pf_ddpg_noise_std(agent), budget, secs);
            for (int t = 0; t < T; t++)
                n += (size_t)snprintf(row + n, row_cap - n, ",%.6g", values[t]);
            snprintf(row + n, row_cap - n, "\n");
            char path[1100];
            if ((rc = append_row(&c, row)) < 0 ||
                (rc = path_in(&c, "agent.bin", path, sizeof path)) < 0 ||
                (rc = pf_ddpg_save(agent, path)) < 0 || (rc = save_state(&c, k + 1)) < 0 ||
                (improved && (rc = save_plan(&c, best, "best.plan.yaml")) < 0))
                goto out;
        }
        *done = k + 1;
        pf_run_metric(r, step, "rl_reward", reward);
        pf_run_metric(r, step, "rl_best", c.best_reward);
        pf_run_metric(r, step, "rl_noise", pf_ddpg_noise_std(agent));
        pf_run_metric(r, step, "rl_budget", budget);
        pf_run_metric(r, step, "rl_seconds", secs);
        if (trained) {
            pf_run_metric(r, step, "rl_actor_loss", la);
            pf_run_metric(r, step, "rl_critic_loss", lc);
        }
        for (int t = 0; t < T; t++)
            layer_metric(r, step, "rl_value/", s->layer[t], values[t]);
        if (improved)
            for (int t = 0; t < T; t++)
                layer_metric(r, step, "rl_bestv/", s->layer[t], best[t]);
        double left = t_sum / timed * (nb_rlouts - k - 1);
        char phase[96];
        snprintf(phase, sizeof phase, "RL roll-out %d/%d, ~%.0f s left", k + 1, nb_rlouts, left);
        pf_run_progress(r, step, (double)(k + 1) / nb_rlouts, phase);
        if (k == start)
            pf_run_log(r, "RL: the first roll-out took %.1f s: about %.0f s for the %d left", secs,
                       left, nb_rlouts - k - 1);
        pf_run_log(r, "RL roll-out %d/%d: reward %.4f (best %.4f), %s %.4f, noise %.3g%s", k + 1,
                   nb_rlouts, reward, c.best_reward,
                   !strcmp(s->kind, "channel")    ? "kept MACs"
                   : !strcmp(s->kind, "sparsity") ? "sparsity"
                                                  : "bits",
                   budget, pf_ddpg_noise_std(agent), trained ? "" : " (filling the buffer)");
    }
    if (!beaten)
        pf_run_log(r, "RL: no roll-out beat the uniform strategy: it is the result%s",
                   gated ? " (some scored higher, within the noise of the validation sample)" : "");
    rc = 0;
out:
    if (rc == 0 && !c.has_best)
        rc = PF_ERR(PF_EINVAL, "RL search: no roll-out finished");
    pf_ddpg_free(agent);
    free(gate.right);
    free(s->pred);
    s->pred = NULL;
    free(st);
    free(act);
    free(values);
    free(rewards);
    free(row);
    return rc;
}

int pf_rl_val_accuracy(struct pf_run *r, struct pf_rl_search *s, double *acc)
{
    struct pf_eval_result res;
    int rc = pf_evaluate(r->model, r->train, r->val_idx, (uint32_t)eval_count(r), 100, &res,
                         s ? s->pred : NULL);
    if (rc == 0)
        *acc = res.accuracy;
    return rc;
}

uint64_t pf_rl_rlout_seed(const struct pf_run *r, int rlout)
{
    return (uint64_t)pf_opts_int(&r->opts, "seed") * 1000003u + (uint64_t)rlout;
}

int pf_rl_finetune(struct pf_run *r, struct pf_model *m, long steps, double lrn_rate, uint64_t seed)
{
    if (steps <= 0)
        return 0;
    struct pf_train_cfg tc;
    pf_run_train_cfg(r, &tc);
    tc.optim.kind = PF_OPTIM_ADAM;
    tc.optim.weight_decay = 0.0;
    tc.sched.kind = PF_LR_CONSTANT;
    tc.sched.lrn_rate_init = lrn_rate;
    tc.sched.batch_size_norm = tc.batch;
    tc.nb_epochs_rat = 1.0;
    tc.augment = false;
    tc.seed = seed;
    pf_train_cfg_set_epochs(&tc, (double)steps * tc.batch / (double)r->n_train);
    return pf_train(m, r->train, r->train_idx, r->n_train, &tc, NULL, NULL);
}

int pf_rl_bn_recalibrate(struct pf_run *r, struct pf_model *m, long batches, uint64_t seed)
{
    struct pf_train_cfg tc;
    pf_run_train_cfg(r, &tc);
    return pf_bn_recalibrate(m, r->train, r->train_idx, r->n_train, (int)batches, tc.batch, seed);
}

double pf_rl_bisect(double lo, double hi, bool (*fits)(void *user, double u), void *user)
{
    if (fits(user, hi))
        return hi;
    for (int i = 0; i < 50; i++) {
        double mid = 0.5 * (lo + hi);
        if (fits(user, mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int pf_rl_plan_new(const struct pf_run *r, const struct pf_rl_search *s, const double *values,
                   struct pf_plan **out)
{
    struct pf_plan *plan = calloc(1, sizeof *plan);
    int rc = plan ? pf_plan_init(plan, r->model) : -PF_ENOMEM;
    if (rc < 0) {
        free(plan); /* a failed init holds nothing */
        *out = NULL;
        return rc;
    }
    s->to_plan(s, values, plan);
    *out = plan;
    return 0;
}

int pf_rl_search_plan(struct pf_run *r, struct pf_rl_search *s, int nb_rlouts, struct pf_plan **out)
{
    int done = 0;
    *out = NULL;
    double *best = pf_calloc((size_t)s->n_steps, sizeof *best);
    if (!best)
        return -PF_ENOMEM;
    int rc = pf_rl_run(r, s, nb_rlouts, best, &done);
    if (rc == 0 || (rc == -PF_ECANCELLED && done > 0)) {
        int rc2 = pf_rl_plan_new(r, s, best, out);
        if (rc2 < 0)
            rc = rc2;
    }
    free(best);
    return rc;
}

double pf_rl_scale_columns(double *feat, int rows, int cols, int first, int last)
{
    double mx = 0.0;
    for (int j = first; j < last; j++) {
        mx = 0.0;
        for (int t = 0; t < rows; t++)
            mx = fmax(mx, feat[(size_t)t * cols + j]);
        for (int t = 0; t < rows && mx > 0.0; t++)
            feat[(size_t)t * cols + j] /= mx;
    }
    return mx;
}
