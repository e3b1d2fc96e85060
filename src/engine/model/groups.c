/* groups.c: channel groups from the layer graph (see groups.h), physical channel removal
 * (pf_model_prune_group) and L1-norm channel ranking.
 *
 * Build: one pass in topological order gives every layer's output a list of segments over
 * provisional groups, with union-find merging the groups an `add` ties together; then the
 * groups are renumbered densely in order of first appearance and the producer / consumer /
 * touch lists are filled. Which kinds create, pass or tie channels is one table (roles[]). */
#include "engine/model/groups.h"

#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

enum role {
    ROLE_OTHER,   /* unknown kind: its input and output groups are fixed */
    ROLE_PASS,    /* output channels = input channels (BN, activations, pools, dropout, gap) */
    ROLE_FLATTEN, /* pass, each channel becoming H*W features */
    ROLE_CONV,    /* creates channels (groups 1), or passes them (depthwise) */
    ROLE_DENSE,   /* creates channels */
    ROLE_ADD,     /* ties its inputs' channels */
    ROLE_CONCAT,  /* output = its inputs' channels in order */
};

static const struct {
    const struct pf_layer_ops *ops;
    enum role role;
} roles[] = {
    {&pf_layer_conv2d, ROLE_CONV},    {&pf_layer_dense, ROLE_DENSE},
    {&pf_layer_batchnorm, ROLE_PASS}, {&pf_layer_relu, ROLE_PASS},
    {&pf_layer_relu6, ROLE_PASS},     {&pf_layer_maxpool, ROLE_PASS},
    {&pf_layer_avgpool, ROLE_PASS},   {&pf_layer_gap, ROLE_PASS},
    {&pf_layer_dropout, ROLE_PASS},   {&pf_layer_flatten, ROLE_FLATTEN},
    {&pf_layer_add, ROLE_ADD},        {&pf_layer_concat, ROLE_CONCAT},
};

static enum role role_of(const struct pf_layer *l)
{
    for (size_t i = 0; i < PF_ARRAY_LEN(roles); i++)
        if (roles[i].ops == l->ops)
            return roles[i].role;
    return ROLE_OTHER;
}

/* Conv kinds: 1 = groups 1 (creates channels), 2 = depthwise (passes), 3 = grouped. */
static int conv_kind(const struct pf_layer *l)
{
    const struct pf_param *w = &l->params[0];
    int cpg = w->w.shape[1]; /* C / groups */
    if (cpg == l->in[0].c)
        return 1;
    return cpg == 1 ? 2 : 3;
}

const char *pf_group_fixed_str(enum pf_group_fixed f)
{
    switch (f) {
    case PF_GROUP_FREE:
        return "";
    case PF_GROUP_INPUT:
        return "the network input";
    case PF_GROUP_LOGITS:
        return "they reach the model's output logits";
    case PF_GROUP_GROUPED:
        return "a grouped convolution reads or writes them";
    case PF_GROUP_MIXED_ADD:
        return "an add joins them with differently split channels";
    case PF_GROUP_OTHER:
        return "a layer kind that cannot lose channels reads or writes them";
    }
    return "?";
}

/* ---- build ---- */

struct builder {
    int *parent; /* union-find over provisional groups */
    int *chan;   /* provisional group channels */
    int *fixed;  /* provisional fixed reason */
    int n, cap;
    struct pf_chan_seg *segs; /* all segment lists, appended */
    int n_segs, cap_segs;
};

static int uf_find(struct builder *b, int x)
{
    while (b->parent[x] != x) {
        b->parent[x] = b->parent[b->parent[x]];
        x = b->parent[x];
    }
    return x;
}

static void uf_union(struct builder *b, int x, int y)
{
    x = uf_find(b, x);
    y = uf_find(b, y);
    if (x == y)
        return;
    if (y < x) {
        int t = x;
        x = y;
        y = t;
    }
    b->parent[y] = x;
    if (!b->fixed[x])
        b->fixed[x] = b->fixed[y];
}

static void set_fixed(struct builder *b, int grp, enum pf_group_fixed why)
{
    int r = uf_find(b, grp);
    if (!b->fixed[r])
        b->fixed[r] = why;
}

