/* check_rlsearch.c: the DDPG searches (rlsearch.h): no strategy ever breaks its budget (random
 * actions over many roll-outs, each search, the budget recomputed independently: the profiler
 * over the plan for MACs, weight counts for sparsity and bits); a whole channel search writes its
 * records and its best plan; a search stopped after k roll-outs and resumed gives the same next
 * roll-outs as an uninterrupted one; CPR's auto mode searches its own steps and keeps the
 * budget; the channel roll-out fine-tune changes only the reward; a roll-out replaces the uniform
 * strategy only when its per-image wins pass rl_uniform_p's sign test; the top list keeps the
 * best distinct strategies, and the channel finalists keep the most accurate fine-tuned one, also
 * after a resume; bad resumes, unreachable
 * budgets and a run without a validation split fail with clear messages. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_file.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "engine/model/groups.h"
#include "engine/model/profile.h"
#include "helpers/pf_test_compress.h"
#include "learners/common/chanprune.h"
#include "learners/common/compress.h"
#include "learners/common/quant_ft.h"
#include "learners/common/rlsearch.h"

static char dir[64];
static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

/* One roll-out of random actions (a third at the bounds) through s; values into v. */
static void random_rlout(struct pf_rl_search *s, struct pf_rng *rng, int k, double *v)
{
    float st[512];
    ck_assert_int_le(s->s_dims, 512);
    if (s->begin)
        s->begin(s, k);
    for (int t = 0; t < s->n_steps; t++) {
        s->state(s, t, st);
        for (int j = 0; j < s->s_dims; j++)
            ck_assert_msg(isfinite(st[j]), "state %d of step %d is not finite", j, t);
        double u = pf_rng_uniform(rng), a;
        int pick = (int)pf_rng_below(rng, 3);
        a = pick == 0 ? s->a_min : pick == 1 ? s->a_max : s->a_min + u * (s->a_max - s->a_min);
        v[t] = s->decide(s, t, a);
    }
    if (s->complete)
        s->complete(s, v);
}

static struct pf_cp_spec spec_for_test(void)
{
    return (struct pf_cp_spec){
        .name = "channel", .ratio = 0.5, .skip_first = true, .skip_last = true, .round_to = 1};
}

static void channel_budget(const char *net, double preserve)
{
    struct pf_run *r = pf_test_run("channel", net);
    struct pf_cp_spec spec = spec_for_test();
    struct pf_rl_search *s = NULL;
    ck_assert_msg(pf_rl_channel_new(r, &spec, preserve, 5, false, 0.15, true, &s) == 0, "%s",
                  pf_err_msg());
    ck_assert_int_gt(s->n_steps, 0);
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_groups_build(r->model, &g), 0);
    struct pf_rng rng;
    pf_rng_seed(&rng, 7);
    double *v = calloc((size_t)s->n_steps, sizeof *v);
    double lbound = 1.5 * log10(1.0 + preserve);
    for (int k = 0; k < 150; k++) {
        random_rlout(s, &rng, k, v);
        struct pf_plan plan = {0};
        ck_assert_int_eq(pf_plan_init(&plan, r->model), 0);
        s->to_plan(s, v, &plan);
        struct pf_profile *prof = NULL;
        ck_assert_msg(pf_profile_new(r->model, g, &plan, &prof) == 0, "%s", pf_err_msg());
        double kept = (double)prof->after.macs / (double)prof->before.macs;
        ck_assert_msg(kept <= preserve + 1e-12, "%s roll-out %d keeps %.6f of the MACs > %g", net,
                      k, kept, preserve);
        /* filled: what is left over is less than about one channel per group */
        ck_assert_msg(kept >= preserve - 0.03, "%s roll-out %d keeps %.6f of the MACs << %g", net,
                      k, kept, preserve);
        for (int t = 0; t < s->n_steps; t++)
            ck_assert_msg(v[t] > 0.0 && v[t] <= 1.0 && v[t] >= lbound - 0.5 / 8,
                          "step %d value %g outside [%g, 1]", t, v[t], lbound);
        pf_profile_free(prof);
        pf_plan_deinit(&plan);
    }
    free(v);
    pf_groups_free(g);
    pf_rl_search_free(s);
    pf_run_free(r);
}

START_TEST(test_channel_budget_chain)
{
    channel_budget("assets/nets/fmnist_bn.yaml", 0.5);
    channel_budget("assets/nets/fmnist_bn.yaml", 0.7);
}
END_TEST

