/* int8.c: batch-norm folding, int32 bias quantization and the integer inference network of
 * an int8-ready model (see int8.h). Reproduces what TF's quantization rewriter and TFLite's uint8
 * kernels did for PocketFlow's `uniform-tf` (learners/uniform_quantization_tf, the
 * export_quant_tflite_model.py export), in our own file format.
 * Layer geometry (kernel, stride, padding) is read back from each layer's own netdef keys
 * (ops->to_yaml) with the public window helpers, so no layer internals are needed here. */
#include "engine/model/int8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/layers/softmax_xent.h"

/* ---- small helpers ---- */

struct sbuf {
    char *s;
    size_t len, cap;
};

static int sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_add(struct sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return PF_ERR(PF_EINVAL, "text formatting failed");
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return 0;
        }
        size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
        char *s = pf_realloc_array(b->s, cap, 1);
        if (!s)
            return -PF_ENOMEM;
        b->s = s;
        b->cap = cap;
    }
}

/* ---- batch-norm folding ---- */

/* Removes the first ", bias: false" from s (in place). */
static void drop_bias_false(char *s)
{
    char *p = strstr(s, ", bias: false");
    if (p)
        memmove(p, p + strlen(", bias: false"), strlen(p + strlen(", bias: false")) + 1);
}

int pf_bn_affine(const struct pf_layer *bn, float *scale, float *shift)
{
    struct pf_cfg *cfg = NULL;
    int rc = pf_layer_cfg(bn, &cfg);
    if (rc < 0)
        return rc;
    double eps = 1e-5;
    const struct pf_cfg *e = pf_cfg_get(cfg, "eps");
    if (e && e->kind == PF_CFG_SCALAR)
        eps = strtod(e->str, NULL);
    pf_cfg_free(cfg);
    const float *gamma = pf_tensor_f32(&pf_layer_param(bn, "gamma")->w);
    const float *beta = pf_tensor_f32(&pf_layer_param(bn, "beta")->w);
    const float *mean = pf_tensor_f32(&pf_layer_param(bn, "running_mean")->w);
    const float *var = pf_tensor_f32(&pf_layer_param(bn, "running_var")->w);
    for (int c = 0; c < bn->out.c; c++) {
        double g = (double)gamma[c] / sqrt((double)var[c] + eps);
        scale[c] = (float)g;
        shift[c] = (float)(beta[c] - mean[c] * g);
    }
    return 0;
}

/* dst's weight and bias: conv's with bn folded in, w' = w * scale, b' = b * scale + shift. */
static int fold_params(const struct pf_layer *conv, const struct pf_layer *bn, struct pf_layer *dst)
{
    const struct pf_param *w = pf_layer_param(conv, "weight"), *b = pf_layer_param(conv, "bias");
    struct pf_param *dw = pf_layer_param(dst, "weight"), *db = pf_layer_param(dst, "bias");
    int K = w->w.shape[0];
    float *scale = pf_malloc((size_t)K * 2 * sizeof *scale), *shift = scale + K;
    if (!scale)
        return -PF_ENOMEM;
    int rc = pf_bn_affine(bn, scale, shift);
    size_t per = pf_tensor_numel(&w->w) / (size_t)K;
    const float *src = pf_tensor_f32(&w->w);
    float *out = pf_tensor_f32(&dw->w), *bias = pf_tensor_f32(&db->w);
    for (int k = 0; k < K && rc == 0; k++) {
        for (size_t j = 0; j < per; j++)
            out[(size_t)k * per + j] = src[(size_t)k * per + j] * scale[k];
        float b0 = b ? pf_tensor_f32(&b->w)[k] : 0.0f;
        bias[k] = b0 * scale[k] + shift[k];
    }
    free(scale);
    return rc;
}

