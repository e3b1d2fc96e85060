/* plan.c: struct pf_plan: defaults, skip rules, validation, YAML and ratio.list reading and
 * writing (see plan.h for the format). YAML is read through pf_cfg (the only libyaml wrapper)
 * and written as plain text; numbers are printed with %.17g so that they read back exactly.
 * Zero-channel and fixed-group checks build the model's channel groups (groups.h). */
#include "engine/model/plan.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/groups.h"

static const struct pf_plan_layer identity = {0.0, 0.0, PF_PLAN_BITS_FULL, PF_PLAN_BITS_FULL,
                                              false};

static const char *const top_keys[] = {"round_to",      "skip_first", "skip_last",
                                       "skip_op_names", "layers",     NULL};
static const char *const layer_keys[] = {"prune_ratio", "preserve_ratio", "sparsity", "w_bits",
                                         "a_bits",      "skip",           NULL};

/* ---- life cycle ---- */

static void free_skip_names(struct pf_plan *p)
{
    for (int i = 0; i < p->n_skip_names; i++) {
        free(p->skip_names[i]);
        p->skip_names[i] = NULL;
    }
    p->n_skip_names = 0;
}

int pf_plan_init(struct pf_plan *p, const struct pf_model *m)
{
    memset(p, 0, sizeof *p);
    p->layers = pf_calloc((size_t)m->n_layers, sizeof *p->layers);
    if (!p->layers)
        return -PF_ENOMEM;
    p->n_layers = m->n_layers;
    pf_plan_reset(p);
    return 0;
}

void pf_plan_deinit(struct pf_plan *p)
{
    free_skip_names(p);
    free(p->layers);
    p->layers = NULL;
    p->n_layers = 0;
}

void pf_plan_reset(struct pf_plan *p)
{
    for (int i = 0; i < p->n_layers; i++)
        p->layers[i] = identity;
    free_skip_names(p);
    p->round_to = 1;
    p->skip_first = p->skip_last = false;
}

int pf_plan_copy(struct pf_plan *dst, const struct pf_plan *src)
{
    struct pf_plan t;
    memset(&t, 0, sizeof t);
    t.layers = pf_calloc(src->n_layers ? (size_t)src->n_layers : 1, sizeof *t.layers);
    if (!t.layers)
        return -PF_ENOMEM;
    t.n_layers = src->n_layers;
    memcpy(t.layers, src->layers, (size_t)src->n_layers * sizeof *t.layers);
    t.round_to = src->round_to;
    t.skip_first = src->skip_first;
    t.skip_last = src->skip_last;
    for (int i = 0; i < src->n_skip_names; i++) {
        if (!(t.skip_names[i] = pf_strdup(src->skip_names[i]))) {
            pf_plan_deinit(&t);
            return -PF_ENOMEM;
        }
        t.n_skip_names = i + 1;
    }
    pf_plan_deinit(dst);
    *dst = t;
    return 0;
}

/* ---- skip rules ---- */

bool pf_plan_has_weights(const struct pf_layer *l)
{
    return l->ops == &pf_layer_conv2d || l->ops == &pf_layer_dense;
}

bool pf_plan_skipped(const struct pf_plan *p, const struct pf_model *m, int i)
{
    if (p->layers[i].skip)
        return true;
    const struct pf_layer *l = &m->layers[i];
    for (int k = 0; k < p->n_skip_names; k++)
        if (fnmatch(p->skip_names[k], l->name, 0) == 0)
            return true;
    if (!pf_plan_has_weights(l) || (!p->skip_first && !p->skip_last))
        return false;
    bool first = true, last = true;
    for (int j = 0; j < i && first; j++)
        first = !pf_plan_has_weights(&m->layers[j]);
    for (int j = i + 1; j < m->n_layers && last; j++)
        last = !pf_plan_has_weights(&m->layers[j]);
    return (p->skip_first && first) || (p->skip_last && last);
}

