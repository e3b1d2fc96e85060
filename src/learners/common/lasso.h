/* lasso.h: the solvers of the channel pruners: LASSO channel selection (ISTA and coordinate
 * descent) with PocketFlow's penalty searches, and least-squares kernel reconstruction.
 *
 * Ports learners/channel_pruning_remastered/learner.py (ISTA, gamma doubling + bisection, the
 * Adam least squares) and learners/channel_pruning/model_wrapper.py (the LARS alpha search with
 * its tolerance band; coordinate descent solves the same LASSO problem here).
 *
 * Every solver works on Gram form, so callers accumulate products over their samples once:
 *     LASSO:          minimise  0.5 b'Gb - c'b + gamma * |b|_1          (b, c: n; G: n x n)
 * which is 1/(2N) |y - F b|^2 + gamma |b|_1 up to a constant for G = F'F / N, c = F'y / N.
 *     least squares:  minimise  |X W' - Y|^2 / (2N) + ridge |W|^2 / 2    (W: k x m)
 * from A = X'X / N (m x m) and B = X'Y / N (m x k), all row-major, in double precision. */
#ifndef PF_LEARNERS_COMMON_LASSO_H
#define PF_LEARNERS_COMMON_LASSO_H

#include <stdint.h>

/* ISTA, PocketFlow's form: iters steps of b <- S_{gamma lr}(b - lr (G b - c)), S the soft
 * threshold, from b0 (n values; may alias b). Writes b. Converges for lr < 2 / lambda_max(G).
 * Returns 0 or -PF_ENOMEM. */
int pf_lasso_ista(const double *G, const double *c, int n, double gamma, double lr, int iters,
                  const double *b0, double *b);

/* Coordinate descent on the same problem: sweeps b_j <- S(c_j - sum_{k != j} G_jk b_k, gamma) /
 * G_jj until no coordinate moves by more than tol (relative to max |b|) or max_sweeps. b holds
 * the warm start on entry (zeros are fine) and the solution on return. Coordinates with
 * G_jj <= 0 stay 0. Returns the number of sweeps done, or -PF_ENOMEM. */
int pf_lasso_cd(const double *G, const double *c, int n, double gamma, int max_sweeps, double tol,
                double *b);

/* Number of entries of b[0..n) that are not 0. */
int pf_lasso_nnz(const double *b, int n);

/* Outcome of a penalty search. */
struct pf_lasso_search {
    double gamma;  /* the penalty of the accepted solution */
    int trials;    /* LASSO solves done */
    int nnz_found; /* non-zeros of the accepted solution before any ranking fix-up */
    int ranked;    /* 1 if the count had to be made exact by ranking |b| (see below) */
};

/* CPR's selection (PocketFlow's channel_pruning_remastered): ISTA from b0 ~ U(0, 1)^n (the same
 * start for every gamma, drawn from seed) with lr and iters; gamma = 0.1 doubled until at most
 * n_keep survive, then bisection on [0, gamma] until exactly n_keep survive or the interval is
 * below 1e-8. If bisection cannot land on n_keep (ties), the n_keep largest |b| of the last solve
 * that kept more than n_keep are taken (s->ranked = 1): keep[] always has exactly n_keep ones.
 * keep: n bytes, 1 = kept. Returns 0, -PF_EINVAL (n_keep outside 1..n), -PF_ENOMEM. */
int pf_lasso_ista_select(const double *G, const double *c, int n, int n_keep, double lr, int iters,
                         uint64_t seed, uint8_t *keep, struct pf_lasso_search *s);

/* CP's selection (PocketFlow's channel_pruning model_wrapper, solved by coordinate descent
 * instead of LARS): alpha = 1e-4 doubled until fewer than n_keep survive; then trials between
 * left and right until the count falls in [n_keep - tol, n_keep + tol] with tol = 0.01 n (the
 * lower end at least 1), PocketFlow's rules: a collapsed bracket (|left - right| <= 0.1 right)
 * widens the band by 1 and expands the bracket (left / 1.2, right * 1.2); too many survivors move
 * left halfway toward alpha, too few move right halfway toward it; stop below 1e-10. With
 * quadruple the count must also be a multiple of 4. The accepted count may differ from n_keep
 * by the tolerance; physical removal needs the planned count, so the result is then trimmed or
 * padded to exactly n_keep by |b| (then by G_jj for zeros) and s->ranked says so.
 * Returns 0, -PF_EINVAL, -PF_ENOMEM. */
int pf_lasso_cd_select(const double *G, const double *c, int n, int n_keep, int quadruple,
                       uint8_t *keep, struct pf_lasso_search *s);

/* Closed-form least squares: solves (A + ridge_eff I) X = B by Cholesky in double precision,
 * A: m x m symmetric positive semi-definite, B: m x k, X: m x k (may not alias). ridge_eff =
 * ridge * max(mean diagonal of A, 1e-12), raised x10 (up to 6 times) if the factorisation meets
 * a non-positive pivot. Returns 0, -PF_EINVAL (A not factorisable), -PF_ENOMEM. */
int pf_lstsq_solve(const double *A, const double *B, int m, int k, double ridge, double *X);

/* PocketFlow's least squares by Adam (channel_pruning_remastered): iters bias-corrected Adam
 * steps (beta1 0.9, beta2 0.999, eps 1e-8) on |X W' - Y|^2 / (2N) + wd |W|^2 / 2 from the W given
 * (k x m, row-major, updated in place), with A = X'X / N and B = X'Y / N as above.
 * Returns 0 or -PF_ENOMEM. */
int pf_lstsq_adam(const double *A, const double *B, int m, int k, double wd, double lr, int iters,
                  double *W);

/* Mean reconstruction error of W (k x m) on the samples: |X W' - Y|^2 / N
 * = tr(W A W') - 2 tr(W B) + yy, with yy = |Y|^2 / N. */
double pf_lstsq_error(const double *A, const double *B, double yy, int m, int k, const double *W);

#endif