START_TEST(test_channel_budget_resnet)
{
    channel_budget("assets/nets/resnet20_fmnist.yaml", 0.5);
    channel_budget("assets/nets/resnet20_fmnist.yaml", 0.25);
}
END_TEST

START_TEST(test_sparsity_budget)
{
    struct pf_run *r = pf_test_run("weight-sparse", "assets/nets/convnet_fmnist.yaml");
    struct pf_wtarget *t = NULL;
    int n = 0;
    ck_assert_int_eq(pf_wtargets_list(r->model, &t, &n), 0);
    const double prs[] = {0.5, 0.75, 0.9};
    for (int q = 0; q < 3; q++) {
        double pr = prs[q];
        struct pf_rl_search *s = NULL;
        ck_assert_msg(pf_rl_sparsity_new(r, pr, &s) == 0, "%s", pf_err_msg());
        ck_assert_int_eq(s->n_steps, n);
        struct pf_rng rng;
        pf_rng_seed(&rng, 11 + q);
        double v[64];
        for (int k = 0; k < 200; k++) {
            random_rlout(s, &rng, k, v);
            double zeros = 0.0, all = 0.0;
            for (int j = 0; j < n; j++) {
                ck_assert(v[j] >= 0.0 && v[j] <= 1.0 - (1.0 - pr) / 3.0 + 1e-12);
                zeros += v[j] * (double)t[j].numel;
                all += (double)t[j].numel;
            }
            ck_assert_msg(zeros >= pr * all - 1e-6, "roll-out %d: sparsity %.6f < %g", k,
                          zeros / all, pr);
        }
        pf_rl_search_free(s);
    }
    free(t);
    pf_run_free(r);
}
END_TEST

START_TEST(test_bits_budget)
{
    struct pf_run *r = pf_test_run("uniform", "assets/nets/convnet_fmnist.yaml");
    struct pf_quant_ft_cfg qc = {.mode = PF_QMODE_UNIFORM,
                                 .w_bits = 4,
                                 .a_bits = 32,
                                 .bucket_type = "channel",
                                 .bucket_size = 256,
                                 .prefix = "uql_"};
    struct pf_wtarget *t = NULL;
    int n = 0;
    ck_assert_int_eq(pf_wtargets_list(r->model, &t, &n), 0);
    const char *eqs[] = {"2", "3.5", "4", "6"};
    for (int q = 0; q < 4; q++) {
        ck_assert_int_eq(pf_opts_set(&r->opts, "uql_equivalent_bits", eqs[q], "t"), 0);
        double eq = atof(eqs[q]);
        struct pf_rl_search *s = NULL;
        ck_assert_msg(pf_rl_bits_new(r, &qc, "uql_", &s) == 0, "%s", pf_err_msg());
        ck_assert_int_eq(s->n_steps, n - 2); /* first and last stay float */
        struct pf_rng rng;
        pf_rng_seed(&rng, 3 + q);
        double v[64];
        for (int k = 0; k < 200; k++) {
            random_rlout(s, &rng, k, v);
            struct pf_plan plan = {0};
            ck_assert_int_eq(pf_plan_init(&plan, r->model), 0);
            s->to_plan(s, v, &plan);
            double bits = 0.0, all = 0.0;
            for (int j = 1; j < n - 1; j++) {
                int b = plan.layers[t[j].layer].w_bits;
                ck_assert_msg(b >= 2 && b <= 8, "layer %d gets %d bits", j, b);
                bits += b * (double)t[j].numel;
                all += (double)t[j].numel;
            }
            ck_assert_int_eq(plan.layers[t[0].layer].w_bits, 32);
            ck_assert_int_eq(plan.layers[t[n - 1].layer].w_bits, 32);
            ck_assert_msg(bits <= eq * all + 1e-6, "roll-out %d: %.4f bits > %g", k, bits / all,
                          eq);
            /* and no layer below 8 bits could take one more */
            for (int j = 1; j < n - 1; j++)
                ck_assert_msg(plan.layers[t[j].layer].w_bits == 8 ||
                                  bits + (double)t[j].numel > eq * all + 1e-6,
                              "roll-out %d: %.4f bits, layer %d could take one more", k, bits / all,
                              j);
            pf_plan_deinit(&plan);
        }
        pf_rl_search_free(s);
    }
    /* a budget outside [w_bit_min, w_bit_max] is refused, naming the option */
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_equivalent_bits", "9", "t"), 0);
    struct pf_rl_search *s = NULL;
    ck_assert_int_eq(pf_rl_bits_new(r, &qc, "uql_", &s), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "uql_equivalent_bits"));
    free(t);
    pf_run_free(r);
}
END_TEST

