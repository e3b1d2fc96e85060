/* check_ddpg.c: the DDPG agent (learners/common/ddpg.h). A toy task it must learn (PocketFlow's
 * rl_agents/unit_tests/move_to_target.py, smaller); the soft update against the formula; the
 * noise protocols and the reward baseline against their formulas; param noise leaves the
 * LayerNorm params alone; determinism per seed; a checkpoint resumes bit-identically and bad
 * checkpoints give errors naming the file; bad cfgs are refused. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "learners/common/ddpg.h"

#define TOY_DIMS     3     /* the point lives in R^3, actions are moves in [-1, 1]^3 */
#define TOY_STEPS    20    /* steps per episode */
#define TOY_EPISODES 120   /* roll-outs of the search */
#define TOY_START    2.0   /* start positions are uniform in [-2, 2]^d */
#define TOY_BOX      4.0   /* positions are clipped to [-4, 4]^d */
#define TOY_MARGIN   2.0   /* the last episodes' mean return beats the first ones' by this */
#define TOY_WINDOW   10    /* episodes averaged at each end */
#define TOY_CLEAN    0.75  /* the clean policy ends its episodes at most this fraction as far out */
#define REL_EXACT    1e-12 /* for double formulas recomputed in the test */
#define TD_STEPS     600   /* train steps for the critic to settle on one transition */
#define TD_TOL       0.01  /* how close Q settles to the TD fixed point */

/* ---- a small agent and a deterministic environment ---- */

static void small_cfg(struct pf_ddpg_cfg *c, uint64_t seed)
{
    pf_ddpg_cfg_default(c);
    c->s_dims = 3;
    c->a_dims = 2;
    c->a_min = -1.0;
    c->a_max = 2.0;
    c->actor_width = 8;
    c->critic_width = 8;
    c->actor_depth = 2;
    c->critic_depth = 1;
    c->batch_size = 8;
    c->buf_size = 24;
    c->nb_rlouts = 10;
    c->tau = 0.25;
    c->seed = seed;
}

static struct pf_ddpg *new_agent(const struct pf_ddpg_cfg *c)
{
    struct pf_ddpg *a = NULL;
    int rc = pf_ddpg_new(&a, c);
    ck_assert_msg(rc == 0, "pf_ddpg_new: %s", pf_err_msg());
    ck_assert_ptr_nonnull(a);
    return a;
}

#define RL_STEPS 6 /* steps per roll-out in the generic driver */

/* What a run of roll-outs produced, for comparisons. */
struct trace {
    float acts[64][RL_STEPS][4];
    double aloss[64][RL_STEPS], closs[64][RL_STEPS];
    double std[64], bsln[64];
};

/* Runs roll-outs first..first+n-1 of a synthetic search: states and rewards depend only on the
 * roll-out index, the step and the action, so two agents see the same world. Trains after every
 * step, like the learners do. */
static void run_rollouts(struct pf_ddpg *a, const struct pf_ddpg_cfg *c, int first, int n,
                         struct trace *tr)
{
    for (int k = first; k < first + n; k++) {
        struct pf_rng env;
        pf_rng_seed(&env, 1000 + (uint64_t)k);
        float s[8], s2[8], act[8];
        double rewards[RL_STEPS];
        for (int i = 0; i < c->s_dims; i++)
            s[i] = 2.0f * pf_rng_uniform(&env) - 1.0f;
        pf_ddpg_init_rlout(a);
        for (int t = 0; t < RL_STEPS; t++) {
            pf_ddpg_act(a, s, true, act);
            double r = 0.0;
            for (int j = 0; j < c->a_dims; j++)
                r -= (act[j] - 0.5 * s[j % c->s_dims]) * (act[j] - 0.5 * s[j % c->s_dims]);
            for (int i = 0; i < c->s_dims; i++)
                s2[i] = 0.9f * s[i] + 0.1f * act[i % c->a_dims];
            pf_ddpg_record(a, s, act, r, s2, t == RL_STEPS - 1);
            double al = 0.0, cl = 0.0;
            int rc = pf_ddpg_train(a, &al, &cl);
            ck_assert_msg(rc == 0 || rc == 1, "train: %d %s", rc, pf_err_msg());
            if (tr) {
                memcpy(tr->acts[k][t], act, (size_t)c->a_dims * sizeof(float));
                tr->aloss[k][t] = al;
                tr->closs[k][t] = cl;
            }
            rewards[t] = r;
            memcpy(s, s2, sizeof s);
        }
        pf_ddpg_finalize_rlout(a, rewards, RL_STEPS);
        if (tr) {
            tr->std[k] = pf_ddpg_noise_std(a);
            tr->bsln[k] = pf_ddpg_baseline(a);
        }
    }
}