int pf_model_fold_bn(const struct pf_model *m, struct pf_model **out)
{
    int L = m->n_layers, rc = 0;
    int *alias = pf_malloc((size_t)L * sizeof *alias),
        *bn_of = pf_malloc((size_t)L * sizeof *bn_of);
    struct sbuf y = {0};
    struct pf_model *f = NULL;
    *out = NULL;
    if (!alias || !bn_of) {
        rc = -PF_ENOMEM;
        goto out;
    }
    for (int i = 0; i < L; i++)
        alias[i] = i, bn_of[i] = -1;
    for (int i = 0; i < L; i++) {
        const struct pf_layer *l = &m->layers[i];
        int p = l->in_idx[0];
        if (!pf_layer_is(l, "batchnorm") || l->n_in != 1 || p < 0)
            continue;
        const struct pf_layer *c = &m->layers[p];
        if ((pf_layer_is(c, "conv2d") || pf_layer_is(c, "dense")) && m->n_consumers[p] == 1 &&
            c->act == PF_ACT_NONE && bn_of[p] < 0) {
            bn_of[p] = i;
            alias[i] = p;
        }
    }
    rc = sb_add(&y, "name: %s\ninput: [%d, %d, %d]\nclasses: %d\nlayers:\n", m->name, m->input.c,
                m->input.h, m->input.w, m->classes);
    for (int i = 0; i < L && rc == 0; i++) {
        const struct pf_layer *l = &m->layers[i];
        if (alias[i] != i)
            continue;
        rc = sb_add(&y, "  - {name: %s, type: %s, inputs: [", l->name, l->ops->name);
        for (int k = 0; k < l->n_in && rc == 0; k++)
            rc = sb_add(&y, "%s%s", k ? ", " : "",
                        l->in_idx[k] < 0 ? "input" : m->layers[alias[l->in_idx[k]]].name);
        char *keys = pf_layer_keys(l);
        if (!keys) {
            rc = -PF_ENOMEM;
            break;
        }
        if (bn_of[i] >= 0)
            drop_bias_false(keys);
        if (rc == 0)
            rc = sb_add(&y, "]%s", keys);
        free(keys);
        if (rc == 0 && bn_of[i] >= 0 && m->layers[bn_of[i]].act != PF_ACT_NONE)
            rc = sb_add(&y, ", act: %s", pf_act_name(m->layers[bn_of[i]].act));
        if (rc == 0)
            rc = sb_add(&y, "}\n");
    }
    if (rc < 0 || (rc = pf_model_from_yaml(y.s, y.len, m->name, &f)) < 0)
        goto out;
    for (int i = 0, j = 0; i < L; i++) {
        if (alias[i] != i)
            continue;
        const struct pf_layer *a = &m->layers[i];
        struct pf_layer *b = &f->layers[j++];
        if (bn_of[i] >= 0) {
            if ((rc = fold_params(a, &m->layers[bn_of[i]], b)) < 0)
                goto out;
            continue;
        }
        for (int k = 0; k < b->n_params; k++)
            if ((rc = pf_tensor_copy(&b->params[k].w, &a->params[k].w)) < 0)
                goto out;
    }
    *out = f;
    f = NULL;
out:
    pf_model_free(f);
    free(y.s);
    free(bn_of);
    free(alias);
    return rc;
}

/* ---- quantization parameters ---- */

int pf_int8_act_params(const struct pf_model *m, int i, float *scale, int32_t *zero_point)
{
    const char *name = i < m->n_layers ? m->layers[i].name : "input";
    if (!m->actq)
        return PF_ERR(PF_EINVAL, "%s: the model has no activation quantization", m->name);
    const struct pf_actq *a = &m->actq[i];
    for (int hops = 0; a->tie >= 0 && a->tie <= m->n_layers && hops <= m->n_layers; hops++)
        a = &m->actq[a->tie];
    if (a->bits <= 0 || !a->ready)
        return PF_ERR(PF_EINVAL, "%s: its output is not quantized (no observed range)", name);
    pf_actq_params(a->bits, a->lo, a->hi, scale, zero_point);
    return a->bits;
}