/* ---- whole searches ---- */

struct stopper {
    int stop_at; /* cancel when rl_reward of this roll-out arrives (0: never) */
    struct pf_run *r;
    int rewards, values, progress;
    int n_final; /* rl_final_acc events (the finalists' validation accuracies, by step) */
    double final_acc[8];
};

static void on_event(const struct pf_event *e, void *user)
{
    struct stopper *s = user;
    if (e->kind == PF_EV_METRIC && !strcmp(e->name, "rl_reward")) {
        s->rewards++;
        if (s->stop_at && e->step == s->stop_at)
            pf_run_cancel(s->r);
    }
    if (e->kind == PF_EV_METRIC && !strncmp(e->name, "rl_value/", 9))
        s->values++;
    if (e->kind == PF_EV_PROGRESS && strstr(e->text, "RL roll-out"))
        s->progress++;
    if (e->kind == PF_EV_METRIC && !strcmp(e->name, "rl_final_acc")) {
        ck_assert_int_eq(e->step, s->n_final); /* uniform first, then the search's best */
        ck_assert_int_lt(s->n_final, 8);
        s->final_acc[s->n_final++] = e->value;
    }
}

static const char *trained_model(void)
{
    static char path[256];
    snprintf(path, sizeof path, "%s", pf_test_trained(dir, "m.h5", pf_test_bn_yaml, 1.0));
    return path;
}

/* A channel search of n roll-outs on model (cancelled after stop_at when > 0), resumed from
 * `from` when not NULL; returns the run directory in out. */
