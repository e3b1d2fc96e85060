/* dis_chn_pruned.c: `dis-chn-pruned` (DCP), PocketFlow's DisChnPrunedLearner
 * (learners/discr_channel_pruning/learner.py), Zhuang et al. NIPS'18, discrimination-aware
 * channel pruning, following PocketFlow's CODE (its docs describe the selection backwards:
 * the code greedily ADDS the input channel with the LARGEST gradient norm; reference s. 10).
 *
 * Blocks: with L conv2d layers and B = dcp_nb_stages + 1 blocks, m = ceil((L + 1) / B) convs per
 * block; conv q (model order) belongs to block min(floor(q / m), B - 1). Block p < B - 1 has an
 * auxiliary head on the output of its last conv (conv (p + 1) m - 1, after the batchnorm / relu
 * that follow it): global average pool + dense(classes) + softmax cross-entropy L_p. The last
 * block's "head" is the network's own loss.
 *
 * For each channel group in model order (a conv's input channels; pf_chanprune_run drives it):
 *   1. on entering a block (or when its head's input width changed), the head is trained for
 *      dcp_nb_iters_block Adam steps (dcp_lrn_rate_adam) on the pruned model's features;
 *   2. greedy forward selection: the kept set starts empty; repeat until n_keep channels are
 *      kept: mask the group's consumers' kernels to the kept channels, take one training
 *      mini-batch, compute the gradient of L_p + R_q with respect to those kernels, where
 *      R_q = l2_loss(out_pruned_q - out_full_q) = sum / 2 over the batch (the full model is the
 *      copy taken before pruning) and L_p the block's head loss back-propagated to the consumer
 *      through the layers between it and the head; score every channel by its squared gradient
 *      norm (over output channels and kernel taps, summed over the group's consumers), keep
 *      argmax((g + 1e-8) * not_kept) (PocketFlow's +1e-8; a NaN score counts as 0);
 *   3. the kept channels' kernels are refit (shared closed-form least squares on R_q), the
 *      dropped channels are REMOVED (pf_chanprune_apply: producers, BN, consumers), and the
 *      per-layer event is emitted;
 * then the whole network is fine-tuned with the run's schedule (pf_chanprune_finetune).
 *
 * Simplified against PocketFlow (stated precisely):
 *   - block fine-tuning (dcp_nb_iters_block Adam steps on L_p + L over ALL trainable variables)
 *     trains only the auxiliary head here (features frozen); the network's weights are not
 *     touched before selection;
 *   - the head is gap + dense on the post-activation output (PocketFlow: BN -> ReLU -> gap ->
 *     dense on the conv output);
 *   - after each added channel PocketFlow runs dcp_nb_iters_layer Adam steps on L_p + R_q for the
 *     masked kernel (about c_i x 500 steps per layer); here the kernels keep their values during
 *     the greedy loop and one closed-form least-squares refit on R_q follows the selection.
 *     dcp_nb_iters_layer is accepted and validated but not used;
 *   - selection gradients use inference-mode batchnorm (running statistics), no weight decay;
 *   - dcp_save_path / dcp_save_path_eval are accepted for compatibility; the run's --out is
 *     where the model goes. dcp_nb_smpls (not PocketFlow's) sizes the refit's sample. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/layers/softmax_xent.h"
#include "learners/common/chanprune.h"
#include "learners/learner.h"

#define DCP_RIDGE    1e-6 /* relative ridge of the closed-form refit */
#define DCP_EPS_NORM 1e-8 /* PocketFlow's guard against NaN / zero gradient norms (#151) */
#define DCP_CROPS    10   /* output positions per image sampled for the refit */

