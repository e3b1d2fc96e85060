/* ddpg.c: the DDPG agent (ddpg.h), a port of PocketFlow's rl_agents/ddpg (agent.py,
 * actor_critic.py, noise.py, replay_buffer.py; reference/pocketflow.md section 3).
 *
 * The networks are chains of the engine's own layers (dense, layernorm with a fused relu) made
 * with pf_layer_create, driven by the small `struct net` below: the critic needs a second input
 * (the action joins after its first block) and dQ/da for the actor's loss, which a pf_model
 * (one input, logits out) does not give. Adam is the engine's (pf_optim_init_params).
 * Departures from PocketFlow: weights and biases start from PyTorch's default,
 * U(+-1/sqrt(fan_in)) (TensorFlow's was Glorot with zero biases); the weight decay
 * (ddpg_loss_w_dcy, default 0) is tf.nn.l2_loss's wd * 0.5 * sum(w^2) on the dense weights of
 * both actor and critic, not on biases and LayerNorm params; the adaptive noise protocol adapts
 * once per roll-out (in pf_ddpg_finalize_rlout) rather than once per train step.
 *
 * Checkpoint format (pf_ddpg_save / pf_ddpg_load), version 1. Numbers are in the host's byte
 * order (little-endian on every machine this builds for); a byte-order mark refuses the rest.
 *     magic        8 bytes  "PFDDPGCK"
 *     version      u32      1
 *     byte order   u32      0x01020304
 *     cfg          the fields of struct pf_ddpg_cfg in declaration order: ints, bools and enums
 *                  as i32, doubles as f64, seed as u64 (all must equal the loading agent's)
 *     state        f64 baseline EMA, u8 EMA set, f64 noise std, i64 roll-outs finished,
 *                  u8 training begun, i64 train steps, 4 x u64 xoshiro256** state
 *     buffer       i64 transitions held, i64 next slot, then buf_size rows of each: states
 *                  (s_dims f32), actions (a_dims f32), rewards (f64), terminals (f32 0 / 1),
 *                  next states (s_dims f32)
 *     networks     actor, actor target, noisy actor, critic, critic target: every param of
 *                  every layer in pf_ddpg_net_params order, f32
 *     optimizers   actor's Adam then critic's: i64 steps, then per trainable param its first
 *                  and second moments (f32, the param's shape)
 *     checksum     u64 FNV-1a 64 of every byte before it
 * Every size follows from the cfg, so the file length is checked exactly. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_file.h"
#include "engine/core/pf_cfg.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"
#include "engine/model/optim.h"
#include "learners/common/ddpg.h"

/* PocketFlow's ddpg_record_step (TensorBoard summaries; every roll-out is recorded here) and
 * ddpg_rms_eps (running normalisation, hard-wired off there) have no rows: they would do nothing.
 */
