/* check_distill_run.c: distillation wired into fine-tuning (PocketFlow's --enbl_dst): the
 * training hook adds nothing when the teacher is the student; the gradient of task loss +
 * distillation loss that reaches the optimizer through pf_run_finetune_cfg (a learner's own
 * hook chained with the distillation hook) matches central differences of that combined loss,
 * computed here independently in double precision; whole runs with enbl_dst (full-prec, and
 * weight-sparse whose masks must still hold) report loss_dst and differ from runs without;
 * bad option values are refused naming the option. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "helpers/pf_test.h"
#include "helpers/pf_test_compress.h"
#include "learners/common/distill.h"
#include "learners/learner.h"

#define FD_EPS      3e-3 /* central-difference step on the parameters */
#define FD_ATOL     2e-4 /* float32 logits behind a double loss: absolute floor */
#define FD_RTOL     2e-2 /* relative, analytic vs central differences */
#define DST_W       3.0  /* weights and temperatures away from PocketFlow's defaults, so a */
#define DST_T       2.5  /* misplaced factor of w, T or T^2 shows */
#define N_FD_IMAGES 24

/* A linear net (no kinks for finite differences), 1x6x6 -> 10. */
static const char tiny_yaml[] =
    "name: tiny\n"
    "input: [1, 6, 6]\n"
    "classes: 10\n"
    "layers:\n"
    "  - {name: conv1, type: conv2d, filters: 3, kernel: 3, pad: same}\n"
    "  - {name: flat, type: flatten}\n"
    "  - {name: fc, type: dense, units: 10}\n";

/* A small conv net with batchnorm, 1x12x12 -> 10, for whole runs. */
static const char small_yaml[] =
    "name: small\n"
    "input: [1, 12, 12]\n"
    "classes: 10\n"
    "layers:\n"
    "  - {name: conv1, type: conv2d, filters: 8, kernel: 3, pad: same, act: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 2}\n"
    "  - {name: conv2, type: conv2d, filters: 8, kernel: 3, pad: same}\n"
    "  - {name: bn2, type: batchnorm, act: relu}\n"
    "  - {name: flat, type: flatten}\n"
    "  - {name: fc, type: dense, units: 10}\n";

static char dir[64];
static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

static struct pf_model *model_of(const char *yaml, unsigned long long seed)
{
    struct pf_model *m = NULL;
    ck_assert_msg(pf_model_from_yaml(yaml, strlen(yaml), "test", &m) == 0, "%s", pf_err_msg());
    pf_model_init_params(m, seed);
    return m;
}

/* ---- the hook alone ---- */

START_TEST(test_same_teacher_adds_nothing)
{
    enum { N = 8 };
    struct pf_model *s = model_of(tiny_yaml, 1), *t = NULL;
    ck_assert_int_eq(pf_model_clone(s, &t), 0);
    float x[N * 36], dl[N * 10], before[N * 10];
    pf_test_fill(x, N * 36, -1.0f, 1.0f, 11);
    pf_test_fill(dl, N * 10, -0.1f, 0.1f, 12); /* stands for the task loss's gradient */
    memcpy(before, dl, sizeof dl);
    ck_assert_int_eq(pf_model_set_batch(s, N), 0);
    ck_assert_int_eq(pf_model_forward(s, x, N, true), 0);
    struct pf_distill_hook h;
    struct pf_train_hooks hooks;
    struct pf_distill_cfg c = {DST_W, DST_T, false};
    ck_assert_int_eq(pf_distill_hook_init(&h, t, &c, &hooks), 0);
    ck_assert_ptr_eq(hooks.before_backward, pf_distill_before_backward);
    ck_assert_ptr_null(hooks.before_forward);
    ck_assert_ptr_null(hooks.before_update);
    ck_assert_ptr_null(hooks.after_update);
    ck_assert_int_eq(hooks.before_backward(s, x, N, dl, 0, hooks.user), 0);
    for (int i = 0; i < N * 10; i++)
        ck_assert_msg(dl[i] == before[i], "dlogits[%d] %.9g became %.9g", i, (double)before[i],
                      (double)dl[i]);
    /* the loss itself is not zero: w x the entropy of the soft targets, at most w log K */
    double loss = pf_distill_hook_take(&h);
    ck_assert_msg(loss > 0.0 && loss <= DST_W * log(10.0) + 1e-6, "loss %g", loss);
    ck_assert_double_eq(pf_distill_hook_take(&h), 0.0); /* taken */
    /* a different teacher does add a gradient, and it sums to zero over the classes */
    pf_model_init_params(t, 2);
    ck_assert_int_eq(hooks.before_backward(s, x, N, dl, 1, hooks.user), 0);
    double moved = 0.0;
    for (int n = 0; n < N; n++) {
        double row = 0.0;
        for (int k = 0; k < 10; k++) {
            row += dl[n * 10 + k] - before[n * 10 + k];
            moved += fabs(dl[n * 10 + k] - before[n * 10 + k]);
        }
        ck_assert_double_le(fabs(row), 1e-6);
    }
    ck_assert_double_gt(moved, 1e-3);
    /* shapes are checked */
    struct pf_model *other = model_of(small_yaml, 3);
    h.teacher = other;
    ck_assert_int_eq(hooks.before_backward(s, x, N, dl, 2, hooks.user), -PF_ESHAPE);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "teacher"));
    pf_model_free(other);
    pf_model_free(t);
    pf_model_free(s);
}
END_TEST