int pf_int8_quantize_biases(struct pf_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_layer *l = &m->layers[i];
        struct pf_param *w = pf_layer_param(l, "weight"), *b = pf_layer_param(l, "bias");
        if (!w || !b || !w->quant || w->quant->mode != PF_QMODE_AFFINE)
            continue;
        float s_in;
        int32_t zp;
        int p = l->in_idx[0] < 0 ? m->n_layers : l->in_idx[0];
        int rc = pf_int8_act_params(m, p, &s_in, &zp);
        if (rc < 0)
            return rc;
        int K = w->w.shape[0];
        struct pf_qtensor *q = NULL;
        if ((rc = pf_qtensor_new(&q, PF_QMODE_AFFINE, PF_QBUCKET_CHANNEL, 32, 0, (size_t)K, K)) < 0)
            return rc;
        float *v = pf_tensor_f32(&b->w);
        for (int k = 0; k < K; k++) {
            float s = s_in * w->quant->scales[w->quant->bucket == PF_QBUCKET_CHANNEL ? k : 0];
            q->scales[k] = s > 1e-30f ? s : 1e-30f;
            double r = nearbyint((double)v[k] / q->scales[k]);
            r = r < INT32_MIN ? INT32_MIN : r > INT32_MAX ? INT32_MAX : r;
            pf_qtensor_set(q, (size_t)k, (uint32_t)(int32_t)r);
        }
        pf_qtensor_dequantize(q, v);
        pf_qtensor_free(b->quant);
        b->quant = q;
    }
    return 0;
}

/* ---- the integer network ---- */

enum op_kind { OP_CONV, OP_DENSE, OP_MAXPOOL, OP_AVGPOOL, OP_RELU, OP_COPY, OP_ADD, OP_CONCAT };

struct qp {
    float s;      /* scale */
    int32_t zp;   /* zero point */
    int32_t qmax; /* 2^bits - 1 */
};

struct op {
    enum op_kind kind;
    char name[PF_NAME_MAX];
    int n_in, in[PF_LAYER_MAX_INPUTS]; /* producer op, -1 = the network input */
    struct pf_shape in_shape[PF_LAYER_MAX_INPUTS], out;
    struct pf_shape layout; /* how its output is laid out: (H, W, C) of this
                             * shape, channels last; a flatten keeps its input's */
    struct qp q;            /* of the output (unused for the logits) */
    bool last;              /* writes the float logits */
    int32_t lo, hi;         /* clamp of the output: fused ReLU / ReLU6 */
    /* conv / dense */
    struct pf_conv_desc d;
    void *state; /* backend slot */
    int8_t *w;   /* (K, C/groups, R, S) or (out, in) */
    int32_t *b;  /* (K); zeros without a bias */
    float *mult; /* (K): s_in * s_w[k] / s_out, or s_in * s_w[k] */
    /* pools */
    struct pf_window win;
    bool count_pad; /* avgpool with explicit padding divides by kh*kw */
};

struct pf_int8_net {
    int n_ops;
    struct op *ops;
    struct pf_shape input;
    int classes;
    struct qp qin;
    int batch;     /* buffers are sized for this many images */
    uint8_t *xin;  /* (batch, input) */
    uint8_t **buf; /* per op: (batch, out) */
    int32_t *acc;  /* conv / dense accumulators: the largest (batch, out) */
};

static struct qp qp_of(const struct pf_int8_net *n, int op)
{
    return op < 0 ? n->qin : n->ops[op].q;
}

static int act_qp(const struct pf_model *m, int i, struct qp *q)
{
    int bits = pf_int8_act_params(m, i, &q->s, &q->zp);
    if (bits < 0)
        return bits;
    if (bits > 8)
        return PF_ERR(PF_EUNSUPPORTED, "%s: %d-bit activations; the int8 path takes at most 8",
                      i < m->n_layers ? m->layers[i].name : "input", bits);
    q->qmax = (1 << bits) - 1;
    return 0;
}

static bool same_qp(struct qp a, struct qp b)
{
    return a.s == b.s && a.zp == b.zp && a.qmax == b.qmax;
}

/* Clamp bounds of a fused activation in the output's integers. */
static void act_bounds(struct op *o, enum pf_act act)
{
    o->lo = 0;
    o->hi = o->q.qmax;
    if (act == PF_ACT_RELU || act == PF_ACT_RELU6)
        o->lo = o->q.zp;
    if (act == PF_ACT_RELU6) {
        float six = nearbyintf(6.0f / o->q.s) + (float)o->q.zp;
        o->hi = six < (float)o->q.qmax ? (int32_t)six : o->q.qmax;
    }
}