/* Fills the buffer with transitions that need no acting. */
static void fill_buffer(struct pf_ddpg *a, const struct pf_ddpg_cfg *c, int n)
{
    struct pf_rng env;
    pf_rng_seed(&env, 55);
    float s[8], act[8], s2[8];
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < c->s_dims; i++) {
            s[i] = 2.0f * pf_rng_uniform(&env) - 1.0f;
            s2[i] = 2.0f * pf_rng_uniform(&env) - 1.0f;
        }
        for (int j = 0; j < c->a_dims; j++)
            act[j] = (float)(c->a_min + (c->a_max - c->a_min) * pf_rng_uniform(&env));
        pf_ddpg_record(a, s, act, pf_rng_uniform(&env) - 0.5, s2, k % 5 == 4);
    }
}

static float *net_copy(const struct pf_ddpg *a, enum pf_ddpg_net which, size_t *n)
{
    *n = pf_ddpg_net_params(a, which, NULL, 0);
    ck_assert_uint_gt(*n, 0);
    float *v = malloc(*n * sizeof(float));
    ck_assert_uint_eq(pf_ddpg_net_params(a, which, v, *n), *n);
    return v;
}

/* ---- the toy task ---- */

/* Move-to-target: a point in R^d starts at a random position; each action moves it (clipped to
 * a box); the reward is the decrease of its distance to the origin. An episode's return is
 * |x_0| - |x_T|: positive only when the agent heads for the origin. */
START_TEST(test_toy_move_to_target)
{
    struct pf_ddpg_cfg c;
    pf_ddpg_cfg_default(&c);
    c.s_dims = c.a_dims = TOY_DIMS;
    c.a_min = -1.0;
    c.a_max = 1.0;
    c.actor_width = c.critic_width = 32;
    c.batch_size = 32;
    c.buf_size = 400; /* 20 episodes, as PocketFlow's test keeps a quarter of all transitions */
    c.nb_rlouts = TOY_EPISODES;
    c.seed = 1;
    struct pf_ddpg *a = new_agent(&c);
    struct pf_rng env;
    pf_rng_seed(&env, 777);
    double ret[TOY_EPISODES], rewards[TOY_STEPS];
    int trained = 0;
    for (int e = 0; e < TOY_EPISODES; e++) {
        float x[TOY_DIMS], xn[TOY_DIMS], act[TOY_DIMS];
        for (int i = 0; i < TOY_DIMS; i++)
            x[i] = (float)(TOY_START * (2.0 * pf_rng_uniform(&env) - 1.0));
        pf_ddpg_init_rlout(a);
        ret[e] = 0.0;
        for (int t = 0; t < TOY_STEPS; t++) {
            pf_ddpg_act(a, x, true, act);
            double d0 = 0.0, d1 = 0.0;
            for (int i = 0; i < TOY_DIMS; i++) {
                ck_assert(act[i] >= -1.0f && act[i] <= 1.0f);
                xn[i] = fminf(fmaxf(x[i] + act[i], (float)-TOY_BOX), (float)TOY_BOX);
                d0 += (double)x[i] * x[i];
                d1 += (double)xn[i] * xn[i];
            }
            rewards[t] = sqrt(d0) - sqrt(d1);
            ret[e] += rewards[t];
            pf_ddpg_record(a, x, act, rewards[t], xn, t == TOY_STEPS - 1);
            double al, cl;
            int rc = pf_ddpg_train(a, &al, &cl);
            ck_assert_int_eq(rc, pf_ddpg_ready(a) ? 0 : 1);
            trained += rc == 0;
            if (rc == 0)
                ck_assert(isfinite(al) && isfinite(cl));
            memcpy(x, xn, sizeof x);
        }
        pf_ddpg_finalize_rlout(a, rewards, TOY_STEPS);
    }
    ck_assert_int_eq(trained, TOY_EPISODES * TOY_STEPS - c.buf_size + 1);
    double first = 0.0, last = 0.0;
    for (int i = 0; i < TOY_WINDOW; i++) {
        first += ret[i] / TOY_WINDOW;
        last += ret[TOY_EPISODES - TOY_WINDOW + i] / TOY_WINDOW;
    }
    ck_assert_msg(last > first + TOY_MARGIN && last > 0.25,
                  "no learning: mean return of the first %d episodes %.3f, of the last %.3f",
                  TOY_WINDOW, first, last);
    /* the clean policy brings points closer to the target */
    double d_start = 0.0, d_end = 0.0;
    for (int e = 0; e < TOY_WINDOW; e++) {
        float x[TOY_DIMS], act[TOY_DIMS];
        double d = 0.0;
        for (int i = 0; i < TOY_DIMS; i++) {
            x[i] = (float)(TOY_START * (2.0 * pf_rng_uniform(&env) - 1.0));
            d += (double)x[i] * x[i];
        }
        d_start += sqrt(d);
        for (int t = 0; t < TOY_STEPS; t++) {
            pf_ddpg_act(a, x, false, act);
            for (int i = 0; i < TOY_DIMS; i++)
                x[i] = fminf(fmaxf(x[i] + act[i], (float)-TOY_BOX), (float)TOY_BOX);
        }
        d = 0.0;
        for (int i = 0; i < TOY_DIMS; i++)
            d += (double)x[i] * x[i];
        d_end += sqrt(d);
    }
    ck_assert_msg(d_end < TOY_CLEAN * d_start, "clean policy: mean distance %.3f -> %.3f",
                  d_start / TOY_WINDOW, d_end / TOY_WINDOW);
    pf_ddpg_free(a);
}
END_TEST

