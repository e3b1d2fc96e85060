/* rl_bits.c: the quantizers' RL bit allocation (uniform and non-uniform; rlsearch.h,
 * pf_rl_bits). State per step (#layers + 6): one-hot layer index, the kernel shape (k_h, k_w,
 * c_i, c_o; PocketFlow fed them raw, here each over its max), weights of the layer over the
 * largest layer's, weights of the layers after it over all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "learners/common/quant_ft.h"
#include "learners/common/rlsearch.h"

struct bits_search {
    struct pf_rl_search base;
    struct pf_run *r;
    struct pf_quant_ft_cfg qc;
    struct pf_wtarget *all; /* every weight tensor (owned) */
    int n_all;
    int *pick; /* n: index into all of each quantized tensor */
    int n;
    int *layer;
    double *uniform, *feat; /* n, n x 6 */
    int bmin, bmax;
    double total, budget, used; /* weights, bits allowed, bits assigned this roll-out */
    long steps;
};

static void bs_begin(struct pf_rl_search *b, int rlout)
{
    (void)rlout;
    ((struct bits_search *)b)->used = 0.0;
}

static void bs_state(struct pf_rl_search *b, int t, float *st)
{
    struct bits_search *c = (struct bits_search *)b;
    memset(st, 0, (size_t)(c->n + 6) * sizeof *st);
    st[t] = 1.0f;
    for (int j = 0; j < 6; j++)
        st[c->n + j] = (float)c->feat[(size_t)t * 6 + j];
}

static double bs_decide(struct pf_rl_search *b, int t, double a)
{
    struct bits_search *c = (struct bits_search *)b;
    double nl = (double)c->all[c->pick[t]].numel, left = c->budget - c->used;
    int bits;
    if (t == c->n - 1) {
        bits = (int)fmin(floor(left / nl + 1e-9), c->bmax);
    } else {
        double unassigned = 0.0;
        for (int j = t; j < c->n; j++)
            unassigned += (double)c->all[c->pick[j]].numel;
        double duty = left - unassigned * c->bmin;
        bits = (int)lround(a) + c->bmin;
        bits = (int)fmin(bits, c->bmin + floor(duty / nl + 1e-9));
        if (bits > c->bmax)
            bits = c->bmax;
    }
    if (bits < c->bmin) /* cannot happen: the budget was checked at the start */
        bits = c->bmin;
    c->used += bits * nl;
    return bits;
}

/* PocketFlow gives the last layer what is left of the budget, but w_bit_max caps it, so a
 * strategy could end well below its budget (resnet20 at 4 bits: 2.9) and be judged there. The
 * rest goes, one bit at a time, to the layer with the fewest bits that can still take one
 * (ties: the earlier), until no layer can: every strategy is judged at its budget. */
static void bs_complete(struct pf_rl_search *b, double *v)
{
    struct bits_search *c = (struct bits_search *)b;
    for (;;) {
        int best = -1;
        for (int t = 0; t < c->n; t++) {
            double nl = (double)c->all[c->pick[t]].numel;
            if (v[t] < c->bmax && c->used + nl <= c->budget + 1e-9 && (best < 0 || v[t] < v[best]))
                best = t;
        }
        if (best < 0)
            return;
        v[best] += 1.0;
        c->used += (double)c->all[c->pick[best]].numel;
    }
}

static void bs_to_plan(const struct pf_rl_search *b, const double *v, struct pf_plan *plan)
{
    const struct bits_search *c = (const struct bits_search *)b;
    for (int k = 0; k < c->n_all; k++) /* tensors not quantized stay float */
        plan->layers[c->all[k].layer].w_bits = PF_PLAN_BITS_FULL;
    for (int t = 0; t < c->n; t++)
        plan->layers[c->layer[t]].w_bits = (int)lround(v[t]);
}

static int bs_evaluate(struct pf_rl_search *b, const double *v, int rlout, double *reward,
                       double *budget)
{
    (void)rlout; /* the fine-tune is seeded by the run's seed: the same for every roll-out */
    struct bits_search *c = (struct bits_search *)b;
    struct pf_run *r = c->r;
    struct pf_model *orig = r->model, *copy = NULL;
    struct pf_plan plan = {0};
    struct pf_quant_ft ft;
    int rc = pf_plan_init(&plan, orig);
    if (rc < 0 || (rc = pf_model_clone(orig, &copy)) < 0)
        goto out;
    bs_to_plan(b, v, &plan);
    struct pf_quant_ft_cfg qc = c->qc;
    double rat = pf_opts_float(&r->opts, "nb_epochs_rat");
    qc.epochs = (double)c->steps * pf_opts_int(&r->opts, "batch_size") / (r->n_train * rat);
    r->model = copy;
    r->plan = &plan;
    if ((rc = pf_quant_ft_init(&ft, r, &qc)) == 0) {
        rc = pf_quant_ft_run(&ft);
        pf_quant_ft_deinit(&ft);
    }
    double acc = 0.0;
    if (rc == 0)
        rc = pf_rl_val_accuracy(r, b, &acc);
    if (rc == 0) {
        double bits = 0.0;
        for (int t = 0; t < c->n; t++)
            bits += v[t] * (double)c->all[c->pick[t]].numel;
        *budget = bits / c->total;
        *reward = acc;
    }
out:
    r->model = orig;
    r->plan = NULL;
    pf_model_free(copy);
    pf_plan_deinit(&plan);
    return rc;
}

