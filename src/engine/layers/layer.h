/* layer.h: struct pf_layer and the per-kind ops table (module API).
 *
 * A layer kind is one file in layers/ defining `const struct pf_layer_ops pf_layer_<kind>`,
 * plus one line in layers/registry.c and one test file. The model (model/graph.c) owns the
 * activations: it hands each layer its inputs x[i] (N, in[i].c, in[i].h, in[i].w) and its output
 * buffer y (N, out.c, out.h, out.w), and during backward the output gradient dy and the input
 * gradients dx[i] to fill.
 *
 * Contracts every kind follows:
 * - init parses the layer's YAML keys (already checked against ops->keys), reads l->in[] shapes,
 *   sets l->out, creates its params. Errors name the layer (pf_cfg_err at the node).
 * - set_batch (optional) sizes per-batch caches for up to N samples. forward and backward never
 *   allocate.
 * - forward writes all of y. With train = false it must not change any state (BN running stats).
 * - backward OVERWRITES dx[i] (dx[i] may be NULL: that input needs no gradient) and ACCUMULATES
 *   (+=) into parameter gradients. It may clobber dy (the model no longer needs it). It
 *   differentiates the layer's last forward, whose x and y it is given unchanged: a layer may
 *   reuse what that forward derived from them (batch statistics, a reordered copy of x).
 * - Fused activations (`act:`) are applied in forward to y and undone in backward from y. */
#ifndef PF_ENGINE_LAYERS_LAYER_H
#define PF_ENGINE_LAYERS_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/core/pf_cfg.h"
#include "engine/qtensor.h"
#include "engine/tensor.h"

#define PF_LAYER_MAX_INPUTS 8
#define PF_LAYER_MAX_PARAMS 4
#define PF_NAME_MAX         64

struct pf_shape {
    int c, h, w; /* per-sample shape; a flat vector is (c, 1, 1) */
};

static inline size_t pf_shape_numel(struct pf_shape s)
{
    return (size_t)s.c * s.h * s.w;
}

enum pf_act { PF_ACT_NONE, PF_ACT_RELU, PF_ACT_RELU6 };

/* What learners see of a layer's weights, layer-agnostic. */
struct pf_param {
    char name[16];            /* "weight", "bias", "gamma", "beta", "running_mean", "running_var" */
    struct pf_tensor w;       /* the values (owned by the layer) */
    struct pf_tensor g;       /* gradient, same shape; empty for buffers (running stats) */
    uint8_t *mask;            /* optional sparsity mask, numel(w) bytes, 1 = kept; NULL = dense */
    struct pf_qtensor *quant; /* optional stored quantized form (owned): w holds its decoded
                               * values; model files store it instead of w. NULL = float */
    bool trainable;           /* false: a buffer updated by forward, not by the optimizer */
    bool decay;               /* weight decay applies (conv and dense weights; not BN, not bias) */
    int out_axis, in_axis;    /* axes of w holding output / input channels; -1 if none */
};

struct pf_count {
    uint64_t macs;      /* multiply-accumulates of conv and dense layers, batch 1 */
    uint64_t other_ops; /* element-wise / pooling / BN / add operations, batch 1 */
    uint64_t params;    /* weights + biases + BN gamma/beta (running stats excluded) */
};

struct pf_layer_ops;

struct pf_layer {
    const struct pf_layer_ops *ops;
    char name[PF_NAME_MAX];
    int index;                               /* position in the model's topological order */
    int n_in;                                /* number of inputs (>= 1) */
    int in_idx[PF_LAYER_MAX_INPUTS];         /* producer layer index, -1 = the network input */
    struct pf_shape in[PF_LAYER_MAX_INPUTS]; /* input shapes (set before init) */
    struct pf_shape out;                     /* output shape (set by init) */
    enum pf_act act;                         /* fused activation, for kinds that take `act:` */
    struct pf_param params[PF_LAYER_MAX_PARAMS];
    int n_params;
    void *priv; /* ops->priv_size bytes, zeroed; the kind's own state */
};

struct pf_layer_ops {
    const char *name;        /* YAML `type:` value, unique */
    const char *const *keys; /* YAML keys this kind accepts besides name/type/inputs; NULL-ended */
    size_t priv_size;        /* bytes of layer-private state, zeroed by the framework */
    int min_inputs, max_inputs; /* 0 means 1 */