/* ---- soft update and the first train step ---- */

START_TEST(test_soft_update)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 3);
    struct pf_ddpg *a = new_agent(&c);
    static const enum pf_ddpg_net mains[2] = {PF_DDPG_ACTOR, PF_DDPG_CRITIC};
    static const enum pf_ddpg_net targets[2] = {PF_DDPG_ACTOR_TARGET, PF_DDPG_CRITIC_TARGET};
    /* targets start as copies */
    for (int k = 0; k < 2; k++) {
        size_t n, nt;
        float *m = net_copy(a, mains[k], &n), *t = net_copy(a, targets[k], &nt);
        ck_assert_uint_eq(n, nt);
        ck_assert_mem_eq(m, t, n * sizeof(float));
        free(t);
        free(m);
    }
    /* not ready: train does nothing */
    fill_buffer(a, &c, c.buf_size - 1);
    ck_assert(!pf_ddpg_ready(a));
    ck_assert_int_eq(pf_ddpg_train(a, NULL, NULL), 1);
    fill_buffer(a, &c, 1);
    ck_assert(pf_ddpg_ready(a));
    for (int step = 0; step < 3; step++) {
        size_t n[2];
        float *t0[2];
        for (int k = 0; k < 2; k++)
            t0[k] = net_copy(a, targets[k], &n[k]);
        double al = NAN, cl = NAN;
        ck_assert_int_eq(pf_ddpg_train(a, &al, &cl), 0);
        ck_assert(isfinite(al) && isfinite(cl) && cl >= 0.0);
        for (int k = 0; k < 2; k++) {
            size_t nn;
            float *m1 = net_copy(a, mains[k], &nn), *t1 = net_copy(a, targets[k], &nn);
            size_t moved = 0;
            for (size_t i = 0; i < nn; i++) {
                float want = (float)((1.0 - c.tau) * t0[k][i] + c.tau * m1[i]);
                ck_assert_msg(t1[i] == want, "net %d value %zu: target %.9g, want %.9g", k, i,
                              t1[i], want);
                moved += t1[i] != t0[k][i];
            }
            /* the main network was trained and the target followed it */
            ck_assert_uint_gt(moved, nn / 4);
            free(t1);
            free(m1);
            free(t0[k]);
        }
    }
    pf_ddpg_free(a);
}
END_TEST

/* ---- the critic's target ---- */

/* Trains on a buffer of one repeated transition with reward r until Q(s, a) settles; returns
 * Q. The TD target's fixed point is (r - baseline) if terminal, else (r - baseline) / (1 - gamma).
 */