/* ---- the gradient through pf_run_finetune_cfg ---- */

/* The combined loss of m on (x, y), computed independently in double from the logits:
 * mean CE(softmax(z), y) + w * mean(-sum softmax(zt / T) log softmax(z / T)). */
static double combined_loss(struct pf_model *m, struct pf_model *t, const float *x, const int *y,
                            int N)
{
    ck_assert_int_eq(pf_model_forward(t, x, N, false), 0);
    ck_assert_int_eq(pf_model_forward(m, x, N, true), 0);
    const float *z = pf_model_logits(m), *zt = pf_model_logits(t);
    int K = m->classes;
    double task = 0.0, soft = 0.0;
    for (int n = 0; n < N; n++) {
        const float *a = z + (size_t)n * K, *b = zt + (size_t)n * K;
        double lse = 0.0, lse_t = 0.0, lse_s = 0.0;
        for (int k = 0; k < K; k++) {
            lse += exp((double)a[k]);
            lse_s += exp((double)a[k] / DST_T);
            lse_t += exp((double)b[k] / DST_T);
        }
        task += log(lse) - a[y[n]];
        for (int k = 0; k < K; k++) {
            double pt = exp((double)b[k] / DST_T) / lse_t;
            soft -= pt * ((double)a[k] / DST_T - log(lse_s));
        }
    }
    return task / N + DST_W * soft / N;
}

/* The learner's own hook in the chain: copies every trainable gradient at step 0. */
struct grab {
    float *g;
    size_t n;
    int calls;
};

static int grab_before_update(struct pf_model *m, struct pf_optim *o, long step, float lr,
                              void *user)
{
    (void)o;
    (void)lr;
    struct grab *gb = user;
    gb->calls++;
    if (step)
        return 0;
    size_t k = 0;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            const struct pf_param *p = &m->layers[i].params[j];
            if (!p->trainable)
                continue;
            size_t n = pf_tensor_numel(&p->g);
            ck_assert(k + n <= gb->n);
            memcpy(gb->g + k, pf_tensor_f32(&p->g), n * sizeof *gb->g);
            k += n;
        }
    return 0;
}

static size_t n_trainable(struct pf_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++)
            if (m->layers[i].params[j].trainable)
                n += pf_tensor_numel(&m->layers[i].params[j].w);
    return n;
}

