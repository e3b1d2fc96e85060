/* quant_ft.h: quantized fine-tuning, shared by the `uniform`, `non-uniform` and `uniform-tf`
 * learners (PocketFlow's learners/uniform_quantization, nonuniform_quantization and
 * uniform_quantization_tf share the same shape: pick the tensors, fake-quantize them in the
 * forward pass, train float masters through a straight-through estimator, store the result).
 *
 * Per step (train.h hooks): before the forward pass each quantized weight tensor's float master
 * is quantized into the param the layers read; after backward the gradient is passed straight
 * through (zeroed outside the quantizer's range) and the master restored, so the optimizer
 * (Adam) updates the master; codebook centroids get the sum of their members' gradients and
 * their own Adam step. Activation quantization uses the model's pf_actq entries (graph.h).
 * At the end every quantized tensor is packed (param->quant) and the params hold exactly its
 * decoded values, so a saved and reloaded model predicts identically. */
#ifndef PF_LEARNERS_COMMON_QUANT_FT_H
#define PF_LEARNERS_COMMON_QUANT_FT_H

#include <stdbool.h>
#include <stdint.h>

#include "learners/common/compress.h"
#include "learners/common/quant.h"
#include "learners/learner.h"

enum pf_cb_opt { PF_CB_OPT_WEIGHTS, PF_CB_OPT_CLUSTER, PF_CB_OPT_BOTH }; /* nuql_opt_mode */

struct pf_quant_ft_cfg {
    enum pf_qmode mode;      /* uniform (UQ), codebook (NUQ), affine (symmetric, UQ-TF) */
    int w_bits, a_bits;      /* uniform values (32 = float) unless the plan sets them */
    bool use_buckets;        /* ignored by affine, which is always per channel */
    const char *bucket_type; /* "channel" | "split" */
    int bucket_size;
    bool quantize_all;       /* quantize the first and last weight layers too */
    bool range_mse;          /* uniform: pf_quant_uniform_mse's clipped ranges, not min-max */
    double epochs;           /* fine-tune epochs before nb_epochs_rat */
    double lrn_rate_dcy;     /* Adam's rate = the run's schedule x this */
    enum pf_cb_init cb_init; /* codebook */
    enum pf_cb_opt cb_opt;   /* codebook */
    long quant_delay;        /* steps of float training (ranges observed) before quantizing */
    bool tf_acts;            /* quantize the input and every layer's output (TF's QAT), not
                              * only ReLU outputs; layers that keep their input's quantization
                              * (pools, ReLU, flatten, dropout) share its range */
    const char *prefix;      /* option prefix for messages: "uql_" */
    const char *phase;       /* progress label */
};

struct pf_quant_ft_tensor {
    bool on;              /* quantized (bits < 32) */
    struct pf_qtensor *q; /* owned until it moves to the param at the end */
    float *master;        /* float weights the optimizer updates */
    uint32_t *idx;        /* codebook: each weight's centroid */
    float *gcb, *m1, *m2; /* codebook: centroid gradient and Adam moments */
};

struct pf_quant_ft {
    struct pf_run *r;
    struct pf_quant_ft_cfg cfg;
    struct pf_wtarget *t; /* n targets, owned */
    int n;
    struct pf_quant_ft_tensor *ts; /* n, owned */
    long adam_t;                   /* centroid Adam steps */
    int summ_step;
    bool quantized; /* the forward pass currently sees quantized values */
};

/* Validates the configuration (bits outside 1..32 or over 16 for a codebook, unknown bucket
 * type, bucket size < 1: -PF_EINVAL naming the option), picks the tensors and their bits (plan
 * or options; first / last kept float unless quantize_all), sets up activation quantization
 * and the initial quantizers (codebooks from the current weights). Borrows r; free with
 * pf_quant_ft_deinit. */
int pf_quant_ft_init(struct pf_quant_ft *f, struct pf_run *r, const struct pf_quant_ft_cfg *c);
/* Fine-tunes (cfg.epochs x nb_epochs_rat; none if 0), then freezes activation ranges and
 * stores every quantized tensor in its param. Returns 0, -PF_ECANCELLED (the model is still
 * finalised) or an error. */
int pf_quant_ft_run(struct pf_quant_ft *f);
void pf_quant_ft_deinit(struct pf_quant_ft *f);

/* A quantizer learner's whole run: when the learner has "<prefix>enbl_rl_agent" and it is on,
 * first the RL bit allocation (rlsearch.h, pf_rl_bits) whose best strategy becomes the run's
 * plan; then init, run and deinit. */
int pf_quant_ft_learn(struct pf_run *r, const struct pf_quant_ft_cfg *c);

#endif
