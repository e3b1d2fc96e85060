/* check_model_train.c: the training loop learns, is bit-reproducible for a seed, follows
 * PocketFlow's schedule formulas, and stops when asked; the optimizers match hand-computed
 * updates. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/model/graph.h"
#include "engine/model/optim.h"
#include "engine/model/train.h"

static const char *const small_net =
    "name: small\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
    "  - {name: c1, type: conv2d, filters: 8, kernel: 5, stride: 2, pad: same}\n"
    "  - {name: bn1, type: batchnorm, act: relu}\n"
    "  - {name: p1, type: maxpool, kernel: 2}\n"
    "  - {name: fc, type: dense, units: 10}\n";

static struct pf_model *small(void)
{
    struct pf_model *m = NULL;
    ck_assert_msg(pf_model_from_yaml(small_net, strlen(small_net), "small", &m) == 0, "%s",
                  pf_err_msg());
    pf_model_init_params(m, 1);
    return m;
}

static void quick_cfg(struct pf_train_cfg *c)
{
    pf_train_cfg_default(c, 6);
    c->batch = 32;
    c->seed = 7;
    c->log_every = 10;
}

START_TEST(test_learns_synthetic)
{
    struct pf_dataset *tr = NULL, *te = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TRAIN, &tr), 0);
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TEST, &te), 0);
    struct pf_model *m = small();
    struct pf_eval_result before, after;
    ck_assert_int_eq(pf_evaluate(m, te, NULL, 0, 50, &before, NULL), 0);
    struct pf_train_cfg c;
    quick_cfg(&c);
    ck_assert_msg(pf_train(m, tr, NULL, 0, &c, NULL, NULL) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(pf_evaluate(m, te, NULL, 0, 50, &after, NULL), 0);
    ck_assert_int_eq(after.samples, te->n);
    /* 10 classes: chance is 0.1; the synthetic set is easy */
    ck_assert_msg(after.accuracy > 0.9, "accuracy %.3f after training (%.3f before)",
                  after.accuracy, before.accuracy);
    ck_assert(after.loss < before.loss);
    pf_model_free(m);
    pf_dataset_free(tr);
    pf_dataset_free(te);
}
END_TEST

START_TEST(test_reproducible)
{
    struct pf_dataset *tr = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TRAIN, &tr), 0);
    struct pf_model *a = small(), *b = small();
    struct pf_train_cfg c;
    quick_cfg(&c);
    c.epochs = 0.5;
    ck_assert_int_eq(pf_train(a, tr, NULL, 0, &c, NULL, NULL), 0);
    ck_assert_int_eq(pf_train(b, tr, NULL, 0, &c, NULL, NULL), 0);
    for (int i = 0; i < a->n_layers; i++)
        for (int j = 0; j < a->layers[i].n_params; j++)
            ck_assert_mem_eq(a->layers[i].params[j].w.data, b->layers[i].params[j].w.data,
                             pf_tensor_numel(&a->layers[i].params[j].w) * sizeof(float));
    pf_model_free(a);
    pf_model_free(b);
    pf_dataset_free(tr);
}
END_TEST

static int stop_at_20(const struct pf_train_progress *p, void *user)
{
    *(long *)user = p->step;
    return p->step >= 20;
}

START_TEST(test_cancel)
{
    struct pf_dataset *tr = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TRAIN, &tr), 0);
    struct pf_model *m = small();
    struct pf_train_cfg c;
    quick_cfg(&c);
    long last = 0;
    ck_assert_int_eq(pf_train(m, tr, NULL, 0, &c, stop_at_20, &last), -PF_ECANCELLED);
    ck_assert_int_eq(last, 20);
    pf_model_free(m);
    pf_dataset_free(tr);
}
END_TEST

