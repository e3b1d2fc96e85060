/* infer.c: the float inference network (see infer.h). Built like the integer network of
 * int8.c, one op per layer of the batch-norm-folded model, but on float activations in the
 * blocked layout: convolutions go through the backend's conv2d_blk, dense layers through
 * pf_sgemm with their weight columns permuted once to the blocked order, and the pools, adds,
 * concats and per-channel affines are plain loops over the 16 lanes of a block, which the
 * compiler vectorises. Flatten and dropout are views of their input (no copy). */
#include "engine/model/infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/int8.h"

enum op_kind {
    OP_CONV,
    OP_DENSE,
    OP_AFFINE, /* a batch norm not folded: y = act(x * scale[c] + shift[c]) */
    OP_MAXPOOL,
    OP_AVGPOOL,
    OP_ACT,
    OP_VIEW, /* flatten, dropout: the input's buffer */
    OP_ADD,
    OP_CONCAT
};

/* How an op's output is stored: blocked (N, ceil(lay.c / PF_BLK), lay.h, lay.w, PF_BLK), or
 * flat (N, numel) in (C, H, W) order (dense outputs). A flatten keeps its input's. */
struct view {
    bool flat;
    struct pf_shape lay; /* blocked: the shape laid out; flat: numel in .c, h = w = 1 */
};

struct op {
    enum op_kind kind;
    int n_in, in[PF_LAYER_MAX_INPUTS]; /* producer op, -1 = the network input */
    struct pf_shape out;
    struct view v;
    float lo, hi; /* fused activation clamp */
    /* conv */
    struct pf_conv_desc d;
    void *state;
    /* conv: (K, C/groups, R, S) and (K); dense: (out, in_len) in the input's order and (out);
     * affine: scale and shift per lane of the padded channels */
    float *w, *b;
    size_t in_len; /* dense: floats per image of its input */
    /* pools */
    struct pf_window win;
    bool count_pad;
};

struct pf_infer_net {
    int n_ops;
    struct op *ops;
    struct pf_shape input;
    int classes;
    bool need_xin; /* some op reads the network input blocked */
    int batch;     /* buffers are sized for this many images */
    float *xin;    /* (batch, blocked input) */
    float **buf;   /* per op: (batch, its output); NULL for views */
};

static size_t blocks(int c)
{
    return (size_t)(c + PF_BLK - 1) / PF_BLK;
}

/* Floats per image of a view. */
static size_t view_len(struct view v)
{
    return v.flat ? (size_t)v.lay.c : blocks(v.lay.c) * PF_BLK * (size_t)v.lay.h * v.lay.w;
}

/* The view op idx's output has (the network input: its blocked copy). */
static struct view view_of(const struct pf_infer_net *n, int idx)
{
    if (idx < 0)
        return (struct view){false, n->input};
    return n->ops[idx].v;
}

static bool same_shape(struct pf_shape a, struct pf_shape b)
{
    return a.c == b.c && a.h == b.h && a.w == b.w;
}

/* Input 0 of op o must be a blocked tensor of l's input shape (not flattened). */
static int need_blocked(const struct pf_infer_net *n, const struct op *o, const struct pf_layer *l)
{
    struct view v = view_of(n, o->in[0]);
    if (v.flat || !same_shape(v.lay, l->in[0]))
        return PF_ERR(PF_EUNSUPPORTED, "%s: the inference network cannot run a %s on a flat input",
                      l->name, l->ops->name);
    return 0;
}

static int build_conv(struct pf_infer_net *n, struct op *o, const struct pf_layer *l)
{
    const struct pf_param *pw = pf_layer_param(l, "weight"), *pb = pf_layer_param(l, "bias");
    struct pf_cfg *cfg = NULL;
    int rc;
    if ((rc = pf_layer_cfg(l, &cfg)) < 0 || (rc = pf_window_parse(&o->win, cfg, l->name, 0)) < 0 ||
        (rc = pf_window_resolve(&o->win, l->in[0].h, l->in[0].w, NULL, l->name)) < 0)
        goto out;
    if (o->in[0] >= 0 && (rc = need_blocked(n, o, l)) < 0)
        goto out;
    struct pf_conv_desc *d = &o->d;
    d->C = l->in[0].c, d->H = l->in[0].h, d->W = l->in[0].w;
    d->K = l->out.c, d->R = pw->w.shape[2], d->S = pw->w.shape[3];
    d->stride_h = o->win.sh, d->stride_w = o->win.sw;
    d->pad_t = o->win.pad_t, d->pad_b = o->win.pad_b;
    d->pad_l = o->win.pad_l, d->pad_r = o->win.pad_r;
    d->groups = l->in[0].c / pw->w.shape[1];
    d->N = 1;
    if ((rc = pf_conv_desc_finish(d)) < 0)
        goto out;
    size_t nw = pf_tensor_numel(&pw->w);
    o->w = pf_malloc_aligned(nw * sizeof *o->w);
    o->b = pb ? pf_malloc((size_t)d->K * sizeof *o->b) : NULL;
    if (!o->w || (pb && !o->b)) {
        rc = -PF_ENOMEM;
        goto out;
    }
    memcpy(o->w, pf_tensor_f32(&pw->w), nw * sizeof *o->w);
    if (pb)
        memcpy(o->b, pf_tensor_f32(&pb->w), (size_t)d->K * sizeof *o->b);
out:
    pf_cfg_free(cfg);
    return rc;
}