static const struct pf_opt_spec dcp_opts[] = {
    {"dcp_save_path", PF_OPT_STR, "./models_dcp/model.ckpt", 0, 0, NULL,
     "PocketFlow's checkpoint path (accepted; the run's out path is used)"},
    {"dcp_save_path_eval", PF_OPT_STR, "./models_dcp_eval/model.ckpt", 0, 0, NULL,
     "PocketFlow's evaluation checkpoint path (accepted; the run's out path is used)"},
    {"dcp_prune_ratio", PF_OPT_FLOAT, "0.5", 0.0, 0.999, NULL,
     "fraction of each conv's input channels removed (a plan overrides it per layer)"},
    {"dcp_nb_stages", PF_OPT_INT, "3", 1, 64, NULL,
     "auxiliary heads (stages); blocks = dcp_nb_stages + 1"},
    {"dcp_lrn_rate_adam", PF_OPT_FLOAT, "1e-3", 1e-9, 10, NULL,
     "Adam learning rate of the auxiliary heads"},
    {"dcp_nb_iters_block", PF_OPT_INT, "10000", 0, 10000000, NULL,
     "Adam steps training a block's auxiliary head before its layers are pruned"},
    {"dcp_nb_iters_layer", PF_OPT_INT, "500", 0, 10000000, NULL,
     "PocketFlow's Adam steps per added channel (validated; a closed-form refit replaces them)"},
    {"dcp_nb_smpls", PF_OPT_INT, "1000", 1, 10000000, NULL,
     "training images sampled for the least-squares refit of the kept channels"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct dcp_head {
    int tap;      /* layer whose output feeds the head; n_layers - 1 = the network's loss */
    int C, HW;    /* the tap's channels and positions when the head was trained */
    float *W, *b; /* classes x C, classes */
    float *mW, *vW, *mb, *vb; /* Adam moments */
};

struct dcp {
    struct pf_run *r;
    int *convs, n_conv; /* conv2d layers in model order */
    int per_block, n_blocks;
    int block; /* block whose head is trained (-1: none yet) */
    struct dcp_head h;
    int batch;
    float *x, *feat, *dz, *wsave;
    int *y;
    size_t wsave_len;
    struct pf_rng rng;
    double lr;
    long iters_block;
};

static void head_free(struct dcp_head *h)
{
    free(h->W);
    free(h->b);
    free(h->mW);
    free(h->vW);
    free(h->mb);
    free(h->vb);
    memset(h, 0, sizeof *h);
}

static void dcp_free(struct dcp *d)
{
    head_free(&d->h);
    free(d->convs);
    free(d->x);
    free(d->feat);
    free(d->dz);
    free(d->wsave);
    free(d->y);
}

/* The layer a head on conv `c` reads: the conv's output after the batchnorm / relu layers that
 * follow it as sole consumers. */
static int tap_of(const struct pf_model *m, int c)
{
    int t = c;
    while (t + 1 < m->n_layers && m->n_consumers[t] == 1) {
        const struct pf_layer *n = &m->layers[t + 1];
        if (n->n_in != 1 || n->in_idx[0] != t ||
            !(pf_layer_is(n, "batchnorm") || pf_layer_is(n, "relu") || pf_layer_is(n, "relu6")))
            break;
        t++;
    }
    return t;
}

static int block_of(const struct dcp *d, int layer)
{
    for (int i = 0; i < d->n_conv; i++)
        if (d->convs[i] == layer) {
            int b = i / d->per_block;
            return b < d->n_blocks - 1 ? b : d->n_blocks - 1;
        }
    return d->n_blocks - 1; /* a dense consumer: the network's loss */
}

/* The head's tap for block b (the last block, or a head past the last conv: the logits). */
static int block_tap(const struct dcp *d, const struct pf_model *m, int b)
{
    int c = (b + 1) * d->per_block - 1;
    if (b >= d->n_blocks - 1 || c >= d->n_conv)
        return m->n_layers - 1;
    return tap_of(m, d->convs[c]);
}

static int next_batch(struct dcp *d)
{
    struct pf_run *r = d->r;
    uint32_t idx[1024];
    for (int i = 0; i < d->batch; i++)
        idx[i] = r->train_idx ? r->train_idx[pf_rng_below(&d->rng, r->n_train)]
                              : pf_rng_below(&d->rng, (uint32_t)r->train->n);
    return pf_dataset_batch(r->train, idx, d->batch, d->x, d->y, false, &d->rng);
}

/* Head forward on the tap's output: features (N x C), logits into dz; then the loss and
 * dz = dL/dlogits. */
static int head_loss(struct dcp *d, const struct pf_model *m, float *loss)
{
    struct dcp_head *h = &d->h;
    const float *t = m->y[h->tap];
    int N = d->batch, C = h->C, HW = h->HW, K = m->classes;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *p = t + ((size_t)n * C + c) * HW;
            double s = 0.0;
            for (int i = 0; i < HW; i++)
                s += p[i];
            d->feat[(size_t)n * C + c] = (float)(s / HW);
        }
    float *z = d->dz;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double s = h->b[k];
            for (int c = 0; c < C; c++)
                s += (double)h->W[(size_t)k * C + c] * d->feat[(size_t)n * C + c];
            z[(size_t)n * K + k] = (float)s;
        }
    return pf_softmax_xent(z, d->y, N, K, loss, z, NULL); /* in place: logits -> gradient */
}

