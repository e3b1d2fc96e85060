/* graph.c: netdef -> struct pf_model, forward and backward over the layer graph.
 *
 * The netdef's layers may name their inputs in any order; they are sorted topologically (a
 * cycle or an unknown name is an error naming the layer). Each layer's output y and gradient dy
 * live in buffers owned by the model (gradients shared where their live spans allow, see
 * alloc_grads). In backward, a layer's dy is complete once every consumer
 * (all later in topological order) has run: the first consumer to reach a producer writes its
 * dx straight into the producer's dy, later ones write into a scratch buffer that is then added,
 * so fan-out (residual branches) needs no zeroing pass and no allocation. */
#include "engine/model/graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"

#define INPUT_NAME "input" /* reserved: the network input in `inputs:` lists */

static const char *const root_keys[] = {"name", "input", "classes", "layers", NULL};

static void free_activations(struct pf_model *m)
{
    for (int i = 0; m->y && i < m->n_layers; i++)
        free(m->y[i]);
    for (int i = 0; i < m->n_dy_buf; i++)
        free(m->dy_buf[i]);
    free(m->dy_buf);
    free(m->y);
    free(m->dy);
    m->dy_buf = NULL;
    m->n_dy_buf = 0;
    free(m->scratch);
    free(m->xq);
    m->y = m->dy = NULL;
    m->scratch = NULL;
    m->xq = NULL;
    m->scratch_len = 0;
    m->batch = 0;
}

void pf_model_free(struct pf_model *m)
{
    if (!m)
        return;
    free_activations(m);
    free(m->actq);
    for (int i = 0; m->layers && i < m->n_layers; i++)
        pf_layer_destroy(&m->layers[i]);
    free(m->layers);
    free(m->n_consumers);
    free(m);
}

/* ---- netdef parsing ---- */

static int parse_input_shape(const struct pf_cfg *c, struct pf_shape *s)
{
    long v[3];
    if (c->kind != PF_CFG_SEQ || c->n != 3)
        return pf_cfg_err(c, "input must be [C, H, W]");
    for (int i = 0; i < 3; i++) {
        int rc = pf_cfg_as_int(c->items[i], "input", &v[i]);
        if (rc < 0)
            return rc;
        if (v[i] < 1 || v[i] > 65536)
            return pf_cfg_err(c->items[i], "input dimension %ld out of range 1..65536", v[i]);
    }
    s->c = (int)v[0];
    s->h = (int)v[1];
    s->w = (int)v[2];
    return 0;
}

/* The name of row i (already checked to be a map with a scalar name by the caller). */
static const char *row_name(const struct pf_cfg *row)
{
    const struct pf_cfg *n = pf_cfg_get(row, "name");
    return n && n->kind == PF_CFG_SCALAR ? n->str : NULL;
}

/* Resolves row i's input list into indices of rows (-1 = network input). */
static int resolve_inputs(const struct pf_cfg *rows, size_t i, int *idx, int *n_in)
{
    const struct pf_cfg *row = rows->items[i];
    const struct pf_cfg *in = pf_cfg_get(row, "inputs");
    const char *name = row_name(row);
    if (!in) {
        *n_in = 1;
        idx[0] = i == 0 ? -1 : (int)i - 1;
        return 0;
    }
    if (in->kind == PF_CFG_SCALAR) /* allow `inputs: conv1` */
        in = NULL;
    const struct pf_cfg *one = pf_cfg_get(row, "inputs");
    size_t n = in ? in->n : 1;
    if (in && in->kind != PF_CFG_SEQ)
        return pf_cfg_err(in, "%s: inputs must be a list of layer names", name);
    if (n < 1 || n > PF_LAYER_MAX_INPUTS)
        return pf_cfg_err(one, "%s: %zu inputs (1 to %d allowed)", name, n, PF_LAYER_MAX_INPUTS);
    for (size_t k = 0; k < n; k++) {
        const struct pf_cfg *item = in ? in->items[k] : one;
        const char *want;
        int rc = pf_cfg_as_str(item, "inputs", &want);
        if (rc < 0)
            return rc;
        int found = -2;
        if (!strcmp(want, INPUT_NAME))
            found = -1;
        for (size_t j = 0; j < rows->n && found == -2; j++) {
            const char *nj = row_name(rows->items[j]);
            if (nj && !strcmp(nj, want))
                found = (int)j;
        }
        if (found == -2)
            return pf_cfg_err(item, "%s: input '%s' is not a layer of this net", name, want);
        if (found == (int)i)
            return pf_cfg_err(item, "%s: a layer cannot read its own output", name);
        idx[k] = found;
    }
    *n_in = (int)n;
    return 0;
}