struct pf_plan_layer pf_plan_effective(const struct pf_plan *p, const struct pf_model *m, int i)
{
    if (pf_plan_skipped(p, m, i)) {
        struct pf_plan_layer e = identity;
        e.skip = true;
        return e;
    }
    return p->layers[i];
}

/* ---- validation ---- */

int pf_plan_keep_count(int channels, double ratio)
{
    return (int)lround((double)channels * (1.0 - ratio));
}

/* Checks an entry's values; fills msg and returns false on the first problem. g may be NULL
 * (then the zero-channel and fixed-group checks are skipped). */
static bool entry_ok(const struct pf_plan_layer *e, const struct pf_model *m,
                     const struct pf_groups *g, int i, char *msg, size_t n)
{
    const struct pf_layer *l = &m->layers[i];
    bool w = pf_plan_has_weights(l);
    if (!(e->prune_ratio >= 0.0 && e->prune_ratio < 1.0)) {
        snprintf(msg, n, "%s: prune_ratio %g is outside [0, 1)", l->name, e->prune_ratio);
        return false;
    }
    if (!(e->sparsity >= 0.0 && e->sparsity < 1.0)) {
        snprintf(msg, n, "%s: sparsity %g is outside [0, 1)", l->name, e->sparsity);
        return false;
    }
    if (e->w_bits < 1 || e->w_bits > 32 || e->a_bits < 1 || e->a_bits > 32) {
        snprintf(msg, n, "%s: %s %d is outside 1..32", l->name,
                 e->w_bits < 1 || e->w_bits > 32 ? "w_bits" : "a_bits",
                 e->w_bits < 1 || e->w_bits > 32 ? e->w_bits : e->a_bits);
        return false;
    }
    if (!w && (e->prune_ratio > 0 || e->sparsity > 0 || e->w_bits != PF_PLAN_BITS_FULL)) {
        snprintf(msg, n,
                 "%s: %s has no weights; prune_ratio, sparsity and w_bits apply to "
                 "conv2d and dense layers",
                 l->name, l->ops->name);
        return false;
    }
    if (!g || e->prune_ratio <= 0.0)
        return true;
    int ns;
    const struct pf_chan_seg *s = pf_groups_in(g, m, i, &ns);
    for (int k = 0; k < ns; k++) {
        const struct pf_group *gr = &g->groups[s[k].group];
        if (gr->fixed) {
            snprintf(msg, n, "%s: its input channels cannot be pruned (%s)", l->name,
                     pf_group_fixed_str(gr->fixed));
            return false;
        }
        if (pf_plan_keep_count(gr->channels, e->prune_ratio) < 1) {
            snprintf(msg, n, "%s: prune_ratio %g leaves 0 of its %d input channels", l->name,
                     e->prune_ratio, gr->channels);
            return false;
        }
    }
    return true;
}

int pf_plan_check_layer(const struct pf_plan *p, const struct pf_model *m, int i)
{
    char msg[256];
    if (i < 0 || i >= p->n_layers || p->n_layers != m->n_layers)
        return PF_ERR(PF_EINVAL, "plan: layer %d out of range", i);
    if (!entry_ok(&p->layers[i], m, NULL, i, msg, sizeof msg))
        return PF_ERR(PF_EINVAL, "%s", msg);
    return 0;
}

/* Used by the profiler: full check including channel groups. */
int pf_plan_check_entry(const struct pf_plan_layer *e, const struct pf_model *m,
                        const struct pf_groups *g, int i)
{
    char msg[256];
    if (!entry_ok(e, m, g, i, msg, sizeof msg))
        return PF_ERR(PF_EINVAL, "%s", msg);
    return 0;
}

/* ---- YAML reading ---- */

static int read_ratio(const struct pf_cfg *c, const char *what, double *out)
{
    int rc = pf_cfg_as_float(c, what, out);
    if (rc < 0)
        return rc;
    return isfinite(*out) ? 0 : pf_cfg_err(c, "%s must be a finite number", what);
}