const struct pf_opt_spec pf_ddpg_opts[] = {
    {"ddpg_actor_depth", PF_OPT_INT, "2", 1, 16, NULL, "RL agent: actor's hidden dense blocks"},
    {"ddpg_actor_width", PF_OPT_INT, "64", 1, 4096, NULL, "RL agent: actor's hidden width"},
    {"ddpg_critic_depth", PF_OPT_INT, "2", 1, 16, NULL,
     "RL agent: critic's dense blocks after the action joins"},
    {"ddpg_critic_width", PF_OPT_INT, "64", 1, 4096, NULL, "RL agent: critic's hidden width"},
    {"ddpg_tau", PF_OPT_FLOAT, "0.01", 0.0, 1.0, NULL, "RL agent: soft update rate of the targets"},
    {"ddpg_gamma", PF_OPT_FLOAT, "0.9", 0.0, 1.0, NULL, "RL agent: discount factor"},
    {"ddpg_lrn_rate", PF_OPT_FLOAT, "1e-3", 1e-9, 10, NULL,
     "RL agent: Adam rate of actor and critic"},
    {"ddpg_loss_w_dcy", PF_OPT_FLOAT, "0.0", 0.0, 1.0, NULL, "RL agent: critic weight decay"},
    {"ddpg_batch_size", PF_OPT_INT, "64", 1, 65536, NULL, "RL agent: transitions per train step"},
    {"ddpg_enbl_bsln_func", PF_OPT_BOOL, "True", 0, 0, NULL,
     "RL agent: subtract the reward baseline (EMA)"},
    {"ddpg_bsln_decy_rate", PF_OPT_FLOAT, "0.95", 0.0, 1.0, NULL,
     "RL agent: decay rate of the reward baseline"},
    {"ddpg_noise_type", PF_OPT_ENUM, "param", 0, 0, "action|param",
     "RL agent: exploration noise on the actor's weights or on its actions"},
    {"ddpg_noise_prtl", PF_OPT_ENUM, "tdecy", 0, 0, "adapt|tdecy",
     "RL agent: noise protocol, time decay or adaptive"},
    {"ddpg_noise_std_init", PF_OPT_FLOAT, "1.0", 1e-9, 100.0, NULL, "RL agent: initial noise std"},
    {"ddpg_noise_dst_finl", PF_OPT_FLOAT, "1e-2", 0.0, 100.0, NULL,
     "RL agent: adapt protocol's target action distance"},
    {"ddpg_noise_adpt_rat", PF_OPT_FLOAT, "1.03", 1.0, 100.0, NULL,
     "RL agent: adapt protocol's std factor"},
    {"ddpg_noise_std_finl", PF_OPT_FLOAT, "1e-5", 0.0, 100.0, NULL,
     "RL agent: tdecy protocol's final noise std"},
    {"rl_nb_smpls_eval", PF_OPT_INT, "2000", 1, 1000000, NULL,
     "RL search: validation images each roll-out's reward is measured on (the same for all; "
     "at most nb_smpls_val)"},
    {"rl_uniform_p", PF_OPT_FLOAT, "0.05", 1e-12, 1.0, NULL,
     "RL search: a roll-out replaces the uniform strategy only if, on the validation images the "
     "two classify differently, it wins with a one-sided sign-test p-value at most this; 1: any "
     "higher reward (PocketFlow). Accuracy rewards only"},
    {"rl_resume", PF_OPT_STR, "", 0, 0, NULL,
     "RL search: run directory of an earlier search to continue (its rl/ files; the same "
     "budget and seed)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

void pf_ddpg_cfg_default(struct pf_ddpg_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->actor_depth = 2;
    c->actor_width = 64;
    c->critic_depth = 2;
    c->critic_width = 64;
    c->tau = 0.01;
    c->gamma = 0.9;
    c->lrn_rate = 1e-3;
    c->loss_w_dcy = 0.0;
    c->batch_size = 64;
    c->enbl_bsln_func = true;
    c->bsln_decy_rate = 0.95;
    c->noise_type = PF_DDPG_NOISE_PARAM;
    c->noise_prtl = PF_DDPG_PRTL_TDECY;
    c->noise_std_init = 1.0;
    c->noise_dst_finl = 1e-2;
    c->noise_adpt_rat = 1.03;
    c->noise_std_finl = 1e-5;
    c->a_min = 0.0;
    c->a_max = 1.0;
}

void pf_ddpg_cfg_from_opts(struct pf_ddpg_cfg *c, const struct pf_opts *o)
{
    c->actor_depth = (int)pf_opts_int(o, "ddpg_actor_depth");
    c->actor_width = (int)pf_opts_int(o, "ddpg_actor_width");
    c->critic_depth = (int)pf_opts_int(o, "ddpg_critic_depth");
    c->critic_width = (int)pf_opts_int(o, "ddpg_critic_width");
    c->tau = pf_opts_float(o, "ddpg_tau");
    c->gamma = pf_opts_float(o, "ddpg_gamma");
    c->lrn_rate = pf_opts_float(o, "ddpg_lrn_rate");
    c->loss_w_dcy = pf_opts_float(o, "ddpg_loss_w_dcy");
    c->batch_size = (int)pf_opts_int(o, "ddpg_batch_size");
    c->enbl_bsln_func = pf_opts_bool(o, "ddpg_enbl_bsln_func");
    c->bsln_decy_rate = pf_opts_float(o, "ddpg_bsln_decy_rate");
    c->noise_type = !strcmp(pf_opts_str(o, "ddpg_noise_type"), "action") ? PF_DDPG_NOISE_ACTION
                                                                         : PF_DDPG_NOISE_PARAM;
    c->noise_prtl = !strcmp(pf_opts_str(o, "ddpg_noise_prtl"), "adapt") ? PF_DDPG_PRTL_ADAPT
                                                                        : PF_DDPG_PRTL_TDECY;
    c->noise_std_init = pf_opts_float(o, "ddpg_noise_std_init");
    c->noise_dst_finl = pf_opts_float(o, "ddpg_noise_dst_finl");
    c->noise_adpt_rat = pf_opts_float(o, "ddpg_noise_adpt_rat");
    c->noise_std_finl = pf_opts_float(o, "ddpg_noise_std_finl");
}

/* ---- networks: a chain of layers, with an optional second input joining mid-way ---- */

struct net {
    struct pf_layer *layers; /* n_layers, in order; each reads the previous one's output */
    int n_layers;
    int join;          /* layer that reads [y[join - 1], extra] (the critic's action); -1: none */
    int extra;         /* values per sample of the joining input */
    int cap;           /* samples the buffers hold */
    float **y, **dy;   /* per layer: output and output gradient, (cap, out) */
    float *cat, *dcat; /* (cap, in of layer join): the joined input and its gradient */
    struct pf_param **params; /* every param of every layer, in order (pf_ddpg_net_params) */
    int n_params;
    size_t n_values; /* floats over all params */
};

/* Appends one layer made from a netdef row to n. */
static int net_add(struct net *n, const char *row, int in_dims)
{
    struct pf_cfg *c = NULL;
    int rc = pf_cfg_parse(row, strlen(row), "ddpg", &c);
    if (rc < 0)
        return rc;
    struct pf_layer *l = &n->layers[n->n_layers];
    struct pf_shape in = {in_dims, 1, 1};
    l->in_idx[0] = n->n_layers - 1;
    l->index = n->n_layers;
    rc = pf_layer_create(l, c, &in, 1);
    pf_cfg_free(c);
    if (rc < 0)
        return rc;
    n->n_layers++;
    return 0;
}

/* Adds a dense block (Dense(width) -> LayerNorm -> ReLU) reading in_dims values. */
static int net_block(struct net *n, int in_dims, int width)
{
    char row[128];
    int rc;
    snprintf(row, sizeof row, "{name: fc%d, type: dense, units: %d}", n->n_layers, width);
    if ((rc = net_add(n, row, in_dims)) < 0)
        return rc;
    snprintf(row, sizeof row, "{name: ln%d, type: layernorm, act: relu}", n->n_layers);
    return net_add(n, row, width);
}

static void net_free(struct net *n)
{
    for (int i = 0; n->y && i < n->n_layers; i++) {
        free(n->y[i]);
        free(n->dy[i]);
    }
    free(n->y);
    free(n->dy);
    free(n->cat);
    free(n->dcat);
    free(n->params);
    for (int i = 0; n->layers && i < n->n_layers; i++)
        pf_layer_destroy(&n->layers[i]);
    free(n->layers);
    memset(n, 0, sizeof *n);
}

/* Builds an actor (extra = 0: depth blocks then Dense(out)) or a critic (extra = a_dims: one
 * block, the action joins, depth blocks, Dense(out)) for batches of up to cap samples. */
static int net_build(struct net *n, int in_dims, int depth, int width, int extra, int out, int cap)
{
    int rc = -PF_ENOMEM, blocks = depth + (extra ? 1 : 0);
    memset(n, 0, sizeof *n);
    n->join = -1;
    n->extra = extra;
    n->cap = cap;
    n->layers = pf_calloc((size_t)(2 * blocks + 1), sizeof *n->layers);
    if (!n->layers)
        goto fail;
    int dims = in_dims;
    for (int b = 0; b < blocks; b++) {
        if (extra && b == 1) {
            n->join = n->n_layers;
            dims += extra;
        }
        if ((rc = net_block(n, dims, width)) < 0)
            goto fail;
        dims = width;
    }
    char row[128];
    snprintf(row, sizeof row, "{name: fc%d, type: dense, units: %d}", n->n_layers, out);
    if ((rc = net_add(n, row, dims)) < 0)
        goto fail;
    rc = -PF_ENOMEM;
    n->y = pf_calloc((size_t)n->n_layers, sizeof *n->y);
    n->dy = pf_calloc((size_t)n->n_layers, sizeof *n->dy);
    if (!n->y || !n->dy)
        goto fail;
    for (int i = 0; i < n->n_layers; i++) {
        struct pf_layer *l = &n->layers[i];
        size_t k = (size_t)cap * pf_shape_numel(l->out);
        if (!(n->y[i] = pf_malloc(k * sizeof(float))) || !(n->dy[i] = pf_malloc(k * sizeof(float))))
            goto fail;
        if (l->ops->set_batch && (rc = l->ops->set_batch(l, cap)) < 0)
            goto fail;
        rc = -PF_ENOMEM;
        n->n_params += l->n_params;
    }
    if (n->join >= 0) {
        size_t k = (size_t)cap * pf_shape_numel(n->layers[n->join].in[0]);
        if (!(n->cat = pf_malloc(k * sizeof(float))) || !(n->dcat = pf_malloc(k * sizeof(float))))
            goto fail;
    }
    if (!(n->params = pf_calloc((size_t)n->n_params, sizeof *n->params)))
        goto fail;
    int k = 0;
    for (int i = 0; i < n->n_layers; i++)
        for (int j = 0; j < n->layers[i].n_params; j++) {
            n->params[k++] = &n->layers[i].params[j];
            n->n_values += pf_tensor_numel(&n->layers[i].params[j].w);
        }
    return 0;
fail:
    net_free(n);
    return rc;
}

/* PyTorch's default init of every dense layer: weight and bias U(+-1/sqrt(fan_in)); layernorm
 * params keep gamma 1, beta 0. */
static void net_init(struct net *n, struct pf_rng *rng)
{
    for (int i = 0; i < n->n_layers; i++) {
        struct pf_layer *l = &n->layers[i];
        if (l->ops != &pf_layer_dense)
            continue;
        float bound = 1.0f / sqrtf((float)pf_shape_numel(l->in[0]));
        for (int j = 0; j < l->n_params; j++) {
            float *w = pf_tensor_f32(&l->params[j].w);
            size_t k = pf_tensor_numel(&l->params[j].w);
            for (size_t e = 0; e < k; e++)
                w[e] = (2.0f * pf_rng_uniform(rng) - 1.0f) * bound;
        }
    }
}

/* dst's values = src's (same architecture). */
static void net_copy(struct net *dst, const struct net *src)
{
    for (int i = 0; i < dst->n_params; i++)
        memcpy(pf_tensor_f32(&dst->params[i]->w), pf_tensor_f32(&src->params[i]->w),
               pf_tensor_numel(&src->params[i]->w) * sizeof(float));
}

/* Forward over N <= cap samples of x (N, in) and, for a critic, extra (N, extra). Returns the
 * output (N, out), owned by n. */
static const float *net_forward(struct net *n, const float *x, const float *extra, int N)
{
    for (int i = 0; i < n->n_layers; i++) {
        struct pf_layer *l = &n->layers[i];
        const float *in = i == 0 ? x : n->y[i - 1];
        if (i == n->join) {
            /* [previous block's output, extra] per sample */
            int w = n->layers[i - 1].out.c, d = w + n->extra;
            for (int s = 0; s < N; s++) {
                memcpy(n->cat + (size_t)s * d, n->y[i - 1] + (size_t)s * w,
                       (size_t)w * sizeof(float));
                memcpy(n->cat + (size_t)s * d + w, extra + (size_t)s * n->extra,
                       (size_t)n->extra * sizeof(float));
            }
            in = n->cat;
        }
        /* dense and layernorm cannot fail once sized: N <= cap was checked by the callers */
        (void)l->ops->forward(l, (const float *const[]){in}, n->y[i], N, true);
    }
    return n->y[n->n_layers - 1];
}

/* The output gradient buffer (cap, out) that net_backward reads. */
static float *net_dout(struct net *n)
{
    return n->dy[n->n_layers - 1];
}

/* Backward after net_forward with the same inputs, from net_dout(n): accumulates into the param
 * gradients and, when dextra is not NULL, writes d(loss)/d(extra) (N, extra). */
static void net_backward(struct net *n, const float *x, float *dextra, int N)
{
    for (int i = n->n_layers - 1; i >= 0; i--) {
        struct pf_layer *l = &n->layers[i];
        const float *in = i == 0 ? x : i == n->join ? n->cat : n->y[i - 1];
        float *dx = i == 0 ? NULL : i == n->join ? n->dcat : n->dy[i - 1];
        (void)l->ops->backward(l, (const float *const[]){in}, n->y[i], n->dy[i],
                               (float *const[]){dx}, N);
        if (i == n->join) {
            int w = n->layers[i - 1].out.c, d = w + n->extra;
            for (int s = 0; s < N; s++) {
                memcpy(n->dy[i - 1] + (size_t)s * w, n->dcat + (size_t)s * d,
                       (size_t)w * sizeof(float));
                if (dextra)
                    memcpy(dextra + (size_t)s * n->extra, n->dcat + (size_t)s * d + w,
                           (size_t)n->extra * sizeof(float));
            }
        }
    }
}

static void net_zero_grad(struct net *n)
{
    for (int i = 0; i < n->n_params; i++)
        if (n->params[i]->g.data)
            memset(n->params[i]->g.data, 0, pf_tensor_numel(&n->params[i]->g) * sizeof(float));
}

/* 0.5 * sum(w^2) over the params the optimizer decays (dense weights). */
static double net_half_l2(const struct net *n)
{
    double s = 0.0;
    for (int i = 0; i < n->n_params; i++) {
        const struct pf_param *p = n->params[i];
        if (!p->decay)
            continue;
        const float *w = pf_tensor_f32(&p->w);
        for (size_t e = 0; e < pf_tensor_numel(&p->w); e++)
            s += (double)w[e] * w[e];
    }
    return 0.5 * s;
}

/* ---- the agent ---- */

struct pf_ddpg {
    struct pf_ddpg_cfg cfg;
    struct pf_rng rng; /* the one stream: init, noise, sampling */
    struct net actor, actor_tr, actor_np, actor_ns, critic, critic_tr;
    struct pf_optim opt_actor, opt_critic;
    /* replay buffer, buf_size rows each */
    float *b_s, *b_a, *b_t, *b_s2; /* states, actions, terminals (0 / 1), next states */
    double *b_r;                   /* rewards */
    long b_count, b_pos;           /* transitions held; next slot to write */
    /* batch scratch, batch_size rows each */
    float *s, *act, *t, *s2, *mu, *sig, *da;
    double *r;
    double ema;    /* reward baseline */
    bool ema_set;  /* ema holds at least one roll-out's mean */
    double std;    /* noise std */
    long n_rlouts; /* roll-outs finished (pf_ddpg_finalize_rlout calls) */
    bool trained;  /* a train step has run: the noise protocol is active */
    long n_train;  /* train steps run */
};

static int check_cfg(const struct pf_ddpg_cfg *c)
{
    const int big = 1 << 20;
    if (c->s_dims < 1 || c->s_dims > big || c->a_dims < 1 || c->a_dims > big)
        return PF_ERR(PF_EINVAL, "DDPG: state and action dimensions must be 1..%d (got %d, %d)",
                      big, c->s_dims, c->a_dims);
    if (!(c->a_min < c->a_max) || !isfinite(c->a_min) || !isfinite(c->a_max))
        return PF_ERR(PF_EINVAL, "DDPG: action bounds [%g, %g] must be finite with a_min < a_max",
                      c->a_min, c->a_max);
    if (c->actor_depth < 1 || c->actor_depth > 16 || c->critic_depth < 1 || c->critic_depth > 16)
        return PF_ERR(PF_EINVAL, "DDPG: actor and critic depths must be 1..16 (got %d, %d)",
                      c->actor_depth, c->critic_depth);
    if (c->actor_width < 1 || c->actor_width > 65536 || c->critic_width < 1 ||
        c->critic_width > 65536)
        return PF_ERR(PF_EINVAL, "DDPG: actor and critic widths must be 1..65536 (got %d, %d)",
                      c->actor_width, c->critic_width);
    if (c->batch_size < 1 || c->batch_size > 65536)
        return PF_ERR(PF_EINVAL, "DDPG: batch size %d must be 1..65536", c->batch_size);
    if (c->buf_size < c->batch_size || c->buf_size > (1 << 26))
        return PF_ERR(PF_EINVAL,
                      "DDPG: the replay buffer (%d transitions) must hold at least one batch (%d) "
                      "and at most %d",
                      c->buf_size, c->batch_size, 1 << 26);
    if (c->nb_rlouts < 1)
        return PF_ERR(PF_EINVAL, "DDPG: nb_rlouts %d must be at least 1", c->nb_rlouts);
    if (!(c->tau >= 0.0 && c->tau <= 1.0) || !(c->gamma >= 0.0 && c->gamma <= 1.0) ||
        !(c->bsln_decy_rate >= 0.0 && c->bsln_decy_rate <= 1.0))
        return PF_ERR(PF_EINVAL,
                      "DDPG: tau (%g), gamma (%g) and bsln_decy_rate (%g) must be in "
                      "[0, 1]",
                      c->tau, c->gamma, c->bsln_decy_rate);
    if (!(c->lrn_rate > 0.0) || !isfinite(c->lrn_rate) || !(c->loss_w_dcy >= 0.0))
        return PF_ERR(PF_EINVAL, "DDPG: lrn_rate (%g) must be > 0 and loss_w_dcy (%g) >= 0",
                      c->lrn_rate, c->loss_w_dcy);
    if (!(c->noise_std_init >= 0.0) || !(c->noise_std_finl >= 0.0) || !(c->noise_dst_finl >= 0.0) ||
        !(c->noise_adpt_rat > 0.0) || !isfinite(c->noise_std_init) || !isfinite(c->noise_adpt_rat))
        return PF_ERR(PF_EINVAL, "DDPG: noise stds and distance must be >= 0, adpt_rat > 0");
    if ((c->noise_type != PF_DDPG_NOISE_PARAM && c->noise_type != PF_DDPG_NOISE_ACTION) ||
        (c->noise_prtl != PF_DDPG_PRTL_TDECY && c->noise_prtl != PF_DDPG_PRTL_ADAPT))
        return PF_ERR(PF_EINVAL, "DDPG: unknown noise type or protocol");
    return 0;
}

void pf_ddpg_free(struct pf_ddpg *a)
{
    if (!a)
        return;
    free(a->r);
    free(a->da);
    free(a->sig);
    free(a->mu);
    free(a->s2);
    free(a->t);
    free(a->act);
    free(a->s);
    free(a->b_r);
    free(a->b_s2);
    free(a->b_t);
    free(a->b_a);
    free(a->b_s);
    pf_optim_deinit(&a->opt_critic);
    pf_optim_deinit(&a->opt_actor);
    net_free(&a->critic_tr);
    net_free(&a->critic);
    net_free(&a->actor_ns);
    net_free(&a->actor_np);
    net_free(&a->actor_tr);
    net_free(&a->actor);
    free(a);
}

int pf_ddpg_new(struct pf_ddpg **out, const struct pf_ddpg_cfg *c)
{
    *out = NULL;
    int rc = check_cfg(c);
    if (rc < 0)
        return rc;
    struct pf_ddpg *a = pf_calloc(1, sizeof *a);
    if (!a)
        return -PF_ENOMEM;
    a->cfg = *c;
    pf_rng_seed(&a->rng, c->seed);
    int B = c->batch_size, S = c->s_dims, A = c->a_dims;
    if ((rc = net_build(&a->actor, S, c->actor_depth, c->actor_width, 0, A, B)) < 0 ||
        (rc = net_build(&a->actor_tr, S, c->actor_depth, c->actor_width, 0, A, B)) < 0 ||
        (rc = net_build(&a->actor_np, S, c->actor_depth, c->actor_width, 0, A, B)) < 0 ||
        (rc = net_build(&a->actor_ns, S, c->actor_depth, c->actor_width, 0, A, B)) < 0 ||
        (rc = net_build(&a->critic, S, c->critic_depth, c->critic_width, A, 1, B)) < 0 ||
        (rc = net_build(&a->critic_tr, S, c->critic_depth, c->critic_width, A, 1, B)) < 0)
        goto fail;
    net_init(&a->actor, &a->rng);
    net_init(&a->critic, &a->rng);
    net_copy(&a->actor_tr, &a->actor);
    net_copy(&a->actor_np, &a->actor);
    net_copy(&a->actor_ns, &a->actor);
    net_copy(&a->critic_tr, &a->critic);
    /* Adam(lrn_rate) with TensorFlow's betas; weight_decay adds wd * w to the gradient, the
     * derivative of PocketFlow's wd * tf.nn.l2_loss(w) */
    struct pf_optim_cfg oc = {.kind = PF_OPTIM_ADAM,
                              .weight_decay = c->loss_w_dcy,
                              .beta1 = 0.9,
                              .beta2 = 0.999,
                              .eps = 1e-8};
    if ((rc = pf_optim_init_params(&a->opt_actor, a->actor.params, a->actor.n_params, &oc)) < 0 ||
        (rc = pf_optim_init_params(&a->opt_critic, a->critic.params, a->critic.n_params, &oc)) < 0)
        goto fail;
    size_t n = (size_t)c->buf_size;
    rc = -PF_ENOMEM;
    if (!(a->b_s = pf_calloc(n * S, sizeof(float))) ||
        !(a->b_a = pf_calloc(n * A, sizeof(float))) || !(a->b_t = pf_calloc(n, sizeof(float))) ||
        !(a->b_s2 = pf_calloc(n * S, sizeof(float))) || !(a->b_r = pf_calloc(n, sizeof(double))))
        goto fail;
    if (!(a->s = pf_calloc((size_t)B * S, sizeof(float))) ||
        !(a->act = pf_calloc((size_t)B * A, sizeof(float))) ||
        !(a->t = pf_calloc((size_t)B, sizeof(float))) ||
        !(a->s2 = pf_calloc((size_t)B * S, sizeof(float))) ||
        !(a->mu = pf_calloc((size_t)B * A, sizeof(float))) ||
        !(a->sig = pf_calloc((size_t)B * A, sizeof(float))) ||
        !(a->da = pf_calloc((size_t)B * A, sizeof(float))) ||
        !(a->r = pf_calloc((size_t)B, sizeof(double))))
        goto fail;
    a->std = c->noise_std_init;
    *out = a;
    return 0;
fail:
    pf_ddpg_free(a);
    return rc;
}

/* ---- acting ---- */

static float sigmoid(float z)
{
    return z >= 0.0f ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

/* Actions of an actor for N states: a_min + (a_max - a_min) * sigmoid(z) into act (N, a_dims);
 * the sigmoids go to sig (N, a_dims) when not NULL (for the actor's backward). */
static void actor_act(struct pf_ddpg *a, struct net *n, const float *s, int N, float *act,
                      float *sig)
{
    const float *z = net_forward(n, s, NULL, N);
    float lo = (float)a->cfg.a_min, span = (float)(a->cfg.a_max - a->cfg.a_min);
    for (size_t i = 0; i < (size_t)N * a->cfg.a_dims; i++) {
        float g = sigmoid(z[i]);
        if (sig)
            sig[i] = g;
        act[i] = lo + span * g;
    }
}

static float clip(float v, double lo, double hi)
{
    return v < (float)lo ? (float)lo : v > (float)hi ? (float)hi : v;
}

/* dst = src + N(0, std^2) on every trainable weight except layernorm params, which are
 * copied (PocketFlow's perturbable_vars). */
static void perturb(struct pf_ddpg *a, struct net *dst, const struct net *src)
{
    for (int i = 0; i < src->n_layers; i++) {
        const struct pf_layer *l = &src->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const struct pf_param *p = &l->params[j];
            const float *w = pf_tensor_f32(&p->w);
            float *d = pf_tensor_f32(&dst->layers[i].params[j].w);
            size_t k = pf_tensor_numel(&p->w);
            bool noisy = p->trainable && l->ops != &pf_layer_layernorm;
            for (size_t e = 0; e < k; e++)
                d[e] = noisy ? w[e] + (float)a->std * pf_rng_normal(&a->rng) : w[e];
        }
    }
}

void pf_ddpg_init_rlout(struct pf_ddpg *a)
{
    if (a->cfg.noise_type == PF_DDPG_NOISE_PARAM)
        perturb(a, &a->actor_np, &a->actor);
}

void pf_ddpg_act(struct pf_ddpg *a, const float *s, bool noisy, float *act)
{
    bool param = noisy && a->cfg.noise_type == PF_DDPG_NOISE_PARAM;
    actor_act(a, param ? &a->actor_np : &a->actor, s, 1, act, NULL);
    if (noisy && a->cfg.noise_type == PF_DDPG_NOISE_ACTION)
        for (int j = 0; j < a->cfg.a_dims; j++)
            act[j] =
                clip(act[j] + (float)a->std * pf_rng_normal(&a->rng), a->cfg.a_min, a->cfg.a_max);
}

/* ---- replay buffer ---- */

void pf_ddpg_record(struct pf_ddpg *a, const float *s, const float *act, double reward,
                    const float *s_next, bool terminal)
{
    size_t i = (size_t)a->b_pos, S = (size_t)a->cfg.s_dims, A = (size_t)a->cfg.a_dims;
    memcpy(a->b_s + i * S, s, S * sizeof(float));
    memcpy(a->b_a + i * A, act, A * sizeof(float));
    memcpy(a->b_s2 + i * S, s_next, S * sizeof(float));
    a->b_r[i] = reward;
    a->b_t[i] = terminal ? 1.0f : 0.0f;
    a->b_pos = (a->b_pos + 1) % a->cfg.buf_size;
    if (a->b_count < a->cfg.buf_size)
        a->b_count++;
}

bool pf_ddpg_ready(const struct pf_ddpg *a)
{
    return a->b_count == a->cfg.buf_size;
}

/* Draws batch_size transitions uniformly with replacement into the batch scratch. */
static void sample_batch(struct pf_ddpg *a)
{
    size_t S = (size_t)a->cfg.s_dims, A = (size_t)a->cfg.a_dims;
    for (int b = 0; b < a->cfg.batch_size; b++) {
        size_t i = pf_rng_below(&a->rng, (uint32_t)a->b_count);
        memcpy(a->s + b * S, a->b_s + i * S, S * sizeof(float));
        memcpy(a->act + b * A, a->b_a + i * A, A * sizeof(float));
        memcpy(a->s2 + b * S, a->b_s2 + i * S, S * sizeof(float));
        a->r[b] = a->b_r[i];
        a->t[b] = a->b_t[i];
    }
}

/* ---- training ---- */

/* target = (1 - tau) target + tau main, over every param (the layers' params are all
 * trainable; PocketFlow copies non-trainable ones, of which these nets have none). Computed in
 * double and rounded once, so tests can reproduce it exactly. */
static void soft_update(struct net *target, const struct net *main, double tau)
{
    for (int i = 0; i < main->n_params; i++) {
        const float *m = pf_tensor_f32(&main->params[i]->w);
        float *t = pf_tensor_f32(&target->params[i]->w);
        size_t k = pf_tensor_numel(&main->params[i]->w);
        if (!main->params[i]->trainable) {
            memcpy(t, m, k * sizeof(float));
            continue;
        }
        for (size_t e = 0; e < k; e++)
            t[e] = (float)((1.0 - tau) * t[e] + tau * m[e]);
    }
}

int pf_ddpg_train(struct pf_ddpg *a, double *actor_loss, double *critic_loss)
{
    if (!pf_ddpg_ready(a))
        return 1;
    const struct pf_ddpg_cfg *c = &a->cfg;
    int B = c->batch_size, A = c->a_dims;
    a->trained = true;
    sample_batch(a);
    double bsln = c->enbl_bsln_func ? a->ema : 0.0;

    /* critic: y = r - baseline + (1 - terminal) gamma Q'(s', mu'(s')); loss 0.5 sum (Q - y)^2 */
    actor_act(a, &a->actor_tr, a->s2, B, a->mu, NULL);
    const float *q2 = net_forward(&a->critic_tr, a->s2, a->mu, B);
    double *y = a->r; /* r becomes y in place */
    for (int b = 0; b < B; b++)
        y[b] = a->r[b] - bsln + (1.0 - a->t[b]) * c->gamma * q2[b];
    const float *q = net_forward(&a->critic, a->s, a->act, B);
    float *dq = net_dout(&a->critic);
    double lc = 0.0;
    for (int b = 0; b < B; b++) {
        double d = q[b] - y[b];
        lc += 0.5 * d * d;
        dq[b] = (float)d;
    }
    lc += c->loss_w_dcy * net_half_l2(&a->critic);
    net_zero_grad(&a->critic);
    net_backward(&a->critic, a->s, NULL, B);
    pf_optim_step(&a->opt_critic, (float)c->lrn_rate);

    /* actor: loss -mean Q(s, mu(s)), through the updated critic; dQ/da then the sigmoid and
     * the [a_min, a_max] scaling back into the actor */
    actor_act(a, &a->actor, a->s, B, a->mu, a->sig);
    q = net_forward(&a->critic, a->s, a->mu, B);
    double la = 0.0;
    for (int b = 0; b < B; b++) {
        la -= q[b];
        dq[b] = -1.0f / (float)B;
    }
    la = la / B + c->loss_w_dcy * net_half_l2(&a->actor);
    net_backward(&a->critic, a->s, a->da, B); /* critic grads are discarded: zeroed next step */
    float *dz = net_dout(&a->actor), span = (float)(c->a_max - c->a_min);
    for (size_t i = 0; i < (size_t)B * A; i++)
        dz[i] = a->da[i] * span * a->sig[i] * (1.0f - a->sig[i]);
    net_zero_grad(&a->actor);
    net_backward(&a->actor, a->s, NULL, B);
    pf_optim_step(&a->opt_actor, (float)c->lrn_rate);

    soft_update(&a->actor_tr, &a->actor, c->tau);
    soft_update(&a->critic_tr, &a->critic, c->tau);
    a->n_train++;
    if (actor_loss)
        *actor_loss = la;
    if (critic_loss)
        *critic_loss = lc;
    return 0;
}

/* Plappert's distance: mean |a_clean - a_perturbed| over batch_size buffer states, the
 * perturbed actions from a fresh perturbation with the current std (param noise) or the
 * clipped Gaussian (action noise). */
static double action_distance(struct pf_ddpg *a)
{
    int B = a->cfg.batch_size, A = a->cfg.a_dims;
    sample_batch(a);
    actor_act(a, &a->actor, a->s, B, a->act, NULL);
    if (a->cfg.noise_type == PF_DDPG_NOISE_PARAM) {
        perturb(a, &a->actor_ns, &a->actor);
        actor_act(a, &a->actor_ns, a->s, B, a->mu, NULL);
    } else {
        for (size_t i = 0; i < (size_t)B * A; i++)
            a->mu[i] = clip(a->act[i] + (float)a->std * pf_rng_normal(&a->rng), a->cfg.a_min,
                            a->cfg.a_max);
    }
    double d = 0.0;
    for (size_t i = 0; i < (size_t)B * A; i++)
        d += fabs((double)a->act[i] - a->mu[i]);
    return d / ((double)B * A);
}

void pf_ddpg_finalize_rlout(struct pf_ddpg *a, const double *rewards, int n)
{
    const struct pf_ddpg_cfg *c = &a->cfg;
    if (c->enbl_bsln_func && n > 0) {
        double mean = 0.0;
        for (int i = 0; i < n; i++)
            mean += rewards[i];
        mean /= n;
        a->ema = a->ema_set ? c->bsln_decy_rate * a->ema + (1.0 - c->bsln_decy_rate) * mean : mean;
        a->ema_set = true;
    }
    if (a->trained) {
        if (c->noise_prtl == PF_DDPG_PRTL_TDECY) {
            if (c->noise_std_init > 0.0)
                a->std *= pow(c->noise_std_finl / c->noise_std_init, 1.0 / c->nb_rlouts);
        } else {
            double d = action_distance(a);
            a->std =
                d > c->noise_dst_finl ? a->std / c->noise_adpt_rat : a->std * c->noise_adpt_rat;
        }
    }
    a->n_rlouts++;
}

double pf_ddpg_noise_std(const struct pf_ddpg *a)
{
    return a->std;
}

double pf_ddpg_baseline(const struct pf_ddpg *a)
{
    return a->ema;
}

double pf_ddpg_q(struct pf_ddpg *a, const float *s, const float *act)
{
    return net_forward(&a->critic, s, act, 1)[0];
}

static const struct net *net_of(const struct pf_ddpg *a, enum pf_ddpg_net which)
{
    switch (which) {
    case PF_DDPG_ACTOR:
        return &a->actor;
    case PF_DDPG_ACTOR_TARGET:
        return &a->actor_tr;
    case PF_DDPG_ACTOR_NOISY:
        return &a->actor_np;
    case PF_DDPG_CRITIC:
        return &a->critic;
    case PF_DDPG_CRITIC_TARGET:
        return &a->critic_tr;
    }
    return NULL;
}

size_t pf_ddpg_net_params(const struct pf_ddpg *a, enum pf_ddpg_net which, float *out, size_t n)
{
    const struct net *net = net_of(a, which);
    if (!net)
        return 0;
    if (out && n >= net->n_values)
        for (int i = 0; i < net->n_params; i++) {
            size_t k = pf_tensor_numel(&net->params[i]->w);
            memcpy(out, pf_tensor_f32(&net->params[i]->w), k * sizeof(float));
            out += k;
        }
    return net->n_values;
}

/* ---- checkpoint (format at the top of this file) ---- */

#define CKPT_MAGIC   "PFDDPGCK"
#define CKPT_VERSION 1u
#define CKPT_BOM     0x01020304u
#define CKPT_HEAD    16 /* magic, version, byte-order mark */

enum io_mode { IO_COUNT, IO_SAVE, IO_LOAD };

/* One walk over the state for all three directions, so the writer and the reader cannot
 * disagree: IO_COUNT only adds up sizes, IO_SAVE copies the state into buf, IO_LOAD copies
 * buf into the state. The caller has checked that buf holds `len` bytes. */
struct io {
    enum io_mode mode;
    unsigned char *buf;
    size_t off, len;
    bool overrun; /* a read or write past len (never once the length is checked) */
};

static void io_bytes(struct io *io, void *p, size_t n)
{
    if (io->mode != IO_COUNT) {
        if (io->off + n > io->len) {
            io->overrun = true;
            return;
        }
        if (io->mode == IO_SAVE)
            memcpy(io->buf + io->off, p, n);
        else
            memcpy(p, io->buf + io->off, n);
    }
    io->off += n;
}

static void io_i64(struct io *io, long *v)
{
    int64_t x = *v;
    io_bytes(io, &x, sizeof x);
    *v = (long)x;
}

static void io_bool(struct io *io, bool *v)
{
    uint8_t x = *v ? 1 : 0;
    io_bytes(io, &x, 1);
    *v = x != 0;
}

static void io_floats(struct io *io, float *v, size_t n)
{
    io_bytes(io, v, n * sizeof(float));
}

/* The cfg's fields in declaration order, with their names for mismatch messages. */
enum cfg_type { CF_INT, CF_DBL, CF_BOOL, CF_ENUM, CF_U64 };
static const struct {
    const char *name;
    size_t off;
    enum cfg_type type;
} cfg_fields[] = {
#define F(field, type)                                                                             \
    {                                                                                              \
#field, offsetof(struct pf_ddpg_cfg, field), type                                          \
    }
    F(s_dims, CF_INT),         F(a_dims, CF_INT),          F(a_min, CF_DBL),
    F(a_max, CF_DBL),          F(actor_depth, CF_INT),     F(actor_width, CF_INT),
    F(critic_depth, CF_INT),   F(critic_width, CF_INT),    F(tau, CF_DBL),
    F(gamma, CF_DBL),          F(lrn_rate, CF_DBL),        F(loss_w_dcy, CF_DBL),
    F(batch_size, CF_INT),     F(enbl_bsln_func, CF_BOOL), F(bsln_decy_rate, CF_DBL),
    F(noise_type, CF_ENUM),    F(noise_prtl, CF_ENUM),     F(noise_std_init, CF_DBL),
    F(noise_dst_finl, CF_DBL), F(noise_adpt_rat, CF_DBL),  F(noise_std_finl, CF_DBL),
    F(nb_rlouts, CF_INT),      F(buf_size, CF_INT),        F(seed, CF_U64),
#undef F
};
_Static_assert(sizeof(enum pf_ddpg_noise_type) == sizeof(int) &&
                   sizeof(enum pf_ddpg_noise_prtl) == sizeof(int),
               "enums are stored as i32");

/* Reads or writes one cfg field as its stored type. */
static void io_cfg_field(struct io *io, struct pf_ddpg_cfg *c, size_t i)
{
    char *p = (char *)c + cfg_fields[i].off;
    switch (cfg_fields[i].type) {
    case CF_INT:
    case CF_ENUM: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        io_bytes(io, &v, sizeof v);
        memcpy(p, &v, sizeof v);
        break;
    }
    case CF_BOOL: {
        bool b;
        memcpy(&b, p, sizeof b);
        int32_t v = b;
        io_bytes(io, &v, sizeof v);
        b = v != 0;
        memcpy(p, &b, sizeof b);
        break;
    }
    case CF_DBL:
        io_bytes(io, p, sizeof(double));
        break;
    case CF_U64:
        io_bytes(io, p, sizeof(uint64_t));
        break;
    }
}

static void io_net(struct io *io, struct net *n)
{
    for (int i = 0; i < n->n_params; i++)
        io_floats(io, pf_tensor_f32(&n->params[i]->w), pf_tensor_numel(&n->params[i]->w));
}

static void io_optim(struct io *io, struct pf_optim *o)
{
    io_i64(io, &o->t);
    for (int i = 0; i < o->n; i++) {
        size_t k = pf_tensor_numel(&o->p[i]->w);
        io_floats(io, o->m1[i], k);
        io_floats(io, o->m2[i], k);
    }
}

/* Everything after the cfg, before the checksum. */
static void io_state(struct io *io, struct pf_ddpg *a)
{
    size_t n = (size_t)a->cfg.buf_size, S = (size_t)a->cfg.s_dims, A = (size_t)a->cfg.a_dims;
    io_bytes(io, &a->ema, sizeof a->ema);
    io_bool(io, &a->ema_set);
    io_bytes(io, &a->std, sizeof a->std);
    io_i64(io, &a->n_rlouts);
    io_bool(io, &a->trained);
    io_i64(io, &a->n_train);
    io_bytes(io, a->rng.s, sizeof a->rng.s);
    io_i64(io, &a->b_count);
    io_i64(io, &a->b_pos);
    io_floats(io, a->b_s, n * S);
    io_floats(io, a->b_a, n * A);
    io_bytes(io, a->b_r, n * sizeof(double));
    io_floats(io, a->b_t, n);
    io_floats(io, a->b_s2, n * S);
    io_net(io, &a->actor);
    io_net(io, &a->actor_tr);
    io_net(io, &a->actor_np);
    io_net(io, &a->critic);
    io_net(io, &a->critic_tr);
    io_optim(io, &a->opt_actor);
    io_optim(io, &a->opt_critic);
}

static size_t cfg_bytes(void)
{
    struct io io = {.mode = IO_COUNT};
    struct pf_ddpg_cfg c = {0};
    for (size_t i = 0; i < PF_ARRAY_LEN(cfg_fields); i++)
        io_cfg_field(&io, &c, i);
    return io.off;
}

/* The file size for agent a: header, cfg, state, checksum. */
static size_t ckpt_bytes(const struct pf_ddpg *a)
{
    struct io io = {.mode = IO_COUNT};
    io_state(&io, (struct pf_ddpg *)a); /* counting reads nothing */
    return CKPT_HEAD + cfg_bytes() + io.off + sizeof(uint64_t);
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int pf_ddpg_save(const struct pf_ddpg *a, const char *path)
{
    size_t len = ckpt_bytes(a);
    unsigned char *buf = pf_malloc(len);
    int rc = -PF_ENOMEM;
    if (!buf)
        goto out;
    uint32_t version = CKPT_VERSION, bom = CKPT_BOM;
    memcpy(buf, CKPT_MAGIC, 8);
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 12, &bom, 4);
    struct io io = {.mode = IO_SAVE, .buf = buf, .off = CKPT_HEAD, .len = len};
    struct pf_ddpg_cfg c = a->cfg;
    for (size_t i = 0; i < PF_ARRAY_LEN(cfg_fields); i++)
        io_cfg_field(&io, &c, i);
    /* IO_SAVE only reads the agent; the walk is shared with IO_LOAD, hence the cast */
    io_state(&io, (struct pf_ddpg *)a);
    uint64_t sum = fnv1a64(buf, io.off);
    io_bytes(&io, &sum, sizeof sum);
    PF_ASSERT(!io.overrun && io.off == len);
    rc = pf_file_write_atomic(path, buf, len);
out:
    free(buf);
    return rc;
}

/* The first cfg field that differs between the file's and the agent's, as an error. */
static int cfg_mismatch(const char *path, const struct pf_ddpg_cfg *file,
                        const struct pf_ddpg_cfg *here)
{
    for (size_t i = 0; i < PF_ARRAY_LEN(cfg_fields); i++) {
        const char *pf = (const char *)file + cfg_fields[i].off;
        const char *ph = (const char *)here + cfg_fields[i].off;
        char vf[32], vh[32];
        switch (cfg_fields[i].type) {
        case CF_INT:
        case CF_ENUM: {
            int x, y;
            memcpy(&x, pf, sizeof x);
            memcpy(&y, ph, sizeof y);
            if (x == y)
                continue;
            snprintf(vf, sizeof vf, "%d", x);
            snprintf(vh, sizeof vh, "%d", y);
            break;
        }
        case CF_BOOL: {
            bool x, y;
            memcpy(&x, pf, sizeof x);
            memcpy(&y, ph, sizeof y);
            if (x == y)
                continue;
            snprintf(vf, sizeof vf, "%s", x ? "true" : "false");
            snprintf(vh, sizeof vh, "%s", y ? "true" : "false");
            break;
        }
        case CF_DBL: {
            double x, y;
            memcpy(&x, pf, sizeof x);
            memcpy(&y, ph, sizeof y);
            if (!memcmp(&x, &y, sizeof x))
                continue;
            snprintf(vf, sizeof vf, "%.9g", x);
            snprintf(vh, sizeof vh, "%.9g", y);
            break;
        }
        case CF_U64: {
            uint64_t x, y;
            memcpy(&x, pf, sizeof x);
            memcpy(&y, ph, sizeof y);
            if (x == y)
                continue;
            snprintf(vf, sizeof vf, "%llu", (unsigned long long)x);
            snprintf(vh, sizeof vh, "%llu", (unsigned long long)y);
            break;
        }
        }
        return PF_ERR(PF_EINVAL,
                      "%s: the checkpoint is of another DDPG agent: %s is %s in the file but %s "
                      "here",
                      path, cfg_fields[i].name, vf, vh);
    }
    return 0;
}

int pf_ddpg_load(struct pf_ddpg *a, const char *path)
{
    size_t want = ckpt_bytes(a), have = 0;
    unsigned char *buf = NULL;
    struct pf_ddpg *t = NULL;
    int rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot open: %s", path, strerror(errno));
    /* read at most want + 1 bytes: enough to tell a long file from a right one */
    if (!(buf = pf_malloc(want + 1))) {
        rc = -PF_ENOMEM;
        goto out;
    }
    have = fread(buf, 1, want + 1, f);
    if (ferror(f)) {
        rc = PF_ERR(PF_EIO, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (have < CKPT_HEAD) {
        rc = PF_ERR(PF_EPARSE, "%s: too short for a DDPG checkpoint (%zu bytes)", path, have);
        goto out;
    }
    if (memcmp(buf, CKPT_MAGIC, 8) != 0) {
        rc = PF_ERR(PF_EPARSE, "%s: not a DDPG checkpoint (no \"%s\" magic)", path, CKPT_MAGIC);
        goto out;
    }
    uint32_t version, bom;
    memcpy(&version, buf + 8, 4);
    memcpy(&bom, buf + 12, 4);
    if (bom != CKPT_BOM) {
        rc = PF_ERR(PF_EPARSE, "%s: DDPG checkpoint from a machine of another byte order", path);
        goto out;
    }
    if (version != CKPT_VERSION) {
        rc = PF_ERR(PF_EPARSE, "%s: DDPG checkpoint version %u; this program reads version %u",
                    path, version, CKPT_VERSION);
        goto out;
    }
    if (have < CKPT_HEAD + cfg_bytes()) {
        rc = PF_ERR(PF_EPARSE, "%s: truncated DDPG checkpoint (%zu bytes, ends in its cfg)", path,
                    have);
        goto out;
    }
    struct pf_ddpg_cfg fc = {0};
    struct io io = {.mode = IO_LOAD, .buf = buf, .off = CKPT_HEAD, .len = have};
    for (size_t i = 0; i < PF_ARRAY_LEN(cfg_fields); i++)
        io_cfg_field(&io, &fc, i);
    if ((rc = cfg_mismatch(path, &fc, &a->cfg)) < 0)
        goto out;
    if (have < want) {
        rc = PF_ERR(PF_EPARSE, "%s: DDPG checkpoint is truncated (%zu bytes, %zu expected)", path,
                    have, want);
        goto out;
    }
    if (have > want) {
        rc = PF_ERR(PF_EPARSE, "%s: DDPG checkpoint is too long (more than the %zu bytes expected)",
                    path, want);
        goto out;
    }
    uint64_t sum;
    memcpy(&sum, buf + want - sizeof sum, sizeof sum);
    if (sum != fnv1a64(buf, want - sizeof sum)) {
        rc = PF_ERR(PF_EPARSE, "%s: DDPG checkpoint is corrupt (checksum mismatch)", path);
        goto out;
    }
    /* into a fresh agent first, so that a bad value leaves a untouched */
    if ((rc = pf_ddpg_new(&t, &a->cfg)) < 0)
        goto out;
    io_state(&io, t);
    PF_ASSERT(!io.overrun && io.off == want - sizeof sum);
    if (t->b_count < 0 || t->b_count > t->cfg.buf_size || t->b_pos < 0 ||
        t->b_pos >= t->cfg.buf_size || t->n_rlouts < 0 || t->n_train < 0 || t->opt_actor.t < 0 ||
        t->opt_critic.t < 0 || !(t->std >= 0.0) || !isfinite(t->ema)) {
        rc = PF_ERR(PF_EPARSE, "%s: DDPG checkpoint holds out-of-range counters", path);
        goto out;
    }
    struct pf_ddpg swap = *a;
    *a = *t;
    *t = swap;
    rc = 0;
out:
    pf_ddpg_free(t);
    free(buf);
    fclose(f);
    return rc;
}