static long opt_int(const struct pf_run *r, const char *prefix, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "%s%s", prefix, key);
    return pf_opts_int(&r->opts, k);
}

static void bs_destroy(struct pf_rl_search *b)
{
    struct bits_search *c = (struct bits_search *)b;
    free(c->all);
    free(c->pick);
    free(c->layer);
    free(c->uniform);
    free(c->feat);
    free(c);
}

int pf_rl_bits_new(struct pf_run *r, const struct pf_quant_ft_cfg *cfg, const char *prefix,
                   struct pf_rl_search **out)
{
    int rc;
    char key[64];
    *out = NULL;
    if (r->plan)
        return PF_ERR(PF_EINVAL, "%senbl_rl_agent searches the per-layer bits itself: drop --plan",
                      prefix);
    struct bits_search *cp = pf_calloc(1, sizeof *cp);
    if (!cp)
        return -PF_ENOMEM;
    struct bits_search c = {.r = r, .qc = *cfg};
    c.bmin = (int)opt_int(r, prefix, "w_bit_min");
    c.bmax = (int)opt_int(r, prefix, "w_bit_max");
    c.steps = opt_int(r, prefix, "tune_global_steps");
    snprintf(key, sizeof key, "%sequivalent_bits", prefix);
    double eq = pf_opts_float(&r->opts, key);
    if (c.bmin > c.bmax) {
        rc = PF_ERR(PF_EINVAL, "%sw_bit_min = %d is above %sw_bit_max = %d", prefix, c.bmin, prefix,
                    c.bmax);
        goto out;
    }
    if (eq < c.bmin || eq > c.bmax) {
        rc = PF_ERR(PF_EINVAL, "%s = %g is outside [%sw_bit_min, %sw_bit_max] = [%d, %d]", key, eq,
                    prefix, prefix, c.bmin, c.bmax);
        goto out;
    }
    if ((rc = pf_wtargets_list(r->model, &c.all, &c.n_all)) < 0)
        goto out;
    c.pick = pf_malloc((size_t)(c.n_all ? c.n_all : 1) * sizeof *c.pick);
    c.layer = pf_malloc((size_t)(c.n_all ? c.n_all : 1) * sizeof *c.layer);
    c.uniform = pf_malloc((size_t)(c.n_all ? c.n_all : 1) * sizeof *c.uniform);
    c.feat = pf_calloc((size_t)(c.n_all ? c.n_all : 1) * 6, sizeof *c.feat);
    if (!c.pick || !c.layer || !c.uniform || !c.feat) {
        rc = -PF_ENOMEM;
        goto out;
    }
    for (int k = 0; k < c.n_all; k++)
        if (cfg->quantize_all || !pf_wtarget_is_end(k, c.n_all)) {
            c.pick[c.n] = k;
            c.layer[c.n] = c.all[k].layer;
            c.uniform[c.n++] = floor(eq + 1e-9); /* whole bits within the budget */
            c.total += (double)c.all[k].numel;
        }
    if (c.n < 1) {
        rc = PF_ERR(PF_EINVAL,
                    "%s has no weight tensor to quantize (the first and last stay "
                    "float unless %squantize_all_layers)",
                    r->model->name, prefix);
        goto out;
    }
    c.budget = floor(c.total * eq + 1e-6);
    for (int t = 0; t < c.n; t++) {
        const struct pf_tensor *w = &c.all[c.pick[t]].p->w;
        double *f = &c.feat[(size_t)t * 6], after = 0.0;
        bool conv = w->ndim == 4;
        f[0] = conv ? w->shape[2] : 1;
        f[1] = conv ? w->shape[3] : 1;
        f[2] = w->shape[1];
        f[3] = w->shape[0];
        f[4] = (double)c.all[c.pick[t]].numel;
        for (int j = t + 1; j < c.n; j++)
            after += (double)c.all[c.pick[j]].numel;
        f[5] = after / c.total;
    }
    pf_rl_scale_columns(c.feat, c.n, 6, 0, 5); /* column 5 is already a fraction */
    c.base = (struct pf_rl_search){
        .kind = "bits",
        .value = "bits",
        .n_steps = c.n,
        .s_dims = c.n + 6,
        .a_min = 0.0,
        .a_max = c.bmax > c.bmin ? c.bmax - c.bmin : 1e-3,
        .buf_size = c.n * (int)opt_int(r, prefix, "nb_rlouts_min"),
        .train_per_rlout = c.n,
        .target = eq,
        .acc_reward = true,
        .layer = c.layer,
        .uniform = c.uniform,
        .begin = bs_begin,
        .state = bs_state,
        .decide = bs_decide,
        .complete = bs_complete,
        .evaluate = bs_evaluate,
        .to_plan = bs_to_plan,
    };
    c.base.destroy = bs_destroy;
    *cp = c;
    *out = &cp->base;
    return 0;
out:
    c.base.destroy = bs_destroy;
    *cp = c;
    bs_destroy(&cp->base);
    return rc;
}