static int channel_search(const char *model, int n, int stop_at, const char *from, char *out,
                          size_t len, struct stopper *st)
{
    struct pf_run *r = pf_test_run("channel", model);
    const char *kv[][2] = {{"cp_prune_option", "auto"}, {"cp_preserve_ratio", "0.6"},
                           {"cp_nb_batches", "2"},      {"cp_nb_rlouts_min", "1"},
                           {"nb_epochs", "0"},          {"rl_nb_smpls_eval", "100"},
                           {"ddpg_batch_size", "8"},    {"seed", "5"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_int_eq(pf_opts_set(&r->opts, kv[i][0], kv[i][1], "t"), 0);
    char nb[16];
    snprintf(nb, sizeof nb, "%d", n);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_nb_rlouts", nb, "t"), 0);
    if (from)
        ck_assert_int_eq(pf_opts_set(&r->opts, "rl_resume", from, "t"), 0);
    ck_assert_int_eq(pf_run_open_dir(r, dir), 0);
    snprintf(out, len, "%s", r->dir);
    *st = (struct stopper){.stop_at = stop_at, .r = r};
    r->on_event = on_event;
    r->user = st;
    int rc = pf_run_exec(r);
    pf_run_free(r);
    return rc;
}

/* rlouts.csv rows without the seconds column (the 8th). */
static char **rows_of(const char *run_dir, int *n)
{
    char path[1100], *text = NULL;
    snprintf(path, sizeof path, "%s/rl/rlouts.csv", run_dir);
    ck_assert_msg(pf_file_read(path, &text, NULL) == 0, "%s", pf_err_msg());
    char **rows = calloc(64, sizeof *rows);
    *n = 0;
    for (char *line = strtok(text, "\n"); line && *n < 64; line = strtok(NULL, "\n")) {
        char *row = calloc(strlen(line) + 1, 1), *o = row;
        int col = 0;
        for (const char *p = line; *p; p++) {
            if (*p == ',')
                col++;
            if (col != 7 || *p == ',')
                *o++ = *p;
        }
        rows[(*n)++] = row;
    }
    free(text);
    return rows;
}

static void free_rows(char **rows, int n)
{
    for (int i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
}

/* The MACs of the model at path before and after the plan file plan_path (the profiler). */
static void plan_macs_of(const char *path, const char *plan_path, uint64_t *before, uint64_t *after)
{
    struct pf_model *m = NULL;
    ck_assert_int_eq(pf_model_load(path, &m, NULL, 0), 0);
    struct pf_plan plan = {0};
    ck_assert_int_eq(pf_plan_init(&plan, m), 0);
    ck_assert_msg(pf_plan_load(&plan, m, plan_path) == 0, "%s", pf_err_msg());
    struct pf_groups *g = NULL;
    struct pf_profile *prof = NULL;
    ck_assert_int_eq(pf_groups_build(m, &g), 0);
    ck_assert_int_eq(pf_profile_new(m, g, &plan, &prof), 0);
    *before = prof->before.macs;
    *after = prof->after.macs;
    pf_profile_free(prof);
    pf_groups_free(g);
    pf_plan_deinit(&plan);
    pf_model_free(m);
}

START_TEST(test_channel_search_resume)
{
    const char *model = trained_model();
    char a[1024], b[1024], c[1024];
    struct stopper sa, sb, sc;
    ck_assert_msg(channel_search(model, 6, 0, NULL, a, sizeof a, &sa) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(sa.rewards, 6);
    ck_assert_int_gt(sa.values, 0);
    ck_assert_int_eq(sa.progress, 6);
    ck_assert_int_eq(channel_search(model, 6, 3, NULL, b, sizeof b, &sb), -PF_ECANCELLED);
    ck_assert_int_eq(sb.rewards, 3);
    ck_assert_msg(channel_search(model, 6, 0, b, c, sizeof c, &sc) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(sc.rewards, 3); /* only the roll-outs after the resume */
    int na, nc;
    char **ra = rows_of(a, &na), **rc_ = rows_of(c, &nc);
    ck_assert_int_eq(na, 7); /* header + 6 */
    ck_assert_int_eq(nc, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_msg(!strcmp(ra[i], rc_[i]),
                      "row %d differs:\n  uninterrupted %s\n  resumed     "
                      "  %s",
                      i, ra[i], rc_[i]);
    free_rows(ra, na);
    free_rows(rc_, nc);
    /* the best strategy is a plan file the profiler reads */
    char path[1100];
    snprintf(path, sizeof path, "%s/rl/best.plan.yaml", a);
    uint64_t before, after;
    plan_macs_of(model, path, &before, &after);
    ck_assert_double_le((double)after / (double)before, 0.6);
    ck_assert_uint_lt(after, before);
}
END_TEST

START_TEST(test_search_errors)
{
    const char *model = trained_model();
    char out[1024];
    struct stopper st;
    /* resume from nowhere */
    ck_assert_int_lt(channel_search(model, 2, 0, "/nonexistent/run", out, sizeof out, &st), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "/nonexistent/run/rl/state.yaml"));
    /* resume a search of another kind */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/fake", dir);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/rl", bad);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/rl/state.yaml", bad);
    const char *yaml = "format: pocketflow-rl-search\nversion: 1\nkind: bits\nsteps: 3\nseed: 5\n"
                       "rlouts_done: 1\nbest_reward: 0.5\nbest: [4, 4, 4]\n";
    ck_assert_int_eq(pf_file_write_atomic(cmd, yaml, strlen(yaml)), 0);
    ck_assert_int_lt(channel_search(model, 2, 0, bad, out, sizeof out, &st), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "bits search"));
    /* a budget the smallest ratios cannot reach */
    struct pf_run *r = pf_test_run("channel", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_prune_option", "auto", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_preserve_ratio", "0.01", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "out of reach"));
    pf_run_free(r);
    /* no validation split: rewards never come from the test set */
    r = pf_test_run("channel", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_prune_option", "auto", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cp_nb_batches", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "validation split"));
    pf_run_free(r);
}
END_TEST

/* CPR's auto mode: the channel search with CPR's selection and skip rules (the last conv's input
 * is a step, CP's never is), then the list procedure: the pruned model keeps at most the budget
 * of MACs, and the best strategy is in the run's plan file. */
START_TEST(test_cpr_auto)
{
    const char *model = trained_model();
    struct pf_run *r = pf_test_run("chn-pruned-rmt", model);
    const char *kv[][2] = {
        {"cpr_prune_option", "auto"}, {"cpr_preserve_ratio", "0.6"}, {"cpr_nb_smpls", "64"},
        {"cpr_nb_rlouts", "3"},       {"cpr_nb_rlouts_min", "1"},    {"nb_epochs", "0"},
        {"rl_nb_smpls_eval", "100"},  {"ddpg_batch_size", "8"},      {"seed", "5"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_int_eq(pf_opts_set(&r->opts, kv[i][0], kv[i][1], "t"), 0);
    struct pf_count before, after;
    pf_model_count(r->model, &before);
    ck_assert_int_eq(pf_run_open_dir(r, dir), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    pf_model_count(r->model, &after);
    ck_assert_msg((double)after.macs <= 0.6 * (double)before.macs, "%llu of %llu MACs",
                  (unsigned long long)after.macs, (unsigned long long)before.macs);
    char path[1100], *text = NULL;
    snprintf(path, sizeof path, "%s/rl/rlouts.csv", r->dir);
    ck_assert_msg(pf_file_read(path, &text, NULL) == 0, "%s", pf_err_msg());
    ck_assert_ptr_nonnull(strstr(text, ",conv2,conv3\n")); /* both convs after the first */
    free(text);
    snprintf(path, sizeof path, "%s/rl/best.plan.yaml", r->dir);
    ck_assert_msg(pf_file_read(path, &text, NULL) == 0, "%s", pf_err_msg());
    ck_assert_ptr_nonnull(strstr(text, "conv3: {prune_ratio:"));
    free(text);
    pf_run_free(r);
    /* out-of-range budget */
    r = pf_test_run("chn-pruned-rmt", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "cpr_preserve_ratio", "0", "t"), -PF_EINVAL);
    pf_run_free(r);
}
END_TEST

/* The channel search's roll-out fine-tune (cp_nb_iters_ft_rlout) and batch-norm re-estimation
 * (cp_nb_batches_bn_rlout): with the same seed the agent makes the same first roll-out, and only
 * its reward changes, because the pruned copy is trained, or its statistics re-estimated, before
 * it is measured. */
static void search_opt(const char *model, const char *key, const char *value, char *out, size_t len)
{
    struct pf_run *r = pf_test_run("channel", model);
    const char *kv[][2] = {{"cp_prune_option", "auto"},
                           {"cp_preserve_ratio", "0.6"},
                           {"cp_nb_batches", "2"},
                           {"cp_nb_rlouts", "1"},
                           {"cp_nb_rlouts_min", "1"},
                           {"nb_epochs", "0"},
                           {"rl_nb_smpls_eval", "200"},
                           {"ddpg_batch_size", "8"},
                           {key, value},
                           {"seed", "5"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_int_eq(pf_opts_set(&r->opts, kv[i][0], kv[i][1], "t"), 0);
    ck_assert_int_eq(pf_run_open_dir(r, dir), 0);
    snprintf(out, len, "%s", r->dir);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    pf_run_free(r);
}

static void reward_changes(const char *key, const char *value)
{
    const char *model = trained_model();
    char a[1024], b[1024];
    search_opt(model, key, "0", a, sizeof a);
    search_opt(model, key, value, b, sizeof b);
    int na, nb;
    char **ra = rows_of(a, &na), **rb = rows_of(b, &nb);
    ck_assert_int_eq(na, 2);
    ck_assert_int_eq(nb, 2);
    /* columns: rlout, reward, best, actor/critic loss, noise, budget, values (seconds dropped) */
    const char *va = ra[1], *vb = rb[1];
    for (int k = 0; k < 5; k++) {
        va = strchr(va, ',') + 1;
        vb = strchr(vb, ',') + 1;
    }
    ck_assert_str_eq(va, vb); /* the same strategy */
    double rwa = strtod(strchr(ra[1], ',') + 1, NULL), rwb = strtod(strchr(rb[1], ',') + 1, NULL);
    ck_assert_msg(rwa != rwb, "%s %s left the reward at %g", key, value, rwa);
    free_rows(ra, na);
    free_rows(rb, nb);
}

START_TEST(test_channel_reward_finetune)
{
    reward_changes("cp_nb_iters_ft_rlout", "30");
}
END_TEST

START_TEST(test_channel_reward_bn)
{
    reward_changes("cp_nb_batches_bn_rlout", "10");
}
END_TEST

/* ---- the gate against luck (rl_uniform_p): a scripted search whose roll-outs classify chosen
 * validation images right, so that the gains against the uniform strategy are known ---- */
struct scripted {
    struct pf_rl_search base;
    struct pf_run *r;
    int rlout;
    int stop_after; /* > 0: the run is cancelled once this many roll-outs are evaluated */
};

/* Roll-out k classifies image i right when right_at(k, i); k = -1 is the uniform strategy. */
static bool right_at(int k, long i)
{
    switch (k) {
    case -1:
        return i < 150;
    case 0:
        return (i >= 10 && i < 150) || (i >= 150 && i < 162); /* 12 won, 10 lost */
    case 1:
        return i < 153; /* 3 won, none lost */
    case 2:
        return i < 180; /* 30 won, none lost */
    default:
        return i < 100;
    }
}

static void sc_begin(struct pf_rl_search *s, int rlout)
{
    ((struct scripted *)s)->rlout = rlout;
}
static void sc_state(struct pf_rl_search *s, int t, float *st)
{
    (void)s;
    st[0] = (float)t;
}
static double sc_decide(struct pf_rl_search *s, int t, double a)
{
    (void)t;
    (void)a;
    int k = ((struct scripted *)s)->rlout;
    return k < 3 ? k : 3; /* the value says which roll-out it was; from 3 on, one strategy */
}
static int sc_evaluate(struct pf_rl_search *s, const double *v, int rlout, double *reward,
                       double *budget)
{
    (void)v;
    struct pf_run *r = ((struct scripted *)s)->r;
    long right = 0;
    for (long i = 0; i < (long)r->n_val; i++) {
        int y = r->train->labels[r->val_idx[i]];
        bool ok = right_at(rlout, i);
        right += ok;
        if (s->pred)
            s->pred[i] = ok ? y : (y + 1) % r->train->classes;
    }
    *reward = (double)right / (double)r->n_val;
    *budget = 0.5;
    if (rlout >= 0 && rlout + 1 == ((struct scripted *)s)->stop_after)
        pf_run_cancel(r);
    return 0;
}
static void sc_to_plan(const struct pf_rl_search *s, const double *v, struct pf_plan *p)
{
    (void)s, (void)v, (void)p;
}

/* The best value after n roll-outs of the scripted search, at rl_uniform_p p; with n_top > 0 the
 * search's top list too (top[n_top], rewards top_r[n_top]; returns how many it kept in *kept).
 * run_dir (1024 bytes) not NULL: with a run directory, returned there; from: resumed from it;
 * stop_after > 0: cancelled after that many roll-outs. */
static double scripted_run(const char *model, const char *p, int n, int n_top, double *top,
                           double *top_r, int *kept, int stop_after, const char *from,
                           char *run_dir)
{
    struct pf_run *r = pf_test_run("channel", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "rl_uniform_p", p, "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ddpg_batch_size", "2", "t"), 0);
    if (from)
        ck_assert_int_eq(pf_opts_set(&r->opts, "rl_resume", from, "t"), 0);
    if (run_dir) { /* files, for a resume */
        ck_assert_int_eq(pf_run_open_dir(r, dir), 0);
        snprintf(run_dir, 1024, "%s", r->dir);
    }
    ck_assert_int_eq(
        pf_dataset_split(r->train, 200, &r->train_idx, &r->n_train, &r->val_idx, &r->n_val), 0);
    ck_assert_uint_eq(r->n_val, 200);
    static const int layer[1] = {0};
    static const double uniform[1] = {-1.0};
    struct scripted sc = {
        .base = {.kind = "channel",
                 .value = "preserve ratio",
                 .n_steps = 1,
                 .s_dims = 1,
                 .a_min = 0.0,
                 .a_max = 1.0,
                 .buf_size = 2,
                 .train_per_rlout = 1,
                 .target = 0.5,
                 .acc_reward = true,
                 .layer = layer,
                 .uniform = uniform,
                 .begin = sc_begin,
                 .state = sc_state,
                 .decide = sc_decide,
                 .evaluate = sc_evaluate,
                 .to_plan = sc_to_plan},
        .r = r,
    };
    sc.base.n_top = n_top;
    sc.base.top = top;
    sc.base.top_reward = top_r;
    sc.stop_after = stop_after;
    double best = -2.0;
    int done = 0, rc = pf_rl_run(r, &sc.base, n, &best, &done);
    ck_assert_msg(rc == (stop_after ? -PF_ECANCELLED : 0), "%s", pf_err_msg());
    ck_assert_int_eq(done, stop_after ? stop_after : n);
    ck_assert_ptr_null(sc.base.pred);
    if (kept)
        *kept = sc.base.n_kept;
    pf_run_free(r);
    return best;
}

static double scripted_best(const char *model, const char *p, int n)
{
    return scripted_run(model, p, n, 0, NULL, NULL, NULL, 0, NULL, NULL);
}

START_TEST(test_uniform_gate)
{
    const char *model = trained_model();
    /* roll-out 0 scores 152 / 200 against uniform's 150, winning 12 of the 22 images that
     * differ (p = 0.42): uniform stays the best */
    ck_assert_double_eq(scripted_best(model, "0.05", 1), -1.0);
    /* without the gate any higher reward wins (PocketFlow) */
    ck_assert_double_eq(scripted_best(model, "1", 1), 0.0);
    /* roll-out 1 wins 3 of 3 (p = 1/8): refused at 0.05, taken at 0.2 (roll-out 0 is not) */
    ck_assert_double_eq(scripted_best(model, "0.05", 2), -1.0);
    ck_assert_double_eq(scripted_best(model, "0.2", 2), 1.0);
    /* with p just under 12 wins of 22's 0.416 (sum of C(22, k) / 2^22, k >= 12) roll-out 0 is
     * refused, just over it taken */
    ck_assert_double_eq(scripted_best(model, "0.415", 1), -1.0);
    ck_assert_double_eq(scripted_best(model, "0.417", 1), 0.0);
    /* roll-out 2 wins 30 of 30 (p = 2^-30 = 9.3e-10): taken; roll-out 3 scores lower */
    ck_assert_double_eq(scripted_best(model, "0.05", 4), 2.0);
    /* a stricter gate refuses it too */
    ck_assert_double_eq(scripted_best(model, "1e-10", 4), -1.0);
}
END_TEST

/* The search's top list (the finalists' candidates): the best distinct strategies by reward,
 * best first, whatever the gate refused; roll-outs 3, 4 and 5 make one strategy, counted once. */
START_TEST(test_top_list)
{
    const char *model = trained_model();
    double top[5], top_r[5];
    int kept = -1;
    /* rewards: roll-out 0 152/200, 1 153/200, 2 180/200, 3-5 100/200 (right_at) */
    ck_assert_double_eq(scripted_run(model, "0.05", 6, 5, top, top_r, &kept, 0, NULL, NULL), 2.0);
    ck_assert_int_eq(kept, 4);
    const double want[4] = {2.0, 1.0, 0.0, 3.0}, want_r[4] = {0.9, 0.765, 0.76, 0.5};
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq(top[i], want[i]);
        ck_assert_double_eq_tol(top_r[i], want_r[i], 1e-12);
    }
    /* a shorter list keeps the best ones; the gate refused roll-outs 0 and 1, they stay in it */
    ck_assert_double_eq(scripted_run(model, "0.05", 2, 2, top, top_r, &kept, 0, NULL, NULL), -1.0);
    ck_assert_int_eq(kept, 2);
    ck_assert_double_eq(top[0], 1.0);
    ck_assert_double_eq(top[1], 0.0);
    /* stopped after 3 roll-outs, then resumed: the list of the first three comes back from
     * rlouts.csv */
    char a[1024], b[1024];
    scripted_run(model, "0.05", 6, 5, top, top_r, &kept, 3, NULL, a);
    ck_assert_int_eq(kept, 3);
    memset(top, 0, sizeof top);
    ck_assert_double_eq(scripted_run(model, "0.05", 6, 5, top, top_r, &kept, 0, a, b), 2.0);
    ck_assert_int_eq(kept, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq(top[i], want[i]);
        ck_assert_double_eq_tol(top_r[i], want_r[i], 1e-6); /* rlouts.csv keeps 6 decimals */
    }
}
END_TEST

/* A channel search with finalists (cp_nb_finalists 3, rl_uniform_p p) on a budget of 90% (CP
 * decides one group of 8 channels here), cancelled after stop_at roll-outs when > 0, resumed from
 * `from` when not NULL. The caller frees the run. */
static struct pf_run *finalist_search(const char *model, const char *p, int stop_at,
                                      const char *from, struct stopper *st, int *rc)
{
    struct pf_run *r = pf_test_run("channel", model);
    const char *kv[][2] = {
        {"cp_prune_option", "auto"}, {"cp_preserve_ratio", "0.9"}, {"cp_nb_batches", "2"},
        {"cp_nb_rlouts_min", "1"},   {"cp_nb_rlouts", "6"},        {"cp_nb_finalists", "3"},
        {"rl_uniform_p", p},         {"nb_epochs", "0"},           {"cp_fill_budget", "False"},
        {"rl_nb_smpls_eval", "100"}, {"ddpg_batch_size", "8"},     {"seed", "2"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_int_eq(pf_opts_set(&r->opts, kv[i][0], kv[i][1], "t"), 0);
    if (from)
        ck_assert_int_eq(pf_opts_set(&r->opts, "rl_resume", from, "t"), 0);
    ck_assert_int_eq(pf_run_open_dir(r, dir), 0);
    *st = (struct stopper){.stop_at = stop_at, .r = r};
    r->on_event = on_event;
    r->user = st;
    *rc = pf_run_exec(r);
    return r;
}

static char *final_plan(const struct pf_run *r)
{
    char path[1100], *text = NULL;
    snprintf(path, sizeof path, "%s/rl/final.plan.yaml", r->dir);
    ck_assert_msg(pf_file_read(path, &text, NULL) == 0, "%s", pf_err_msg());
    return text;
}

/* Finalists: the kept model is the most accurate of the finalists on the validation split
 * (evaluated here again), its shapes are rl/final.plan.yaml's, it keeps the budget; a search
 * stopped and resumed ends with the same finalists (its top list rebuilt from rlouts.csv). */
START_TEST(test_channel_finalists)
{
    const char *model = trained_model();
    struct stopper sa, sb, sc, sd;
    int rc;
    struct pf_run *ra = finalist_search(model, "1", 0, NULL, &sa, &rc);
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
    ck_assert_int_ge(sa.n_final, 2); /* the uniform strategy and at least one other */
    ck_assert_int_le(sa.n_final, 4);
    double mx = sa.final_acc[0];
    for (int i = 1; i < sa.n_final; i++)
        mx = fmax(mx, sa.final_acc[i]);
    ck_assert_double_gt(mx, sa.final_acc[0]); /* with this seed a finalist beats uniform */
    struct pf_eval_result res;
    ck_assert_int_eq(pf_run_evaluate(ra, false, &res), 0);
    ck_assert_double_eq_tol(res.accuracy, mx, 1e-12);
    /* its shapes: the profiler over final.plan.yaml on the model as loaded */
    char path[1100];
    snprintf(path, sizeof path, "%s/rl/final.plan.yaml", ra->dir);
    uint64_t before, after;
    plan_macs_of(model, path, &before, &after);
    struct pf_count cnt;
    pf_model_count(ra->model, &cnt);
    ck_assert_uint_eq(cnt.macs, after);
    ck_assert_double_le((double)cnt.macs / (double)before, 0.9);
    /* stopped after 3 roll-outs, resumed: the same finalists, the same result */
    struct pf_run *rb = finalist_search(model, "1", 2, NULL, &sb, &rc);
    ck_assert_int_eq(rc, -PF_ECANCELLED);
    ck_assert_int_eq(sb.n_final, 0);
    struct pf_run *rc_ = finalist_search(model, "1", 0, rb->dir, &sc, &rc);
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
    ck_assert_int_eq(sc.n_final, sa.n_final);
    for (int i = 0; i < sa.n_final; i++)
        ck_assert_double_eq(sc.final_acc[i], sa.final_acc[i]);
    char *pa = final_plan(ra), *pc = final_plan(rc_);
    ck_assert_str_eq(pa, pc);
    free(pa);
    free(pc);
    /* the gate: that winner is a few images ahead of uniform, within chance at p = 0.05 */
    struct pf_run *rd = finalist_search(model, "0.05", 0, NULL, &sd, &rc);
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
    ck_assert_int_eq(sd.n_final, sa.n_final);
    ck_assert_int_eq(pf_run_evaluate(rd, false, &res), 0);
    ck_assert_double_eq_tol(res.accuracy, sd.final_acc[0], 1e-12);
    pf_run_free(ra);
    pf_run_free(rb);
    pf_run_free(rc_);
    pf_run_free(rd);
}
END_TEST

Suite *rlsearch_suite(void);
Suite *rlsearch_suite(void)
{
    Suite *s = suite_create("rlsearch");
    TCase *tc = tcase_create("budget");
    tcase_add_test(tc, test_channel_budget_chain);
    tcase_add_test(tc, test_channel_budget_resnet);
    tcase_add_test(tc, test_sparsity_budget);
    tcase_add_test(tc, test_bits_budget);
    suite_add_tcase(s, tc);
    tc = tcase_create("search");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_channel_search_resume);
    tcase_add_test(tc, test_search_errors);
    tcase_add_test(tc, test_cpr_auto);
    tcase_add_test(tc, test_channel_reward_finetune);
    tcase_add_test(tc, test_channel_reward_bn);
    tcase_add_test(tc, test_uniform_gate);
    tcase_add_test(tc, test_top_list);
    tcase_add_test(tc, test_channel_finalists);
    suite_add_tcase(s, tc);
    return s;
}