static void adam(float *w, const float *g, float *mo, float *ve, size_t n, double lr, long t)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double c1 = 1.0 - pow(b1, (double)t), c2 = 1.0 - pow(b2, (double)t);
    for (size_t i = 0; i < n; i++) {
        mo[i] = (float)(b1 * mo[i] + (1 - b1) * g[i]);
        ve[i] = (float)(b2 * ve[i] + (1 - b2) * g[i] * g[i]);
        w[i] -= (float)(lr * (mo[i] / c1) / (sqrt(ve[i] / c2) + eps));
    }
}

/* (Re)creates and trains the head of block b on the pruned model's features. */
static int head_train(struct dcp *d, struct pf_model *m, int b, long step)
{
    struct dcp_head *h = &d->h;
    head_free(h);
    h->tap = block_tap(d, m, b);
    d->block = b;
    if (h->tap == m->n_layers - 1)
        return 0; /* the network's own loss */
    const struct pf_shape *o = &m->layers[h->tap].out;
    int K = m->classes;
    h->C = o->c;
    h->HW = o->h * o->w;
    size_t nw = (size_t)K * h->C;
    h->W = pf_calloc(nw, sizeof *h->W);
    h->mW = pf_calloc(nw, sizeof *h->mW);
    h->vW = pf_calloc(nw, sizeof *h->vW);
    h->b = pf_calloc((size_t)K, sizeof *h->b);
    h->mb = pf_calloc((size_t)K, sizeof *h->mb);
    h->vb = pf_calloc((size_t)K, sizeof *h->vb);
    free(d->feat);
    d->feat = pf_calloc((size_t)d->batch * h->C, sizeof *d->feat);
    float *gW = pf_calloc(nw, sizeof *gW), *gb = pf_calloc((size_t)K, sizeof *gb);
    int rc = 0;
    if (!h->W || !h->mW || !h->vW || !h->b || !h->mb || !h->vb || !d->feat || !gW || !gb) {
        rc = -PF_ENOMEM;
        goto out;
    }
    float bound = 1.0f / sqrtf((float)h->C);
    for (size_t i = 0; i < nw; i++)
        h->W[i] = (2.0f * pf_rng_uniform(&d->rng) - 1.0f) * bound;
    double loss_sum = 0.0;
    long n_loss = 0;
    for (long it = 1; it <= d->iters_block; it++) {
        if (pf_run_stopped(d->r)) {
            rc = PF_ERR(PF_ECANCELLED, "dis-chn-pruned: stopped while training a head");
            goto out;
        }
        float loss;
        if ((rc = next_batch(d)) < 0 || (rc = pf_model_forward(m, d->x, d->batch, false)) < 0 ||
            (rc = head_loss(d, m, &loss)) < 0)
            goto out;
        memset(gW, 0, nw * sizeof *gW);
        memset(gb, 0, (size_t)K * sizeof *gb);
        for (int n = 0; n < d->batch; n++)
            for (int k = 0; k < K; k++) {
                float g = d->dz[(size_t)n * K + k];
                gb[k] += g;
                for (int c = 0; c < h->C; c++)
                    gW[(size_t)k * h->C + c] += g * d->feat[(size_t)n * h->C + c];
            }
        adam(h->W, gW, h->mW, h->vW, nw, d->lr, it);
        adam(h->b, gb, h->mb, h->vb, (size_t)K, d->lr, it);
        if (it > d->iters_block - 10) {
            loss_sum += loss;
            n_loss++;
        }
    }
    if (n_loss) {
        pf_run_metric(d->r, step, "dcp_head_loss", loss_sum / n_loss);
        pf_run_log(d->r, "dis-chn-pruned: block %d head on %s (%d channels) trained, loss %.4f", b,
                   m->layers[h->tap].name, h->C, loss_sum / n_loss);
    }
out:
    free(gW);
    free(gb);
    return rc;
}

