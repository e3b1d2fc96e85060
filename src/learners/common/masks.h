/* masks.h: magnitude sparsity masks and the sparsity schedules of weight sparsification.
 *
 * Ports the mask logic of PocketFlow's learners/weight_sparsification (learner.py,
 * utils.py): Zhu & Gupta's cubic schedule ("To prune, or not to prune", 2017), masks from the
 * magnitude percentile, and the per-layer ratio protocols `uniform` and `heurist`. Pure
 * functions over plain arrays; the learner (weight_sparse.c) owns the masks. */
#ifndef PF_LEARNERS_COMMON_MASKS_H
#define PF_LEARNERS_COMMON_MASKS_H

#include <stddef.h>
#include <stdint.h>

/* Zhu & Gupta's sparsity at step t: s_f * (1 - (1 - clip((t - t_b) / (t_e - t_b), 0, 1))^alpha).
 * 0 before t_b, s_f from t_e on, never decreasing in t (alpha >= 1). With t_e <= t_b it jumps
 * from 0 to s_f at t_b. */
double pf_sparsity_schedule(long t, long t_b, long t_e, double s_f, double alpha);

/* Writes a magnitude mask for v[0..n): exactly k = round(sparsity * n) entries, those of
 * smallest |v|, get mask 0 (pruned); ties at the threshold are pruned in index order, so the
 * count is exact and deterministic. sparsity in [0, 1). Returns k, or -PF_EINVAL (sparsity out
 * of range) / -PF_ENOMEM (it needs n floats of scratch). */
long pf_mask_magnitude(const float *v, size_t n, double sparsity, uint8_t *mask);

/* Fraction of zero entries of mask[0..n) (0 for n = 0) and of exact zeros of w[0..n). */
double pf_mask_sparsity(const uint8_t *mask, size_t n);
double pf_zero_fraction(const float *w, size_t n);

/* PocketFlow's `heurist` protocol: layer l of n[l] weights gets alpha * ln(n[l]) with
 * alpha = pr * sum(n) / sum(n ln n), so that bigger layers are pruned more and the
 * weight-count-weighted mean is pr. Values are capped at `cap` (< 1): the excess of a capped
 * layer is spread over the others in proportion to their ratio, so the mean stays pr while
 * that is possible. Writes out[0..L). Returns 0 or -PF_EINVAL (pr outside [0, 1), L < 1, a
 * layer with no weights). */
int pf_sparsity_heurist(const size_t *n, int L, double pr, double cap, double *out);

#endif
