/* quant_ft.c: quantized fine-tuning shared by the quantization learners (see quant_ft.h).
 * Ports the training side of PocketFlow's uniform_quantization/learner.py (STE fine-tune with
 * Adam), nonuniform_quantization/learner.py (centroid gradients, nuql_opt_mode) and the
 * fake-quant placement of TF's quantization-aware training (uniform_quantization_tf). */
#include "learners/common/quant_ft.h"
#include "learners/common/rlsearch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/plan.h"

#define CB_ADAM_B1  0.9f
#define CB_ADAM_B2  0.999f
#define CB_ADAM_EPS 1e-8f

/* ---- set-up ---- */

/* True for layers whose output keeps its input's quantization: max pool and ReLU map
 * quantized values to quantized values; flatten and dropout (at inference) copy them; average
 * pools average in the input's scale (TF keeps the input range for them too). */
static bool keeps_input_quant(const struct pf_layer *l)
{
    static const char *const kinds[] = {"maxpool", "relu",    "relu6", "flatten",
                                        "dropout", "avgpool", "gap"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (pf_layer_is(l, kinds[i]) && l->n_in == 1)
            return true;
    return false;
}

/* True if layer i's only consumer is a batchnorm (which folding will merge into it). */
static bool feeds_batchnorm(const struct pf_model *m, int i)
{
    if (m->n_consumers[i] != 1)
        return false;
    for (int j = i + 1; j < m->n_layers; j++)
        for (int k = 0; k < m->layers[j].n_in; k++)
            if (m->layers[j].in_idx[k] == i)
                return pf_layer_is(&m->layers[j], "batchnorm");
    return false;
}

/* ReLU outputs: what PocketFlow's UQ quantizes (every Relu / Relu6 op). */
static bool is_activation(const struct pf_layer *l)
{
    return l->act != PF_ACT_NONE || pf_layer_is(l, "relu") || pf_layer_is(l, "relu6");
}

static int setup_actq(struct pf_quant_ft *f)
{
    struct pf_run *r = f->r;
    struct pf_model *m = r->model;
    bool plan = pf_plan_drives(r, 'a');
    int any = 0;
    for (int i = 0; i < m->n_layers; i++) {
        int bits = plan ? pf_plan_effective(r->plan, m, i).a_bits : f->cfg.a_bits;
        any |= bits < 32 && (f->cfg.tf_acts || is_activation(&m->layers[i]));
    }
    if (!any)
        return 0;
    int rc = pf_model_actq_enable(m);
    if (rc < 0)
        return rc;
    for (int i = 0; i <= m->n_layers; i++) {
        const struct pf_layer *l = i < m->n_layers ? &m->layers[i] : NULL;
        struct pf_actq *a = &m->actq[i], old = *a;
        int bits = plan && l ? pf_plan_effective(r->plan, m, i).a_bits : f->cfg.a_bits;
        pf_actq_init(a);
        if (bits >= 32)
            continue;
        if (!l) { /* the network input: quantized for the integer path (TF's input fake-quant) */
            if (f->cfg.tf_acts)
                a->bits = bits;
        } else if (f->cfg.tf_acts) {
            if (i == m->n_layers - 1 || feeds_batchnorm(m, i))
                continue; /* logits stay float; a conv's output before its BN is folded away */
            a->bits = bits;
            if (keeps_input_quant(l))
                a->tie = l->in_idx[0] < 0 ? m->n_layers : l->in_idx[0];
        } else if (is_activation(l)) {
            a->bits = bits;
        }
        if (a->bits && old.bits == a->bits && old.ready) { /* keep an observed range */
            a->lo = old.lo;
            a->hi = old.hi;
            a->ready = true;
        }
    }
    pf_run_log(r, "%sactivation_bits: activations quantized (moving-average ranges)",
               f->cfg.prefix);
    return 0;
}

/* Bits of target k: the plan's, or the options' (first / last float unless quantize_all). */
static int target_bits(const struct pf_quant_ft *f, int k)
{
    struct pf_run *r = f->r;
    if (pf_plan_drives(r, 'w'))
        return pf_plan_effective(r->plan, r->model, f->t[k].layer).w_bits;
    if (r->plan && pf_plan_skipped(r->plan, r->model, f->t[k].layer))
        return 32;
    if (!f->cfg.quantize_all && pf_wtarget_is_end(k, f->n))
        return 32;
    return f->cfg.w_bits;
}

int pf_quant_ft_init(struct pf_quant_ft *f, struct pf_run *r, const struct pf_quant_ft_cfg *c)
{
    memset(f, 0, sizeof *f);
    f->r = r;
    f->cfg = *c;
    f->summ_step = (int)pf_opts_int(&r->opts, "summ_step");
    char who[64];
    int rc;
    enum pf_qbucket bucket = PF_QBUCKET_CHANNEL;
    snprintf(who, sizeof who, "%sbucket_type", c->prefix);
    if (c->mode != PF_QMODE_AFFINE &&
        (rc = pf_quant_bucket_from_opts(c->use_buckets, c->bucket_type, who, &bucket)) < 0)
        return rc;
    struct pf_quant_cfg qc = {.bits = c->w_bits, .bucket = bucket, .bucket_size = c->bucket_size};
    snprintf(who, sizeof who, "%sweight_bits", c->prefix);
    if ((rc = pf_quant_cfg_check(&qc, who)) < 0)
        return rc;
    if (c->a_bits < 1 || c->a_bits > 32)
        return PF_ERR(PF_EINVAL, "%sactivation_bits: %d bits is outside 1..32", c->prefix,
                      c->a_bits);
    if ((rc = pf_wtargets_list(r->model, &f->t, &f->n)) < 0)
        return rc;
    if (f->n == 0)
        return PF_ERR(PF_EINVAL, "%s has no conv2d or dense weights to quantize", r->model->name);
    if (!(f->ts = pf_calloc((size_t)f->n, sizeof *f->ts))) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (int k = 0; k < f->n; k++) {
        struct pf_quant_ft_tensor *s = &f->ts[k];
        struct pf_wtarget *t = &f->t[k];
        const char *ln = r->model->layers[t->layer].name;
        t->w_bits = target_bits(f, k);
        if (t->w_bits < 1 || t->w_bits > 32) {
            rc = PF_ERR(PF_EINVAL, "%s: %d weight bits is outside 1..32", ln, t->w_bits);
            goto fail;
        }
        if (t->w_bits >= 32)
            continue;
        if (c->mode == PF_QMODE_CODEBOOK && t->w_bits > PF_QCODEBOOK_BITS_MAX) {
            rc = PF_ERR(PF_EINVAL,
                        "%s: %d bits is too many for a codebook (at most %d; use 32 "
                        "for float)",
                        ln, t->w_bits, PF_QCODEBOOK_BITS_MAX);
            goto fail;
        }
        if (c->mode == PF_QMODE_AFFINE && t->w_bits < 2) {
            rc = PF_ERR(PF_EINVAL, "%s: symmetric quantization needs at least 2 bits", ln);
            goto fail;
        }
        if ((rc = pf_qtensor_new(&s->q, c->mode,
                                 c->mode == PF_QMODE_AFFINE ? PF_QBUCKET_CHANNEL : bucket,
                                 t->w_bits, c->bucket_size, t->numel, t->channels)) < 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", pf_err_user_msg());
            rc = PF_ERR(-rc, "%s: %s", ln, why);
            goto fail;
        }
        if (!(s->master = pf_malloc(t->numel * sizeof *s->master))) {
            rc = -PF_ENOMEM;
            goto fail;
        }
        memcpy(s->master, t->p->w.data, t->numel * sizeof *s->master);
        s->on = true;
        if (c->mode == PF_QMODE_CODEBOOK) {
            size_t nk = (size_t)s->q->n_buckets << s->q->bits;
            s->idx = pf_malloc(t->numel * sizeof *s->idx);
            s->gcb = pf_calloc(nk, sizeof *s->gcb);
            s->m1 = pf_calloc(nk, sizeof *s->m1);
            s->m2 = pf_calloc(nk, sizeof *s->m2);
            if (!s->idx || !s->gcb || !s->m1 || !s->m2) {
                rc = -PF_ENOMEM;
                goto fail;
            }
            if ((rc = pf_quant_codebook_init(s->q, s->master, c->cb_init)) < 0 ||
                (rc = pf_quant_codebook_assign(s->q, s->master, NULL, false, s->idx)) < 0)
                goto fail;
        }
        pf_run_log(r, "%s: %d-bit %s weights, %s buckets (%d)", ln, t->w_bits,
                   pf_qmode_name(c->mode), pf_qbucket_name(s->q->bucket), s->q->n_buckets);
    }
    if ((rc = setup_actq(f)) < 0)
        goto fail;
    return 0;
fail:
    pf_quant_ft_deinit(f);
    return rc;
}

void pf_quant_ft_deinit(struct pf_quant_ft *f)
{
    for (int k = 0; f->ts && k < f->n; k++) {
        struct pf_quant_ft_tensor *s = &f->ts[k];
        free(s->m2);
        free(s->m1);
        free(s->gcb);
        free(s->idx);
        free(s->master);
        pf_qtensor_free(s->q);
    }
    free(f->ts);
    free(f->t);
    memset(f, 0, sizeof *f);
}

/* ---- per step ---- */

/* Writes the quantized values of target k (from its master or, for a frozen assignment, its
 * codebook) into the param the layers read; with pack the indices are stored in q. */
static int quantize_into(struct pf_quant_ft *f, int k, bool pack)
{
    struct pf_quant_ft_tensor *s = &f->ts[k];
    float *w = pf_tensor_f32(&f->t[k].p->w);
    switch (s->q->mode) {
    case PF_QMODE_UNIFORM:
        (f->cfg.range_mse ? pf_quant_uniform_mse : pf_quant_uniform)(s->q, s->master, w, pack);
        return 0;
    case PF_QMODE_AFFINE:
        pf_quant_symmetric(s->q, s->master, w, pack);
        return 0;
    case PF_QMODE_CODEBOOK:
        if (f->cfg.cb_opt == PF_CB_OPT_CLUSTER) { /* weights frozen: the assignment too */
            size_t K = (size_t)1 << s->q->bits;
            for (size_t i = 0; i < f->t[k].numel; i++) {
                size_t b = (size_t)pf_qtensor_bucket_of(s->q, i);
                w[i] = s->q->codebook[b * K + s->idx[i]];
                if (pack)
                    pf_qtensor_set(s->q, i, s->idx[i]);
            }
            return 0;
        }
        return pf_quant_codebook_assign(s->q, s->master, w, pack, s->idx);
    }
    return 0;
}

static void set_bypass(struct pf_model *m, bool bypass)
{
    for (int i = 0; m->actq && i <= m->n_layers; i++)
        m->actq[i].bypass = bypass;
}

static int ft_before_forward(struct pf_model *m, long step, void *user)
{
    struct pf_quant_ft *f = user;
    f->quantized = step >= f->cfg.quant_delay;
    set_bypass(m, !f->quantized);
    for (int k = 0; f->quantized && k < f->n; k++) {
        if (!f->ts[k].on)
            continue;
        int rc = quantize_into(f, k, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int ft_before_update(struct pf_model *m, struct pf_optim *o, long step, float lr, void *u)
{
    struct pf_quant_ft *f = u;
    (void)m, (void)o, (void)step, (void)lr;
    for (int k = 0; f->quantized && k < f->n; k++) {
        struct pf_quant_ft_tensor *s = &f->ts[k];
        if (!s->on)
            continue;
        struct pf_param *p = f->t[k].p;
        float *g = pf_tensor_f32(&p->g);
        if (s->q->mode == PF_QMODE_CODEBOOK && f->cfg.cb_opt != PF_CB_OPT_WEIGHTS)
            pf_quant_codebook_grad(s->q, s->idx, g, s->gcb);
        if (s->q->mode == PF_QMODE_CODEBOOK && f->cfg.cb_opt == PF_CB_OPT_CLUSTER)
            memset(g, 0, f->t[k].numel * sizeof *g); /* only the centroids learn */
        else
            pf_quant_ste(s->q, s->master, g, g);
        memcpy(p->w.data, s->master, f->t[k].numel * sizeof *s->master);
    }
    return 0;
}

/* One Adam step on every codebook (Deep Compression's centroid fine-tuning). */
static void centroid_step(struct pf_quant_ft *f, float lr)
{
    f->adam_t++;
    const float bc1 = 1.0f - powf(CB_ADAM_B1, (float)f->adam_t);
    const float bc2 = 1.0f - powf(CB_ADAM_B2, (float)f->adam_t);
    for (int k = 0; k < f->n; k++) {
        struct pf_quant_ft_tensor *s = &f->ts[k];
        if (!s->on || s->q->mode != PF_QMODE_CODEBOOK)
            continue;
        size_t nk = (size_t)s->q->n_buckets << s->q->bits;
        for (size_t j = 0; j < nk; j++) {
            float g = s->gcb[j];
            s->m1[j] = CB_ADAM_B1 * s->m1[j] + (1.0f - CB_ADAM_B1) * g;
            s->m2[j] = CB_ADAM_B2 * s->m2[j] + (1.0f - CB_ADAM_B2) * g * g;
            s->q->codebook[j] -= lr * (s->m1[j] / bc1) / (sqrtf(s->m2[j] / bc2) + CB_ADAM_EPS);
        }
    }
}

static int ft_after_update(struct pf_model *m, struct pf_optim *o, long step, float lr, void *u)
{
    struct pf_quant_ft *f = u;
    (void)m, (void)o;
    for (int k = 0; k < f->n; k++) {
        struct pf_quant_ft_tensor *s = &f->ts[k];
        if (!s->on)
            continue;
        if (s->q->mode == PF_QMODE_CODEBOOK && f->cfg.cb_opt == PF_CB_OPT_CLUSTER)
            memcpy(f->t[k].p->w.data, s->master, f->t[k].numel * sizeof *s->master);
        else
            memcpy(s->master, f->t[k].p->w.data, f->t[k].numel * sizeof *s->master);
    }
    if (f->quantized && f->cfg.mode == PF_QMODE_CODEBOOK && f->cfg.cb_opt != PF_CB_OPT_WEIGHTS)
        centroid_step(f, lr);
    if ((step + 1) % f->summ_step == 0)
        pf_emit_compression(f->r, step + 1, f->t, f->n, true);
    return 0;
}

/* ---- the run ---- */

/* Stores every quantized tensor in its param (p->quant, p->w = its decoded values) and freezes
 * the activation ranges. */
static int finalise(struct pf_quant_ft *f)
{
    struct pf_model *m = f->r->model;
    for (int i = 0; m->actq && i <= m->n_layers; i++) {
        m->actq[i].frozen = true;
        m->actq[i].bypass = false;
    }
    for (int k = 0; k < f->n; k++) {
        struct pf_quant_ft_tensor *s = &f->ts[k];
        if (!s->on)
            continue;
        int rc = quantize_into(f, k, true);
        if (rc < 0)
            return rc;
        struct pf_param *p = f->t[k].p;
        pf_qtensor_dequantize(s->q, pf_tensor_f32(&p->w)); /* exactly what a reload decodes */
        pf_qtensor_free(p->quant);
        p->quant = s->q;
        s->q = NULL;
        s->on = false;
        free(p->mask); /* the quantized values replace any sparsity mask */
        p->mask = NULL;
    }
    return 0;
}

/* Observes activation ranges that training never did (no fine-tuning, or the steps were all
 * before the model was folded): float inference passes over up to CALIB_IMAGES training images.
 * TF's rewriter needed a range for every tensor too. */
#define CALIB_IMAGES 1000
static int calibrate(struct pf_quant_ft *f)
{
    struct pf_run *r = f->r;
    struct pf_model *m = r->model;
    bool need = false;
    for (int i = 0; m->actq && i <= m->n_layers; i++)
        need |= m->actq[i].bits > 0 && m->actq[i].tie < 0 && !m->actq[i].ready;
    if (!need)
        return 0;
    for (int i = 0; i <= m->n_layers; i++)
        m->actq[i].calibrate = m->actq[i].bypass = true;
    uint32_t n = r->n_train < CALIB_IMAGES ? r->n_train : CALIB_IMAGES;
    struct pf_eval_result res;
    int rc = pf_evaluate(m, r->train, r->train_idx, n, 100, &res, NULL);
    for (int i = 0; i <= m->n_layers; i++)
        m->actq[i].calibrate = m->actq[i].bypass = false;
    if (rc == 0)
        pf_run_log(r, "activation ranges calibrated on %u training images", n);
    return rc;
}

int pf_quant_ft_run(struct pf_quant_ft *f)
{
    struct pf_run *r = f->r;
    struct pf_train_cfg c;
    pf_run_train_cfg(r, &c);
    pf_train_cfg_set_epochs(&c, f->cfg.epochs);
    c.optim.kind = PF_OPTIM_ADAM;
    c.sched.lrn_rate_init *= f->cfg.lrn_rate_dcy;
    struct pf_train_hooks h = {
        .before_forward = ft_before_forward,
        .before_update = ft_before_update,
        .after_update = ft_after_update,
        .user = f,
    };
    c.hooks = &h;
    pf_emit_compression(r, 0, f->t, f->n, true);
    int rc = pf_run_finetune_cfg(r, f->cfg.phase, &c);
    if (rc < 0 && rc != -PF_ECANCELLED)
        return rc;
    int cancelled = rc == -PF_ECANCELLED;
    if ((rc = calibrate(f)) < 0 || (rc = finalise(f)) < 0)
        return rc;
    long step = r->last_step;
    pf_emit_compression(r, step, f->t, f->n, true);
    for (int k = 0; k < f->n; k++) {
        const struct pf_param *p = f->t[k].p;
        struct pf_event e = {.run_id = r->id, .step = step, .kind = PF_EV_LAYER_DONE};
        snprintf(e.name, sizeof e.name, "%.31s", r->model->layers[f->t[k].layer].name);
        e.value = f->t[k].w_bits;
        if (p->quant)
            snprintf(e.text, sizeof e.text, "%d-bit %s, %s buckets: %zu bytes (float: %zu)",
                     p->quant->bits, pf_qmode_name(p->quant->mode),
                     pf_qbucket_name(p->quant->bucket), pf_qtensor_stored_bytes(p->quant),
                     f->t[k].numel * sizeof(float));
        else
            snprintf(e.text, sizeof e.text, "kept in float (%zu bytes)",
                     f->t[k].numel * sizeof(float));
        pf_run_emit(r, &e);
    }
    return cancelled ? -PF_ECANCELLED : 0;
}

int pf_quant_ft_learn(struct pf_run *r, const struct pf_quant_ft_cfg *c)
{
    char key[64];
    struct pf_plan *own = NULL;
    struct pf_quant_ft ft;
    snprintf(key, sizeof key, "%senbl_rl_agent", c->prefix);
    int rc;
    if (pf_opts_find(&r->opts, key, NULL) && pf_opts_bool(&r->opts, key)) {
        char nk[64];
        snprintf(nk, sizeof nk, "%snb_rlouts", c->prefix);
        struct pf_rl_search *s = NULL;
        if ((rc = pf_rl_bits_new(r, c, c->prefix, &s)) < 0)
            return rc;
        rc = pf_rl_search_plan(r, s, (int)pf_opts_int(&r->opts, nk), &own);
        pf_rl_search_free(s);
        if (rc < 0) { /* cancelled: rl/best.plan.yaml keeps the best so far */
            if (own)
                pf_plan_deinit(own);
            free(own);
            return rc;
        }
        r->plan = own; /* the best strategy drives the fine-tune below */
    }
    if ((rc = pf_quant_ft_init(&ft, r, c)) == 0) {
        rc = pf_quant_ft_run(&ft);
        pf_quant_ft_deinit(&ft);
    }
    if (own) {
        pf_plan_deinit(own);
        free(own);
        r->plan = NULL;
    }
    return rc;
}