int pf_model_from_cfg(const struct pf_cfg *nd, struct pf_model **out)
{
    struct pf_model *m = NULL;
    int(*ins)[PF_LAYER_MAX_INPUTS] = NULL;
    int *n_ins = NULL, *order = NULL, *pos = NULL, *indeg = NULL;
    int rc;

    *out = NULL;
    if ((rc = pf_cfg_check_keys(nd, root_keys, "netdef")) < 0)
        return rc;
    const struct pf_cfg *cin = pf_cfg_get(nd, "input"), *ccls = pf_cfg_get(nd, "classes");
    const struct pf_cfg *rows = pf_cfg_get(nd, "layers");
    if (!cin)
        return pf_cfg_err(nd, "netdef: missing key 'input' ([C, H, W])");
    if (!ccls)
        return pf_cfg_err(nd, "netdef: missing key 'classes'");
    if (!rows)
        return pf_cfg_err(nd, "netdef: missing key 'layers'");
    if (rows->kind != PF_CFG_SEQ || rows->n == 0)
        return pf_cfg_err(rows, "netdef: layers must be a non-empty list");
    if (rows->n > 100000)
        return pf_cfg_err(rows, "netdef: too many layers (%zu)", rows->n);

    m = pf_calloc(1, sizeof *m);
    if (!m)
        return -PF_ENOMEM;
    const char *name = "net";
    if ((rc = pf_cfg_str(nd, "name", "name", &name)) < 0)
        goto fail;
    snprintf(m->name, sizeof m->name, "%s", name);
    if ((rc = parse_input_shape(cin, &m->input)) < 0)
        goto fail;
    long classes;
    if ((rc = pf_cfg_as_int(ccls, "classes", &classes)) < 0)
        goto fail;
    if (classes < 2 || classes > 100000) {
        rc = pf_cfg_err(ccls, "classes must be 2..100000, got %ld", classes);
        goto fail;
    }
    m->classes = (int)classes;

    size_t n = rows->n;
    ins = pf_calloc(n, sizeof *ins);
    n_ins = pf_calloc(n, sizeof *n_ins);
    order = pf_calloc(n, sizeof *order);
    pos = pf_calloc(n, sizeof *pos);
    indeg = pf_calloc(n, sizeof *indeg);
    m->layers = pf_calloc(n, sizeof *m->layers);
    m->n_consumers = pf_calloc(n, sizeof *m->n_consumers);
    if (!ins || !n_ins || !order || !pos || !indeg || !m->layers || !m->n_consumers) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    /* names: present, scalar, unique, not reserved */
    for (size_t i = 0; i < n; i++) {
        const struct pf_cfg *row = rows->items[i];
        if (row->kind != PF_CFG_MAP) {
            rc = pf_cfg_err(row, "layer %zu must be a map {name: ..., type: ...}", i + 1);
            goto fail;
        }
        const struct pf_cfg *cn = pf_cfg_get(row, "name");
        if (!cn || cn->kind != PF_CFG_SCALAR) {
            rc = pf_cfg_err(row, "layer %zu: missing key 'name'", i + 1);
            goto fail;
        }
        if (!strcmp(cn->str, INPUT_NAME)) {
            rc = pf_cfg_err(cn, "layer name '%s' is reserved for the network input", INPUT_NAME);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(row_name(rows->items[j]), cn->str)) {
                rc = pf_cfg_err(cn, "duplicate layer name '%s'", cn->str);
                goto fail;
            }
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = resolve_inputs(rows, i, ins[i], &n_ins[i])) < 0)
            goto fail;
    /* Kahn's algorithm, stable: among ready rows the earliest in the file goes first. */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < n_ins[i]; k++)
            if (ins[i][k] >= 0)
                indeg[i]++;
    size_t done = 0;
    while (done < n) {
        size_t pick = n;
        for (size_t i = 0; i < n; i++)
            if (indeg[i] == 0) {
                pick = i;
                break;
            }
        if (pick == n) {
            for (size_t i = 0; i < n; i++)
                if (indeg[i] > 0) {
                    rc = pf_cfg_err(rows->items[i], "%s: its inputs form a cycle",
                                    row_name(rows->items[i]));
                    goto fail;
                }
        }
        indeg[pick] = -1;
        pos[pick] = (int)done;
        order[done++] = (int)pick;
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < n_ins[i]; k++)
                if (ins[i][k] == (int)pick)
                    indeg[i]--;
    }
    /* build layers in topological order */
    for (size_t t = 0; t < n; t++) {
        int r = order[t];
        struct pf_layer *l = &m->layers[t];
        struct pf_shape in_shapes[PF_LAYER_MAX_INPUTS];
        l->index = (int)t;
        for (int k = 0; k < n_ins[r]; k++) {
            int p = ins[r][k] < 0 ? -1 : pos[ins[r][k]];
            l->in_idx[k] = p;
            in_shapes[k] = p < 0 ? m->input : m->layers[p].out;
        }
        if ((rc = pf_layer_create(l, rows->items[r], in_shapes, n_ins[r])) < 0)
            goto fail;
        m->n_layers = (int)t + 1;
        for (int k = 0; k < l->n_in; k++)
            if (l->in_idx[k] >= 0)
                m->n_consumers[l->in_idx[k]]++;
    }
    struct pf_layer *last = &m->layers[m->n_layers - 1];
    if (pf_shape_numel(last->out) != (size_t)m->classes) {
        rc = pf_cfg_err(rows->items[order[n - 1]],
                        "%s: the last layer must output the %d class logits, but its output is "
                        "%dx%dx%d",
                        last->name, m->classes, last->out.c, last->out.h, last->out.w);
        goto fail;
    }
    for (int i = 0; i < m->n_layers - 1; i++)
        if (m->n_consumers[i] == 0) {
            rc = pf_cfg_err(rows->items[order[i]],
                            "%s: its output is never used (only the last layer may be unread)",
                            m->layers[i].name);
            goto fail;
        }
    free(ins);
    free(n_ins);
    free(order);
    free(pos);
    free(indeg);
    *out = m;
    return 0;
