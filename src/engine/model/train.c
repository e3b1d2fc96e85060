/* train.c: the training loop (shuffle, batch, forward, loss, hooks, backward, optimizer step)
 * and the evaluation loop. Deterministic for a seed and thread count: shuffling and
 * augmentation draw from one pf_rng, and every reduction runs in a fixed order. */
#include "engine/model/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/layers/softmax_xent.h"

void pf_train_cfg_default(struct pf_train_cfg *c, double epochs)
{
    memset(c, 0, sizeof *c);
    c->optim.kind = PF_OPTIM_SGD;
    c->optim.momentum = 0.9;
    c->optim.weight_decay = 3e-4;
    c->optim.beta1 = 0.9;
    c->optim.beta2 = 0.999;
    c->optim.eps = 1e-8;
    c->sched.kind = PF_LR_PIECEWISE;
    c->sched.lrn_rate_init = 0.1;
    c->sched.batch_size_norm = 128;
    c->sched.n_decay = 2;
    c->sched.decay_epochs[0] = epochs * 0.5;
    c->sched.decay_epochs[1] = epochs * 0.75;
    c->sched.decay_rates[0] = 1.0;
    c->sched.decay_rates[1] = 0.1;
    c->sched.decay_rates[2] = 0.01;
    c->epochs = epochs;
    c->nb_epochs_rat = 1.0;
    c->batch = 128;
    c->augment = true;
    c->seed = 0;
    c->log_every = 50;
}

long pf_train_total_steps(const struct pf_train_cfg *c, uint32_t n_train)
{
    long t = (long)((double)n_train * c->epochs * c->nb_epochs_rat / c->batch);
    return t > 0 ? t : 1;
}

float pf_train_lr_at(const struct pf_train_cfg *c, uint32_t n_train, long step)
{
    const struct pf_schedule *s = &c->sched;
    double lr0 =
        s->lrn_rate_init * c->batch / (s->batch_size_norm > 0 ? s->batch_size_norm : c->batch);
    if (s->kind == PF_LR_CONSTANT)
        return (float)lr0;
    if (s->kind == PF_LR_COSINE) {
        long total = pf_train_total_steps(c, n_train);
        return (float)(lr0 * 0.5 * (1.0 + cos(M_PI * (double)step / (double)total)));
    }
    double per_epoch = (double)n_train / c->batch;
    int stage = 0;
    for (int i = 0; i < s->n_decay; i++)
        if (step >= (long)(per_epoch * s->decay_epochs[i] * c->nb_epochs_rat))
            stage = i + 1;
    return (float)(lr0 * s->decay_rates[stage]);
}

/* pf_train's and pf_bn_recalibrate's checks of the data against the model; sets the batch */
static int train_data_check(struct pf_model *m, const struct pf_dataset *d, uint32_t n, int batch)
{
    if (batch < 1 || n < (uint32_t)batch)
        return PF_ERR(PF_EINVAL,
                      "batch size %d needs at least that many training samples (have %u)", batch,
                      n);
    if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w)
        return PF_ERR(PF_ESHAPE, "dataset %s has %dx%dx%d images but %s expects %dx%dx%d", d->name,
                      d->c, d->h, d->w, m->name, m->input.c, m->input.h, m->input.w);
    if (d->classes != m->classes)
        return PF_ERR(PF_ESHAPE, "dataset %s has %d classes but %s outputs %d", d->name, d->classes,
                      m->name, m->classes);
    return pf_model_set_batch(m, batch);
}