static double settle_q(bool terminal, bool baseline, double gamma)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 15);
    c.gamma = gamma;
    c.tau = 0.2;
    c.lrn_rate = 1e-2;
    c.enbl_bsln_func = baseline;
    struct pf_ddpg *a = new_agent(&c);
    float s[3] = {0.2f, -0.3f, 0.4f}, act[2] = {0.5f, 1.0f};
    if (baseline) {
        const double r[2] = {0.2, 0.6}; /* baseline 0.4 */
        pf_ddpg_finalize_rlout(a, r, 2);
    }
    for (int i = 0; i < c.buf_size; i++)
        pf_ddpg_record(a, s, act, 1.0, s, terminal);
    for (int i = 0; i < TD_STEPS; i++)
        ck_assert_int_eq(pf_ddpg_train(a, NULL, NULL), 0);
    double q = pf_ddpg_q(a, s, act);
    pf_ddpg_free(a);
    return q;
}

START_TEST(test_td_target)
{
    double q = settle_q(true, false, 0.9);
    ck_assert_msg(fabs(q - 1.0) < TD_TOL, "terminal: Q %.4f, want 1", q);
    q = settle_q(false, false, 0.5);
    /* Q' is read at the target actor's action, not the recorded one: the critic's slope
     * across actions moves the fixed point a little */
    ck_assert_msg(fabs(q - 2.0) < 5.0 * TD_TOL, "gamma 0.5: Q %.4f, want 2", q);
    q = settle_q(true, true, 0.9);
    ck_assert_msg(fabs(q - 0.6) < TD_TOL, "baseline 0.4: Q %.4f, want 0.6", q);
}
END_TEST

/* ---- noise and baseline ---- */

START_TEST(test_tdecy_noise)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 4);
    c.noise_std_init = 0.5;
    c.noise_std_finl = 1e-3;
    c.nb_rlouts = 7;
    struct pf_ddpg *a = new_agent(&c);
    /* 24 transitions at 6 per roll-out: the buffer fills during roll-out 4 (index 3) */
    struct trace *tr = calloc(1, sizeof *tr);
    run_rollouts(a, &c, 0, 10, tr);
    double rate = pow(c.noise_std_finl / c.noise_std_init, 1.0 / c.nb_rlouts), want = 0.5;
    for (int k = 0; k < 10; k++) {
        if (k >= 3)
            want *= rate; /* training began in roll-out 3: its finalize decays */
        ck_assert_msg(fabs(tr->std[k] - want) <= REL_EXACT * want,
                      "roll-out %d: std %.17g, want %.17g", k, tr->std[k], want);
    }
    free(tr);
    pf_ddpg_free(a);
}
END_TEST

static void adapt_case(double dst_finl, bool grows, enum pf_ddpg_noise_type type)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 5);
    c.noise_prtl = PF_DDPG_PRTL_ADAPT;
    c.noise_type = type;
    c.noise_std_init = 0.2;
    c.noise_adpt_rat = 1.5;
    c.noise_dst_finl = dst_finl;
    struct pf_ddpg *a = new_agent(&c);
    struct trace *tr = calloc(1, sizeof *tr);
    run_rollouts(a, &c, 0, 8, tr);
    double want = 0.2;
    for (int k = 0; k < 8; k++) {
        if (k >= 3)
            want = grows ? want * 1.5 : want / 1.5;
        ck_assert_msg(fabs(tr->std[k] - want) <= REL_EXACT * want,
                      "adapt, roll-out %d: std %.17g, want %.17g", k, tr->std[k], want);
    }
    free(tr);
    pf_ddpg_free(a);
}

START_TEST(test_adapt_noise)
{
    /* a target distance no perturbation reaches: the std grows; 0: it shrinks */
    adapt_case(1e9, true, PF_DDPG_NOISE_PARAM);
    adapt_case(0.0, false, PF_DDPG_NOISE_PARAM);
    adapt_case(1e9, true, PF_DDPG_NOISE_ACTION);
    adapt_case(0.0, false, PF_DDPG_NOISE_ACTION);
}
END_TEST

