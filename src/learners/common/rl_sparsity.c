/* rl_sparsity.c: weight-sparse's `optimal` protocol, a DDPG search of per-tensor sparsities
 * (PocketFlow's WS RL search, reference 2.6.1; rlsearch.h, pf_rl_sparsity_new).
 *
 * Per-tensor sparsities under the overall target pr. Step t decides tensor t (model order):
 * - bounds pr_min = max(0, 1 - 3(1 - pr)), pr_max = 1 - (1 - pr) / 3; pr_min is raised so that
 *   the target stays reachable with every later tensor at pr_max; a in [0, 1] maps piecewise
 *   linearly (a = 0.5 -> pr) onto [pr_min, pr_max].
 * - state (n + 7): one-hot index; kernel (k_h, k_w, c_i, c_o); weights of this tensor; weights
 *   left by the tensors before (after pruning, dynamic); weights of the tensors after. Static
 *   columns over their max; the dynamic one over the max of the last.
 * - reward: a copy of the model masked by magnitude at those ratios, ws_nb_iters_rg Adam steps of
 *   layer-wise regression (every target's kernel toward its full-model output), ws_nb_iters_ft
 *   masked Adam steps of the task loss, then accuracy on the validation sample (single-obj) or
 *   accuracy x ln(1 + sparsity) (multi-obj). The best strategy becomes the plan of the normal
 *   gradual pruning. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "learners/common/compress.h"
#include "learners/common/masks.h"
#include "learners/common/rlsearch.h"

struct ws_search {
    struct pf_rl_search base;
    struct pf_run *r;
    struct pf_wtarget *t; /* targets of r->model */
    int n;
    int *layer;
    double *uniform, *feat, *v; /* n, n x 7 static features, values decided this roll-out */
    double pr, pr_min, pr_max, total, max_follow;
};

static void wss_state(struct pf_rl_search *b, int t, float *st)
{
    struct ws_search *c = (struct ws_search *)b;
    int n = c->n;
    memset(st, 0, (size_t)(n + 7) * sizeof *st);
    st[t] = 1.0f;
    for (int j = 0; j < 7; j++)
        st[n + j] = (float)c->feat[(size_t)t * 7 + j];
    double before = 0.0; /* weights the tensors before this one keep */
    for (int j = 0; j < t; j++)
        before += (double)c->t[j].numel * (1.0 - c->v[j]);
    st[n + 5] = c->max_follow > 0.0 ? (float)(before / c->max_follow) : 0.0f;
}

static double wss_decide(struct pf_rl_search *b, int t, double a)
{
    struct ws_search *c = (struct ws_search *)b;
    double lo = c->pr_min, hi = c->pr_max, done = 0.0, later = 0.0;
    for (int j = 0; j < t; j++)
        done += (double)c->t[j].numel * c->v[j];
    for (int j = t + 1; j < c->n; j++)
        later += (double)c->t[j].numel * c->pr_max;
    double need = (c->pr * c->total - done - later) / (double)c->t[t].numel;
    if (need > lo)
        lo = need;
    a = fmin(1.0, fmax(0.0, a));
    double v = a <= 0.5 ? lo + a / 0.5 * (c->pr - lo) : hi - (1.0 - a) / 0.5 * (hi - c->pr);
    v = fmin(hi, fmax(lo, v));
    c->v[t] = v;
    return v;
}

static void wss_to_plan(const struct pf_rl_search *b, const double *v, struct pf_plan *plan)
{
    const struct ws_search *c = (const struct ws_search *)b;
    for (int k = 0; k < c->n; k++)
        plan->layers[c->t[k].layer].sparsity = v[k];
}

/* PocketFlow's layer-wise regression: every target kernel of m, masked, takes Adam steps on
 * 0.5 |y_m - y_full|^2 of its own output (inputs from m, targets from full, both in inference
 * mode), all targets at once, on batches of the training split. */
