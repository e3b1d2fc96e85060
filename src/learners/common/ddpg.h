/* ddpg.h: the DDPG agent every per-layer search shares (PocketFlow's rl_agents/ddpg; reference
 * section 3): actor and critic MLPs of Dense -> LayerNorm -> ReLU blocks built from the
 * engine's own layers, target copies with soft updates, Adam, a circular replay buffer, a
 * reward baseline and parameter or action noise with the time-decay or adaptive protocol.
 *
 * How a search drives it (common/rlsearch.c):
 *     pf_ddpg_new(&a, &cfg)
 *     for each roll-out:
 *         pf_ddpg_init_rlout(a)                      perturbs the noisy actor (param noise)
 *         for each layer: pf_ddpg_act(a, s, true, act)   the noisy action, in [a_min, a_max]
 *         ... the search evaluates the strategy and gets one reward ...
 *         pf_ddpg_record(a, s, act, r, s', terminal)     for every step of the roll-out
 *         pf_ddpg_finalize_rlout(a, rewards, n)          baseline EMA, noise decay / adaptation
 *         pf_ddpg_train(a, ...)                          n times (no-op until the buffer is full)
 *         pf_ddpg_save(a, path)                          checkpoint: resumes bit-identically
 *
 * Deterministic: everything random (initial weights, noise, replay sampling) comes from one
 * xoshiro stream seeded by cfg.seed, and that stream is part of the checkpoint. */
#ifndef PF_LEARNERS_COMMON_DDPG_H
#define PF_LEARNERS_COMMON_DDPG_H

#include <stdbool.h>
#include <stdint.h>

#include "learners/learner.h"

enum pf_ddpg_noise_type { PF_DDPG_NOISE_PARAM, PF_DDPG_NOISE_ACTION };
enum pf_ddpg_noise_prtl { PF_DDPG_PRTL_TDECY, PF_DDPG_PRTL_ADAPT };

struct pf_ddpg_cfg {
    int s_dims, a_dims;
    double a_min, a_max; /* every action dimension lies in [a_min, a_max] */
    int actor_depth, actor_width, critic_depth, critic_width;
    double tau, gamma, lrn_rate, loss_w_dcy;
    int batch_size;
    bool enbl_bsln_func;
    double bsln_decy_rate;
    enum pf_ddpg_noise_type noise_type;
    enum pf_ddpg_noise_prtl noise_prtl;
    double noise_std_init, noise_dst_finl, noise_adpt_rat, noise_std_finl;
    int nb_rlouts; /* roll-outs of the search (the tdecy rate spreads over them) */
    int buf_size;  /* transitions the replay buffer holds; training starts when it is full */
    uint64_t seed;
};

/* The ddpg_* rows (PocketFlow's flags and defaults), one table shared by every learner that
 * searches (channel, chn-pruned-rmt, weight-sparse, uniform, non-uniform). */
extern const struct pf_opt_spec pf_ddpg_opts[];

/* Fills c from the ddpg_* options of o (the rows of pf_ddpg_opts); the caller sets s_dims,
 * a_dims, a_min, a_max, nb_rlouts, buf_size and seed. */
void pf_ddpg_cfg_from_opts(struct pf_ddpg_cfg *c, const struct pf_opts *o);
/* PocketFlow's defaults (the same values as pf_ddpg_opts), for tests and tools. */
void pf_ddpg_cfg_default(struct pf_ddpg_cfg *c);

struct pf_ddpg;

/* Builds the actor, critic and their targets (targets = copies), Adam state and the buffer.
 * Returns 0, -PF_EINVAL (a bad cfg: dims < 1, a_min >= a_max, buf_size < batch_size, ...) or
 * -PF_ENOMEM. Free with pf_ddpg_free. */
int pf_ddpg_new(struct pf_ddpg **out, const struct pf_ddpg_cfg *c);
void pf_ddpg_free(struct pf_ddpg *a);

/* Start of a roll-out: with param noise, the noisy actor = actor + N(0, std^2) on every
 * trainable weight except the LayerNorm params. */
void pf_ddpg_init_rlout(struct pf_ddpg *a);
/* The action for one state (s_dims floats) into act (a_dims floats, in [a_min, a_max]): from the
 * noisy actor (param noise) or the actor plus clipped Gaussian noise (action noise) when noisy,
 * else from the clean actor. */
void pf_ddpg_act(struct pf_ddpg *a, const float *s, bool noisy, float *act);
/* Stores one transition (circular: the oldest is overwritten when full). */
void pf_ddpg_record(struct pf_ddpg *a, const float *s, const float *act, double reward,
                    const float *s_next, bool terminal);
/* True once the buffer has been filled: pf_ddpg_train then trains. */
bool pf_ddpg_ready(const struct pf_ddpg *a);
/* One training step (batch_size samples with replacement, baseline subtracted, critic then
 * actor, then the soft update of both targets). Before the buffer is full it does nothing and
 * returns 1; otherwise 0 with the losses (NULL allowed), or an error. */
int pf_ddpg_train(struct pf_ddpg *a, double *actor_loss, double *critic_loss);
/* End of a roll-out with its rewards (one per step): updates the baseline (first roll-out:
 * the mean; then bsln_decy_rate * ema + (1 - rate) * mean) and the noise (tdecy: once training
 * has begun, std *= (std_finl / std_init)^(1 / nb_rlouts); adapt: Plappert's rule with
 * noise_dst_finl and noise_adpt_rat). */
void pf_ddpg_finalize_rlout(struct pf_ddpg *a, const double *rewards, int n);

/* The current noise std (param noise: on the weights; action noise: on the actions). */
double pf_ddpg_noise_std(const struct pf_ddpg *a);
/* The reward baseline (EMA of the roll-outs' mean rewards); 0 before the first roll-out. */
double pf_ddpg_baseline(const struct pf_ddpg *a);

/* The critic's value Q(s, act) of one state (s_dims floats) and action (a_dims floats), for
 * tests and tools. */
double pf_ddpg_q(struct pf_ddpg *a, const float *s, const float *act);

/* The networks, for pf_ddpg_net_params. */
enum pf_ddpg_net {
    PF_DDPG_ACTOR,         /* the clean actor mu(s) */
    PF_DDPG_ACTOR_TARGET,  /* mu'(s), soft-updated from the actor */
    PF_DDPG_ACTOR_NOISY,   /* the perturbed actor of the current roll-out (param noise) */
    PF_DDPG_CRITIC,        /* Q(s, a) */
    PF_DDPG_CRITIC_TARGET, /* Q'(s, a), soft-updated from the critic */
};
/* For tests and tools: the number of parameter values of one network, and, when out is not
 * NULL and n is at least that number, a copy of them into out. The order is layer by layer
 * (actor: depth x [dense, layernorm], dense; critic: dense, layernorm, then depth x [dense,
 * layernorm] reading [block output, action], dense), and within a layer its params: dense
 * weight (out, in) then bias (out); layernorm gamma (width) then beta (width). */
size_t pf_ddpg_net_params(const struct pf_ddpg *a, enum pf_ddpg_net which, float *out, size_t n);

/* The whole state (cfg, all four networks, Adam moments, buffer, baseline, noise, RNG) to path
 * (written to path.tmp and renamed), and back. Load checks that the file is a DDPG checkpoint
 * of this version with the same cfg; errors name the file and the problem. */
int pf_ddpg_save(const struct pf_ddpg *a, const char *path);
int pf_ddpg_load(struct pf_ddpg *a, const char *path);

#endif