START_TEST(test_baseline_ema)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 6);
    c.bsln_decy_rate = 0.8;
    struct pf_ddpg *a = new_agent(&c);
    ck_assert(pf_ddpg_baseline(a) == 0.0);
    const double r[4][3] = {{1.0, 2.0, 6.0}, {-3.0, 0.0, 0.0}, {0.5, 0.5, 0.5}, {10, -10, 4}};
    double ema = 0.0;
    for (int k = 0; k < 4; k++) {
        double mean = (r[k][0] + r[k][1] + r[k][2]) / 3.0;
        ema = k == 0 ? mean : 0.8 * ema + 0.2 * mean;
        pf_ddpg_finalize_rlout(a, r[k], 3);
        ck_assert_msg(fabs(pf_ddpg_baseline(a) - ema) <= REL_EXACT * fabs(ema) + 1e-15,
                      "roll-out %d: baseline %.17g, want %.17g", k, pf_ddpg_baseline(a), ema);
    }
    pf_ddpg_free(a);
    /* disabled: stays 0 */
    c.enbl_bsln_func = false;
    a = new_agent(&c);
    pf_ddpg_finalize_rlout(a, r[0], 3);
    ck_assert(pf_ddpg_baseline(a) == 0.0);
    pf_ddpg_free(a);
}
END_TEST

START_TEST(test_param_noise_skips_layernorm)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 7);
    c.noise_std_init = 0.3;
    struct pf_ddpg *a = new_agent(&c);
    size_t n;
    float *clean = net_copy(a, PF_DDPG_ACTOR, &n);
    float *noisy0 = net_copy(a, PF_DDPG_ACTOR_NOISY, &n);
    ck_assert_mem_eq(clean, noisy0, n * sizeof(float)); /* a copy until the first roll-out */
    pf_ddpg_init_rlout(a);
    float *noisy = net_copy(a, PF_DDPG_ACTOR_NOISY, &n);
    /* layout (ddpg.h): per block dense W (w, in), b (w), layernorm gamma (w), beta (w); then the
     * output dense W (A, w), b (A) */
    int S = c.s_dims, A = c.a_dims, W = c.actor_width;
    size_t off = 0, ln_vals = 0, dense_vals = 0;
    double sq = 0.0;
    for (int blk = 0; blk <= c.actor_depth; blk++) {
        int in = blk == 0 ? S : W, out = blk == c.actor_depth ? A : W;
        size_t dn = (size_t)out * in + out;
        for (size_t i = off; i < off + dn; i++) {
            ck_assert(noisy[i] != clean[i]);
            sq += (double)(noisy[i] - clean[i]) * (noisy[i] - clean[i]);
        }
        dense_vals += dn;
        off += dn;
        if (blk < c.actor_depth) {
            ck_assert_mem_eq(noisy + off, clean + off, 2 * (size_t)W * sizeof(float));
            off += 2 * (size_t)W;
            ln_vals += 2 * (size_t)W;
        }
    }
    ck_assert_uint_eq(off, n);
    ck_assert_uint_gt(ln_vals, 0);
    /* the perturbation's std is the noise std (loosely: a few hundred draws) */
    double sd = sqrt(sq / (double)dense_vals);
    ck_assert_msg(sd > 0.24 && sd < 0.36, "perturbation std %.4f, want about 0.3", sd);
    /* noisy actions differ from clean ones, and both stay in bounds */
    float s[3] = {0.1f, -0.4f, 0.7f}, an[2], ac[2];
    pf_ddpg_act(a, s, true, an);
    pf_ddpg_act(a, s, false, ac);
    ck_assert(an[0] != ac[0] || an[1] != ac[1]);
    for (int j = 0; j < 2; j++) {
        ck_assert(an[j] >= c.a_min && an[j] <= c.a_max);
        ck_assert(ac[j] >= c.a_min && ac[j] <= c.a_max);
    }
    free(noisy);
    free(noisy0);
    free(clean);
    pf_ddpg_free(a);
}
END_TEST