static int new_group(struct builder *b, int channels)
{
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        int *p = pf_realloc_array(b->parent, (size_t)cap, sizeof *p);
        if (!p)
            return -PF_ENOMEM;
        b->parent = p;
        int *c = pf_realloc_array(b->chan, (size_t)cap, sizeof *c);
        if (!c)
            return -PF_ENOMEM;
        b->chan = c;
        int *f = pf_realloc_array(b->fixed, (size_t)cap, sizeof *f);
        if (!f)
            return -PF_ENOMEM;
        b->fixed = f;
        b->cap = cap;
    }
    b->parent[b->n] = b->n;
    b->chan[b->n] = channels;
    b->fixed[b->n] = PF_GROUP_FREE;
    return b->n++;
}

static int push_seg(struct builder *b, int group, int mult)
{
    if (b->n_segs == b->cap_segs) {
        int cap = b->cap_segs ? 2 * b->cap_segs : 256;
        struct pf_chan_seg *s = pf_realloc_array(b->segs, (size_t)cap, sizeof *s);
        if (!s)
            return -PF_ENOMEM;
        b->segs = s;
        b->cap_segs = cap;
    }
    b->segs[b->n_segs++] = (struct pf_chan_seg){group, mult};
    return 0;
}

/* Appends a copy of segments [s, e) with mult multiplied by f (indices: the array may move). */
static int copy_segs(struct builder *b, int s, int e, int f)
{
    for (int k = s; k < e; k++) {
        int rc = push_seg(b, b->segs[k].group, b->segs[k].mult * f);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Appends a sorted, de-duplicated int to a list with capacity grown as needed. */
static int list_add(int **list, int *n, int v)
{
    if (*n && (*list)[*n - 1] == v)
        return 0;
    for (int i = 0; i < *n; i++)
        if ((*list)[i] == v)
            return 0;
    int *p = pf_realloc_array(*list, (size_t)*n + 1, sizeof *p);
    if (!p)
        return -PF_ENOMEM;
    p[(*n)++] = v;
    *list = p;
    return 0;
}

int pf_groups_build(const struct pf_model *m, struct pf_groups **out)
{
    struct builder b = {0};
    struct pf_groups *g = NULL;
    int *start = NULL, *dense_id = NULL, *seglen = NULL;
    int rc = -PF_ENOMEM, L = m->n_layers;
    *out = NULL;
    /* start[i]: first segment of layer i's output; start[L], start[L + 1]: the network input */
    if (!(start = pf_calloc((size_t)L + 2, sizeof *start)))
        goto fail;
    int gin = new_group(&b, m->input.c);
    if (gin < 0)
        goto fail;
    set_fixed(&b, gin, PF_GROUP_INPUT);
    start[L] = 0;
    if ((rc = push_seg(&b, gin, 1)) < 0)
        goto fail;
    start[L + 1] = b.n_segs;
#define IN_S(k) (l->in_idx[k] < 0 ? start[L] : start[l->in_idx[k]])
#define IN_E(k) (l->in_idx[k] < 0 ? start[L + 1] : start[l->in_idx[k]] + seglen[l->in_idx[k]])
    if (!(seglen = pf_calloc((size_t)L, sizeof *seglen))) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < L && rc >= 0; i++) {
        const struct pf_layer *l = &m->layers[i];
        int s0 = b.n_segs, grp;
        rc = 0;
        switch (role_of(l)) {
        case ROLE_PASS:
            rc = copy_segs(&b, IN_S(0), IN_E(0), 1);
            break;
        case ROLE_FLATTEN:
            rc = copy_segs(&b, IN_S(0), IN_E(0), l->in[0].h * l->in[0].w);
            break;
        case ROLE_CONCAT:
            for (int k = 0; k < l->n_in && rc >= 0; k++)
                rc = copy_segs(&b, IN_S(k), IN_E(k), 1);
            break;
        case ROLE_ADD: {
            int n0 = IN_E(0) - IN_S(0);
            bool same = true;
            for (int k = 1; k < l->n_in && same; k++) {
                same = IN_E(k) - IN_S(k) == n0;
                for (int j = 0; j < n0 && same; j++) {
                    const struct pf_chan_seg *a = &b.segs[IN_S(0) + j], *c = &b.segs[IN_S(k) + j];
                    same = a->mult == c->mult &&
                           b.chan[uf_find(&b, a->group)] == b.chan[uf_find(&b, c->group)];
                }
            }
            for (int k = 1; k < l->n_in; k++)
                for (int j = IN_S(k); j < IN_E(k); j++) {
                    if (same)
                        uf_union(&b, b.segs[IN_S(0) + j - IN_S(k)].group, b.segs[j].group);
                    else
                        set_fixed(&b, b.segs[j].group, PF_GROUP_MIXED_ADD);
                }
            if (!same)
                for (int j = IN_S(0); j < IN_E(0); j++)
                    set_fixed(&b, b.segs[j].group, PF_GROUP_MIXED_ADD);
            rc = copy_segs(&b, IN_S(0), IN_E(0), 1);
            break;
        }
        case ROLE_CONV: {
            int kind = conv_kind(l);
            if (kind == 2) { /* depthwise: K = mult * C, output k reads input k / mult */
                rc = copy_segs(&b, IN_S(0), IN_E(0), l->out.c / l->in[0].c);
                break;
            }
            if (kind == 3)
                for (int j = IN_S(0); j < IN_E(0); j++)
                    set_fixed(&b, b.segs[j].group, PF_GROUP_GROUPED);
            if ((grp = new_group(&b, l->out.c)) < 0) {
                rc = grp;
                break;
            }
            if (kind == 3)
                set_fixed(&b, grp, PF_GROUP_GROUPED);
            rc = push_seg(&b, grp, 1);
            break;
        }
        case ROLE_DENSE:
            if ((grp = new_group(&b, l->out.c)) < 0) {
                rc = grp;
                break;
            }
            rc = push_seg(&b, grp, 1);
            break;
        case ROLE_OTHER:
            for (int k = 0; k < l->n_in; k++)
                for (int j = IN_S(k); j < IN_E(k); j++)
                    set_fixed(&b, b.segs[j].group, PF_GROUP_OTHER);
            if ((grp = new_group(&b, l->out.c)) < 0) {
                rc = grp;
                break;
            }
            set_fixed(&b, grp, PF_GROUP_OTHER);
            rc = push_seg(&b, grp, 1);
            break;
        }
        start[i] = s0;
        seglen[i] = b.n_segs - s0;
    }
    if (rc < 0)
        goto fail;
    for (int j = start[L - 1]; j < start[L - 1] + seglen[L - 1]; j++)
        set_fixed(&b, b.segs[j].group, PF_GROUP_LOGITS);

    /* dense renumbering of roots, in order of first appearance */
    rc = -PF_ENOMEM;
    g = pf_calloc(1, sizeof *g);
    dense_id = pf_calloc((size_t)b.n, sizeof *dense_id);
    if (!g || !dense_id)
        goto fail;
    for (int i = 0; i < b.n; i++)
        dense_id[i] = -1;
    int ng = 0;
    for (int i = 0; i < b.n; i++) {
        int r = uf_find(&b, i);
        if (dense_id[r] < 0)
            dense_id[r] = ng++;
        dense_id[i] = dense_id[r];
    }
    g->n_layers = L;
    g->n_groups = ng;
    g->groups = pf_calloc((size_t)ng, sizeof *g->groups);
    g->out_start = pf_calloc((size_t)L + 1, sizeof *g->out_start);
    g->segs = pf_calloc((size_t)b.n_segs + 1, sizeof *g->segs);
    if (!g->groups || !g->out_start || !g->segs)
        goto fail;
    /* segments stored in layer order: input first, then each layer's */
    int ns = 0;
    g->input_start = ns;
    g->segs[ns++] = (struct pf_chan_seg){dense_id[gin], 1};
    g->input_end = ns;
    for (int i = 0; i < L; i++) {
        g->out_start[i] = ns;
        for (int j = start[i]; j < start[i] + seglen[i]; j++)
            g->segs[ns++] = (struct pf_chan_seg){dense_id[b.segs[j].group], b.segs[j].mult};
    }
    g->out_start[L] = ns;
    for (int i = 0; i < b.n; i++) {
        struct pf_group *gr = &g->groups[dense_id[i]];
        int r = uf_find(&b, i);
        gr->channels = b.chan[r];
        gr->fixed = (enum pf_group_fixed)b.fixed[r];
    }
    /* producers, consumers, touch lists (ascending layer order: layers are visited in order) */
    for (int i = 0; i < L; i++) {
        const struct pf_layer *l = &m->layers[i];
        enum role ro = role_of(l);
        bool makes = ro == ROLE_DENSE || (ro == ROLE_CONV && conv_kind(l) != 2);
        bool reads = ro == ROLE_DENSE || (ro == ROLE_CONV && conv_kind(l) != 2);
        int n;
        const struct pf_chan_seg *s = pf_groups_out(g, i, &n);
        for (int k = 0; k < n; k++) {
            struct pf_group *gr = &g->groups[s[k].group];
            if (makes && (rc = list_add(&gr->producers, &gr->n_producers, i)) < 0)
                goto fail;
            if ((rc = list_add(&gr->touch, &gr->n_touch, i)) < 0)
                goto fail;
        }
        for (int in = 0; in < l->n_in; in++) {
            s = pf_groups_out(g, l->in_idx[in], &n);
            for (int k = 0; k < n; k++) {
                struct pf_group *gr = &g->groups[s[k].group];
                if (reads && in == 0 && (rc = list_add(&gr->consumers, &gr->n_consumers, i)) < 0)
                    goto fail;
                if ((rc = list_add(&gr->touch, &gr->n_touch, i)) < 0)
                    goto fail;
            }
        }
    }
#undef IN_S
#undef IN_E
    free(seglen);
    free(dense_id);
    free(start);
    free(b.parent);
    free(b.chan);
    free(b.fixed);
    free(b.segs);
    *out = g;
    return 0;
fail:
    pf_groups_free(g);
    free(seglen);
    free(dense_id);
    free(start);
    free(b.parent);
    free(b.chan);
    free(b.fixed);
    free(b.segs);
    return rc < 0 ? rc : -PF_ENOMEM;
}

void pf_groups_free(struct pf_groups *g)
{
    if (!g)
        return;
    for (int i = 0; g->groups && i < g->n_groups; i++) {
        free(g->groups[i].producers);
        free(g->groups[i].consumers);
        free(g->groups[i].touch);
    }
    free(g->groups);
    free(g->out_start);
    free(g->segs);
    free(g);
}

const struct pf_chan_seg *pf_groups_in(const struct pf_groups *g, const struct pf_model *m, int i,
                                       int *n)
{
    return pf_groups_out(g, m->layers[i].in_idx[0], n);
}

int pf_groups_out_group(const struct pf_groups *g, int i)
{
    int n;
    const struct pf_chan_seg *s = pf_groups_out(g, i, &n);
    return n == 1 ? s[0].group : -1;
}

int pf_groups_in_group(const struct pf_groups *g, const struct pf_model *m, int i)
{
    return pf_groups_out_group(g, m->layers[i].in_idx[0]);
}

/* ---- physical removal ---- */

/* Expands keep over `group`'s channels to the channel axis described by segments s[0..n)
 * (other groups' channels all kept) into dst; returns the number of entries written. */
static size_t expand_keep(const struct pf_groups *g, const struct pf_chan_seg *s, int n, int group,
                          const uint8_t *keep, uint8_t *dst)
{
    size_t at = 0;
    for (int k = 0; k < n; k++) {
        int C = g->groups[s[k].group].channels;
        for (int c = 0; c < C; c++) {
            uint8_t v = s[k].group == group ? keep[c] != 0 : 1;
            memset(dst + at, v, (size_t)s[k].mult);
            at += (size_t)s[k].mult;
        }
    }
    return at;
}

struct chan_view {
    const struct pf_chan_seg *s;
    int n;
};

static bool segs_have(const struct chan_view *v, int group)
{
    for (int k = 0; k < v->n; k++)
        if (v->s[k].group == group)
            return true;
    return false;
}

/* Channels of a segment list with `group` counted at new_c. */
static int segs_channels(const struct pf_groups *g, const struct chan_view *v, int group, int new_c)
{
    int c = 0;
    for (int k = 0; k < v->n; k++)
        c += (v->s[k].group == group ? new_c : g->groups[v->s[k].group].channels) * v->s[k].mult;
    return c;
}

int pf_model_prune_group(struct pf_model *m, struct pf_groups *g, int group, const uint8_t *keep)
{
    if (group < 0 || group >= g->n_groups || g->n_layers != m->n_layers)
        return PF_ERR(PF_EINVAL, "prune: no channel group %d in %s", group, m->name);
    struct pf_group *gr = &g->groups[group];
    const char *first = gr->n_touch ? m->layers[gr->touch[0]].name : "?";
    if (gr->fixed)
        return PF_ERR(PF_EINVAL, "prune: the channels of %s cannot be removed: %s", first,
                      pf_group_fixed_str(gr->fixed));
    int C = gr->channels, nk = 0;
    for (int c = 0; c < C; c++)
        nk += keep[c] != 0;
    if (nk < 1)
        return PF_ERR(PF_EINVAL, "prune: %s would lose all %d channels", first, C);
    if (nk == C)
        return 0;
    /* largest channel axis among touched layers, for the expanded keep vectors */
    size_t maxc = 1;
    for (int t = 0; t < gr->n_touch; t++) {
        const struct pf_layer *l = &m->layers[gr->touch[t]];
        maxc = (size_t)l->out.c > maxc ? (size_t)l->out.c : maxc;
        maxc = (size_t)l->in[0].c > maxc ? (size_t)l->in[0].c : maxc;
    }
    uint8_t *kv = pf_malloc(maxc);
    if (!kv)
        return -PF_ENOMEM;
    int rc = 0;
    for (int t = 0; t < gr->n_touch && rc >= 0; t++) {
        int i = gr->touch[t];
        struct pf_layer *l = &m->layers[i];
        struct chan_view in, out;
        in.s = pf_groups_out(g, l->in_idx[0], &in.n);
        out.s = pf_groups_out(g, i, &out.n);
        enum role ro = role_of(l);
        bool has_in = segs_have(&in, group), has_out = segs_have(&out, group);
        bool weighted = ro == ROLE_DENSE || ro == ROLE_CONV || l->ops == &pf_layer_batchnorm;
        /* BN and depthwise convs: input and output are the same channels, one call prunes both */
        bool tied = l->ops == &pf_layer_batchnorm || (ro == ROLE_CONV && conv_kind(l) == 2);
        if (weighted && !l->ops->prune_channels) {
            rc = PF_ERR(PF_EUNSUPPORTED, "prune: %s (%s) cannot lose channels", l->name,
                        l->ops->name);
            break;
        }
        if (!weighted) {
            /* parameter-free: new input shapes from the producers, output from the segments */
            for (int k = 0; k < l->n_in; k++)
                if (l->in_idx[k] >= 0)
                    l->in[k] = m->layers[l->in_idx[k]].out;
            l->out.c = segs_channels(g, &out, group, nk);
            continue;
        }
        if (has_in) { /* a consumer (or a tied layer) */
            size_t n = expand_keep(g, in.s, in.n, group, keep, kv);
            PF_ASSERT(n == (size_t)l->in[0].c);
            rc = l->ops->prune_channels(l, 1, kv);
        }
        if (rc >= 0 && has_out && !tied) { /* a producer, e.g. a conv feeding its own input's add */
            size_t n = expand_keep(g, out.s, out.n, group, keep, kv);
            PF_ASSERT(n == (size_t)l->out.c);
            rc = l->ops->prune_channels(l, 0, kv);
        }
        if (rc >= 0)
            PF_ASSERT(l->out.c == segs_channels(g, &out, group, nk));
    }
    free(kv);
    if (rc < 0)
        return rc;
    gr->channels = nk;
    return pf_model_reshape(m);
}

/* ---- L1 ranking ---- */

int pf_group_l1_keep(const struct pf_model *m, const struct pf_groups *g, int group, int n_keep,
                     uint8_t *keep)
{
    if (group < 0 || group >= g->n_groups)
        return PF_ERR(PF_EINVAL, "no channel group %d", group);
    const struct pf_group *gr = &g->groups[group];
    int C = gr->channels;
    if (n_keep < 1 || n_keep > C)
        return PF_ERR(PF_EINVAL, "keep %d of %d channels: must be 1..%d", n_keep, C, C);
    double *score = pf_calloc((size_t)C, sizeof *score);
    int *order = pf_calloc((size_t)C, sizeof *order);
    if (!score || !order) {
        free(score);
        free(order);
        return -PF_ENOMEM;
    }
    for (int p = 0; p < gr->n_producers; p++) {
        const struct pf_layer *l = &m->layers[gr->producers[p]];
        const struct pf_tensor *w = &l->params[0].w; /* (K, ...): output filters first */
        if (w->shape[0] != C)
            continue;
        size_t per = pf_tensor_numel(w) / (size_t)C;
        const float *x = pf_tensor_f32(w);
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (size_t j = 0; j < per; j++)
                s += x[(size_t)c * per + j] < 0 ? -(double)x[(size_t)c * per + j]
                                                : (double)x[(size_t)c * per + j];
            score[c] += s;
        }
    }
    /* insertion sort by score, descending; stable, so ties keep the lower index first */
    for (int c = 0; c < C; c++) {
        int j = c;
        while (j > 0 && score[order[j - 1]] < score[c]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = c;
    }
    memset(keep, 0, (size_t)C);
    for (int k = 0; k < n_keep; k++)
        keep[order[k]] = 1;
    free(score);
    free(order);
    return 0;
}