/* Weights and bias of a conv / dense layer as integers, and the requantization multipliers. */
static int build_matmul(struct pf_int8_net *n, struct op *o, const struct pf_layer *l)
{
    const struct pf_param *pw = pf_layer_param(l, "weight"), *pb = pf_layer_param(l, "bias");
    const struct pf_qtensor *qw = pw ? pw->quant : NULL;
    if (!qw || qw->mode != PF_QMODE_AFFINE || qw->bits > 8 || qw->bucket == PF_QBUCKET_SPLIT)
        return PF_ERR(PF_EUNSUPPORTED,
                      "%s: the int8 path needs symmetric (affine) weights of at "
                      "most 8 bits per tensor or channel",
                      l->name);
    if (!pf_qtensor_matches(qw, pf_tensor_f32(&pw->w), pf_tensor_numel(&pw->w)))
        return PF_ERR(PF_EUNSUPPORTED,
                      "%s: its weights changed after they were quantized (run uniform-tf on "
                      "this model again for an int8 network)",
                      l->name);
    for (int b = 0; b < qw->n_buckets; b++)
        if (qw->zero_points[b] != 0)
            return PF_ERR(PF_EUNSUPPORTED, "%s: weight zero points must be 0", l->name);
    if (pb && (!pb->quant || pb->quant->mode != PF_QMODE_AFFINE || pb->quant->bits != 32))
        return PF_ERR(PF_EINVAL,
                      "%s: the bias is not an int32 qtensor "
                      "(pf_int8_quantize_biases)",
                      l->name);
    int K = pw->w.shape[0];
    size_t nw = pf_tensor_numel(&pw->w);
    o->w = pf_malloc(nw);
    o->mult = pf_malloc((size_t)K * sizeof *o->mult);
    o->b = pf_calloc((size_t)K, sizeof *o->b);
    if (!o->w || !o->mult || !o->b)
        return -PF_ENOMEM;
    /* a dense layer reads its input in (C, H, W) order; our activations are (H, W, C): its
     * weight columns are permuted once here instead of the data at every call */
    struct pf_shape lay = o->in[0] < 0 ? n->input : n->ops[o->in[0]].layout;
    bool permute = o->kind == OP_DENSE && lay.h * lay.w > 1;
    size_t in = nw / (size_t)K;
    for (size_t i = 0; i < nw; i++) {
        size_t dst = i;
        if (permute) {
            size_t row = i / in, col = i % in; /* col = (c * H + h) * W + w */
            size_t c = col / ((size_t)lay.h * lay.w), hw = col % ((size_t)lay.h * lay.w);
            dst = row * in + hw * (size_t)lay.c + c;
        }
        o->w[dst] = (int8_t)pf_qtensor_get_signed(qw, i);
    }
    struct qp qin = qp_of(n, o->in[0]);
    for (int k = 0; k < K; k++) {
        float sw = qw->scales[qw->bucket == PF_QBUCKET_CHANNEL ? k : 0];
        if (pb) {
            o->b[k] = pf_qtensor_get_signed(pb->quant, (size_t)k);
            float sb = pb->quant->scales[k];
            if (fabsf(sb - qin.s * sw) > 1e-6f * sb)
                return PF_ERR(PF_EINVAL,
                              "%s: bias scale %g is not s_in * s_w = %g "
                              "(pf_int8_quantize_biases)",
                              l->name, (double)sb, (double)(qin.s * sw));
        }
        o->mult[k] = o->last ? qin.s * sw : qin.s * sw / o->q.s;
    }
    return 0;
}