fail:
    free(ins);
    free(n_ins);
    free(order);
    free(pos);
    free(indeg);
    pf_model_free(m);
    return rc;
}

int pf_model_from_yaml(const char *text, size_t len, const char *name, struct pf_model **out)
{
    struct pf_cfg *c = NULL;
    *out = NULL;
    int rc = pf_cfg_parse(text, len, name, &c);
    if (rc < 0)
        return rc;
    rc = pf_model_from_cfg(c, out);
    pf_cfg_free(c);
    return rc;
}

int pf_model_from_file(const char *path, struct pf_model **out)
{
    struct pf_cfg *c = NULL;
    *out = NULL;
    int rc = pf_cfg_load(path, &c);
    if (rc < 0)
        return rc;
    rc = pf_model_from_cfg(c, out);
    pf_cfg_free(c);
    return rc;
}

/* ---- netdef writing ---- */

int pf_model_to_yaml(const struct pf_model *m, char **out)
{
    size_t cap = 1024 + (size_t)m->n_layers * 256, len = 0;
    char *buf = pf_malloc(cap), row[4096];
    *out = NULL;
    if (!buf)
        return -PF_ENOMEM;
    len += (size_t)snprintf(buf, cap, "name: %s\ninput: [%d, %d, %d]\nclasses: %d\nlayers:\n",
                            m->name, m->input.c, m->input.h, m->input.w, m->classes);
    for (int i = 0; i < m->n_layers; i++) {
        /* one row into `row` (names are < 64 characters, at most 8 inputs: it fits), then
         * appended with the buffer grown first */
        const struct pf_layer *l = &m->layers[i];
        int r =
            pf_layer_yaml_add(row, sizeof row, 0, "  - {name: %s, type: %s", l->name, l->ops->name);
        if (!(l->n_in == 1 && l->in_idx[0] == i - 1)) {
            for (int k = 0; k < l->n_in; k++)
                r = pf_layer_yaml_add(row, sizeof row, r, "%s%s", k ? ", " : ", inputs: [",
                                      l->in_idx[k] < 0 ? INPUT_NAME : m->layers[l->in_idx[k]].name);
            r = pf_layer_yaml_add(row, sizeof row, r, "]");
        }
        if (l->ops->to_yaml && r >= 0 && (size_t)r < sizeof row)
            r += l->ops->to_yaml(l, row + r, sizeof row - (size_t)r);
        r = pf_layer_yaml_add(row, sizeof row, r, "}\n");
        if (r < 0 || (size_t)r >= sizeof row) {
            free(buf);
            return PF_ERR(PF_EINVAL, "%s: layer %s does not fit a netdef row", m->name, l->name);
        }
        if (len + (size_t)r + 1 > cap) {
            size_t ncap = (cap + (size_t)r) * 2;
            char *nb = pf_realloc_array(buf, ncap, 1);
            if (!nb) {
                free(buf);
                return -PF_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + len, row, (size_t)r + 1);
        len += (size_t)r;
    }
    *out = buf;
    return 0;
}

/* ---- params ---- */

void pf_model_init_params(struct pf_model *m, unsigned long long seed)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_layer *l = &m->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            struct pf_param *p = &l->params[j];
            float *w = pf_tensor_f32(&p->w);
            size_t n = pf_tensor_numel(&p->w);
            float fill = !strcmp(p->name, "gamma") || !strcmp(p->name, "running_var") ? 1.0f : 0.0f;
            if (p->decay && p->w.ndim >= 2) {
                /* PyTorch's default (kaiming_uniform with a = sqrt(5)): U(-b, b) with
                 * b = 1 / sqrt(fan_in), fan_in = numel / out channels. Full He init
                 * (sqrt(6 / fan_in)) made the BN-free ConvNet diverge at lr 0.05. */
                size_t fan_in = n / (size_t)p->w.shape[0];
                float bound = 1.0f / sqrtf((float)(fan_in ? fan_in : 1));
                for (size_t k = 0; k < n; k++)
                    w[k] = (2.0f * pf_rng_uniform(&rng) - 1.0f) * bound;
            } else {
                for (size_t k = 0; k < n; k++)
                    w[k] = fill;
            }
        }
    }
}