/* A dense layer reads its input in (C, H, W) order; a blocked input holds it in blocks of
 * lanes, so its weight columns are moved once here to the blocked positions (zero at the
 * padding lanes) instead of moving the data at every call. */
static int build_dense(struct pf_infer_net *n, struct op *o, const struct pf_layer *l)
{
    const struct pf_param *pw = pf_layer_param(l, "weight"), *pb = pf_layer_param(l, "bias");
    int K = pw->w.shape[0];
    size_t in = pf_tensor_numel(&pw->w) / (size_t)K;
    struct view v = view_of(n, o->in[0]);
    bool blk = o->in[0] >= 0 && !v.flat; /* the network input comes flat (NCHW) */
    o->in_len = blk ? view_len(v) : in;
    o->w = pf_calloc((size_t)K * o->in_len, sizeof *o->w);
    o->b = pf_calloc((size_t)K, sizeof *o->b);
    if (!o->w || !o->b)
        return -PF_ENOMEM;
    const float *src = pf_tensor_f32(&pw->w);
    size_t hw = blk ? (size_t)v.lay.h * v.lay.w : 1;
    for (int k = 0; k < K; k++)
        for (size_t i = 0; i < in; i++) {
            size_t dst = i;
            if (blk) { /* i = c * HW + p  ->  (c / B * HW + p) * B + c % B */
                size_t c = i / hw, p = i % hw;
                dst = ((c / PF_BLK) * hw + p) * PF_BLK + c % PF_BLK;
            }
            o->w[(size_t)k * o->in_len + dst] = src[(size_t)k * in + i];
        }
    if (pb)
        memcpy(o->b, pf_tensor_f32(&pb->w), (size_t)K * sizeof *o->b);
    return 0;
}

/* A batch norm with nothing to fold into: scale and shift from its running statistics, per
 * lane of the padded channels (zero on the padding lanes, which then stay zero). */
static int build_affine(struct pf_infer_net *n, struct op *o, const struct pf_layer *l)
{
    int rc;
    o->v = view_of(n, o->in[0]);
    if (!o->v.flat && (rc = need_blocked(n, o, l)) < 0)
        return rc;
    size_t lanes = o->v.flat ? (size_t)l->out.c : blocks(l->out.c) * PF_BLK;
    o->w = pf_calloc(lanes, sizeof *o->w);
    o->b = pf_calloc(lanes, sizeof *o->b);
    if (!o->w || !o->b)
        return -PF_ENOMEM;
    return pf_bn_affine(l, o->w, o->b);
}