static int build_op(struct pf_int8_net *n, const struct pf_model *m, int i)
{
    const struct pf_layer *l = &m->layers[i];
    struct op *o = &n->ops[i];
    struct pf_cfg *cfg = NULL;
    int rc = 0;
    snprintf(o->name, sizeof o->name, "%s", l->name);
    o->n_in = l->n_in;
    for (int k = 0; k < l->n_in; k++) {
        o->in[k] = l->in_idx[k];
        o->in_shape[k] = l->in[k];
    }
    o->out = l->out;
    o->layout = l->out;
    o->last = i == m->n_layers - 1;
    if (!o->last && (rc = act_qp(m, i, &o->q)) < 0)
        return rc;
    struct qp in = qp_of(n, o->in[0]);
    const char *k = l->ops->name;
    if (o->last && strcmp(k, "conv2d") && strcmp(k, "dense"))
        return PF_ERR(PF_EUNSUPPORTED, "%s: the int8 path needs a conv2d or dense last layer",
                      l->name);
    if (!strcmp(k, "conv2d")) {
        o->kind = OP_CONV;
        const struct pf_param *pw = pf_layer_param(l, "weight");
        if ((rc = pf_layer_cfg(l, &cfg)) < 0 ||
            (rc = pf_window_parse(&o->win, cfg, l->name, 0)) < 0 ||
            (rc = pf_window_resolve(&o->win, l->in[0].h, l->in[0].w, NULL, l->name)) < 0)
            goto out;
        struct pf_conv_desc *d = &o->d;
        d->C = l->in[0].c, d->H = l->in[0].h, d->W = l->in[0].w;
        d->K = l->out.c, d->R = pw->w.shape[2], d->S = pw->w.shape[3];
        d->stride_h = o->win.sh, d->stride_w = o->win.sw;
        d->pad_t = o->win.pad_t, d->pad_b = o->win.pad_b;
        d->pad_l = o->win.pad_l, d->pad_r = o->win.pad_r;
        d->groups = l->in[0].c / pw->w.shape[1];
        d->N = 1;
        if ((rc = pf_conv_desc_finish(d)) < 0 || (rc = build_matmul(n, o, l)) < 0)
            goto out;
        act_bounds(o, l->act);
    } else if (!strcmp(k, "dense")) {
        o->kind = OP_DENSE;
        if ((rc = build_matmul(n, o, l)) < 0)
            goto out;
        act_bounds(o, l->act);
    } else if (!strcmp(k, "maxpool") || !strcmp(k, "avgpool") || !strcmp(k, "gap")) {
        o->kind = !strcmp(k, "maxpool") ? OP_MAXPOOL : OP_AVGPOOL;
        if (!strcmp(k, "gap")) {
            o->win.kh = l->in[0].h, o->win.kw = l->in[0].w, o->win.sh = o->win.sw = 1;
            o->win.oh = o->win.ow = 1;
        } else if ((rc = pf_layer_cfg(l, &cfg)) < 0 ||
                   (rc = pf_window_parse(&o->win, cfg, l->name, 1)) < 0 ||
                   (rc = pf_window_resolve(&o->win, l->in[0].h, l->in[0].w, NULL, l->name)) < 0) {
            goto out;
        }
        o->count_pad = o->win.pad_mode == 2;
    } else if (!strcmp(k, "relu") || !strcmp(k, "relu6")) {
        o->kind = OP_RELU;
        o->layout = o->in[0] < 0 ? n->input : n->ops[o->in[0]].layout;
        act_bounds(o, !strcmp(k, "relu") ? PF_ACT_RELU : PF_ACT_RELU6);
    } else if (!strcmp(k, "flatten") || !strcmp(k, "dropout")) {
        o->kind = OP_COPY;
        o->layout = o->in[0] < 0 ? n->input : n->ops[o->in[0]].layout; /* data stays (H, W, C) */
    } else if (!strcmp(k, "add") || !strcmp(k, "concat")) {
        o->kind = !strcmp(k, "add") ? OP_ADD : OP_CONCAT;
        act_bounds(o, l->act);
        for (int j = 0; j < l->n_in; j++) {
            struct pf_shape s = o->in[j] < 0 ? n->input : n->ops[o->in[j]].layout;
            if (s.c != l->in[j].c || s.h != l->in[j].h || s.w != l->in[j].w) {
                rc = PF_ERR(PF_EUNSUPPORTED, "%s: the int8 path cannot %s flattened inputs",
                            l->name, k);
                goto out;
            }
        }
        if (o->kind == OP_ADD)
            o->layout = o->in[0] < 0 ? n->input : n->ops[o->in[0]].layout;
    } else if (!strcmp(k, "batchnorm")) {
        rc = PF_ERR(PF_EUNSUPPORTED,
                    "%s: batch norm must be folded into its convolution first "
                    "(pf_model_fold_bn)",
                    l->name);
        goto out;
    } else {
        rc = PF_ERR(PF_EUNSUPPORTED, "%s: the int8 path has no %s layer", l->name, k);
        goto out;
    }
    struct pf_shape lay = o->in[0] < 0 ? n->input : n->ops[o->in[0]].layout;
    if ((o->kind == OP_CONV || o->kind == OP_MAXPOOL || o->kind == OP_AVGPOOL) &&
        (lay.c != l->in[0].c || lay.h != l->in[0].h || lay.w != l->in[0].w)) {
        rc = PF_ERR(PF_EUNSUPPORTED, "%s: the int8 path cannot run a %s on a flattened input",
                    l->name, k);
        goto out;
    }
    if ((o->kind == OP_MAXPOOL || o->kind == OP_AVGPOOL || o->kind == OP_RELU ||
         o->kind == OP_COPY) &&
        !same_qp(o->q, in)) {
        rc = PF_ERR(PF_EUNSUPPORTED,
                    "%s: a %s layer must keep its input's quantization (tie its "
                    "activation entry to its input)",
                    l->name, k);
        goto out;
    }
    if (o->kind == OP_COPY || o->kind == OP_MAXPOOL || o->kind == OP_AVGPOOL)
        o->lo = 0, o->hi = o->q.qmax;
out:
    pf_cfg_free(cfg);
    return rc;
}