START_TEST(test_action_noise_clips)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 8);
    c.noise_type = PF_DDPG_NOISE_ACTION;
    c.noise_std_init = 50.0; /* every noisy action lands on a bound */
    struct pf_ddpg *a = new_agent(&c);
    pf_ddpg_init_rlout(a);
    size_t n;
    float *clean = net_copy(a, PF_DDPG_ACTOR, &n), *noisy = net_copy(a, PF_DDPG_ACTOR_NOISY, &n);
    ck_assert_mem_eq(clean, noisy, n * sizeof(float)); /* action noise leaves the weights */
    float s[3] = {0.3f, 0.2f, -0.1f}, act[2];
    int lo = 0, hi = 0;
    for (int i = 0; i < 50; i++) {
        pf_ddpg_act(a, s, true, act);
        for (int j = 0; j < 2; j++) {
            ck_assert(act[j] >= c.a_min && act[j] <= c.a_max);
            lo += act[j] == (float)c.a_min;
            hi += act[j] == (float)c.a_max;
        }
    }
    ck_assert_int_gt(lo, 20);
    ck_assert_int_gt(hi, 20);
    free(noisy);
    free(clean);
    pf_ddpg_free(a);
}
END_TEST

/* ---- determinism ---- */

static bool traces_equal(const struct trace *x, const struct trace *y, int from, int to)
{
    for (int k = from; k < to; k++) {
        if (memcmp(x->acts[k], y->acts[k], sizeof x->acts[k]) != 0 || x->std[k] != y->std[k] ||
            x->bsln[k] != y->bsln[k])
            return false;
        for (int t = 0; t < RL_STEPS; t++)
            if (x->aloss[k][t] != y->aloss[k][t] || x->closs[k][t] != y->closs[k][t])
                return false;
    }
    return true;
}

START_TEST(test_determinism)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 9);
    struct trace *t1 = calloc(1, sizeof *t1), *t2 = calloc(1, sizeof *t2);
    struct trace *t3 = calloc(1, sizeof *t3);
    struct pf_ddpg *a = new_agent(&c), *b = new_agent(&c);
    run_rollouts(a, &c, 0, 8, t1);
    run_rollouts(b, &c, 0, 8, t2);
    ck_assert(traces_equal(t1, t2, 0, 8));
    ck_assert(t1->closs[7][RL_STEPS - 1] > 0.0); /* it did train */
    pf_ddpg_free(b);
    c.seed = 10;
    b = new_agent(&c);
    run_rollouts(b, &c, 0, 8, t3);
    ck_assert(memcmp(t1->acts[0], t3->acts[0], sizeof t1->acts[0]) != 0);
    ck_assert(!traces_equal(t1, t3, 0, 8));
    pf_ddpg_free(b);
    pf_ddpg_free(a);
    free(t3);
    free(t2);
    free(t1);
}
END_TEST

/* ---- checkpoints ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pf_ddpg_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    static const char *const names[] = {"a.ckpt",    "b.ckpt",    "short.ckpt", "magic.ckpt",
                                        "dims.ckpt", "flip.ckpt", "long.ckpt",  "a.ckpt.tmp"};
    char p[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static void path_of(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", tmpdir, name);
}

/* Reads a whole file; *n its length. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void resume_case(enum pf_ddpg_noise_type type, enum pf_ddpg_noise_prtl prtl)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 11);
    c.noise_type = type;
    c.noise_prtl = prtl;
    struct trace *t1 = calloc(1, sizeof *t1), *t2 = calloc(1, sizeof *t2);
    char path[128], tmp[140];
    path_of(path, sizeof path, "a.ckpt");
    struct pf_ddpg *a = new_agent(&c);
    run_rollouts(a, &c, 0, 5, NULL); /* training began in roll-out 3 */
    int rc = pf_ddpg_save(a, path);
    ck_assert_msg(rc == 0, "save: %s", pf_err_msg());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed into place */
    run_rollouts(a, &c, 5, 4, t1);
    /* another agent whose state has moved on: the checkpoint replaces all of it */
    struct pf_ddpg *b = new_agent(&c);
    run_rollouts(b, &c, 0, 1, NULL);
    rc = pf_ddpg_load(b, path);
    ck_assert_msg(rc == 0, "load: %s", pf_err_msg());
    run_rollouts(b, &c, 5, 4, t2);
    ck_assert_msg(traces_equal(t1, t2, 5, 9), "resumed agent differs from the uninterrupted one");
    for (int k = PF_DDPG_ACTOR; k <= PF_DDPG_CRITIC_TARGET; k++) {
        size_t n1, n2;
        float *x = net_copy(a, (enum pf_ddpg_net)k, &n1),
              *y = net_copy(b, (enum pf_ddpg_net)k, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_mem_eq(x, y, n1 * sizeof(float));
        free(y);
        free(x);
    }
    pf_ddpg_free(b);
    pf_ddpg_free(a);
    free(t2);
    free(t1);
}