int pf_model_clone(const struct pf_model *m, struct pf_model **out)
{
    char *yaml = NULL;
    *out = NULL;
    int rc = pf_model_to_yaml(m, &yaml);
    if (rc < 0)
        return rc;
    struct pf_model *c = NULL;
    rc = pf_model_from_yaml(yaml, strlen(yaml), m->name, &c);
    free(yaml);
    if (rc < 0)
        return rc;
    for (int i = 0; i < m->n_layers; i++) {
        const struct pf_layer *a = &m->layers[i];
        struct pf_layer *b = &c->layers[i];
        for (int j = 0; j < a->n_params; j++) {
            struct pf_param *pa = (struct pf_param *)&a->params[j], *pb = &b->params[j];
            if ((rc = pf_tensor_copy(&pb->w, &pa->w)) < 0)
                goto fail;
            if (pa->mask) {
                size_t n = pf_tensor_numel(&pa->w);
                pb->mask = pf_malloc(n);
                if (!pb->mask) {
                    rc = -PF_ENOMEM;
                    goto fail;
                }
                memcpy(pb->mask, pa->mask, n);
            }
            if (pa->quant && (rc = pf_qtensor_clone(pa->quant, &pb->quant)) < 0)
                goto fail;
        }
    }
    if (m->actq) {
        if ((rc = pf_model_actq_enable(c)) < 0)
            goto fail;
        memcpy(c->actq, m->actq, (size_t)(m->n_layers + 1) * sizeof *m->actq);
    }
    *out = c;
    return 0;
fail:
    pf_model_free(c);
    return rc;
}