    int (*init)(struct pf_layer *l, const struct pf_cfg *cfg);
    int (*set_batch)(struct pf_layer *l, int N); /* optional */
    int (*forward)(struct pf_layer *l, const float *const *x, float *y, int N, bool train);
    int (*backward)(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                    float *const *dx, int N);
    /* Work and size at batch 1; optional (NULL: zeros). */
    void (*count)(const struct pf_layer *l, struct pf_count *out);
    /* Appends the layer's own YAML keys (after name/type/inputs) as ", key: value" pairs to buf,
     * reflecting its current sizes (so a pruned model's netdef has the real channel counts).
     * Returns the number of characters written (snprintf semantics). */
    int (*to_yaml)(const struct pf_layer *l, char *buf, size_t n);
    void (*deinit)(struct pf_layer *l); /* frees what init/set_batch created; optional */
    /* Physical channel removal; optional (NULL: the kind cannot be pruned in place).
     * axis 0: removes output channels k with keep[k] == 0 (keep has out.c entries);
     * axis 1: removes input channels c with keep[c] == 0 (keep has in[0].c entries; a dense
     *         layer reading (C, H, W) removes the H*W features of each channel).
     * Params (values, gradients, masks) shrink, l->in[0] / l->out are updated, private caches
     * resized; per-batch caches are rebuilt by the model's next set_batch. At least one
     * channel must stay. Layers whose input and output channels are the same channels
     * (batchnorm, depthwise conv2d) remove both, whichever axis is named. Used by
     * pf_model_prune_group (model/groups.h). Returns 0, -PF_EINVAL, -PF_EUNSUPPORTED (e.g. a
     * grouped conv) or -PF_ENOMEM (the layer may then be part-pruned: discard the model). */
    int (*prune_channels)(struct pf_layer *l, int axis, const uint8_t *keep);
};

/* Whether l is of kind `kind` (its YAML `type:`, e.g. "batchnorm"). */
static inline bool pf_layer_is(const struct pf_layer *l, const char *kind)
{
    return !strcmp(l->ops->name, kind);
}

/* ---- registry (layers/registry.c) ---- */
extern const struct pf_layer_ops *const pf_layers[];
extern const size_t pf_layers_len;
/* NULL if no kind has that name. */
const struct pf_layer_ops *pf_layer_find(const char *name);

/* The kinds (one file each in layers/). */
extern const struct pf_layer_ops pf_layer_conv2d;
extern const struct pf_layer_ops pf_layer_dense;
extern const struct pf_layer_ops pf_layer_batchnorm;
extern const struct pf_layer_ops pf_layer_relu;
extern const struct pf_layer_ops pf_layer_relu6;
extern const struct pf_layer_ops pf_layer_maxpool;
extern const struct pf_layer_ops pf_layer_avgpool;
extern const struct pf_layer_ops pf_layer_gap;
extern const struct pf_layer_ops pf_layer_add;
extern const struct pf_layer_ops pf_layer_concat;
extern const struct pf_layer_ops pf_layer_flatten;
extern const struct pf_layer_ops pf_layer_dropout;
extern const struct pf_layer_ops pf_layer_layernorm;

/* The geometry of a conv2d layer (sizes, stride, resolved padding, groups) for a batch of N, as
 * its forward uses it: what channel pruners need to cut input patches. Returns 0, or
 * -PF_EINVAL when l is not a conv2d layer. */
struct pf_conv_desc;
int pf_conv2d_geometry(const struct pf_layer *l, int N, struct pf_conv_desc *d);

/* ---- creating one layer (used by the model and by tests) ---- */

/* Creates a layer from one netdef row (a map with name, type, optional inputs, and the kind's
 * keys) reading inputs of the given shapes. Checks every key against the kind, allocates priv
 * and calls init. On failure l is left empty (nothing to free). in_idx is not touched. */
int pf_layer_create(struct pf_layer *l, const struct pf_cfg *row, const struct pf_shape *in,
                    int n_in);
/* Frees everything pf_layer_create made (deinit, params, priv). */
void pf_layer_destroy(struct pf_layer *l);

/* ---- helpers shared by layer kinds (layers/layer.c) ---- */

/* Adds a parameter to l with the given shape (zeroed), with a gradient if trainable.
 * Returns a pointer into l->params or NULL (PF_ENOMEM / too many params). */