START_TEST(test_schedule_formulas)
{
    struct pf_train_cfg c;
    pf_train_cfg_default(&c, 160);
    /* PocketFlow's ConvNet at FMNIST: 160 epochs, decays at 40/80/120, x0.1 each, batch 128,
     * 60000 samples: 75000 iterations, boundaries 18750 / 37500 / 56250 (reference section 7.2) */
    c.sched.n_decay = 3;
    c.sched.decay_epochs[0] = 40;
    c.sched.decay_epochs[1] = 80;
    c.sched.decay_epochs[2] = 120;
    c.sched.decay_rates[3] = 0.001;
    ck_assert_int_eq(pf_train_total_steps(&c, 60000), 75000);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 18749), 0.1f, 1e-7f);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 18750), 0.01f, 1e-8f);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 37500), 0.001f, 1e-9f);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 56250), 0.0001f, 1e-10f);
    /* nb_epochs_rat scales the total and the boundaries; lr0 scales with batch / 128 */
    c.nb_epochs_rat = 0.1;
    c.batch = 256;
    ck_assert_int_eq(pf_train_total_steps(&c, 60000), 3750);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 936), 0.2f, 1e-7f);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 937), 0.02f, 1e-8f);
    c.sched.kind = PF_LR_COSINE;
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 0), 0.2f, 1e-7f);
    ck_assert_float_eq_tol(pf_train_lr_at(&c, 60000, 1875), 0.1f, 1e-6f);
}
END_TEST

