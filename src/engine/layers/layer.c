/* layer.c: helpers shared by the layer kinds: params, fused activations, window geometry. */
#include "engine/layers/layer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

struct pf_param *pf_layer_add_param(struct pf_layer *l, const char *name, int ndim,
                                    const int *shape, bool trainable, bool decay, int out_axis,
                                    int in_axis)
{
    if (l->n_params >= PF_LAYER_MAX_PARAMS) {
        PF_ERR(PF_EINVAL, "%s: too many parameters", l->name);
        return NULL;
    }
    struct pf_param *p = &l->params[l->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (pf_tensor_init(&p->w, PF_DTYPE_F32, ndim, shape) < 0)
        return NULL;
    if (trainable && pf_tensor_init(&p->g, PF_DTYPE_F32, ndim, shape) < 0) {
        pf_tensor_deinit(&p->w);
        return NULL;
    }
    p->trainable = trainable;
    p->decay = decay;
    p->out_axis = out_axis;
    p->in_axis = in_axis;
    l->n_params++;
    return p;
}

/* Copies the kept slices of axis `axis`: the tensor is viewed as (outer, dim, inner). */
static void copy_kept(const void *src, void *dst, size_t outer, int dim, size_t inner, size_t elt,
                      const uint8_t *keep)
{
    const char *s = src;
    char *d = dst;
    for (size_t o = 0; o < outer; o++)
        for (int i = 0; i < dim; i++) {
            if (keep[i]) {
                memcpy(d, s, inner * elt);
                d += inner * elt;
            }
            s += inner * elt;
        }
}

int pf_param_prune_axis(struct pf_param *p, int axis, const uint8_t *keep)
{
    struct pf_tensor *w = &p->w;
    if (axis < 0 || axis >= w->ndim)
        return PF_ERR(PF_EINVAL, "%s: no axis %d to prune", p->name, axis);
    int dim = w->shape[axis], kept = 0;
    for (int i = 0; i < dim; i++)
        kept += keep[i] != 0;
    if (kept < 1)
        return PF_ERR(PF_EINVAL, "%s: pruning would remove every channel", p->name);
    if (kept == dim)
        return 0;
    size_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= (size_t)w->shape[i];
    for (int i = axis + 1; i < w->ndim; i++)
        inner *= (size_t)w->shape[i];
    int shape[PF_MAX_DIMS];
    memcpy(shape, w->shape, sizeof shape);
    shape[axis] = kept;
    struct pf_tensor nw, ng = {0};
    uint8_t *nm = NULL;
    if (pf_tensor_init(&nw, w->dtype, w->ndim, shape) < 0)
        return -PF_ENOMEM;
    if (p->g.data && pf_tensor_init(&ng, p->g.dtype, p->g.ndim, shape) < 0) {
        pf_tensor_deinit(&nw);
        return -PF_ENOMEM;
    }
    struct pf_qtensor *nq = NULL;
    if ((p->mask && !(nm = malloc(pf_tensor_numel(&nw)))) ||
        (p->quant && pf_qtensor_prune(p->quant, outer, dim, inner, keep, &nq) < 0)) {
        free(nm);
        pf_tensor_deinit(&ng);
        pf_tensor_deinit(&nw);
        return PF_ERR(PF_ENOMEM, "%s: out of memory for the mask or the quantized form", p->name);
    }
    size_t elt = pf_dtype_size(w->dtype);
    copy_kept(w->data, nw.data, outer, dim, inner, elt, keep);
    if (p->g.data)
        copy_kept(p->g.data, ng.data, outer, dim, inner, elt, keep);
    if (nm)
        copy_kept(p->mask, nm, outer, dim, inner, 1, keep);
    pf_tensor_deinit(&p->w);
    pf_tensor_deinit(&p->g);
    free(p->mask);
    p->w = nw;
    p->g = ng;
    p->mask = nm;
    /* the packed form follows where its buckets can (else NULL: the decoded values as float) */
    pf_qtensor_free(p->quant);
    p->quant = nq;
    return 0;
}

void pf_layer_free_params(struct pf_layer *l)
{
    for (int i = 0; i < l->n_params; i++) {
        pf_tensor_deinit(&l->params[i].w);
        pf_tensor_deinit(&l->params[i].g);
        free(l->params[i].mask);
        l->params[i].mask = NULL;
        pf_qtensor_free(l->params[i].quant);
        l->params[i].quant = NULL;
    }
    l->n_params = 0;
}

struct pf_param *pf_layer_param(const struct pf_layer *l, const char *name)
{
    for (int i = 0; i < l->n_params; i++)
        if (strcmp(l->params[i].name, name) == 0)
            return (struct pf_param *)&l->params[i];
    return NULL;
}

/* ---- create / destroy ---- */

int pf_layer_create(struct pf_layer *l, const struct pf_cfg *row, const struct pf_shape *in,
                    int n_in)
{
    int keep_idx[PF_LAYER_MAX_INPUTS];
    memcpy(keep_idx, l->in_idx, sizeof keep_idx);
    int index = l->index;
    memset(l, 0, sizeof *l);
    memcpy(l->in_idx, keep_idx, sizeof keep_idx);
    l->index = index;
    const char *name = NULL, *type = NULL;
    int rc;
    if (row->kind != PF_CFG_MAP)
        return pf_cfg_err(row, "a layer must be a map {name: ..., type: ...}");
    const struct pf_cfg *cn = pf_cfg_get(row, "name"), *ct = pf_cfg_get(row, "type");
    if (!cn)
        return pf_cfg_err(row, "layer without 'name'");
    if ((rc = pf_cfg_as_str(cn, "name", &name)) < 0)
        return rc;
    if (!name[0] || strlen(name) >= PF_NAME_MAX)
        return pf_cfg_err(cn, "layer name must be 1 to %d characters", PF_NAME_MAX - 1);
    if (!ct)
        return pf_cfg_err(row, "%s: missing key 'type'", name);
    if ((rc = pf_cfg_as_str(ct, "type", &type)) < 0)
        return rc;
    const struct pf_layer_ops *ops = pf_layer_find(type);
    if (!ops) {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < pf_layers_len && used < sizeof list - 32; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     pf_layers[i]->name);
        return pf_cfg_err(ct, "%s: unknown layer type '%s' (known: %s)", name, type, list);
    }
    /* keys: name, type, inputs + the kind's own */
    for (size_t i = 0; i < row->n; i++) {
        const char *k = row->items[i]->key;
        int ok = !strcmp(k, "name") || !strcmp(k, "type") || !strcmp(k, "inputs");
        for (size_t j = 0; ops->keys && ops->keys[j] && !ok; j++)
            ok = !strcmp(k, ops->keys[j]);
        if (!ok) {
            char list[256] = "name, type, inputs";
            size_t used = strlen(list);
            for (size_t j = 0; ops->keys && ops->keys[j] && used < sizeof list - 24; j++)
                used += (size_t)snprintf(list + used, sizeof list - used, ", %s", ops->keys[j]);
            return pf_cfg_err(row->items[i], "%s: unknown key '%s' for type %s (allowed: %s)", name,
                              k, type, list);
        }
    }
    int min_in = ops->min_inputs ? ops->min_inputs : 1;
    int max_in = ops->max_inputs ? ops->max_inputs : 1;
    if (n_in < min_in || n_in > max_in) {
        if (min_in == max_in)
            return pf_cfg_err(row, "%s: %s takes %d input%s, got %d", name, type, min_in,
                              min_in == 1 ? "" : "s", n_in);
        return pf_cfg_err(row, "%s: %s takes %d to %d inputs, got %d", name, type, min_in, max_in,
                          n_in);
    }
    snprintf(l->name, sizeof l->name, "%s", name);
    l->ops = ops;
    l->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        l->in[i] = in[i];
    if (ops->priv_size) {
        l->priv = calloc(1, ops->priv_size);
        if (!l->priv)
            return PF_ERR(PF_ENOMEM, "%s: out of memory", name);
    }
    if ((rc = ops->init(l, row)) < 0) {
        pf_layer_destroy(l);
        return rc;
    }
    if (l->out.c < 1 || l->out.h < 1 || l->out.w < 1) {
        rc = pf_cfg_err(row, "%s: output shape %dx%dx%d is empty", name, l->out.c, l->out.h,
                        l->out.w);
        pf_layer_destroy(l);
        return rc;
    }
    return 0;
}