/* The weight param of a consumer layer and its layout around the input axis. */
struct wview {
    float *w, *g;
    size_t outer, cin, inner;
};

static int wview_of(struct pf_layer *l, struct wview *v)
{
    for (int i = 0; i < l->n_params; i++) {
        struct pf_param *p = &l->params[i];
        if (strcmp(p->name, "weight") || p->in_axis < 0)
            continue;
        v->w = p->w.data;
        v->g = p->g.data;
        v->outer = v->inner = 1;
        for (int a = 0; a < p->w.ndim; a++) {
            if (a < p->in_axis)
                v->outer *= (size_t)p->w.shape[a];
            else if (a > p->in_axis)
                v->inner *= (size_t)p->w.shape[a];
        }
        v->cin = (size_t)p->w.shape[p->in_axis];
        return 0;
    }
    return PF_ERR(PF_EUNSUPPORTED, "%s: no weight with an input-channel axis", l->name);
}

/* Backward from layer `top` down to layer `low` only; the caller has set the dy of [low, top].
 * Gradients reaching layers below `low` are dropped. */
static int partial_backward(struct pf_model *m, const float *x, int low, int top, int N)
{
    for (int i = top; i >= low; i--) {
        struct pf_layer *l = &m->layers[i];
        const float *xs[PF_LAYER_MAX_INPUTS];
        float *dxs[PF_LAYER_MAX_INPUTS];
        for (int k = 0; k < l->n_in; k++) {
            int p = l->in_idx[k];
            xs[k] = p < 0 ? x : m->y[p];
            dxs[k] = p >= low ? m->scratch + (size_t)k * m->scratch_len : NULL;
        }
        int rc = l->ops->backward(l, xs, m->y[i], m->dy[i], dxs, N);
        if (rc < 0)
            return rc;
        for (int k = 0; k < l->n_in; k++) {
            if (!dxs[k])
                continue;
            float *dd = m->dy[l->in_idx[k]];
            size_t n = pf_shape_numel(m->layers[l->in_idx[k]].out) * (size_t)N;
            for (size_t e = 0; e < n; e++)
                dd[e] += dxs[k][e];
        }
    }
    return 0;
}