int pf_train(struct pf_model *m, const struct pf_dataset *d, const uint32_t *idx, uint32_t n,
             const struct pf_train_cfg *c, pf_train_fn cb, void *user)
{
    uint32_t *order = NULL;
    float *x = NULL, *dlogits = NULL;
    int *y = NULL;
    struct pf_optim opt = {0};
    struct pf_rng rng;
    int rc;

    if (!idx)
        n = (uint32_t)d->n;
    if ((rc = train_data_check(m, d, n, c->batch)) < 0)
        return rc;
    size_t in_n = pf_shape_numel(m->input);
    order = pf_malloc(n * sizeof *order);
    x = pf_malloc_aligned((size_t)c->batch * in_n * sizeof *x);
    dlogits = pf_malloc_aligned((size_t)c->batch * m->classes * sizeof *dlogits);
    y = pf_malloc((size_t)c->batch * sizeof *y);
    if (!order || !x || !dlogits || !y) {
        rc = -PF_ENOMEM;
        goto done;
    }
    if ((rc = pf_optim_init(&opt, m, &c->optim)) < 0)
        goto done;
    for (uint32_t i = 0; i < n; i++)
        order[i] = idx ? idx[i] : i;
    pf_rng_seed(&rng, c->seed);
    pf_rng_shuffle(&rng, order, n);

    long total = pf_train_total_steps(c, n);
    long per_epoch = (long)(n / (uint32_t)c->batch);
    double t0 = pf_now_s(), t_last = t0, loss_sum = 0.0;
    long correct_sum = 0, seen = 0;
    int log_every = c->log_every > 0 ? c->log_every : 50;
    for (long step = 0; step < total; step++) {
        long b = step % per_epoch;
        if (b == 0 && step > 0)
            pf_rng_shuffle(&rng, order, n);
        if ((rc = pf_dataset_batch(d, order + b * c->batch, c->batch, x, y, c->augment, &rng)) < 0)
            goto done;
        float lr = pf_train_lr_at(c, n, step);
        const struct pf_train_hooks *h = c->hooks;
        if (h && h->before_forward && (rc = h->before_forward(m, step, h->user)) < 0)
            goto done;
        if ((rc = pf_model_forward(m, x, c->batch, true)) < 0)
            goto done;
        float loss;
        int correct;
        if ((rc = pf_softmax_xent(pf_model_logits(m), y, c->batch, m->classes, &loss, dlogits,
                                  &correct)) < 0)
            goto done;
        if (!isfinite(loss)) {
            rc = PF_ERR(PF_EINVAL,
                        "training diverged at step %ld (loss %g, lr %g): lower the "
                        "learning rate",
                        step, (double)loss, (double)lr);
            goto done;
        }
        if (h && h->before_backward &&
            (rc = h->before_backward(m, x, c->batch, dlogits, step, h->user)) < 0)
            goto done;
        pf_model_zero_grad(m);
        if ((rc = pf_model_backward(m, x, dlogits, c->batch)) < 0)
            goto done;
        if (h && h->before_update && (rc = h->before_update(m, &opt, step, lr, h->user)) < 0)
            goto done;
        pf_optim_step(&opt, lr);
        if (h && h->after_update && (rc = h->after_update(m, &opt, step, lr, h->user)) < 0)
            goto done;
        loss_sum += loss * c->batch;
        correct_sum += correct;
        seen += c->batch;
        if (cb && ((step + 1) % log_every == 0 || step + 1 == total)) {
            double t = pf_now_s();
            struct pf_train_progress p = {
                .step = step + 1,
                .total = total,
                .epoch = (double)(step + 1) / per_epoch,
                .lr = lr,
                .loss = (float)(loss_sum / seen),
                .acc = (float)correct_sum / seen,
                .img_per_s = seen / (t - t_last > 1e-9 ? t - t_last : 1e-9),
                .elapsed_s = t - t0,
            };
            loss_sum = 0.0;
            correct_sum = seen = 0;
            t_last = t;
            if (cb(&p, user)) {
                rc = PF_ERR(PF_ECANCELLED, "training stopped at step %ld of %ld", step + 1, total);
                goto done;
            }
        }
    }
    rc = 0;
done:
    pf_optim_deinit(&opt);
    free(order);
    free(x);
    free(dlogits);
    free(y);
    return rc;
}