void pf_layer_destroy(struct pf_layer *l)
{
    if (l->ops && l->ops->deinit)
        l->ops->deinit(l);
    pf_layer_free_params(l);
    free(l->priv);
    l->priv = NULL;
    l->ops = NULL;
}

/* ---- typed keys ---- */

int pf_layer_key_int(const struct pf_layer *l, const struct pf_cfg *cfg, const char *key,
                     bool required, long lo, long hi, long *out)
{
    const struct pf_cfg *c = pf_cfg_get(cfg, key);
    if (!c)
        return required ? pf_cfg_err(cfg, "%s: missing key '%s'", l->name, key) : 0;
    char what[PF_NAME_MAX + 32];
    snprintf(what, sizeof what, "%s: %s", l->name, key);
    long v;
    int rc = pf_cfg_as_int(c, what, &v);
    if (rc < 0)
        return rc;
    if (v < lo || v > hi)
        return pf_cfg_err(c, "%s must be in %ld..%ld, got %ld", what, lo, hi, v);
    *out = v;
    return 0;
}

int pf_layer_key_float(const struct pf_layer *l, const struct pf_cfg *cfg, const char *key,
                       double lo, double hi, double *out)
{
    const struct pf_cfg *c = pf_cfg_get(cfg, key);
    if (!c)
        return 0;
    char what[PF_NAME_MAX + 32];
    snprintf(what, sizeof what, "%s: %s", l->name, key);
    double v;
    int rc = pf_cfg_as_float(c, what, &v);
    if (rc < 0)
        return rc;
    if (v < lo || v > hi)
        return pf_cfg_err(c, "%s must be in [%g, %g], got %g", what, lo, hi, v);
    *out = v;
    return 0;
}