static int read_layer(struct pf_plan *p, const struct pf_model *m, const struct pf_groups *g,
                      const struct pf_cfg *c)
{
    int i = pf_model_find(m, c->key);
    int rc;
    if (i < 0)
        return pf_cfg_err(c, "layer '%s' is not in model %s", c->key, m->name);
    if (c->kind != PF_CFG_MAP)
        return pf_cfg_err(c, "%s: a layer entry must be a map {prune_ratio: ..., w_bits: ...}",
                          c->key);
    char what[PF_NAME_MAX + 32];
    snprintf(what, sizeof what, "%s: plan entry", c->key);
    if ((rc = pf_cfg_check_keys(c, layer_keys, what)) < 0)
        return rc;
    struct pf_plan_layer e = p->layers[i];
    const struct pf_cfg *pr = pf_cfg_get(c, "prune_ratio"), *ps = pf_cfg_get(c, "preserve_ratio");
    const struct pf_cfg *sp = pf_cfg_get(c, "sparsity"), *wb = pf_cfg_get(c, "w_bits");
    const struct pf_cfg *ab = pf_cfg_get(c, "a_bits"), *sk = pf_cfg_get(c, "skip");
    if (pr && ps)
        return pf_cfg_err(ps, "%s: give prune_ratio or preserve_ratio, not both", c->key);
    double v;
    long b;
    if (pr) {
        snprintf(what, sizeof what, "%s: prune_ratio", c->key);
        if ((rc = read_ratio(pr, what, &v)) < 0)
            return rc;
        if (!(v >= 0.0 && v < 1.0))
            return pf_cfg_err(pr, "%s: prune_ratio %g is outside [0, 1)", c->key, v);
        e.prune_ratio = v;
    }
    if (ps) {
        snprintf(what, sizeof what, "%s: preserve_ratio", c->key);
        if ((rc = read_ratio(ps, what, &v)) < 0)
            return rc;
        if (!(v > 0.0 && v <= 1.0))
            return pf_cfg_err(ps, "%s: preserve_ratio %g is outside (0, 1]", c->key, v);
        e.prune_ratio = 1.0 - v;
    }
    if (sp) {
        snprintf(what, sizeof what, "%s: sparsity", c->key);
        if ((rc = read_ratio(sp, what, &v)) < 0)
            return rc;
        if (!(v >= 0.0 && v < 1.0))
            return pf_cfg_err(sp, "%s: sparsity %g is outside [0, 1)", c->key, v);
        e.sparsity = v;
    }
    const struct pf_cfg *bits[2] = {wb, ab};
    int *dst[2] = {&e.w_bits, &e.a_bits};
    for (int k = 0; k < 2; k++) {
        if (!bits[k])
            continue;
        snprintf(what, sizeof what, "%s: %s", c->key, k ? "a_bits" : "w_bits");
        if ((rc = pf_cfg_as_int(bits[k], what, &b)) < 0)
            return rc;
        if (b < 1 || b > 32)
            return pf_cfg_err(bits[k], "%s: %s %ld is outside 1..32", c->key,
                              k ? "a_bits" : "w_bits", b);
        *dst[k] = (int)b;
    }
    if (sk) {
        snprintf(what, sizeof what, "%s: skip", c->key);
        if ((rc = pf_cfg_as_bool(sk, what, &e.skip)) < 0)
            return rc;
    }
    char msg[256];
    if (!entry_ok(&e, m, g, i, msg, sizeof msg))
        return pf_cfg_err(pr ? pr : ps ? ps : c, "%s", msg);
    p->layers[i] = e;
    return 0;
}