static int build_op(struct pf_infer_net *n, const struct pf_model *m, int i)
{
    const struct pf_layer *l = &m->layers[i];
    struct op *o = &n->ops[i];
    const char *k = l->ops->name;
    int rc = 0;
    o->n_in = l->n_in;
    for (int j = 0; j < l->n_in; j++) {
        o->in[j] = l->in_idx[j];
        /* everything but a conv or dense layer reads the network input blocked */
        if (o->in[j] < 0 && strcmp(k, "conv2d") && strcmp(k, "dense"))
            n->need_xin = true;
    }
    o->out = l->out;
    o->v = (struct view){false, l->out};
    pf_act_bounds(l->act, &o->lo, &o->hi);
    if (!strcmp(k, "conv2d")) {
        o->kind = OP_CONV;
        rc = build_conv(n, o, l);
    } else if (!strcmp(k, "dense")) {
        o->kind = OP_DENSE;
        o->v = (struct view){true, {(int)pf_shape_numel(l->out), 1, 1}};
        rc = build_dense(n, o, l);
    } else if (!strcmp(k, "batchnorm")) {
        o->kind = OP_AFFINE;
        rc = build_affine(n, o, l);
    } else if (!strcmp(k, "maxpool") || !strcmp(k, "avgpool") || !strcmp(k, "gap")) {
        struct pf_cfg *cfg = NULL;
        o->kind = !strcmp(k, "maxpool") ? OP_MAXPOOL : OP_AVGPOOL;
        if ((rc = need_blocked(n, o, l)) < 0)
            return rc;
        if (!strcmp(k, "gap")) {
            o->win.kh = l->in[0].h, o->win.kw = l->in[0].w, o->win.sh = o->win.sw = 1;
            o->win.oh = o->win.ow = 1;
        } else if ((rc = pf_layer_cfg(l, &cfg)) == 0 &&
                   (rc = pf_window_parse(&o->win, cfg, l->name, 1)) == 0) {
            rc = pf_window_resolve(&o->win, l->in[0].h, l->in[0].w, NULL, l->name);
        }
        pf_cfg_free(cfg);
        o->count_pad = o->win.pad_mode == 2;
    } else if (!strcmp(k, "relu") || !strcmp(k, "relu6")) {
        o->kind = OP_ACT;
        o->v = view_of(n, o->in[0]);
        pf_act_bounds(!strcmp(k, "relu") ? PF_ACT_RELU : PF_ACT_RELU6, &o->lo, &o->hi);
    } else if (!strcmp(k, "flatten") || !strcmp(k, "dropout")) {
        o->kind = OP_VIEW;
        o->v = view_of(n, o->in[0]);
    } else if (!strcmp(k, "add") || !strcmp(k, "concat")) {
        o->kind = !strcmp(k, "add") ? OP_ADD : OP_CONCAT;
        struct view v0 = view_of(n, o->in[0]);
        for (int j = 0; j < l->n_in; j++) {
            struct view v = view_of(n, o->in[j]);
            bool ok = o->kind == OP_ADD ? v.flat == v0.flat && same_shape(v.lay, v0.lay)
                                        : !v.flat && same_shape(v.lay, l->in[j]);
            if (!ok)
                return PF_ERR(PF_EUNSUPPORTED,
                              "%s: the inference network cannot %s inputs stored differently "
                              "(flattened, or another shape)",
                              l->name, k);
        }
        if (o->kind == OP_ADD)
            o->v = v0;
    } else {
        return PF_ERR(PF_EUNSUPPORTED, "%s: the inference network has no %s layer", l->name, k);
    }
    return rc;
}

int pf_infer_forward(void *net, const float *x, int N, float *logits)
{
    return pf_infer_net_forward(net, x, N, logits);
}

void pf_infer_net_free(struct pf_infer_net *n)
{
    if (!n)
        return;
    for (int i = n->n_ops - 1; n->ops && i >= 0; i--) {
        struct op *o = &n->ops[i];
        pf_conv_state_free(&o->state);
        free(o->w);
        free(o->b);
        if (n->buf)
            free(n->buf[i]);
    }
    free(n->buf);
    free(n->xin);
    free(n->ops);
    free(n);
}