static int ws_regress(struct pf_run *r, struct pf_model *full, struct pf_model *m,
                      struct pf_wtarget *t, int n, int iters, double lr, uint64_t seed)
{
    int B = (int)pf_opts_int(&r->opts, "batch_size"), rc;
    if ((rc = pf_model_set_batch(full, B)) < 0 || (rc = pf_model_set_batch(m, B)) < 0)
        return rc;
    size_t in = pf_shape_numel(m->input), most = 0;
    for (int k = 0; k < n; k++)
        most = fmax(most, pf_shape_numel(m->layers[t[k].layer].out));
    float *x = pf_malloc((size_t)B * in * sizeof *x),
          *dy = pf_malloc((size_t)B * most * sizeof *dy);
    uint32_t *idx = pf_malloc((size_t)B * sizeof *idx);
    struct pf_param **ps = pf_malloc((size_t)n * sizeof *ps);
    struct pf_optim o = {0};
    struct pf_optim_cfg oc = {.kind = PF_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    if (!x || !dy || !idx || !ps) {
        rc = -PF_ENOMEM;
        goto out;
    }
    for (int k = 0; k < n; k++)
        ps[k] = t[k].p;
    if ((rc = pf_optim_init_params(&o, ps, n, &oc)) < 0)
        goto out;
    for (int it = 0; it < iters; it++) {
        if (pf_run_stopped(r)) {
            rc = -PF_ECANCELLED;
            goto out;
        }
        for (int i = 0; i < B; i++)
            idx[i] = r->train_idx[pf_rng_below(&rng, r->n_train)];
        if ((rc = pf_dataset_batch(r->train, idx, B, x, NULL, false, NULL)) < 0 ||
            (rc = pf_model_forward(full, x, B, false)) < 0 ||
            (rc = pf_model_forward(m, x, B, false)) < 0)
            goto out;
        for (int k = 0; k < n; k++) {
            struct pf_layer *l = &m->layers[t[k].layer];
            size_t ny = (size_t)B * pf_shape_numel(l->out);
            const float *yp = m->y[t[k].layer], *yf = full->y[t[k].layer];
            for (size_t j = 0; j < ny; j++)
                dy[j] = yp[j] - yf[j];
            const float *xs[1] = {l->in_idx[0] < 0 ? (m->xq ? m->xq : x) : m->y[l->in_idx[0]]};
            float *dxs[1] = {NULL};
            memset(t[k].p->g.data, 0, pf_tensor_numel(&t[k].p->g) * sizeof(float));
            if ((rc = l->ops->backward(l, xs, yp, dy, dxs, B)) < 0)
                goto out;
            float *g = pf_tensor_f32(&t[k].p->g);
            for (size_t j = 0; j < t[k].numel; j++)
                if (!t[k].p->mask[j])
                    g[j] = 0.0f;
        }
        pf_optim_step(&o, (float)lr);
    }
    rc = 0;
out:
    pf_model_zero_grad(m);
    pf_optim_deinit(&o);
    free(x);
    free(dy);
    free(idx);
    free(ps);
    return rc;
}

static int wss_evaluate(struct pf_rl_search *b, const double *v, int rlout, double *reward,
                        double *budget)
{
    struct ws_search *c = (struct ws_search *)b;
    struct pf_run *r = c->r;
    struct pf_model *orig = r->model, *copy = NULL;
    struct {
        struct pf_wtarget *t;
        int n;
    } s = {0};
    uint64_t seed = pf_rl_rlout_seed(r, rlout);
    int rc = pf_model_clone(orig, &copy);
    if (rc < 0)
        return rc;
    if ((rc = pf_wtargets_list(copy, &s.t, &s.n)) < 0)
        goto out;
    size_t zeros = 0, all = 0;
    for (int k = 0; k < s.n; k++) {
        struct pf_param *p = s.t[k].p;
        if (!p->mask && !(p->mask = pf_malloc(s.t[k].numel))) {
            rc = -PF_ENOMEM;
            goto out;
        }
        long z = pf_mask_magnitude(pf_tensor_f32(&p->w), s.t[k].numel, v[k], p->mask);
        if (z < 0) {
            rc = (int)z;
            goto out;
        }
        float *w = pf_tensor_f32(&p->w);
        for (size_t j = 0; j < s.t[k].numel; j++)
            if (!p->mask[j])
                w[j] = 0.0f;
        zeros += (size_t)z;
        all += s.t[k].numel;
    }
    long rg = pf_opts_int(&r->opts, "ws_nb_iters_rg"), ft = pf_opts_int(&r->opts, "ws_nb_iters_ft");
    if (rg > 0 && (rc = ws_regress(r, orig, copy, s.t, s.n, (int)rg,
                                   pf_opts_float(&r->opts, "ws_lrn_rate_rg"), seed)) < 0)
        goto out;
    r->model = copy;
    rc = pf_rl_finetune(r, copy, ft, pf_opts_float(&r->opts, "ws_lrn_rate_ft"), seed);
    double acc = 0.0;
    if (rc == 0)
        rc = pf_rl_val_accuracy(r, b, &acc);
    r->model = orig;
    if (rc < 0)
        goto out;
    double sp = all ? (double)zeros / (double)all : 0.0;
    *budget = sp;
    *reward =
        !strcmp(pf_opts_str(&r->opts, "ws_reward_type"), "multi-obj") ? acc * log(1.0 + sp) : acc;
out:
    r->model = orig;
    free(s.t);
    pf_model_free(copy);
    return rc;
}

static void wss_destroy(struct pf_rl_search *b)
{
    struct ws_search *c = (struct ws_search *)b;
    free(c->t);
    free(c->layer);
    free(c->uniform);
    free(c->feat);
    free(c->v);
    free(c);
}

int pf_rl_sparsity_new(struct pf_run *r, double pr, struct pf_rl_search **out)
{
    *out = NULL;
    if (r->plan)
        return PF_ERR(PF_EINVAL, "ws_prune_ratio_prtl = optimal searches the per-layer "
                                 "sparsities itself: drop --plan, or use it with uniform");
    if (!(pr >= 0.0 && pr < 1.0))
        return PF_ERR(PF_EINVAL, "ws_prune_ratio = %g is outside [0, 1)", pr);
    struct ws_search *c = pf_calloc(1, sizeof *c);
    if (!c)
        return -PF_ENOMEM;
    c->r = r;
    c->pr = pr;
    int rc = pf_wtargets_list(r->model, &c->t, &c->n);
    if (rc < 0)
        goto fail;
    int n = c->n;
    if (n < 1) {
        rc = PF_ERR(PF_EINVAL, "%s has no conv2d or dense weights to sparsify", r->model->name);
        goto fail;
    }
    c->layer = pf_malloc((size_t)n * sizeof *c->layer);
    c->uniform = pf_malloc((size_t)n * sizeof *c->uniform);
    c->feat = pf_calloc((size_t)n * 7, sizeof *c->feat);
    c->v = pf_calloc((size_t)n, sizeof *c->v);
    if (!c->layer || !c->uniform || !c->feat || !c->v) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    c->pr_min = fmax(0.0, 1.0 - 3.0 * (1.0 - pr));
    c->pr_max = 1.0 - (1.0 - pr) / 3.0;
    for (int k = 0; k < n; k++) {
        const struct pf_tensor *w = &c->t[k].p->w;
        double *f = &c->feat[(size_t)k * 7];
        bool conv = w->ndim == 4;
        f[0] = conv ? w->shape[2] : 1; /* k_h, k_w, c_i, c_o */
        f[1] = conv ? w->shape[3] : 1;
        f[2] = w->shape[1];
        f[3] = w->shape[0];
        f[4] = (double)c->t[k].numel;
        c->total += (double)c->t[k].numel;
        c->layer[k] = c->t[k].layer;
        c->uniform[k] = pr;
    }
    for (int k = 0; k < n; k++) { /* weights after this tensor */
        double after = 0.0;
        for (int j = k + 1; j < n; j++)
            after += (double)c->t[j].numel;
        c->feat[(size_t)k * 7 + 6] = after;
    }
    c->max_follow = pf_rl_scale_columns(c->feat, n, 7, 0, 7);
    c->base = (struct pf_rl_search){
        .kind = "sparsity",
        .value = "sparsity",
        .n_steps = n,
        .s_dims = n + 7,
        .a_min = 0.0,
        .a_max = 1.0,
        .buf_size = n * (int)pf_opts_int(&r->opts, "ws_nb_rlouts_min"),
        .train_per_rlout = n,
        .target = pr,
        .acc_reward = strcmp(pf_opts_str(&r->opts, "ws_reward_type"), "multi-obj") != 0,
        .layer = c->layer,
        .uniform = c->uniform,
        .state = wss_state,
        .decide = wss_decide,
        .evaluate = wss_evaluate,
        .to_plan = wss_to_plan,
        .destroy = wss_destroy,
    };
    *out = &c->base;
    return 0;
fail:
    wss_destroy(&c->base);
    return rc;
}
