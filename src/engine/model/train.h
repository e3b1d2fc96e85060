/* train.h: training and evaluation loops over a dataset (module API).
 *
 * Schedules follow PocketFlow (utils/lrn_rate_utils.py): the initial rate is
 * lr0 = lrn_rate_init * batch / batch_size_norm; piecewise-constant decay happens at
 * int(steps_per_epoch * epoch_i * nb_epochs_rat) steps with multipliers rates[i]; the total is
 * int(n_train * epochs * nb_epochs_rat / batch) steps. Cosine decays lr0 to 0 over the total.
 * Loops report progress through a callback that can also stop them (cooperative cancel). */
#ifndef PF_ENGINE_MODEL_TRAIN_H
#define PF_ENGINE_MODEL_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/io/dataset.h"
#include "engine/model/graph.h"
#include "engine/model/optim.h"

#define PF_SCHED_MAX_DECAY 8

enum pf_lr_kind { PF_LR_PIECEWISE, PF_LR_COSINE, PF_LR_CONSTANT };

struct pf_schedule {
    enum pf_lr_kind kind;
    double lrn_rate_init;                       /* PocketFlow's lrn_rate_init */
    int batch_size_norm;                        /* PocketFlow's batch_size_norm (128) */
    int n_decay;                                /* piecewise: number of boundaries */
    double decay_epochs[PF_SCHED_MAX_DECAY];    /* boundaries in epochs (before nb_epochs_rat) */
    double decay_rates[PF_SCHED_MAX_DECAY + 1]; /* multiplier of lr0 in each stage; [0] = 1 */
};

/* Optional hooks into the training loop (all may be NULL), for learners that constrain the
 * weights (sparsity masks, fake-quantized weights, codebooks) and for extra loss terms
 * (distillation). Per step the loop runs before_forward, forward, loss, before_backward,
 * backward, before_update, the optimizer step, after_update. `step` counts from 0, lr is this
 * step's rate. A hook returns 0 or a negative PF_E* code, which ends training with that code.
 * One struct serves one client; to combine two, call one's hooks from the other's (the run's
 * fine-tune chains a learner's hooks with the distillation hook that way, learners/run.c). */
struct pf_train_hooks {
    /* e.g. write the fake-quantized weights into the params the forward reads */
    int (*before_forward)(struct pf_model *m, long step, void *user);
    /* after the task loss, before backward: the one place to change the gradient that backward
     * starts from. dlogits (N, classes) holds d(mean softmax cross-entropy)/d(logits) (already
     * divided by N); a hook ADDS its own term's gradient to it (e.g. distillation). x is the
     * batch (N, C, H, W) exactly as the forward saw it (augmented), the logits are
     * pf_model_logits(m). The reported loss stays the task loss. */
    int (*before_backward)(struct pf_model *m, const float *x, int N, float *dlogits, long step,
                           void *user);
    /* after backward, before the optimizer: e.g. restore the float weights, mask gradients */
    int (*before_update)(struct pf_model *m, struct pf_optim *o, long step, float lr, void *user);
    /* after the optimizer: e.g. new masks (then pf_optim_reset), centroid updates */
    int (*after_update)(struct pf_model *m, struct pf_optim *o, long step, float lr, void *user);
    void *user;
};

struct pf_train_cfg {
    struct pf_optim_cfg optim;
    struct pf_schedule sched;
    double epochs;        /* nominal epochs */
    double nb_epochs_rat; /* PocketFlow's nb_epochs_rat: scales epochs and decay boundaries */
    int batch;            /* mini-batch size */
    bool augment;         /* pad 4 + random crop + random horizontal flip */
    uint64_t seed;        /* shuffling and augmentation */
    int log_every;        /* steps between progress callbacks (>= 1) */
    const struct pf_train_hooks *hooks; /* optional, borrowed; NULL = plain training */
};

/* PocketFlow's Fashion-MNIST recipe scaled to `epochs`: SGD momentum 0.9, lr 0.1 x batch/128,
 * weight decay 3e-4, decays x0.1 at 50% and 75% of the epochs, batch 128, augmentation on. */
void pf_train_cfg_default(struct pf_train_cfg *c, double epochs);

struct pf_train_progress {
    long step, total; /* steps done, steps in the run */
    double epoch;     /* fractional epoch (of the scaled run) */
    float lr;
    float loss, acc;  /* running means since the previous callback */
    double img_per_s; /* training throughput since the previous callback */
    double elapsed_s;
};

/* Return nonzero to stop the loop (it then returns -PF_ECANCELLED, params as of the last step). */
typedef int (*pf_train_fn)(const struct pf_train_progress *p, void *user);

/* Total steps and the learning rate at a step for n_train samples. */
long pf_train_total_steps(const struct pf_train_cfg *c, uint32_t n_train);
float pf_train_lr_at(const struct pf_train_cfg *c, uint32_t n_train, long step);

/* Trains m on d's samples idx[0..n) (all of d if idx is NULL). Returns 0, -PF_ECANCELLED, or an
 * error. */
int pf_train(struct pf_model *m, const struct pf_dataset *d, const uint32_t *idx, uint32_t n,
             const struct pf_train_cfg *c, pf_train_fn cb, void *user);

/* Adaptive batch normalisation (Li et al. 2020, "EagleEye"): `batches` training-mode forwards of
 * m on `batch` images each, with no backward and no weight change, so that every batch-norm
 * layer's running statistics follow m's current weights (each layer moves them by its momentum
 * per batch: after 50 batches at 0.9, 0.5% of the old statistics remain). Images are idx[0..n)
 * of d (all if idx is NULL) in an order shuffled by seed, reshuffled after each pass, without
 * augmentation. batches <= 0 does nothing. Returns 0 or an error (the shape checks of
 * pf_train). */
int pf_bn_recalibrate(struct pf_model *m, const struct pf_dataset *d, const uint32_t *idx,
                      uint32_t n, int batches, int batch, uint64_t seed);

struct pf_eval_result {
    double accuracy; /* fraction correct, 0..1 */
    double loss;     /* mean softmax cross-entropy */
    long samples, correct;
};

/* Evaluates m (inference mode) on idx[0..n) of d (all if idx is NULL) in batches of `batch`.
 * If pred is not NULL it receives each sample's predicted class (n entries). */
int pf_evaluate(struct pf_model *m, const struct pf_dataset *d, const uint32_t *idx, uint32_t n,
                int batch, struct pf_eval_result *r, int *pred);

/* A network's forward for evaluation: the logits (nb, classes) of nb images x (N, C, H, W). */
typedef int (*pf_forward_fn)(void *net, const float *x, int nb, float *logits);

/* pf_evaluate's loop over any network (the inference network, the int8 network): fwd(net, ...)
 * gives the logits; name, input and classes describe the network for the shape checks and their
 * messages. */
int pf_evaluate_net(pf_forward_fn fwd, void *net, const char *name, struct pf_shape input,
                    int classes, const struct pf_dataset *d, const uint32_t *idx, uint32_t n,
                    int batch, struct pf_eval_result *r, int *pred);

/* The exact sign test of two classifiers on the same images: of the n images they classify
 * differently, one gets k right. Returns the probability that a fair coin gives at least k
 * heads in n tosses (one-sided; 1 when n is 0). */
double pf_sign_test_p(long n, long k);

#endif