START_TEST(test_gradient_through_finetune)
{
    struct pf_run *r = NULL;
    char spec[64];
    snprintf(spec, sizeof spec, "synthetic:1x6x6:%d", N_FD_IMAGES + 10);
    ck_assert_msg(pf_run_new(&r, "full-prec", "assets/nets/lenet5_fmnist.yaml", spec) == 0, "%s",
                  pf_err_msg());
    pf_model_free(r->model);
    r->model = model_of(tiny_yaml, 4);
    ck_assert_int_eq(
        pf_dataset_split(r->train, 10, &r->train_idx, &r->n_train, &r->val_idx, &r->n_val), 0);
    ck_assert_int_eq(r->n_train, N_FD_IMAGES);
    /* a different, sharper net: a distillation gradient well above the finite differences' */
    r->teacher = model_of(tiny_yaml, 5);
    for (int i = 0; i < r->teacher->n_layers; i++) {
        struct pf_param *p = pf_layer_param(&r->teacher->layers[i], "weight");
        for (size_t e = 0; p && e < pf_tensor_numel(&p->w); e++)
            pf_tensor_f32(&p->w)[e] *= 3.0f;
    }
    ck_assert_int_eq(pf_opts_set(&r->opts, "loss_w_dst", "3.0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "tempr_dst", "2.5", "t"), 0);
    /* one step over the whole split: the gradient of the mean loss over all N_FD_IMAGES */
    struct pf_train_cfg c;
    pf_run_train_cfg(r, &c);
    c.batch = N_FD_IMAGES;
    c.epochs = 1.0;
    c.nb_epochs_rat = 1.0;
    c.augment = false;
    struct grab gb = {.n = n_trainable(r->model)};
    gb.g = calloc(gb.n, sizeof *gb.g);
    ck_assert_ptr_nonnull(gb.g);
    struct pf_train_hooks own = {.before_update = grab_before_update, .user = &gb};
    c.hooks = &own;
    /* finite differences first, on the parameters before the step */
    float *x = malloc((size_t)N_FD_IMAGES * 36 * sizeof *x);
    int y[N_FD_IMAGES];
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(pf_dataset_batch(r->train, r->train_idx, N_FD_IMAGES, x, y, false, NULL), 0);
    ck_assert_int_eq(pf_model_set_batch(r->model, N_FD_IMAGES), 0);
    ck_assert_int_eq(pf_model_set_batch(r->teacher, N_FD_IMAGES), 0);
    double *fd = calloc(gb.n, sizeof *fd);
    ck_assert_ptr_nonnull(fd);
    size_t k = 0;
    for (int i = 0; i < r->model->n_layers; i++)
        for (int j = 0; j < r->model->layers[i].n_params; j++) {
            struct pf_param *p = &r->model->layers[i].params[j];
            if (!p->trainable)
                continue;
            float *w = pf_tensor_f32(&p->w);
            for (size_t e = 0; e < pf_tensor_numel(&p->w); e++, k++) {
                float w0 = w[e];
                w[e] = w0 + (float)FD_EPS;
                double lp = combined_loss(r->model, r->teacher, x, y, N_FD_IMAGES);
                w[e] = w0 - (float)FD_EPS;
                double lm = combined_loss(r->model, r->teacher, x, y, N_FD_IMAGES);
                w[e] = w0;
                fd[k] = (lp - lm) / (2.0 * FD_EPS);
            }
        }
    ck_assert_msg(pf_run_finetune_cfg(r, "fd", &c) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(gb.calls, 1); /* the learner's hook ran, once, in the chain */
    double worst = 0.0, dst_part = 0.0;
    /* the task gradient alone (no teacher), to show the distillation term is not negligible */
    float *task = calloc(gb.n, sizeof *task);
    ck_assert_ptr_nonnull(task);
    for (size_t e = 0; e < gb.n; e++) {
        double err = fabs(gb.g[e] - fd[e]);
        ck_assert_msg(err <= FD_ATOL + FD_RTOL * fabs(fd[e]),
                      "param %zu: gradient %.7g, finite differences %.7g", e, (double)gb.g[e],
                      fd[e]);
        worst = err > worst ? err : worst;
    }
    /* the same step without the teacher: only the task loss */
    pf_model_free(r->model);
    r->model = model_of(tiny_yaml, 4);
    struct pf_model *teacher = r->teacher;
    r->teacher = NULL;
    float *with = gb.g;
    gb.g = task;
    gb.calls = 0;
    ck_assert_int_eq(pf_run_finetune_cfg(r, "no-dst", &c), 0);
    ck_assert_int_eq(gb.calls, 1);
    for (size_t e = 0; e < gb.n; e++)
        dst_part = fmax(dst_part, fabs(with[e] - task[e]));
    ck_assert_msg(dst_part > 100.0 * FD_ATOL && dst_part > 1000.0 * worst,
                  "distillation changed the gradient by at most %g (fd error %g)", dst_part, worst);
    r->teacher = teacher;
    free(with);
    free(task);
    free(fd);
    free(x);
    pf_run_free(r);
}
END_TEST

/* ---- whole runs ---- */

struct watch {
    int n_loss, n_dst;
    double loss_sum, dst_min, dst_max;
    bool dst_bad;
    char log_dst[200];
};

static void on_event(const struct pf_event *e, void *user)
{
    struct watch *w = user;
    if (e->kind == PF_EV_LOG && strstr(e->text, "teacher") && !w->log_dst[0])
        snprintf(w->log_dst, sizeof w->log_dst, "%s", e->text);
    if (e->kind != PF_EV_METRIC)
        return;
    if (!strcmp(e->name, "loss")) {
        w->n_loss++;
        w->loss_sum += e->value;
    } else if (!strcmp(e->name, "loss_dst")) {
        if (!w->n_dst++)
            w->dst_min = w->dst_max = e->value;
        w->dst_min = fmin(w->dst_min, e->value);
        w->dst_max = fmax(w->dst_max, e->value);
        w->dst_bad |= !isfinite(e->value) || e->value < 0.0;
    }
}

/* A trained small model in dir (once per test), as the teacher and starting point. */
static const char *trained_small(void)
{
    static char nd[128], path[128];
    snprintf(nd, sizeof nd, "%s/small.yaml", dir);
    snprintf(path, sizeof path, "%s/small.h5", dir);
    FILE *f = fopen(nd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(small_yaml, f);
    fclose(f);
    struct pf_run *r = NULL;
    ck_assert_msg(pf_run_new(&r, "full-prec", nd, "synthetic:1x12x12:600") == 0, "%s",
                  pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "100", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "25", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "lrn_rate_init", "0.1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "3", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "seed", "1", "t"), 0);
    snprintf(r->out_path, sizeof r->out_path, "%s", path);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_ptr_null(r->teacher); /* no enbl_dst, no teacher */
    pf_run_free(r);
    return path;
}

static struct pf_run *small_run(const char *learner, const char *model, bool dst, struct watch *w)
{
    struct pf_run *r = NULL;
    ck_assert_msg(pf_run_new(&r, learner, model, "synthetic:1x12x12:600") == 0, "%s", pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "100", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "25", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "summ_step", "4", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "lrn_rate_init", "0.05", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "enbl_dst", dst ? "True" : "False", "t"), 0);
    memset(w, 0, sizeof *w);
    r->on_event = on_event;
    r->user = w;
    return r;
}

/* Max |a - b| over the params of two models of the same shapes. */
static double max_param_diff(struct pf_model *a, struct pf_model *b)
{
    double d = 0.0;
    ck_assert_int_eq(a->n_layers, b->n_layers);
    for (int i = 0; i < a->n_layers; i++)
        for (int j = 0; j < a->layers[i].n_params; j++) {
            const struct pf_tensor *x = &a->layers[i].params[j].w, *y = &b->layers[i].params[j].w;
            ck_assert_uint_eq(pf_tensor_numel(x), pf_tensor_numel(y));
            for (size_t e = 0; e < pf_tensor_numel(x); e++)
                d = fmax(d, fabs(pf_tensor_f32(x)[e] - pf_tensor_f32(y)[e]));
        }
    return d;
}

START_TEST(test_full_prec_run)
{
    const char *model = trained_small();
    struct watch w0, w1;
    struct pf_run *r0 = small_run("full-prec", model, false, &w0);
    ck_assert_msg(pf_run_exec(r0) == 0, "%s", pf_err_msg());
    struct pf_run *r1 = small_run("full-prec", model, true, &w1);
    ck_assert_int_eq(pf_opts_set(&r1->opts, "tempr_dst", "2", "t"), 0);
    ck_assert_msg(pf_run_exec(r1) == 0, "%s", pf_err_msg());
    /* without: no loss_dst; with: one per reported loss, finite and positive */
    ck_assert_int_eq(w0.n_dst, 0);
    ck_assert_int_gt(w1.n_loss, 3);
    ck_assert_int_eq(w1.n_dst, w1.n_loss);
    ck_assert(!w1.dst_bad);
    ck_assert_double_gt(w1.dst_min, 0.0);
    ck_assert_ptr_nonnull(strstr(w1.log_dst, "teacher"));
    ck_assert_ptr_nonnull(strstr(w1.log_dst, "validation accuracy"));
    /* the same seed and data: only distillation differs, and the result does */
    ck_assert_int_eq(w0.n_loss, w1.n_loss);
    double d = max_param_diff(r0->model, r1->model);
    ck_assert_msg(d > 1e-4, "models differ by at most %g", d);
    /* the teacher is the model as loaded, untouched by the run */
    struct pf_model *loaded = NULL;
    ck_assert_int_eq(pf_model_load(model, &loaded, NULL, 0), 0);
    ck_assert_ptr_nonnull(r1->teacher);
    ck_assert_double_eq(max_param_diff(loaded, r1->teacher), 0.0);
    ck_assert_double_gt(max_param_diff(loaded, r1->model), 1e-4);
    pf_model_free(loaded);
    pf_run_free(r0);
    pf_run_free(r1);
}
END_TEST

START_TEST(test_chained_with_learner_hooks)
{
    /* weight-sparse has its own before_update / after_update (masks): with distillation chained
     * behind them the masks still hold and the target is reached */
    const char *model = trained_small();
    struct watch w;
    struct pf_run *r = small_run("weight-sparse", model, true, &w);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_prune_ratio", "0.75", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "ws_mask_update_step", "2", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    ck_assert_int_gt(w.n_dst, 3);
    ck_assert_int_eq(w.n_dst, w.n_loss);
    ck_assert(!w.dst_bad);
    for (int i = 0; i < r->model->n_layers; i++) {
        struct pf_param *p = pf_layer_param(&r->model->layers[i], "weight");
        if (!p || !p->mask)
            continue;
        size_t n = pf_tensor_numel(&p->w), zero = 0;
        for (size_t e = 0; e < n; e++) {
            ck_assert(p->mask[e] || pf_tensor_f32(&p->w)[e] == 0.0f);
            zero += pf_tensor_f32(&p->w)[e] == 0.0f;
        }
        ck_assert_msg(fabs((double)zero / n - 0.75) <= 0.02, "%s: sparsity %.3f",
                      r->model->layers[i].name, (double)zero / n);
    }
    pf_run_free(r);
}
END_TEST

START_TEST(test_bad_values)
{
    struct pf_run *r = pf_test_run("full-prec", "assets/nets/lenet5_fmnist.yaml");
    ck_assert(!pf_opts_bool(&r->opts, "enbl_dst"));
    ck_assert_double_eq_tol(pf_opts_float(&r->opts, "loss_w_dst"), 4.0, 1e-12);
    ck_assert_double_eq_tol(pf_opts_float(&r->opts, "tempr_dst"), 4.0, 1e-12);
    ck_assert(!pf_opts_bool(&r->opts, "dst_t2_scaled"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "tempr_dst", "0", "--tempr_dst"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "tempr_dst"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "loss_w_dst", "-1", "--loss_w_dst"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "loss_w_dst"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "enbl_dst", "sometimes", "--enbl_dst"), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "enbl_dst"));
    /* the hook refuses them too (for callers that bypass the option table) */
    struct pf_distill_hook h;
    struct pf_train_hooks hooks;
    struct pf_distill_cfg c = {1.0, 0.0, false};
    ck_assert_int_eq(pf_distill_hook_init(&h, r->model, &c, &hooks), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "tempr_dst"));
    c = (struct pf_distill_cfg){-1.0, 4.0, false};
    ck_assert_int_eq(pf_distill_hook_init(&h, r->model, &c, &hooks), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "loss_w_dst"));
    pf_run_free(r);
}
END_TEST

Suite *distill_run_suite(void);
Suite *distill_run_suite(void)
{
    Suite *s = suite_create("distill_run");
    TCase *tc = tcase_create("hook");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_same_teacher_adds_nothing);
    tcase_add_test(tc, test_gradient_through_finetune);
    tcase_add_test(tc, test_bad_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("runs");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_full_prec_run);
    tcase_add_test(tc, test_chained_with_learner_hooks);
    suite_add_tcase(s, tc);
    return s;
}