static int read_skip_names(struct pf_plan *p, const struct pf_cfg *c)
{
    size_t n = c->kind == PF_CFG_SEQ ? c->n : 1;
    if (c->kind == PF_CFG_MAP)
        return pf_cfg_err(c, "skip_op_names must be a list of layer-name patterns");
    if (c->kind == PF_CFG_SCALAR && c->str[0] == 0)
        n = 0;
    if (n > PF_PLAN_MAX_SKIP)
        return pf_cfg_err(c, "skip_op_names: %zu patterns (at most %d)", n, PF_PLAN_MAX_SKIP);
    free_skip_names(p);
    for (size_t k = 0; k < n; k++) {
        const char *s;
        const struct pf_cfg *it = c->kind == PF_CFG_SEQ ? c->items[k] : c;
        int rc = pf_cfg_as_str(it, "skip_op_names", &s);
        if (rc < 0)
            return rc;
        /* PocketFlow's cpr_skip_op_names is one comma-separated string: accept that too */
        const char *q = s;
        while (*q) {
            size_t len = strcspn(q, ",");
            while (len && (q[0] == ' ' || q[0] == '\t')) {
                q++;
                len--;
            }
            size_t l2 = len;
            while (l2 && (q[l2 - 1] == ' ' || q[l2 - 1] == '\t'))
                l2--;
            if (l2) {
                if (p->n_skip_names >= PF_PLAN_MAX_SKIP)
                    return pf_cfg_err(it, "skip_op_names: more than %d patterns", PF_PLAN_MAX_SKIP);
                char *d = pf_malloc(l2 + 1);
                if (!d)
                    return -PF_ENOMEM;
                memcpy(d, q, l2);
                d[l2] = 0;
                p->skip_names[p->n_skip_names++] = d;
            }
            q += len;
            if (*q == ',')
                q++;
        }
    }
    return 0;
}

int pf_plan_read_cfg(struct pf_plan *p, const struct pf_model *m, const struct pf_cfg *cfg,
                     bool allow_other_keys)
{
    struct pf_groups *g = NULL;
    int rc;
    if (p->n_layers != m->n_layers)
        return PF_ERR(PF_EINVAL, "plan made for %d layers, model %s has %d", p->n_layers, m->name,
                      m->n_layers);
    if (cfg->kind != PF_CFG_MAP)
        return pf_cfg_err(cfg, "a plan must be a map (round_to, skip_first, skip_last, "
                               "skip_op_names, layers)");
    if (!allow_other_keys && (rc = pf_cfg_check_keys(cfg, top_keys, "plan")) < 0)
        return rc;
    long rt = p->round_to;
    if ((rc = pf_cfg_int(cfg, "round_to", "round_to", &rt)) < 0 ||
        (rc = pf_cfg_bool(cfg, "skip_first", "skip_first", &p->skip_first)) < 0 ||
        (rc = pf_cfg_bool(cfg, "skip_last", "skip_last", &p->skip_last)) < 0)
        return rc;
    if (rt < 1 || rt > 65536)
        return pf_cfg_err(pf_cfg_get(cfg, "round_to"), "round_to %ld is outside 1..65536", rt);
    p->round_to = (int)rt;
    const struct pf_cfg *sk = pf_cfg_get(cfg, "skip_op_names");
    if (sk && (rc = read_skip_names(p, sk)) < 0)
        return rc;
    const struct pf_cfg *ls = pf_cfg_get(cfg, "layers");
    if (!ls)
        return 0;
    if (ls->kind == PF_CFG_SCALAR && ls->str[0] == 0)
        return 0; /* `layers:` with nothing under it */
    if (ls->kind != PF_CFG_MAP)
        return pf_cfg_err(ls, "plan: layers must be a map of layer name -> {prune_ratio, "
                              "sparsity, w_bits, a_bits, skip}");
    if ((rc = pf_groups_build(m, &g)) < 0)
        return rc;
    for (size_t k = 0; k < ls->n; k++)
        if ((rc = read_layer(p, m, g, ls->items[k])) < 0)
            break;
    pf_groups_free(g);
    return rc;
}

int pf_plan_read_yaml(struct pf_plan *p, const struct pf_model *m, const char *text, size_t len,
                      const char *name)
{
    struct pf_cfg *c = NULL;
    int rc = pf_cfg_parse(text, len, name, &c);
    if (rc < 0)
        return rc;
    rc = pf_plan_read_cfg(p, m, c, false);
    pf_cfg_free(c);
    return rc;
}