/* Squared gradient norm of L_p + R_q per group channel, the consumers' kernels masked to keep. */
static int channel_scores(struct dcp *d, struct pf_chanprune *cp, struct pf_cp_stats *s,
                          const uint8_t *keep, double *score)
{
    struct pf_model *m = cp->m, *full = cp->full;
    int N = d->batch, rc;
    int low = m->n_layers, top = d->h.tap;
    struct wview v[16];
    if (s->n_units > 16)
        return PF_ERR(PF_EUNSUPPORTED, "dis-chn-pruned: a group with %d consumers", s->n_units);
    size_t off = 0;
    for (int u = 0; u < s->n_units; u++) {
        int q = s->units[u].layer;
        if ((rc = wview_of(&m->layers[q], &v[u])) < 0)
            return rc;
        if (v[u].cin % (size_t)s->C)
            return PF_ERR(PF_ESHAPE, "%s: %zu inputs for %d group channels", m->layers[q].name,
                          v[u].cin, s->C);
        low = q < low ? q : low;
        top = q > top ? q : top;
        off += v[u].outer * v[u].cin * v[u].inner;
    }
    if (off > d->wsave_len) {
        free(d->wsave);
        if (!(d->wsave = pf_malloc(off * sizeof *d->wsave)))
            return -PF_ENOMEM;
        d->wsave_len = off;
    }
    /* mask the kernels: only the kept channels' slices stay */
    off = 0;
    for (int u = 0; u < s->n_units; u++) {
        size_t n = v[u].outer * v[u].cin * v[u].inner, mult = v[u].cin / (size_t)s->C;
        memcpy(d->wsave + off, v[u].w, n * sizeof(float));
        off += n;
        for (size_t o = 0; o < v[u].outer; o++)
            for (size_t ci = 0; ci < v[u].cin; ci++)
                if (!keep[ci / mult])
                    memset(v[u].w + (o * v[u].cin + ci) * v[u].inner, 0,
                           v[u].inner * sizeof(float));
    }
    float loss = 0.0f;
    if ((rc = next_batch(d)) < 0 || (rc = pf_model_forward(m, d->x, N, false)) < 0 ||
        (rc = pf_model_forward(full, d->x, N, false)) < 0)
        goto restore;
    pf_model_zero_grad(m);
    for (int i = low; i <= top; i++)
        memset(m->dy[i], 0, pf_shape_numel(m->layers[i].out) * (size_t)N * sizeof(float));
    if (d->h.tap == m->n_layers - 1) {
        if ((rc = pf_softmax_xent(pf_model_logits(m), d->y, N, m->classes, &loss, m->dy[d->h.tap],
                                  NULL)) < 0)
            goto restore;
    } else {
        if ((rc = head_loss(d, m, &loss)) < 0)
            goto restore;
        struct dcp_head *h = &d->h;
        float *dt = m->dy[h->tap];
        for (int n = 0; n < N; n++)
            for (int c = 0; c < h->C; c++) {
                double g = 0.0;
                for (int k = 0; k < m->classes; k++)
                    g += (double)d->dz[(size_t)n * m->classes + k] * h->W[(size_t)k * h->C + c];
                float gi = (float)(g / h->HW);
                for (int i = 0; i < h->HW; i++)
                    dt[((size_t)n * h->C + c) * h->HW + i] = gi;
            }
    }
    /* R_q = sum (out_pruned - out_full)^2 / 2 on each consumer's output channels (mapped to the
     * reference's channels through the output group's map when it was pruned already) */
    for (int u = 0; u < s->n_units; u++) {
        int q = s->units[u].layer, og = pf_groups_out_group(cp->g, q);
        const struct pf_shape *o = &m->layers[q].out, *of = &full->layers[q].out;
        size_t hw = (size_t)o->h * o->w;
        if (og < 0 || (size_t)of->h * of->w != hw)
            continue;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < o->c; k++) {
                int kf = cp->orig[og] ? cp->orig[og][k] : k;
                const float *yp = m->y[q] + ((size_t)n * o->c + k) * hw;
                const float *yf = full->y[q] + ((size_t)n * of->c + kf) * hw;
                float *g = m->dy[q] + ((size_t)n * o->c + k) * hw;
                for (size_t i = 0; i < hw; i++)
                    g[i] += yp[i] - yf[i];
            }
    }
    if ((rc = partial_backward(m, d->x, low, top, N)) < 0)
        goto restore;
    for (int c = 0; c < s->C; c++)
        score[c] = 0.0;
    for (int u = 0; u < s->n_units; u++) {
        size_t mult = v[u].cin / (size_t)s->C;
        for (size_t o = 0; o < v[u].outer; o++)
            for (size_t ci = 0; ci < v[u].cin; ci++) {
                const float *g = v[u].g + (o * v[u].cin + ci) * v[u].inner;
                double a = 0.0;
                for (size_t i = 0; i < v[u].inner; i++)
                    a += (double)g[i] * g[i];
                score[ci / mult] += a;
            }
    }
restore:
    off = 0;
    for (int u = 0; u < s->n_units; u++) {
        size_t n = v[u].outer * v[u].cin * v[u].inner;
        memcpy(v[u].w, d->wsave + off, n * sizeof(float));
        off += n;
    }
    pf_model_zero_grad(m);
    return rc;
}