int pf_layer_key_bool(const struct pf_layer *l, const struct pf_cfg *cfg, const char *key,
                      bool *out)
{
    const struct pf_cfg *c = pf_cfg_get(cfg, key);
    if (!c)
        return 0;
    char what[PF_NAME_MAX + 32];
    snprintf(what, sizeof what, "%s: %s", l->name, key);
    return pf_cfg_as_bool(c, what, out);
}

int pf_layer_yaml_add(char *buf, size_t n, int used, const char *fmt, ...)
{
    if (used < 0)
        return used;
    size_t u = (size_t)used;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(u < n ? buf + u : NULL, u < n ? n - u : 0, fmt, ap);
    va_end(ap);
    return k < 0 ? k : used + k;
}

enum { KEYS_MAX = 1024 }; /* a layer's keys take well under this (graph.c allows 512) */

char *pf_layer_keys(const struct pf_layer *l)
{
    char *s = pf_malloc(KEYS_MAX);
    if (!s)
        return NULL;
    s[0] = 0;
    if (l->ops->to_yaml)
        l->ops->to_yaml(l, s, KEYS_MAX);
    return s;
}

int pf_layer_cfg(const struct pf_layer *l, struct pf_cfg **out)
{
    char *keys = pf_layer_keys(l);
    size_t n = KEYS_MAX + 2 * PF_NAME_MAX + 32;
    char *row = keys ? pf_malloc(n) : NULL;
    int rc = -PF_ENOMEM;
    if (row) {
        int len = snprintf(row, n, "{name: %s, type: %s%s}", l->name, l->ops->name, keys);
        rc = pf_cfg_parse(row, (size_t)len, l->name, out);
    }
    free(row);
    free(keys);
    return rc;
}