struct pf_param *pf_layer_add_param(struct pf_layer *l, const char *name, int ndim,
                                    const int *shape, bool trainable, bool decay, int out_axis,
                                    int in_axis);
/* For prune_channels: removes the entries i of axis `axis` of p's values, gradient, mask and
 * quantized form (pf_qtensor_prune; dropped where its buckets cannot follow) where keep[i] == 0
 * (keep has p->w.shape[axis] entries, n_kept of them nonzero and >= 1).
 * All or nothing: returns 0 or -PF_ENOMEM / -PF_EINVAL with p unchanged. */
int pf_param_prune_axis(struct pf_param *p, int axis, const uint8_t *keep);
/* Frees every param's tensors and mask. Called by the model after ops->deinit. */
void pf_layer_free_params(struct pf_layer *l);
/* The param named `name`, or NULL. */
struct pf_param *pf_layer_param(const struct pf_layer *l, const char *name);

/* Typed reads of a layer's optional YAML keys. When the key is absent *out keeps its value
 * (the default) and 0 is returned, unless `required` (then a "missing key" error). Values
 * outside [lo, hi] are errors. Every message names the layer and the key, at the key's line. */
int pf_layer_key_int(const struct pf_layer *l, const struct pf_cfg *cfg, const char *key,
                     bool required, long lo, long hi, long *out);
int pf_layer_key_float(const struct pf_layer *l, const struct pf_cfg *cfg, const char *key,
                       double lo, double hi, double *out);
int pf_layer_key_bool(const struct pf_layer *l, const struct pf_cfg *cfg, const char *key,
                      bool *out);

/* For to_yaml: appends printf-style text at buf + used (used = characters written so far, may
 * exceed n after truncation) and returns the new total, snprintf semantics. */
int pf_layer_yaml_add(char *buf, size_t n, int used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses `act:` (none/relu/relu6) from cfg into l->act. */
int pf_layer_parse_act(struct pf_layer *l, const struct pf_cfg *cfg);
/* Applies l->act to y[0..n) in place; and in backward multiplies dy by the activation's
 * derivative, read from the activated output y. */
void pf_act_forward(enum pf_act act, float *y, size_t n);
void pf_act_backward(enum pf_act act, const float *y, float *dy, size_t n);
/* The act as the backend's clamp [lo, hi] (backend.h): none (-inf, inf), relu [0, inf),
 * relu6 [0, 6]. */
void pf_act_bounds(enum pf_act act, float *lo, float *hi);
const char *pf_act_name(enum pf_act act);

/* Spatial keys shared by conv2d and the pools: `kernel` (n or [h, w]), `stride` (n or [h, w]),
 * `pad` (valid, same, n or [h, w]). Resolves into the descriptor-style numbers below for the
 * input size h x w; SAME follows TensorFlow (out = ceil(in / stride), odd pixel bottom/right). */
struct pf_window {
    int kh, kw, sh, sw;
    int pad_mode;                   /* 0 valid, 1 same, 2 explicit */
    int ph, pw;                     /* explicit symmetric padding */
    int pad_t, pad_b, pad_l, pad_r; /* resolved */
    int oh, ow;                     /* resolved output size */
};
int pf_window_parse(struct pf_window *win, const struct pf_cfg *cfg, const char *layer,
                    int default_stride_is_kernel);
int pf_window_resolve(struct pf_window *win, int h, int w, const struct pf_cfg *at,
                      const char *layer);
int pf_window_to_yaml(const struct pf_window *win, char *buf, size_t n, int print_stride);
/* The input rows [*hs, *he) and columns [*ws, *we) that output (oh, ow) of a resolved window
 * reads from an H x W input: the window clipped to the input (padding cells lie outside). */
void pf_window_clip(const struct pf_window *w, int H, int W, int oh, int ow, int *hs, int *he,
                    int *ws, int *we);

/* A layer's own netdef keys as to_yaml writes them (", kernel: 3, ..."); caller frees. NULL when
 * out of memory. */
char *pf_layer_keys(const struct pf_layer *l);
/* The layer's row as a parsed map {name, type, its keys}, for reading its geometry back (e.g.
 * with pf_window_parse) outside the layer's own file. Caller frees with pf_cfg_free. 0 or an
 * error. */
int pf_layer_cfg(const struct pf_layer *l, struct pf_cfg **out);

#endif