int pf_model_find(const struct pf_model *m, const char *name)
{
    for (int i = 0; i < m->n_layers; i++)
        if (!strcmp(m->layers[i].name, name))
            return i;
    return -1;
}

int pf_model_for_each_param(struct pf_model *m, pf_param_visit_fn fn, void *user)
{
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            int rc = fn(&m->layers[i], &m->layers[i].params[j], user);
            if (rc)
                return rc;
        }
    return 0;
}

void pf_model_zero_grad(struct pf_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            struct pf_param *p = &m->layers[i].params[j];
            if (p->g.data)
                memset(p->g.data, 0, pf_tensor_numel(&p->g) * sizeof(float));
        }
}

void pf_model_count(const struct pf_model *m, struct pf_count *total)
{
    memset(total, 0, sizeof *total);
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_count c = {0};
        if (m->layers[i].ops->count)
            m->layers[i].ops->count(&m->layers[i], &c);
        total->macs += c.macs;
        total->other_ops += c.other_ops;
        total->params += c.params;
    }
}

/* ---- activations, forward, backward ---- */

/* Points m->dy[] into as few buffers as the backward's live spans allow (graph.h): layer p's
 * gradient is written first by the backward of its last consumer c (or, for the last layer,
 * by pf_model_backward itself) and read last by p's own, so it lives over layers [p, c] and
 * two layers may share a buffer when their spans are disjoint. Spans are taken in the order
 * backward opens them; each goes to the free buffer that fits it best (the smallest big enough,
 * else the largest, grown). With keep_grads every layer gets its own. */
static int alloc_grads(struct pf_model *m, int N)
{
    int L = m->n_layers, rc = 0;
    int *last = pf_malloc((size_t)L * sizeof *last), *owner = pf_malloc((size_t)L * sizeof *owner),
        *buf_of = pf_malloc((size_t)L * sizeof *buf_of);
    size_t *cap = pf_calloc((size_t)L, sizeof *cap);
    m->dy_buf = pf_calloc((size_t)L, sizeof *m->dy_buf);
    if (!last || !owner || !buf_of || !cap || !m->dy_buf) {
        rc = -PF_ENOMEM;
        goto out;
    }
    for (int p = 0; p < L; p++)
        last[p] = p;
    for (int i = 0; i < L; i++)
        for (int k = 0; k < m->layers[i].n_in; k++)
            if (m->layers[i].in_idx[k] >= 0 && last[m->layers[i].in_idx[k]] < i)
                last[m->layers[i].in_idx[k]] = i;
    int nb = 0;
    /* backward opens span p at layer last[p]: visit layers from the top, opening the spans
     * whose last consumer is that layer (p's own span when nothing reads p) */
    for (int i = L - 1; i >= 0; i--)
        for (int p = i; p >= 0; p--) {
            if (last[p] != i)
                continue;
            size_t n = pf_shape_numel(m->layers[p].out) * (size_t)N;
            int best = -1;
            for (int b = 0; b < nb && !m->keep_grads; b++) {
                /* free: its current owner's span closed (owner's backward ran before i) */
                if (owner[b] <= i)
                    continue;
                bool fits = cap[b] >= n, best_fits = best >= 0 && cap[best] >= n;
                if (best < 0 || (fits && (!best_fits || cap[b] < cap[best])) ||
                    (!fits && !best_fits && cap[b] > cap[best]))
                    best = b;
            }
            if (best < 0)
                best = nb++;
            owner[best] = p;
            if (cap[best] < n)
                cap[best] = n;
            buf_of[p] = best;
        }
    for (int b = 0; b < nb; b++)
        if (!(m->dy_buf[b] = pf_malloc_aligned(cap[b] * sizeof(float)))) {
            rc = -PF_ENOMEM;
            break;
        }
    m->n_dy_buf = nb;
    for (int p = 0; p < L && !rc; p++)
        m->dy[p] = m->dy_buf[buf_of[p]];
out:
    free(cap);
    free(buf_of);
    free(owner);
    free(last);
    return rc;
}