void pf_int8_net_free(struct pf_int8_net *n)
{
    if (!n)
        return;
    for (int i = n->n_ops - 1; n->ops && i >= 0; i--) {
        struct op *o = &n->ops[i];
        pf_conv_state_free(&o->state);
        free(o->mult);
        free(o->b);
        free(o->w);
        if (n->buf)
            free(n->buf[i]);
    }
    free(n->buf);
    free(n->acc);
    free(n->xin);
    free(n->ops);
    free(n);
}

int pf_int8_net_new(const struct pf_model *m, struct pf_int8_net **out)
{
    *out = NULL;
    struct pf_int8_net *n = pf_calloc(1, sizeof *n);
    if (!n)
        return -PF_ENOMEM;
    n->input = m->input;
    n->classes = m->classes;
    n->n_ops = m->n_layers;
    int rc;
    if (!(n->ops = pf_calloc((size_t)m->n_layers, sizeof *n->ops)) ||
        !(n->buf = pf_calloc((size_t)m->n_layers, sizeof *n->buf))) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    if ((rc = act_qp(m, m->n_layers, &n->qin)) < 0)
        goto fail;
    for (int i = 0; i < m->n_layers; i++)
        if ((rc = build_op(n, m, i)) < 0)
            goto fail;
    *out = n;
    return 0;
fail:
    pf_int8_net_free(n);
    return rc;
}

/* Sizes the buffers for N images. */
static int net_set_batch(struct pf_int8_net *n, int N)
{
    if (N <= n->batch)
        return 0;
    size_t acc = 0;
    free(n->xin);
    free(n->acc);
    n->xin = NULL;
    n->acc = NULL;
    n->batch = 0;
    if (!(n->xin = pf_malloc_aligned(pf_shape_numel(n->input) * (size_t)N)))
        return -PF_ENOMEM;
    for (int i = 0; i < n->n_ops; i++) {
        size_t sz = pf_shape_numel(n->ops[i].out) * (size_t)N;
        free(n->buf[i]);
        if (!(n->buf[i] = pf_malloc_aligned(sz)))
            return -PF_ENOMEM;
        if (n->ops[i].kind == OP_CONV || n->ops[i].kind == OP_DENSE)
            acc = sz > acc ? sz : acc;
        if (n->ops[i].kind == OP_AVGPOOL) /* per-channel sums */
            acc = (size_t)n->ops[i].in_shape[0].c > acc ? (size_t)n->ops[i].in_shape[0].c : acc;
    }
    if (!(n->acc = pf_malloc_aligned((acc ? acc : 1) * sizeof *n->acc)))
        return -PF_ENOMEM;
    n->batch = N;
    return 0;
}