int pf_infer_net_new(const struct pf_model *m, struct pf_infer_net **out)
{
    *out = NULL;
    int q = pf_model_actq_first(m);
    if (q >= 0)
        return PF_ERR(PF_EUNSUPPORTED,
                      "%s: activation quantization is on; the float inference network runs "
                      "float activations (the int8 path runs quantized ones)",
                      q < m->n_layers ? m->layers[q].name : "input");
    struct pf_model *f = NULL;
    int rc = pf_model_fold_bn(m, &f);
    if (rc < 0)
        return rc;
    struct pf_infer_net *n = pf_calloc(1, sizeof *n);
    if (!n) {
        pf_model_free(f);
        return -PF_ENOMEM;
    }
    n->input = f->input;
    n->classes = f->classes;
    n->n_ops = f->n_layers;
    if (!(n->ops = pf_calloc((size_t)f->n_layers, sizeof *n->ops)) ||
        !(n->buf = pf_calloc((size_t)f->n_layers, sizeof *n->buf)))
        rc = -PF_ENOMEM;
    for (int i = 0; i < f->n_layers && rc == 0; i++)
        rc = build_op(n, f, i);
    pf_model_free(f);
    if (rc < 0) {
        pf_infer_net_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* Sizes the buffers for N images. */
static int net_set_batch(struct pf_infer_net *n, int N)
{
    if (N <= n->batch)
        return 0;
    n->batch = 0;
    free(n->xin);
    n->xin = NULL;
    if (n->need_xin &&
        !(n->xin = pf_malloc_aligned((size_t)N * view_len(view_of(n, -1)) * sizeof *n->xin)))
        return -PF_ENOMEM;
    for (int i = 0; i < n->n_ops; i++) {
        free(n->buf[i]);
        n->buf[i] = NULL;
        if (n->ops[i].kind == OP_VIEW)
            continue;
        size_t sz = (size_t)N * view_len(n->ops[i].v) * sizeof **n->buf;
        if (!(n->buf[i] = pf_malloc_aligned(sz)))
            return -PF_ENOMEM;
    }
    n->batch = N;
    return 0;
}

/* The buffer holding op idx's output (a view's is its input's). */
static float *out_of(const struct pf_infer_net *n, int idx)
{
    while (idx >= 0 && n->ops[idx].kind == OP_VIEW)
        idx = n->ops[idx].in[0];
    return idx < 0 ? n->xin : n->buf[idx];
}

static inline float clampf(float v, float lo, float hi)
{
    return v > lo ? (v < hi ? v : hi) : lo;
}

/* NCHW (C channels, P pixels) to blocked, padding lanes zero; and back. */
static void to_blocked(const float *x, int N, int C, int P, float *y)
{
    size_t per = blocks(C) * PF_BLK * (size_t)P;
    memset(y, 0, (size_t)N * per * sizeof *y);
    for (int nn = 0; nn < N; nn++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < P; p++)
                y[nn * per + ((size_t)(c / PF_BLK) * P + p) * PF_BLK + c % PF_BLK] =
                    x[((size_t)nn * C + c) * P + p];
}

static void from_blocked(const float *x, int N, int C, int P, float *y)
{
    size_t per = blocks(C) * PF_BLK * (size_t)P;
    for (int nn = 0; nn < N; nn++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < P; p++)
                y[((size_t)nn * C + c) * P + p] =
                    x[nn * per + ((size_t)(c / PF_BLK) * P + p) * PF_BLK + c % PF_BLK];
}

/* Max or average pool over blocked (N, Cb, H, W, B), a block of lanes at a time. */
static void run_pool(const struct op *o, const struct pf_shape in, const float *x, int N, float *y)
{
    const struct pf_window *w = &o->win;
    const int H = in.h, W = in.w, Cb = (int)blocks(in.c);
    for (int nb = 0; nb < N * Cb; nb++)
        for (int oh = 0; oh < w->oh; oh++)
            for (int ow = 0; ow < w->ow; ow++) {
                float acc[PF_BLK];
                int hs, he, ws, we;
                pf_window_clip(w, H, W, oh, ow, &hs, &he, &ws, &we);
                int cnt = (he - hs) * (we - ws);
                for (int j = 0; j < PF_BLK; j++)
                    acc[j] = o->kind == OP_MAXPOOL ? -INFINITY : 0.0f;
                for (int h = hs; h < he; h++)
                    for (int ww = ws; ww < we; ww++) {
                        const float *v = x + (((size_t)nb * H + h) * W + ww) * PF_BLK;
                        if (o->kind == OP_MAXPOOL)
                            for (int j = 0; j < PF_BLK; j++)
                                acc[j] = v[j] > acc[j] ? v[j] : acc[j];
                        else
                            for (int j = 0; j < PF_BLK; j++)
                                acc[j] += v[j];
                    }
                float *out = y + (((size_t)nb * w->oh + oh) * w->ow + ow) * PF_BLK;
                /* explicit padding counts in the average (the padded cells hold 0) */
                float div =
                    o->kind == OP_MAXPOOL ? 1.0f : (float)(o->count_pad ? w->kh * w->kw : cnt);
                for (int j = 0; j < PF_BLK; j++)
                    out[j] = cnt ? acc[j] / div : 0.0f;
            }
}

/* A per-channel scale and shift (and clamp) over a blocked or flat tensor. */
static void run_affine(const struct op *o, const float *x, int N, float *y)
{
    size_t per = view_len(o->v);
    if (o->v.flat) {
        for (size_t e = 0; e < (size_t)N * per; e++)
            y[e] = clampf(x[e] * o->w[e % per] + o->b[e % per], o->lo, o->hi);
        return;
    }
    size_t P = (size_t)o->v.lay.h * o->v.lay.w, Cb = blocks(o->v.lay.c);
    for (size_t nb = 0; nb < (size_t)N * Cb; nb++) {
        const float *sc = o->w + (nb % Cb) * PF_BLK, *sh = o->b + (nb % Cb) * PF_BLK;
        for (size_t p = 0; p < P; p++) {
            const float *v = x + (nb * P + p) * PF_BLK;
            float *out = y + (nb * P + p) * PF_BLK;
            for (int j = 0; j < PF_BLK; j++)
                out[j] = clampf(v[j] * sc[j] + sh[j], o->lo, o->hi);
        }
    }
}

/* Concatenation along the channels of blocked tensors (lanes move between blocks unless every
 * offset is a multiple of PF_BLK; this copies lane by lane either way). */
static void run_concat(const struct pf_infer_net *n, const struct op *o, int N, float *y)
{
    const size_t P = (size_t)o->out.h * o->out.w, per = view_len(o->v);
    memset(y, 0, (size_t)N * per * sizeof *y);
    int off = 0;
    for (int j = 0; j < o->n_in; j++) {
        const float *x = out_of(n, o->in[j]);
        struct view v = view_of(n, o->in[j]);
        size_t xper = view_len(v);
        for (int nn = 0; nn < N; nn++)
            for (int c = 0; c < v.lay.c; c++) {
                const float *src = x + nn * xper + (size_t)(c / PF_BLK) * P * PF_BLK + c % PF_BLK;
                int cc = off + c;
                float *dst = y + nn * per + (size_t)(cc / PF_BLK) * P * PF_BLK + cc % PF_BLK;
                for (size_t p = 0; p < P; p++)
                    dst[p * PF_BLK] = clampf(src[p * PF_BLK], o->lo, o->hi);
            }
        off += v.lay.c;
    }
}

int pf_infer_net_forward(struct pf_infer_net *n, const float *x, int N, float *logits)
{
    int rc = net_set_batch(n, N);
    if (rc < 0)
        return rc;
    if (n->need_xin)
        to_blocked(x, N, n->input.c, n->input.h * n->input.w, n->xin);
    for (int i = 0; i < n->n_ops; i++) {
        struct op *o = &n->ops[i];
        /* a conv or dense layer reads the network input as it comes (NCHW); others its
         * blocked copy */
        bool raw = o->in[0] < 0 && (o->kind == OP_CONV || o->kind == OP_DENSE);
        const float *in = raw ? x : out_of(n, o->in[0]);
        float *y = n->buf[i];
        size_t per = view_len(o->v);
        switch (o->kind) {
        case OP_CONV:
            o->d.N = N;
            rc = pf_conv2d_blk(&o->d, &o->state, raw, in, o->w, o->b, o->lo, o->hi, y);
            break;
        case OP_DENSE: {
            int K = o->out.c;
            pf_sgemm(false, true, N, K, (int)o->in_len, 1.0f, in, (int)o->in_len, o->w,
                     (int)o->in_len, 0.0f, y, K);
            for (size_t e = 0; e < (size_t)N * K; e++)
                y[e] = clampf(y[e] + o->b[e % (size_t)K], o->lo, o->hi);
            break;
        }
        case OP_AFFINE:
            run_affine(o, in, N, y);
            break;
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            run_pool(o, view_of(n, o->in[0]).lay, in, N, y);
            break;
        case OP_ACT: {
            const float *xs[1] = {in};
            pf_add_act((size_t)N * per, 1, xs, o->lo, o->hi, y);
            break;
        }
        case OP_VIEW:
            break;
        case OP_ADD: {
            const float *xs[PF_LAYER_MAX_INPUTS];
            for (int j = 0; j < o->n_in; j++)
                xs[j] = out_of(n, o->in[j]);
            pf_add_act((size_t)N * per, o->n_in, xs, o->lo, o->hi, y);
            break;
        }
        case OP_CONCAT:
            run_concat(n, o, N, y);
            break;
        }
        if (rc < 0)
            return rc;
    }
    const struct op *last = &n->ops[n->n_ops - 1];
    const float *y = out_of(n, n->n_ops - 1);
    if (last->v.flat)
        memcpy(logits, y, (size_t)N * n->classes * sizeof *logits);
    else
        from_blocked(y, N, last->v.lay.c, last->v.lay.h * last->v.lay.w, logits);
    return 0;
}