int pf_model_set_batch(struct pf_model *m, int N)
{
    if (N < 1)
        return PF_ERR(PF_EINVAL, "batch size %d must be at least 1", N);
    if (N <= m->batch)
        return 0;
    free_activations(m);
    m->y = pf_calloc((size_t)m->n_layers, sizeof *m->y);
    m->dy = pf_calloc((size_t)m->n_layers, sizeof *m->dy);
    if (!m->y || !m->dy)
        goto oom;
    size_t maxn = 0;
    int max_in = 1;
    for (int i = 0; i < m->n_layers; i++) {
        size_t n = pf_shape_numel(m->layers[i].out) * (size_t)N;
        if (!(m->y[i] = pf_malloc_aligned(n * sizeof(float))))
            goto oom;
        maxn = n > maxn ? n : maxn;
        max_in = m->layers[i].n_in > max_in ? m->layers[i].n_in : max_in;
    }
    if (alloc_grads(m, N) < 0)
        goto oom;
    m->scratch_len = maxn;
    m->scratch = pf_malloc_aligned(maxn * (size_t)max_in * sizeof(float));
    if (!m->scratch)
        goto oom;
    size_t n_in = pf_shape_numel(m->input) * (size_t)N;
    if (m->actq && !(m->xq = pf_malloc_aligned(n_in * sizeof(float))))
        goto oom;
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_layer *l = &m->layers[i];
        if (l->ops->set_batch) {
            int rc = l->ops->set_batch(l, N);
            if (rc < 0) {
                free_activations(m);
                return rc;
            }
        }
    }
    m->batch = N;
    return 0;
oom:
    free_activations(m);
    return PF_ERR(PF_ENOMEM, "%s: out of memory for activations at batch %d", m->name, N);
}

int pf_model_keep_grads(struct pf_model *m)
{
    if (m->keep_grads)
        return 0;
    m->keep_grads = true;
    return pf_model_reshape(m);
}

int pf_model_reshape(struct pf_model *m)
{
    int N = m->batch;
    free_activations(m);
    return N > 0 ? pf_model_set_batch(m, N) : 0;
}

int pf_model_actq_first(const struct pf_model *m)
{
    for (int i = 0; m->actq && i <= m->n_layers; i++)
        if (m->actq[i].bits > 0)
            return i;
    return -1;
}

int pf_model_actq_enable(struct pf_model *m)
{
    if (m->actq)
        return 0;
    m->actq = pf_calloc((size_t)m->n_layers + 1, sizeof *m->actq);
    if (!m->actq)
        return -PF_ENOMEM;
    for (int i = 0; i <= m->n_layers; i++)
        pf_actq_init(&m->actq[i]);
    return pf_model_reshape(m); /* allocates xq */
}

void pf_model_actq_disable(struct pf_model *m)
{
    free(m->actq);
    m->actq = NULL;
    free(m->xq);
    m->xq = NULL;
}