START_TEST(test_optim_updates)
{
    const char *y = "name: o\ninput: [2, 1, 1]\nclasses: 2\nlayers:\n"
                    "  - {name: fc, type: dense, units: 2}\n";
    struct pf_model *m = NULL;
    ck_assert_int_eq(pf_model_from_yaml(y, strlen(y), "o", &m), 0);
    struct pf_param *w = pf_layer_param(&m->layers[0], "weight");
    struct pf_param *b = pf_layer_param(&m->layers[0], "bias");
    float *wv = pf_tensor_f32(&w->w), *gv = pf_tensor_f32(&w->g);
    for (int i = 0; i < 4; i++) {
        wv[i] = 1.0f;
        gv[i] = 0.5f;
    }
    pf_tensor_f32(&b->g)[0] = 1.0f;
    struct pf_optim o;
    struct pf_optim_cfg oc = {.kind = PF_OPTIM_SGD, .momentum = 0.9, .weight_decay = 0.1};
    ck_assert_int_eq(pf_optim_init(&o, m, &oc), 0);
    pf_optim_step(&o, 0.1f);
    /* v = g + wd w = 0.6; w = 1 - 0.1 * 0.6 = 0.94; bias has no decay: 0 - 0.1 * 1 */
    ck_assert_float_eq_tol(wv[0], 0.94f, 1e-6f);
    ck_assert_float_eq_tol(pf_tensor_f32(&b->w)[0], -0.1f, 1e-6f);
    pf_optim_step(&o, 0.1f);
    /* v = 0.9 * 0.6 + (0.5 + 0.1 * 0.94) = 1.134; w = 0.94 - 0.1134 */
    ck_assert_float_eq_tol(wv[0], 0.8266f, 1e-5f);
    pf_optim_deinit(&o);
    /* Adam's first step moves each weight by lr * sign(g) (bias-corrected) */
    oc = (struct pf_optim_cfg){.kind = PF_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    ck_assert_int_eq(pf_optim_init(&o, m, &oc), 0);
    float before = wv[1];
    pf_optim_step(&o, 0.01f);
    ck_assert_float_eq_tol(wv[1], before - 0.01f, 1e-6f);
    /* masked entries stay exactly zero */
    w->mask = calloc(4, 1);
    w->mask[0] = 1;
    pf_optim_step(&o, 0.01f);
    ck_assert_float_eq(wv[1], 0.0f);
    ck_assert_float_ne(wv[0], 0.0f);
    pf_optim_deinit(&o);
    pf_model_free(m);
}
END_TEST

/* pf_sign_test_p against exact binomial tails: Pascal's triangle in 64-bit integers
 * (C(60, 30) < 2^63), summed and divided by 2^n, for every n <= 60 and k <= n + 1. */
START_TEST(test_sign_test_exact)
{
    uint64_t row[62] = {1};
    for (int n = 0; n <= 60; n++) {
        if (n > 0)
            for (int i = n; i > 0; i--)
                row[i] += row[i - 1];
        for (int k = 0; k <= n + 1; k++) {
            uint64_t tail = 0;
            for (int i = k; i <= n; i++)
                tail += row[i];
            double want = ldexp((double)tail, -n);
            ck_assert_double_eq_tol(pf_sign_test_p(n, k), want, 1e-9 * want + 1e-300);
        }
    }
    /* the values a reader can check by hand: 3 of 3 = 1/8; 8 of 10 = 56/1024; none needed = 1 */
    ck_assert_double_eq_tol(pf_sign_test_p(3, 3), 0.125, 1e-12);
    ck_assert_double_eq_tol(pf_sign_test_p(10, 8), 56.0 / 1024.0, 1e-12);
    ck_assert_double_eq(pf_sign_test_p(7, 0), 1.0);
    ck_assert_double_eq(pf_sign_test_p(0, 0), 1.0);
}
END_TEST

/* pf_bn_recalibrate against the momentum formula: a batch norm straight after the input, fed
 * K batches that are each the same 40 images (n = batch), must hold running = 0.9^K * initial +
 * (1 - 0.9^K) * (the images' per-channel mean, and unbiased variance), both computed here in
 * double; no weight moves, and 0 batches change nothing. */
START_TEST(test_bn_recalibrate)
{
    static const char *const net = "name: bnnet\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
                                   "  - {name: bn, type: batchnorm}\n"
                                   "  - {name: fc, type: dense, units: 10}\n";
    struct pf_dataset *tr = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TRAIN, &tr), 0);
    struct pf_model *m = NULL;
    ck_assert_msg(pf_model_from_yaml(net, strlen(net), "bnnet", &m) == 0, "%s", pf_err_msg());
    pf_model_init_params(m, 3);
    enum { B = 40, K = 7, HW = 28 * 28 };
    uint32_t idx[B];
    for (int i = 0; i < B; i++)
        idx[i] = (uint32_t)(3 * i + 1);
    float *x = malloc((size_t)B * HW * sizeof *x);
    ck_assert_int_eq(pf_dataset_batch(tr, idx, B, x, NULL, false, NULL), 0);
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < B * HW; i++)
        sum += x[i];
    double mu = sum / (B * HW);
    for (int i = 0; i < B * HW; i++)
        sq += (x[i] - mu) * (x[i] - mu);
    double var = sq / (B * HW - 1);
    struct pf_layer *bn = &m->layers[pf_model_find(m, "bn")];
    float *rmean = pf_tensor_f32(&bn->params[2].w), *rvar = pf_tensor_f32(&bn->params[3].w);
    rmean[0] = 0.5f;
    rvar[0] = 2.0f;
    struct pf_layer *fc = &m->layers[pf_model_find(m, "fc")];
    size_t nw = pf_tensor_numel(&fc->params[0].w);
    float *w0 = malloc(nw * sizeof *w0);
    memcpy(w0, fc->params[0].w.data, nw * sizeof *w0);
    ck_assert_int_eq(pf_bn_recalibrate(m, tr, idx, B, 0, B, 9), 0);
    ck_assert_float_eq(rmean[0], 0.5f);
    ck_assert_float_eq(rvar[0], 2.0f);
    ck_assert_msg(pf_bn_recalibrate(m, tr, idx, B, K, B, 9) == 0, "%s", pf_err_msg());
    double keep = pow(0.9, K);
    ck_assert_double_eq_tol(rmean[0], keep * 0.5 + (1.0 - keep) * mu, 1e-4);
    ck_assert_double_eq_tol(rvar[0], keep * 2.0 + (1.0 - keep) * var, 1e-4 * var);
    ck_assert_mem_eq(fc->params[0].w.data, w0, nw * sizeof *w0);
    ck_assert_float_eq(pf_tensor_f32(&bn->params[0].w)[0], 1.0f);
    /* a batch larger than the images given is refused, with the counts */
    ck_assert_int_eq(pf_bn_recalibrate(m, tr, idx, B, 1, B + 1, 9), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "batch size 41"));
    free(w0);
    free(x);
    pf_model_free(m);
    pf_dataset_free(tr);
}
END_TEST

Suite *model_train_suite(void);
Suite *model_train_suite(void)
{
    Suite *s = suite_create("model_train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_learns_synthetic);
    tcase_add_test(tc, test_reproducible);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_schedule_formulas);
    tcase_add_test(tc, test_optim_updates);
    tcase_add_test(tc, test_sign_test_exact);
    tcase_add_test(tc, test_bn_recalibrate);
    suite_add_tcase(s, tc);
    return s;
}
