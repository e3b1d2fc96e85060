/* graph.h: struct pf_model, a network as layers in topological order (module API).
 *
 * Built from a netdef YAML (DESIGN.md section 4). The model owns every layer, their params and
 * the activation buffers: for each layer an output y and an output gradient dy, sized for the
 * batch given to pf_model_set_batch. Forward and backward never allocate. The network's output
 * (the last layer's y) is the logits, (N, classes).
 *
 * Gradient buffers are shared: dy[p] is only alive in backward, from its last consumer's
 * backward (which writes it) to p's own (which reads it), so layers whose spans never overlap
 * get the same buffer (a residual network then needs a few gradient buffers, not one per
 * layer). Code that keeps several layers' dy at once outside pf_model_backward calls
 * pf_model_keep_grads first. */
#ifndef PF_ENGINE_MODEL_GRAPH_H
#define PF_ENGINE_MODEL_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/core/pf_cfg.h"
#include "engine/layers/layer.h"

struct pf_model {
    char name[PF_NAME_MAX];
    struct pf_shape input; /* per-sample input shape (C, H, W) */
    int classes;
    struct pf_layer *layers; /* n_layers, topological order */
    int n_layers;
    int batch;       /* activations are allocated for up to this many samples */
    float **y, **dy; /* per layer: output and output gradient, (batch, out) each */
    float **dy_buf;  /* the distinct gradient buffers dy[] points into, n_dy_buf of them */
    int n_dy_buf;
    bool keep_grads;  /* every layer has a dy buffer of its own (pf_model_keep_grads) */
    int *n_consumers; /* per layer: how many layers read its output */
    float *scratch;   /* fan-out gradient buffer: max layer output size x batch */
    size_t scratch_len;
    /* Optional activation fake-quantization (qtensor.h), NULL = none: n_layers + 1 entries,
     * [i] for layer i's output, [n_layers] for the network input. Forward applies entry i to
     * y[i] right after layer i (and the input entry to a copy of x, xq); backward treats it as
     * the identity (straight-through estimator). Owned; set up by pf_model_actq_enable. */
    struct pf_actq *actq;
    float *xq; /* (batch, input): the quantized network input, with actq only */
};

/* Builds a model from a parsed netdef. Every key is validated; errors name the file, line and
 * layer. Params are zero: call pf_model_init_params for a fresh model. Caller frees the model
 * with pf_model_free. Returns 0 or a negative PF_E* code. */
int pf_model_from_cfg(const struct pf_cfg *netdef, struct pf_model **out);
/* Parses YAML text or a file, then pf_model_from_cfg. */
int pf_model_from_yaml(const char *text, size_t len, const char *name, struct pf_model **out);
int pf_model_from_file(const char *path, struct pf_model **out);
void pf_model_free(struct pf_model *m);

/* The netdef YAML of the model as it is now (real channel counts). Caller frees *out. */
int pf_model_to_yaml(const struct pf_model *m, char **out);

/* PyTorch's default init for conv and dense weights (U(+-1/sqrt(fan_in))), zero biases, BN gamma 1
 * and beta 0, running var 1. Deterministic for a seed. */
void pf_model_init_params(struct pf_model *m, unsigned long long seed);

/* A deep copy: same netdef, same parameter values (masks too), its own activations. */
int pf_model_clone(const struct pf_model *m, struct pf_model **out);

/* Allocates activations for batches of up to N samples (no-op if already large enough). */
int pf_model_set_batch(struct pf_model *m, int N);

/* Gives every layer a gradient buffer of its own from now on (reallocating the activations at
 * the current batch size when they were shared), for code that sets or reads several layers'
 * dy around its own backward passes. 0 or -PF_ENOMEM. */
int pf_model_keep_grads(struct pf_model *m);

/* After layers' shapes changed in place (channel pruning, groups.h): frees the activations and
 * reallocates them for the previous batch size (nothing if none was set). 0 or -PF_ENOMEM. */
int pf_model_reshape(struct pf_model *m);

/* Gives the model activation fake-quantization entries (all off, see struct pf_actq) if it has
 * none, and the input buffer they need. 0 or -PF_ENOMEM. pf_model_actq_disable frees them. */
int pf_model_actq_enable(struct pf_model *m);
void pf_model_actq_disable(struct pf_model *m);

/* The first activation quantization that is on: a layer index, m->n_layers for the network
 * input, or -1 when every activation is float. */
int pf_model_actq_first(const struct pf_model *m);

/* Forward pass over x (N, C, H, W); N <= batch. The logits are pf_model_logits(m). */
int pf_model_forward(struct pf_model *m, const float *x, int N, bool train);
static inline const float *pf_model_logits(const struct pf_model *m)
{
    return m->y[m->n_layers - 1];
}
/* Backward pass after a forward with the same x and N, from dlogits (N, classes); accumulates
 * into every trainable param's gradient. dlogits is not modified. */
int pf_model_backward(struct pf_model *m, const float *x, const float *dlogits, int N);
void pf_model_zero_grad(struct pf_model *m);

/* Index of the layer with that name, or -1. */
int pf_model_find(const struct pf_model *m, const char *name);

/* Visits every param of every layer in order. */
typedef int (*pf_param_visit_fn)(struct pf_layer *l, struct pf_param *p, void *user);
int pf_model_for_each_param(struct pf_model *m, pf_param_visit_fn fn, void *user);

/* Totals at batch 1: MACs, other ops, params (see struct pf_count). */
void pf_model_count(const struct pf_model *m, struct pf_count *total);

#endif