/* Applies activation entry i (a layer, or n_layers for the input) to n values of y. */
static void actq_apply(struct pf_model *m, int i, float *y, size_t n, bool train)
{
    struct pf_actq *a = &m->actq[i];
    if (a->bits <= 0)
        return;
    if (a->tie >= 0 && a->tie <= m->n_layers) {
        /* keeps the tied tensor's quantization: its range, not one of our own */
        a->lo = m->actq[a->tie].lo;
        a->hi = m->actq[a->tie].hi;
        a->ready = m->actq[a->tie].ready;
        a->bypass = m->actq[a->tie].bypass;
        a->frozen = true;
    }
    pf_actq_apply(a, y, n, train);
}

/* The input the layers read: x, or its quantized copy. */
static const float *model_input(const struct pf_model *m, const float *x)
{
    return m->actq && m->actq[m->n_layers].bits > 0 ? m->xq : x;
}

int pf_model_forward(struct pf_model *m, const float *x, int N, bool train)
{
    int rc;
    if (N > m->batch && (rc = pf_model_set_batch(m, N)) < 0)
        return rc;
    const float *xin = model_input(m, x);
    if (xin != x) {
        size_t n = pf_shape_numel(m->input) * (size_t)N;
        memcpy(m->xq, x, n * sizeof *x);
        actq_apply(m, m->n_layers, m->xq, n, train);
    }
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_layer *l = &m->layers[i];
        const float *xs[PF_LAYER_MAX_INPUTS];
        for (int k = 0; k < l->n_in; k++)
            xs[k] = l->in_idx[k] < 0 ? xin : m->y[l->in_idx[k]];
        if ((rc = l->ops->forward(l, xs, m->y[i], N, train)) < 0)
            return rc;
        if (m->actq)
            actq_apply(m, i, m->y[i], pf_shape_numel(l->out) * (size_t)N, train);
    }
    return 0;
}

int pf_model_backward(struct pf_model *m, const float *x, const float *dlogits, int N)
{
    if (N > m->batch)
        return PF_ERR(PF_EINVAL, "backward at batch %d after forward sized for %d", N, m->batch);
    /* written[p]: producer p's dy already holds one consumer's contribution */
    char written_small[256];
    char *written = m->n_layers <= 256 ? written_small : pf_calloc((size_t)m->n_layers, 1);
    if (!written)
        return -PF_ENOMEM;
    memset(written, 0, m->n_layers <= 256 ? sizeof written_small : 0);
    int last = m->n_layers - 1;
    x = model_input(m, x);
    memcpy(m->dy[last], dlogits, (size_t)N * m->classes * sizeof(float));
    int rc = 0;
    for (int i = last; i >= 0; i--) {
        struct pf_layer *l = &m->layers[i];
        const float *xs[PF_LAYER_MAX_INPUTS];
        float *dxs[PF_LAYER_MAX_INPUTS];
        int add_back[PF_LAYER_MAX_INPUTS] = {0};
        for (int k = 0; k < l->n_in; k++) {
            int p = l->in_idx[k];
            xs[k] = p < 0 ? x : m->y[p];
            if (p < 0) {
                dxs[k] = NULL;
                continue;
            }
            int seen_here = 0;
            for (int j = 0; j < k; j++)
                seen_here |= l->in_idx[j] == p;
            if (!written[p] && !seen_here) {
                dxs[k] = m->dy[p];
                written[p] = 1;
            } else {
                dxs[k] = m->scratch + (size_t)k * m->scratch_len;
                add_back[k] = 1;
            }
        }
        if ((rc = l->ops->backward(l, xs, m->y[i], m->dy[i], dxs, N)) < 0)
            break;
        for (int k = 0; k < l->n_in; k++) {
            if (!add_back[k])
                continue;
            size_t n = pf_shape_numel(m->layers[l->in_idx[k]].out) * (size_t)N;
            pf_accumulate(n, m->dy[l->in_idx[k]], dxs[k]);
        }
    }
    if (written != written_small)
        free(written);
    return rc;
}