/* ---- fused activations ---- */

const char *pf_act_name(enum pf_act act)
{
    return act == PF_ACT_RELU ? "relu" : act == PF_ACT_RELU6 ? "relu6" : "none";
}

int pf_layer_parse_act(struct pf_layer *l, const struct pf_cfg *cfg)
{
    const struct pf_cfg *c = pf_cfg_get(cfg, "act");
    l->act = PF_ACT_NONE;
    if (!c)
        return 0;
    const char *s;
    int rc = pf_cfg_as_str(c, "act", &s);
    if (rc < 0)
        return rc;
    if (!strcmp(s, "none"))
        l->act = PF_ACT_NONE;
    else if (!strcmp(s, "relu"))
        l->act = PF_ACT_RELU;
    else if (!strcmp(s, "relu6"))
        l->act = PF_ACT_RELU6;
    else
        return pf_cfg_err(c, "%s: unknown act '%s' (none, relu, relu6)", l->name, s);
    return 0;
}

void pf_act_bounds(enum pf_act act, float *lo, float *hi)
{
    *lo = act == PF_ACT_NONE ? -INFINITY : 0.0f;
    *hi = act == PF_ACT_RELU6 ? 6.0f : INFINITY;
}

void pf_act_forward(enum pf_act act, float *y, size_t n)
{
    if (act == PF_ACT_NONE)
        return;
    float lo, hi;
    pf_act_bounds(act, &lo, &hi);
    const float *xs[1] = {y};
    pf_add_act(n, 1, xs, lo, hi, y);
}

void pf_act_backward(enum pf_act act, const float *y, float *dy, size_t n)
{
    /* The derivative is read from the output: y > 0 (and y < 6 for relu6) means the unit was
     * in its linear part. At exactly 0 or 6 the gradient is 0, as PyTorch does. */
    if (act == PF_ACT_NONE)
        return;
    float lo, hi;
    pf_act_bounds(act, &lo, &hi);
    float *dx[1] = {dy};
    pf_act_backward_to(n, lo, hi, y, dy, 1, dx);
}

/* ---- window geometry (conv2d, pools) ---- */

static int parse_pair(const struct pf_cfg *c, const char *layer, const char *key, int *a, int *b)
{
    char what[96];
    snprintf(what, sizeof what, "%s: %s", layer, key);
    long v0, v1;
    int rc;
    if (c->kind == PF_CFG_SEQ) {
        if (c->n != 2)
            return pf_cfg_err(c, "%s must be n or [h, w]", what);
        if ((rc = pf_cfg_as_int(c->items[0], what, &v0)) < 0 ||
            (rc = pf_cfg_as_int(c->items[1], what, &v1)) < 0)
            return rc;
    } else {
        if ((rc = pf_cfg_as_int(c, what, &v0)) < 0)
            return rc;
        v1 = v0;
    }
    if (v0 < 0 || v1 < 0 || v0 > 4096 || v1 > 4096)
        return pf_cfg_err(c, "%s out of range: %ld, %ld", what, v0, v1);
    *a = (int)v0;
    *b = (int)v1;
    return 0;
}