static inline uint8_t clamp_u8(float v, int32_t lo, int32_t hi)
{
    return (uint8_t)(v < (float)lo ? lo : v > (float)hi ? hi : (int32_t)v);
}

/* Requantizes conv / dense accumulators (P pixels, K channels, channels last) into the op's
 * output; for the last layer into the float logits, in (N, K, OH, OW) order. Written so that
 * the compiler vectorises the inner loop over K. */
static void requant(const struct op *o, const int32_t *acc, int N, int K, int P, uint8_t *y,
                    float *logits)
{
    const float z = (float)o->q.zp, lo = (float)o->lo, hi = (float)o->hi;
    const int32_t *b = o->b;
    const float *mlt = o->mult;
    if (logits) {
        for (int nn = 0; nn < N; nn++)
            for (int p = 0; p < P; p++)
                for (int k = 0; k < K; k++)
                    logits[((size_t)nn * K + k) * P + p] =
                        (float)(acc[((size_t)nn * P + p) * K + k] + b[k]) * mlt[k];
        return;
    }
    for (size_t p = 0; p < (size_t)N * P; p++) {
        const int32_t *a = acc + p * K;
        uint8_t *out = y + p * K;
        for (int k = 0; k < K; k++) {
            float v = nearbyintf((float)(a[k] + b[k]) * mlt[k]) + z;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            out[k] = (uint8_t)(int32_t)v;
        }
    }
}

/* Pools over (N, H, W, C) uint8 (channels last): max, or the average in the input's scale. */
static void run_pool(const struct op *o, const uint8_t *x, int N, uint8_t *y, int32_t *sum)
{
    const struct pf_window *w = &o->win;
    const int C = o->in_shape[0].c, H = o->in_shape[0].h, W = o->in_shape[0].w;
    const int32_t zp = o->q.zp;
    for (int nn = 0; nn < N; nn++)
        for (int oh = 0; oh < w->oh; oh++)
            for (int ow = 0; ow < w->ow; ow++) {
                uint8_t *out = y + (((size_t)nn * w->oh + oh) * w->ow + ow) * C;
                int hs, he, ws, we;
                pf_window_clip(w, H, W, oh, ow, &hs, &he, &ws, &we);
                int cnt = (he - hs) * (we - ws);
                for (int c = 0; c < C; c++)
                    out[c] = 0, sum[c] = 0;
                for (int h = hs; h < he; h++)
                    for (int ww = ws; ww < we; ww++) {
                        const uint8_t *in = x + (((size_t)nn * H + h) * W + ww) * C;
                        if (o->kind == OP_MAXPOOL)
                            for (int c = 0; c < C; c++)
                                out[c] = in[c] > out[c] ? in[c] : out[c];
                        else
                            for (int c = 0; c < C; c++)
                                sum[c] += in[c];
                    }
                if (o->kind == OP_MAXPOOL)
                    continue;
                /* padding cells (explicit padding) hold the real 0: they add nothing */
                const float div = (float)(o->count_pad ? w->kh * w->kw : cnt);
                for (int c = 0; c < C; c++) {
                    float v = nearbyintf((float)(sum[c] - cnt * zp) / div) + (float)zp;
                    out[c] = clamp_u8(v, 0, o->q.qmax);
                }
            }
}

