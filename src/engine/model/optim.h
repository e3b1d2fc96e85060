/* optim.h: optimizers over a model's trainable params: SGD with momentum and Adam.
 *
 * Weight decay is L2 added to the gradient (wd * w, PocketFlow's wd * 0.5 * ||w||^2 term) and
 * applies only to params marked `decay` (conv and dense weights: BN and biases are excluded).
 * Params with a sparsity mask keep their masked entries at exactly zero. */
#ifndef PF_ENGINE_MODEL_OPTIM_H
#define PF_ENGINE_MODEL_OPTIM_H

#include "engine/model/graph.h"

enum pf_optim_kind { PF_OPTIM_SGD, PF_OPTIM_ADAM };

struct pf_optim_cfg {
    enum pf_optim_kind kind;
    double momentum;          /* SGD (PocketFlow: 0.9) */
    double weight_decay;      /* L2 coefficient */
    double beta1, beta2, eps; /* Adam (0.9, 0.999, 1e-8) */
};

struct pf_optim {
    struct pf_optim_cfg cfg;
    long t;              /* steps taken (Adam bias correction) */
    int n;               /* number of trainable params */
    struct pf_param **p; /* borrowed from the model: the model must outlive the optimizer */
    float **m1, **m2;    /* momentum / Adam first and second moments, one per param */
};

/* Sets up state for every trainable param of m (zeroed). Free with pf_optim_deinit. */
int pf_optim_init(struct pf_optim *o, struct pf_model *m, const struct pf_optim_cfg *cfg);
/* The same over an explicit list of n params (borrowed: they must outlive the optimizer); the
 * trainable ones get state, in list order. For callers that drive layers without a pf_model
 * (the DDPG agent, learners/common/ddpg.c). Free with pf_optim_deinit. */
int pf_optim_init_params(struct pf_optim *o, struct pf_param *const *params, int n,
                         const struct pf_optim_cfg *cfg);
void pf_optim_deinit(struct pf_optim *o);
/* One update with learning rate lr from the accumulated gradients (which it does not clear). */
void pf_optim_step(struct pf_optim *o, float lr);
/* Zeroes the momentum of every param (used when masks change). */
void pf_optim_reset(struct pf_optim *o);

#endif