int pf_window_parse(struct pf_window *win, const struct pf_cfg *cfg, const char *layer,
                    int default_stride_is_kernel)
{
    memset(win, 0, sizeof *win);
    const struct pf_cfg *k = pf_cfg_get(cfg, "kernel");
    int rc;
    if (!k)
        return pf_cfg_err(cfg, "%s: missing key 'kernel'", layer);
    if ((rc = parse_pair(k, layer, "kernel", &win->kh, &win->kw)) < 0)
        return rc;
    if (win->kh < 1 || win->kw < 1)
        return pf_cfg_err(k, "%s: kernel must be at least 1", layer);
    win->sh = default_stride_is_kernel ? win->kh : 1;
    win->sw = default_stride_is_kernel ? win->kw : 1;
    const struct pf_cfg *s = pf_cfg_get(cfg, "stride");
    if (s) {
        if ((rc = parse_pair(s, layer, "stride", &win->sh, &win->sw)) < 0)
            return rc;
        if (win->sh < 1 || win->sw < 1)
            return pf_cfg_err(s, "%s: stride must be at least 1", layer);
    }
    const struct pf_cfg *p = pf_cfg_get(cfg, "pad");
    if (p && p->kind == PF_CFG_SCALAR && !strcmp(p->str, "same")) {
        win->pad_mode = 1;
    } else if (p && p->kind == PF_CFG_SCALAR && !strcmp(p->str, "valid")) {
        win->pad_mode = 0;
    } else if (p) {
        if ((rc = parse_pair(p, layer, "pad (valid, same, n or [h, w])", &win->ph, &win->pw)) < 0)
            return rc;
        win->pad_mode = 2;
    }
    return 0;
}

void pf_window_clip(const struct pf_window *w, int H, int W, int oh, int ow, int *hs, int *he,
                    int *ws, int *we)
{
    int h0 = oh * w->sh - w->pad_t, w0 = ow * w->sw - w->pad_l;
    *hs = h0 > 0 ? h0 : 0;
    *he = h0 + w->kh < H ? h0 + w->kh : H;
    *ws = w0 > 0 ? w0 : 0;
    *we = w0 + w->kw < W ? w0 + w->kw : W;
}

int pf_window_resolve(struct pf_window *win, int h, int w, const struct pf_cfg *at,
                      const char *layer)
{
    if (win->pad_mode == 1) {
        win->oh = (h + win->sh - 1) / win->sh;
        win->ow = (w + win->sw - 1) / win->sw;
        int th = (win->oh - 1) * win->sh + win->kh - h;
        int tw = (win->ow - 1) * win->sw + win->kw - w;
        th = th > 0 ? th : 0;
        tw = tw > 0 ? tw : 0;
        win->pad_t = th / 2;
        win->pad_b = th - th / 2;
        win->pad_l = tw / 2;
        win->pad_r = tw - tw / 2;
    } else {
        int ph = win->pad_mode == 2 ? win->ph : 0, pw = win->pad_mode == 2 ? win->pw : 0;
        win->pad_t = win->pad_b = ph;
        win->pad_l = win->pad_r = pw;
        if (h + 2 * ph < win->kh || w + 2 * pw < win->kw) {
            if (at)
                return pf_cfg_err(at, "%s: kernel %dx%d does not fit input %dx%d (padding %d, %d)",
                                  layer, win->kh, win->kw, h, w, ph, pw);
            return PF_ERR(PF_ESHAPE, "%s: kernel %dx%d does not fit input %dx%d", layer, win->kh,
                          win->kw, h, w);
        }
        win->oh = (h + 2 * ph - win->kh) / win->sh + 1;
        win->ow = (w + 2 * pw - win->kw) / win->sw + 1;
    }
    return 0;
}

/* Appends ", key: a" or ", key: [a, b]" at offset used (snprintf semantics: the full length is
 * counted even when buf is NULL or too small). */
static int pair_yaml(char *buf, size_t n, int used, const char *key, int a, int b)
{
    if (a == b)
        return pf_layer_yaml_add(buf, n, used, ", %s: %d", key, a);
    return pf_layer_yaml_add(buf, n, used, ", %s: [%d, %d]", key, a, b);
}

int pf_window_to_yaml(const struct pf_window *win, char *buf, size_t n, int print_stride)
{
    int used = pair_yaml(buf, n, 0, "kernel", win->kh, win->kw);
    if (print_stride)
        used = pair_yaml(buf, n, used, "stride", win->sh, win->sw);
    if (win->pad_mode == 1)
        used = pf_layer_yaml_add(buf, n, used, ", pad: same");
    else if (win->pad_mode == 2)
        used = pair_yaml(buf, n, used, "pad", win->ph, win->pw);
    return used;
}