static int dcp_select(struct pf_chanprune *cp, struct pf_cp_stats *s, int n_keep, uint8_t *keep,
                      void *user)
{
    struct dcp *d = user;
    struct pf_model *m = cp->m;
    int rc, q = s->units[0].layer, b = block_of(d, q);
    /* channel_scores sets the dy of every layer from the group's consumers up to the tap */
    if ((rc = pf_model_keep_grads(m)) < 0 || (rc = pf_model_set_batch(cp->full, d->batch)) < 0 ||
        (rc = pf_model_set_batch(m, d->batch)) < 0)
        return rc;
    if (b != d->block || (d->h.tap != m->n_layers - 1 && m->layers[d->h.tap].out.c != d->h.C))
        if ((rc = head_train(d, m, b, cp->step)) < 0)
            return rc;
    double *score = pf_malloc((size_t)s->C * sizeof *score);
    if (!score)
        return -PF_ENOMEM;
    memset(keep, 0, (size_t)s->C);
    for (int kept = 0; kept < n_keep; kept++) {
        if (pf_run_stopped(d->r)) {
            rc = PF_ERR(PF_ECANCELLED, "dis-chn-pruned: stopped during channel selection");
            break;
        }
        if ((rc = channel_scores(d, cp, s, keep, score)) < 0)
            break;
        int best = -1;
        double bv = -1.0;
        for (int c = 0; c < s->C; c++) {
            if (keep[c])
                continue;
            double g = isfinite(score[c]) ? score[c] + DCP_EPS_NORM : DCP_EPS_NORM;
            if (g > bv) {
                bv = g;
                best = c;
            }
        }
        keep[best] = 1;
    }
    free(score);
    if (rc < 0)
        return rc;
    pf_run_log(
        d->r, "%s: greedy selection (block %d, %s) kept %d of %d channels", m->layers[q].name, b,
        d->h.tap == m->n_layers - 1 ? "network loss" : m->layers[d->h.tap].name, n_keep, s->C);
    return 0;
}

static int dcp_train(struct pf_run *r)
{
    const struct pf_opts *o = &r->opts;
    struct pf_model *m = r->model;
    struct dcp d = {.r = r, .block = -1};
    struct pf_train_cfg tc;
    pf_run_train_cfg(r, &tc);
    d.batch = tc.batch < 1024 ? tc.batch : 1024;
    if (d.batch < 2)
        return PF_ERR(PF_EINVAL, "dis-chn-pruned: batch_size must be at least 2");
    d.lr = pf_opts_float(o, "dcp_lrn_rate_adam");
    d.iters_block = pf_opts_int(o, "dcp_nb_iters_block");
    pf_rng_seed(&d.rng, (uint64_t)pf_opts_int(o, "seed") ^ 0xdc9u);
    int rc = 0;
    d.convs = pf_malloc((size_t)m->n_layers * sizeof *d.convs);
    d.x = pf_malloc((size_t)d.batch * pf_shape_numel(m->input) * sizeof *d.x);
    d.y = pf_malloc((size_t)d.batch * sizeof *d.y);
    d.dz = pf_malloc((size_t)d.batch * m->classes * sizeof *d.dz);
    if (!d.convs || !d.x || !d.y || !d.dz) {
        rc = -PF_ENOMEM;
        goto out;
    }
    for (int i = 0; i < m->n_layers; i++)
        if (pf_layer_is(&m->layers[i], "conv2d"))
            d.convs[d.n_conv++] = i;
    if (d.n_conv < 2) {
        rc = PF_ERR(PF_EINVAL,
                    "dis-chn-pruned: %s has %d conv2d layers; the first is never "
                    "pruned, so there is nothing to prune",
                    m->name, d.n_conv);
        goto out;
    }
    d.n_blocks = (int)pf_opts_int(o, "dcp_nb_stages") + 1;
    d.per_block = (d.n_conv + 1 + d.n_blocks - 1) / d.n_blocks;
    pf_run_log(r, "dis-chn-pruned: %d convs, %d blocks of %d convs", d.n_conv, d.n_blocks,
               d.per_block);
    struct pf_cp_spec spec = {
        .name = "dis-chn-pruned",
        .ratio = pf_opts_float(o, "dcp_prune_ratio"),
        .skip_first = true, /* PocketFlow: conv 0 is never pruned */
        .skip_last = false,
        .round_to = 1,
        .nb_smpls = (int)pf_opts_int(o, "dcp_nb_smpls"),
        .sample = {.nb_smpls = (int)pf_opts_int(o, "dcp_nb_smpls"),
                   .crops = DCP_CROPS,
                   .lasso_rows = 0.0},
        .lstsq = {.adam = false, .ridge = DCP_RIDGE, .refit = true},
        .select = dcp_select,
        .user = &d,
        .finetune = true,
    };
    rc = pf_chanprune_run(r, &spec, NULL);
out:
    dcp_free(&d);
    return rc;
}

const struct pf_learner_ops pf_learner_dis_chn_pruned = {
    .name = "dis-chn-pruned",
    .summary = "discrimination-aware channel pruning: aux heads, greedy gradient-norm selection",
    .prefix = "dcp_",
    .opts = dcp_opts,
    .train = dcp_train,
};