int pf_bn_recalibrate(struct pf_model *m, const struct pf_dataset *d, const uint32_t *idx,
                      uint32_t n, int batches, int batch, uint64_t seed)
{
    if (batches <= 0)
        return 0;
    if (!idx)
        n = (uint32_t)d->n;
    int rc = train_data_check(m, d, n, batch);
    if (rc < 0)
        return rc;
    uint32_t *order = pf_malloc(n * sizeof *order);
    float *x = pf_malloc_aligned((size_t)batch * pf_shape_numel(m->input) * sizeof *x);
    if (!order || !x) {
        rc = -PF_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = idx ? idx[i] : i;
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    pf_rng_shuffle(&rng, order, n);
    long per_pass = (long)(n / (uint32_t)batch);
    for (long b = 0; b < batches; b++) {
        if (b % per_pass == 0 && b > 0)
            pf_rng_shuffle(&rng, order, n);
        if ((rc = pf_dataset_batch(d, order + (b % per_pass) * batch, batch, x, NULL, false,
                                   NULL)) < 0 ||
            (rc = pf_model_forward(m, x, batch, true)) < 0)
            goto done;
    }
done:
    free(order);
    free(x);
    return rc;
}

double pf_sign_test_p(long n, long k)
{
    if (k <= 0)
        return 1.0;
    double sum = 0.0, head = lgamma(n + 1.0) - n * log(2.0); /* ln(n! / 2^n) */
    for (long i = k; i <= n; i++)
        sum += exp(head - lgamma(i + 1.0) - lgamma(n - i + 1.0));
    return sum < 1.0 ? sum : 1.0;
}

int pf_evaluate_net(pf_forward_fn fwd, void *net, const char *name, struct pf_shape input,
                    int classes, const struct pf_dataset *d, const uint32_t *idx, uint32_t n,
                    int batch, struct pf_eval_result *r, int *pred)
{
    float *x = NULL, *logits = NULL;
    int *y = NULL;
    uint32_t *ids = NULL;
    int rc;
    memset(r, 0, sizeof *r);
    if (!idx)
        n = (uint32_t)d->n;
    if (batch < 1)
        return PF_ERR(PF_EINVAL, "evaluation batch size %d must be at least 1", batch);
    if (d->c != input.c || d->h != input.h || d->w != input.w)
        return PF_ERR(PF_ESHAPE, "dataset %s has %dx%dx%d images but %s expects %dx%dx%d", d->name,
                      d->c, d->h, d->w, name, input.c, input.h, input.w);
    if (d->classes != classes)
        return PF_ERR(PF_ESHAPE, "dataset %s has %d classes but %s outputs %d", d->name, d->classes,
                      name, classes);
    x = pf_malloc_aligned((size_t)batch * pf_shape_numel(input) * sizeof *x);
    logits = pf_malloc((size_t)batch * classes * sizeof *logits);
    y = pf_malloc((size_t)batch * sizeof *y);
    ids = pf_malloc((size_t)batch * sizeof *ids);
    if (!x || !logits || !y || !ids) {
        rc = -PF_ENOMEM;
        goto done;
    }
    double loss_sum = 0.0;
    for (uint32_t s = 0; s < n; s += (uint32_t)batch) {
        int nb = (int)(n - s < (uint32_t)batch ? n - s : (uint32_t)batch);
        for (int i = 0; i < nb; i++)
            ids[i] = idx ? idx[s + i] : s + (uint32_t)i;
        if ((rc = pf_dataset_batch(d, ids, nb, x, y, false, NULL)) < 0 ||
            (rc = fwd(net, x, nb, logits)) < 0)
            goto done;
        float loss;
        int correct;
        if ((rc = pf_softmax_xent(logits, y, nb, classes, &loss, NULL, &correct)) < 0)
            goto done;
        loss_sum += (double)loss * nb;
        r->correct += correct;
        if (pred)
            for (int i = 0; i < nb; i++) {
                int best = 0;
                for (int k = 1; k < classes; k++)
                    if (logits[(size_t)i * classes + k] > logits[(size_t)i * classes + best])
                        best = k;
                pred[s + (uint32_t)i] = best;
            }
    }
    r->samples = n;
    r->accuracy = n ? (double)r->correct / n : 0.0;
    r->loss = n ? loss_sum / n : 0.0;
    rc = 0;
done:
    free(x);
    free(logits);
    free(y);
    free(ids);
    return rc;
}

/* The training graph's forward in inference mode, as pf_evaluate_net calls it. */
static int graph_forward(void *net, const float *x, int nb, float *logits)
{
    struct pf_model *m = net;
    int rc = pf_model_forward(m, x, nb, false);
    if (rc == 0)
        memcpy(logits, pf_model_logits(m), (size_t)nb * m->classes * sizeof *logits);
    return rc;
}

int pf_evaluate(struct pf_model *m, const struct pf_dataset *d, const uint32_t *idx, uint32_t n,
                int batch, struct pf_eval_result *r, int *pred)
{
    int rc = batch >= 1 ? pf_model_set_batch(m, batch) : 0;
    if (rc < 0)
        return rc;
    return pf_evaluate_net(graph_forward, m, m->name, m->input, m->classes, d, idx, n, batch, r,
                           pred);
}