START_TEST(test_save_load_resumes)
{
    make_tmpdir();
    resume_case(PF_DDPG_NOISE_PARAM, PF_DDPG_PRTL_TDECY);
    resume_case(PF_DDPG_NOISE_ACTION, PF_DDPG_PRTL_ADAPT);
    resume_case(PF_DDPG_NOISE_PARAM, PF_DDPG_PRTL_ADAPT);
    remove_tmpdir();
}
END_TEST

/* Loading path into a must fail with code and a message naming the file and `what`. */
static void load_fails(struct pf_ddpg *a, const char *path, int code, const char *what)
{
    pf_err_clear();
    int rc = pf_ddpg_load(a, path);
    ck_assert_msg(rc == code, "%s: want %d, got %d (%s)", path, code, rc, pf_err_msg());
    ck_assert_msg(strstr(pf_err_msg(), path), "message '%s' does not name %s", pf_err_msg(), path);
    ck_assert_msg(strstr(pf_err_msg(), what), "message '%s' lacks '%s'", pf_err_msg(), what);
}

START_TEST(test_load_errors)
{
    make_tmpdir();
    struct pf_ddpg_cfg c;
    small_cfg(&c, 12);
    struct pf_ddpg *a = new_agent(&c), *twin = new_agent(&c);
    run_rollouts(a, &c, 0, 4, NULL);
    run_rollouts(twin, &c, 0, 4, NULL);
    char path[128], bad[128];
    path_of(path, sizeof path, "a.ckpt");
    ck_assert_int_eq(pf_ddpg_save(a, path), 0);
    size_t n;
    unsigned char *b = slurp(path, &n);

    path_of(bad, sizeof bad, "missing.ckpt");
    load_fails(a, bad, -PF_EIO, "cannot open");

    path_of(bad, sizeof bad, "short.ckpt");
    spit(bad, b, n / 2);
    load_fails(a, bad, -PF_EPARSE, "truncated");
    spit(bad, b, 40); /* ends inside the cfg */
    load_fails(a, bad, -PF_EPARSE, "truncated");
    spit(bad, b, 5);
    load_fails(a, bad, -PF_EPARSE, "too short");
    spit(bad, b, 0);
    load_fails(a, bad, -PF_EPARSE, "too short");

    path_of(bad, sizeof bad, "long.ckpt");
    unsigned char *longer = calloc(n + 3, 1);
    memcpy(longer, b, n);
    spit(bad, longer, n + 3);
    load_fails(a, bad, -PF_EPARSE, "too long");
    free(longer);

    path_of(bad, sizeof bad, "magic.ckpt");
    b[0] ^= 0x20;
    spit(bad, b, n);
    load_fails(a, bad, -PF_EPARSE, "not a DDPG checkpoint");
    b[0] ^= 0x20;
    unsigned char keep = b[8];
    b[8] = 9; /* version */
    spit(bad, b, n);
    load_fails(a, bad, -PF_EPARSE, "version 9");
    b[8] = keep;

    path_of(bad, sizeof bad, "flip.ckpt");
    b[n / 2] ^= 0x01; /* one bit in the middle of the state */
    spit(bad, b, n);
    load_fails(a, bad, -PF_EPARSE, "checksum");
    b[n / 2] ^= 0x01;

    /* a checkpoint of an agent with other dims or widths */
    path_of(bad, sizeof bad, "dims.ckpt");
    struct pf_ddpg_cfg c3 = c;
    c3.a_dims = 3;
    struct pf_ddpg *o = new_agent(&c3);
    ck_assert_int_eq(pf_ddpg_save(o, bad), 0);
    pf_ddpg_free(o);
    load_fails(a, bad, -PF_EINVAL, "a_dims is 3 in the file but 2 here");
    c3 = c;
    c3.critic_width = 16;
    o = new_agent(&c3);
    ck_assert_int_eq(pf_ddpg_save(o, bad), 0);
    pf_ddpg_free(o);
    load_fails(a, bad, -PF_EINVAL, "critic_width");
    c3 = c;
    c3.buf_size = 30;
    o = new_agent(&c3);
    ck_assert_int_eq(pf_ddpg_save(o, bad), 0);
    pf_ddpg_free(o);
    load_fails(a, bad, -PF_EINVAL, "buf_size");

    /* failed loads left the agent as it was: it goes on exactly like its twin */
    struct trace *t1 = calloc(1, sizeof *t1), *t2 = calloc(1, sizeof *t2);
    run_rollouts(a, &c, 4, 2, t1);
    run_rollouts(twin, &c, 4, 2, t2);
    ck_assert(traces_equal(t1, t2, 4, 6));
    /* and the good file still loads */
    ck_assert_int_eq(pf_ddpg_load(a, path), 0);
    free(t2);
    free(t1);
    free(b);
    pf_ddpg_free(twin);
    pf_ddpg_free(a);
    remove_tmpdir();
}
END_TEST