/* add / concat (channels last): requantizes every input into the output's scale. */
static void run_merge(const struct pf_int8_net *n, const struct op *o, int N, uint8_t *y)
{
    const float inv = 1.0f / o->q.s, z = (float)o->q.zp;
    if (o->kind == OP_ADD) {
        size_t per = pf_shape_numel(o->out) * (size_t)N;
        for (size_t e = 0; e < per; e++) {
            float v = 0.0f;
            for (int k = 0; k < o->n_in; k++) {
                struct qp q = qp_of(n, o->in[k]);
                const uint8_t *x = o->in[k] < 0 ? n->xin : n->buf[o->in[k]];
                v += q.s * (float)((int32_t)x[e] - q.zp);
            }
            y[e] = clamp_u8(nearbyintf(v * inv) + z, o->lo, o->hi);
        }
        return;
    }
    const size_t pix = (size_t)N * o->out.h * o->out.w, Cout = (size_t)o->out.c;
    size_t off = 0;
    for (int k = 0; k < o->n_in; k++) {
        struct qp q = qp_of(n, o->in[k]);
        const uint8_t *x = o->in[k] < 0 ? n->xin : n->buf[o->in[k]];
        size_t C = (size_t)o->in_shape[k].c;
        for (size_t p = 0; p < pix; p++)
            for (size_t c = 0; c < C; c++) {
                float v = q.s * (float)((int32_t)x[p * C + c] - q.zp);
                y[p * Cout + off + c] = clamp_u8(nearbyintf(v * inv) + z, o->lo, o->hi);
            }
        off += C;
    }
}

int pf_int8_net_forward(struct pf_int8_net *n, const float *x, int N, float *logits)
{
    int rc = net_set_batch(n, N);
    if (rc < 0)
        return rc;
    /* quantize the input as pf_actq_apply does, transposing (N, C, H, W) to (N, H, W, C) */
    const int C = n->input.c, HW = n->input.h * n->input.w;
    const float inv = 1.0f / n->qin.s, z = (float)n->qin.zp;
    for (int nn = 0; nn < N; nn++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++)
                n->xin[((size_t)nn * HW + p) * C + c] = clamp_u8(
                    nearbyintf(x[((size_t)nn * C + c) * HW + p] * inv) + z, 0, n->qin.qmax);
    for (int i = 0; i < n->n_ops; i++) {
        struct op *o = &n->ops[i];
        const uint8_t *in = o->in[0] < 0 ? n->xin : n->buf[o->in[0]];
        struct qp qi = qp_of(n, o->in[0]);
        uint8_t *y = n->buf[i];
        size_t per = pf_shape_numel(o->out);
        switch (o->kind) {
        case OP_CONV:
            o->d.N = N;
            if ((rc = pf_conv2d_u8s8s32(&o->d, &o->state, in, qi.zp, o->w, n->acc)) < 0)
                return rc;
            requant(o, n->acc, N, o->d.K, o->d.OH * o->d.OW, y, o->last ? logits : NULL);
            break;
        case OP_DENSE: {
            int K = o->out.c, Cin = (int)pf_shape_numel(o->in_shape[0]);
            if ((rc = pf_gemm_u8s8s32(N, K, Cin, in, qi.zp, o->w, n->acc)) < 0)
                return rc;
            requant(o, n->acc, N, K, 1, y, o->last ? logits : NULL);
            break;
        }
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            run_pool(o, in, N, y, n->acc);
            break;
        case OP_RELU:
            for (size_t e = 0; e < per * (size_t)N; e++)
                y[e] = (uint8_t)(in[e] < o->lo ? o->lo : in[e] > o->hi ? o->hi : in[e]);
            break;
        case OP_COPY:
            memcpy(y, in, per * (size_t)N);
            break;
        case OP_ADD:
        case OP_CONCAT:
            run_merge(n, o, N, y);
            break;
        }
    }
    return 0;
}

int pf_int8_forward(void *net, const float *x, int N, float *logits)
{
    return pf_int8_net_forward(net, x, N, logits);
}

int pf_int8_net_evaluate(struct pf_int8_net *n, const struct pf_dataset *d, const uint32_t *idx,
                         uint32_t cnt, int batch, struct pf_eval_result *r, int *pred)
{
    return pf_evaluate_net(pf_int8_forward, n, "the int8 network", n->input, n->classes, d, idx,
                           cnt, batch, r, pred);
}