/* ---- writing ---- */

struct sbuf {
    char *s;
    size_t len, cap;
    int rc;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    if (b->rc)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->rc = PF_ERR(PF_EINVAL, "plan: formatting failed");
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *s = pf_realloc_array(b->s, cap, 1);
        if (!s) {
            b->rc = -PF_ENOMEM;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static int sb_finish(struct sbuf *b, char **out)
{
    if (!b->rc && !b->s)
        sb_add(b, "%s", "");
    if (b->rc) {
        free(b->s);
        *out = NULL;
        return b->rc;
    }
    *out = b->s;
    return 0;
}

/* A YAML-safe rendering of a pattern: always double-quoted, with \ and " escaped. */
static void sb_quoted(struct sbuf *b, const char *s)
{
    sb_add(b, "\"");
    for (; *s; s++)
        sb_add(b, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    sb_add(b, "\"");
}

int pf_plan_to_yaml(const struct pf_plan *p, const struct pf_model *m, char **out)
{
    struct sbuf b = {0};
    sb_add(&b,
           "# pocketflow plan for %s: prune_ratio = fraction of a layer's input channels "
           "removed\n",
           m->name);
    sb_add(&b, "round_to: %d\nskip_first: %s\nskip_last: %s\nskip_op_names: [", p->round_to,
           p->skip_first ? "true" : "false", p->skip_last ? "true" : "false");
    for (int k = 0; k < p->n_skip_names; k++) {
        sb_add(&b, "%s", k ? ", " : "");
        sb_quoted(&b, p->skip_names[k]);
    }
    sb_add(&b, "]\nlayers:");
    int n = 0;
    for (int i = 0; i < p->n_layers && i < m->n_layers; i++) {
        const struct pf_plan_layer *e = &p->layers[i];
        if (!memcmp(e, &identity, sizeof *e) || (e->prune_ratio == 0 && e->sparsity == 0 &&
                                                 e->w_bits == 32 && e->a_bits == 32 && !e->skip))
            continue;
        sb_add(&b, "\n  %s: {", m->layers[i].name);
        const char *sep = "";
        if (e->prune_ratio != 0) {
            sb_add(&b, "prune_ratio: %.17g", e->prune_ratio);
            sep = ", ";
        }
        if (e->sparsity != 0) {
            sb_add(&b, "%ssparsity: %.17g", sep, e->sparsity);
            sep = ", ";
        }
        if (e->w_bits != PF_PLAN_BITS_FULL) {
            sb_add(&b, "%sw_bits: %d", sep, e->w_bits);
            sep = ", ";
        }
        if (e->a_bits != PF_PLAN_BITS_FULL) {
            sb_add(&b, "%sa_bits: %d", sep, e->a_bits);
            sep = ", ";
        }
        if (e->skip)
            sb_add(&b, "%sskip: true", sep);
        sb_add(&b, "}");
        n++;
    }
    sb_add(&b, n ? "\n" : " {}\n");
    return sb_finish(&b, out);
}

/* ---- ratio.list ---- */

int pf_plan_read_ratio_list(struct pf_plan *p, const struct pf_model *m, const char *text,
                            size_t len, const char *name)
{
    struct pf_groups *g = NULL;
    char *buf = pf_malloc(len + 1);
    double *vals = NULL;
    int rc = 0, n_conv = 0;
    if (!buf)
        return -PF_ENOMEM;
    memcpy(buf, text, len);
    buf[len] = 0;
    if (p->n_layers != m->n_layers) {
        rc = PF_ERR(PF_EINVAL, "plan made for %d layers, model %s has %d", p->n_layers, m->name,
                    m->n_layers);
        goto done;
    }
    for (int i = 0; i < m->n_layers; i++)
        n_conv += m->layers[i].ops == &pf_layer_conv2d;
    vals = pf_calloc((size_t)n_conv + 1, sizeof *vals);
    if (!vals) {
        rc = -PF_ENOMEM;
        goto done;
    }
    int n = 0;
    char *s = buf;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        if (n >= n_conv) {
            rc = PF_ERR(PF_EPARSE, "%s: more than %d entries (model %s has %d conv2d layers)", name,
                        n_conv, m->name, n_conv);
            goto done;
        }
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !isfinite(v)) {
            rc = PF_ERR(PF_EPARSE, "%s: entry %d is not a number ('%.20s')", name, n + 1, s);
            goto done;
        }
        if (!(v > 0.0 && v <= 1.0)) {
            rc = PF_ERR(PF_EPARSE, "%s: entry %d: preserve ratio %g is outside (0, 1]", name, n + 1,
                        v);
            goto done;
        }
        vals[n++] = v;
        s = end;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (*s == ',')
            s++;
        else if (*s) {
            rc = PF_ERR(PF_EPARSE, "%s: entry %d: expected ',' before '%.20s'", name, n, s);
            goto done;
        }
    }
    for (int k = n; k < n_conv; k++)
        vals[k] = 1.0; /* PocketFlow: missing entries keep every channel */
    if ((rc = pf_groups_build(m, &g)) < 0)
        goto done;
    for (int i = 0, k = 0; i < m->n_layers; i++) {
        if (m->layers[i].ops != &pf_layer_conv2d)
            continue;
        struct pf_plan_layer e = p->layers[i];
        e.prune_ratio = 1.0 - vals[k];
        char msg[256];
        if (!entry_ok(&e, m, g, i, msg, sizeof msg)) {
            rc = PF_ERR(PF_EPARSE, "%s: entry %d: %s", name, k + 1, msg);
            goto done;
        }
        p->layers[i] = e;
        k++;
    }
done:
    pf_groups_free(g);
    free(vals);
    free(buf);
    return rc;
}

int pf_plan_to_ratio_list(const struct pf_plan *p, const struct pf_model *m, char **out)
{
    struct sbuf b = {0};
    int k = 0;
    for (int i = 0; i < m->n_layers && i < p->n_layers; i++)
        if (m->layers[i].ops == &pf_layer_conv2d)
            sb_add(&b, "%s%.17g", k++ ? ", " : "", 1.0 - p->layers[i].prune_ratio);
    sb_add(&b, "\n");
    return sb_finish(&b, out);
}

/* ---- files ---- */

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int pf_plan_load(struct pf_plan *p, const struct pf_model *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    int rc;
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    text = pf_malloc(cap);
    if (!text) {
        fclose(f);
        return -PF_ENOMEM;
    }
    for (;;) {
        size_t r = fread(text + len, 1, cap - len, f);
        len += r;
        if (len < cap)
            break;
        if (cap > ((size_t)64 << 20)) {
            rc = PF_ERR(PF_EIO, "%s: larger than 64 MiB; not a plan", path);
            goto done;
        }
        char *t = pf_realloc_array(text, cap * 2, 1);
        if (!t) {
            rc = -PF_ENOMEM;
            goto done;
        }
        text = t;
        cap *= 2;
    }
    if (ferror(f)) {
        rc = PF_ERR(PF_EIO, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    if (has_suffix(path, ".list"))
        rc = pf_plan_read_ratio_list(p, m, text, len, path);
    else
        rc = pf_plan_read_yaml(p, m, text, len, path);
done:
    fclose(f);
    free(text);
    return rc;
}

int pf_plan_save(const struct pf_plan *p, const struct pf_model *m, const char *path)
{
    char *text = NULL, tmp[4096];
    int rc = pf_plan_to_yaml(p, m, &text);
    if (rc < 0)
        return rc;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        free(text);
        return PF_ERR(PF_EINVAL, "%s: path too long", path);
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = PF_ERR(PF_EIO, "%s: cannot write: %s", tmp, strerror(errno));
        free(text);
        return rc;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        rc = PF_ERR(PF_EIO, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return rc;
    }
    return 0;
}