START_TEST(test_save_error_names_file)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 13);
    struct pf_ddpg *a = new_agent(&c);
    const char *path = "/nonexistent-dir-pf/x.ckpt";
    ck_assert_int_eq(pf_ddpg_save(a, path), -PF_EIO);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "/nonexistent-dir-pf/x.ckpt"));
    pf_ddpg_free(a);
}
END_TEST

/* ---- bad cfgs ---- */

static void new_fails(const struct pf_ddpg_cfg *c, const char *what)
{
    struct pf_ddpg *a = (struct pf_ddpg *)&a; /* not NULL: new must clear it */
    pf_err_clear();
    ck_assert_int_eq(pf_ddpg_new(&a, c), -PF_EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(pf_err_msg(), what), "message '%s' lacks '%s'", pf_err_msg(), what);
}

START_TEST(test_bad_cfg)
{
    struct pf_ddpg_cfg c;
    small_cfg(&c, 14);
    c.a_min = 1.0;
    c.a_max = 1.0;
    new_fails(&c, "a_min < a_max");
    small_cfg(&c, 14);
    c.a_min = 2.0;
    c.a_max = -1.0;
    new_fails(&c, "a_min < a_max");
    small_cfg(&c, 14);
    c.s_dims = 0;
    new_fails(&c, "dimensions");
    small_cfg(&c, 14);
    c.a_dims = -2;
    new_fails(&c, "dimensions");
    small_cfg(&c, 14);
    c.buf_size = c.batch_size - 1;
    new_fails(&c, "replay buffer");
    small_cfg(&c, 14);
    c.actor_width = 0;
    new_fails(&c, "widths");
    small_cfg(&c, 14);
    c.critic_depth = 0;
    new_fails(&c, "depths");
    small_cfg(&c, 14);
    c.nb_rlouts = 0;
    new_fails(&c, "nb_rlouts");
    small_cfg(&c, 14);
    c.lrn_rate = 0.0;
    new_fails(&c, "lrn_rate");
    small_cfg(&c, 14);
    c.tau = 1.5;
    new_fails(&c, "tau");
    /* the defaults with dims and a buffer are fine */
    pf_ddpg_cfg_default(&c);
    c.s_dims = c.a_dims = 1;
    c.buf_size = c.batch_size;
    c.nb_rlouts = 1;
    struct pf_ddpg *a = new_agent(&c);
    pf_ddpg_free(a);
    pf_ddpg_free(NULL);
}
END_TEST

Suite *ddpg_suite(void);
Suite *ddpg_suite(void)
{
    Suite *s = suite_create("ddpg");
    TCase *tc = tcase_create("ddpg");
    tcase_add_test(tc, test_soft_update);
    tcase_add_test(tc, test_td_target);
    tcase_add_test(tc, test_tdecy_noise);
    tcase_add_test(tc, test_adapt_noise);
    tcase_add_test(tc, test_baseline_ema);
    tcase_add_test(tc, test_param_noise_skips_layernorm);
    tcase_add_test(tc, test_action_noise_clips);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_save_load_resumes);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_save_error_names_file);
    tcase_add_test(tc, test_bad_cfg);
    suite_add_tcase(s, tc);
    TCase *toy = tcase_create("toy");
    tcase_add_test(toy, test_toy_move_to_target);
    suite_add_tcase(s, toy);
    return s;
}
