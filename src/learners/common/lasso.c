/* lasso.c: LASSO (ISTA, coordinate descent) with PocketFlow's penalty searches, and least
 * squares (Cholesky with a ridge, or PocketFlow's Adam steps). See lasso.h.
 * Ports learners/channel_pruning_remastered/learner.py and learners/channel_pruning/
 * model_wrapper.py (the LARS alpha search; coordinate descent stands in for sklearn's LARS). */
#include "learners/common/lasso.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"

#define ISTA_GAMMA_START 0.1   /* PocketFlow: first gamma of the doubling */
#define ISTA_BISECT_EPS  1e-8  /* PocketFlow: bisection stops below this interval */
#define CP_ALPHA_START   1e-4  /* PocketFlow: first alpha (LARS) */
#define CP_ALPHA_MIN     1e-10 /* PocketFlow: give up below this alpha */
#define CP_MAX_TRIALS    400   /* a bound PocketFlow lacked (its search could loop, issue #151) */
#define CD_SWEEPS        2000
#define CD_TOL           1e-9

static double soft(double v, double t)
{
    return v > t ? v - t : v < -t ? v + t : 0.0;
}

int pf_lasso_ista(const double *G, const double *c, int n, double gamma, double lr, int iters,
                  const double *b0, double *b)
{
    double *g = pf_malloc((size_t)n * sizeof *g);
    if (!g)
        return -PF_ENOMEM;
    if (b != b0)
        memcpy(b, b0, (size_t)n * sizeof *b);
    for (int t = 0; t < iters; t++) {
        for (int i = 0; i < n; i++) { /* g = G b - c: the gradient of the smooth part */
            double s = -c[i];
            const double *row = G + (size_t)i * n;
            for (int j = 0; j < n; j++)
                s += row[j] * b[j];
            g[i] = s;
        }
        for (int i = 0; i < n; i++)
            b[i] = soft(b[i] - lr * g[i], gamma * lr);
    }
    free(g);
    return 0;
}

int pf_lasso_cd(const double *G, const double *c, int n, double gamma, int max_sweeps, double tol,
                double *b)
{
    /* keep r = c - G b up to date: a coordinate change d moves r by -d G[:, j] */
    double *r = pf_malloc((size_t)n * sizeof *r);
    if (!r)
        return -PF_ENOMEM;
    for (int i = 0; i < n; i++) {
        double s = c[i];
        for (int j = 0; j < n; j++)
            s -= G[(size_t)i * n + j] * b[j];
        r[i] = s;
    }
    int sweep = 0;
    for (; sweep < max_sweeps; sweep++) {
        double moved = 0.0, big = 0.0;
        for (int j = 0; j < n; j++) {
            double gjj = G[(size_t)j * n + j];
            if (gjj <= 0.0) {
                b[j] = 0.0;
                continue;
            }
            double nb = soft(r[j] + gjj * b[j], gamma) / gjj, d = nb - b[j];
            if (d != 0.0) {
                for (int i = 0; i < n; i++)
                    r[i] -= d * G[(size_t)i * n + j];
                b[j] = nb;
            }
            moved = fabs(d) > moved ? fabs(d) : moved;
            big = fabs(nb) > big ? fabs(nb) : big;
        }
        if (moved <= tol * (big > 0.0 ? big : 1.0)) {
            sweep++;
            break;
        }
    }
    free(r);
    return sweep;
}

int pf_lasso_nnz(const double *b, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += b[i] != 0.0;
    return k;
}

/* Marks the n_keep entries of largest |b| (ties: larger diag, then lower index) in keep. */
static void rank_keep(const double *b, const double *G, int n, int n_keep, uint8_t *keep)
{
    memset(keep, 0, (size_t)n);
    for (int k = 0; k < n_keep; k++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (keep[i])
                continue;
            if (best < 0 || fabs(b[i]) > fabs(b[best]) ||
                (fabs(b[i]) == fabs(b[best]) && G[(size_t)i * n + i] > G[(size_t)best * n + best]))
                best = i;
        }
        keep[best] = 1;
    }
}

static int check_keep(int n, int n_keep)
{
    if (n < 1 || n_keep < 1 || n_keep > n)
        return PF_ERR(PF_EINVAL, "LASSO selection: cannot keep %d of %d channels", n_keep, n);
    return 0;
}

int pf_lasso_ista_select(const double *G, const double *c, int n, int n_keep, double lr, int iters,
                         uint64_t seed, uint8_t *keep, struct pf_lasso_search *s)
{
    int rc = check_keep(n, n_keep);
    if (rc < 0)
        return rc;
    memset(s, 0, sizeof *s);
    double *b0 = pf_malloc((size_t)n * sizeof *b0), *b = pf_malloc((size_t)n * sizeof *b),
           *b_more = pf_calloc((size_t)n, sizeof *b_more);
    if (!b0 || !b || !b_more) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++)
        b0[i] = pf_rng_uniform(&rng);
    /* b_more: the latest solution with more than n_keep survivors (gamma = 0: b0 itself) */
    memcpy(b_more, b0, (size_t)n * sizeof *b_more);
    double hi = ISTA_GAMMA_START, lo = 0.0;
    for (;;) {
        if ((rc = pf_lasso_ista(G, c, n, hi, lr, iters, b0, b)) < 0)
            goto fail;
        s->trials++;
        int nnz = pf_lasso_nnz(b, n);
        if (nnz <= n_keep) {
            s->gamma = hi;
            s->nnz_found = nnz;
            break;
        }
        memcpy(b_more, b, (size_t)n * sizeof *b);
        lo = hi;
        hi *= 2.0;
        if (!(hi < 1e300)) { /* only NaN or Inf in G or c keep channels alive this long */
            rc = PF_ERR(PF_EINVAL, "LASSO selection: the samples hold NaN or Inf values");
            goto fail;
        }
    }
    if (s->nnz_found != n_keep) {
        lo = 0.0; /* PocketFlow bisects on [0, gamma_hi] */
        while (hi - lo >= ISTA_BISECT_EPS) {
            double mid = 0.5 * (lo + hi);
            if ((rc = pf_lasso_ista(G, c, n, mid, lr, iters, b0, b)) < 0)
                goto fail;
            s->trials++;
            int nnz = pf_lasso_nnz(b, n);
            s->gamma = mid;
            s->nnz_found = nnz;
            if (nnz == n_keep)
                break;
            if (nnz > n_keep) {
                lo = mid;
                memcpy(b_more, b, (size_t)n * sizeof *b);
            } else {
                hi = mid;
            }
        }
    }
    if (s->nnz_found == n_keep) {
        for (int i = 0; i < n; i++)
            keep[i] = b[i] != 0.0;
    } else {
        rank_keep(b_more, G, n, n_keep, keep);
        s->ranked = 1;
    }
    rc = 0;
fail:
    free(b0);
    free(b);
    free(b_more);
    return rc;
}

int pf_lasso_cd_select(const double *G, const double *c, int n, int n_keep, int quadruple,
                       uint8_t *keep, struct pf_lasso_search *s)
{
    int rc = check_keep(n, n_keep);
    if (rc < 0)
        return rc;
    memset(s, 0, sizeof *s);
    double *b = pf_calloc((size_t)n, sizeof *b);
    if (!b)
        return -PF_ENOMEM;
    double right = CP_ALPHA_START;
    for (;;) { /* doubled until fewer than n_keep survive */
        memset(b, 0, (size_t)n * sizeof *b);
        if ((rc = pf_lasso_cd(G, c, n, right, CD_SWEEPS, CD_TOL, b)) < 0)
            goto fail;
        s->trials++;
        if (pf_lasso_nnz(b, n) < n_keep || right > 1e30)
            break;
        right *= 2.0;
    }
    double tol = 0.01 * n, left = 0.0, alpha = CP_ALPHA_START;
    double band_lo = n_keep - tol < 1.0 ? 1.0 : n_keep - tol, band_hi = n_keep + tol;
    int nnz = 0;
    for (int trial = 0; trial < CP_MAX_TRIALS; trial++) {
        memset(b, 0, (size_t)n * sizeof *b);
        if ((rc = pf_lasso_cd(G, c, n, alpha, CD_SWEEPS, CD_TOL, b)) < 0)
            goto fail;
        s->trials++;
        nnz = pf_lasso_nnz(b, n);
        s->gamma = alpha;
        if (nnz >= band_lo && nnz <= band_hi && (!quadruple || nnz % 4 == 0))
            break;
        if (fabs(left - right) <= 0.1 * right) {
            band_lo = band_lo - 1.0 < 1.0 ? 1.0 : band_lo - 1.0;
            band_hi += 1.0;
            left /= 1.2;
            right *= 1.2;
        } else if (nnz > band_hi || (nnz >= band_lo && nnz > n_keep)) {
            left = 0.5 * (left + alpha); /* too many survive: a larger penalty */
        } else {
            right = 0.5 * (right + alpha);
        }
        alpha = 0.5 * (left + right);
        if (alpha < CP_ALPHA_MIN)
            break;
    }
    s->nnz_found = nnz;
    if (nnz == n_keep) {
        for (int i = 0; i < n; i++)
            keep[i] = b[i] != 0.0;
    } else {
        rank_keep(b, G, n, n_keep, keep);
        s->ranked = 1;
    }
    rc = 0;
fail:
    free(b);
    return rc;
}

/* ---- least squares ---- */

/* In-place Cholesky L L' of the m x m matrix a (lower triangle). 0, or -1 on a bad pivot. */
static int cholesky(double *a, int m)
{
    for (int j = 0; j < m; j++) {
        double d = a[(size_t)j * m + j];
        for (int k = 0; k < j; k++)
            d -= a[(size_t)j * m + k] * a[(size_t)j * m + k];
        if (!(d > 0.0))
            return -1;
        d = sqrt(d);
        a[(size_t)j * m + j] = d;
        for (int i = j + 1; i < m; i++) {
            double v = a[(size_t)i * m + j];
            for (int k = 0; k < j; k++)
                v -= a[(size_t)i * m + k] * a[(size_t)j * m + k];
            a[(size_t)i * m + j] = v / d;
        }
    }
    return 0;
}

int pf_lstsq_solve(const double *A, const double *B, int m, int k, double ridge, double *X)
{
    double *L = pf_malloc((size_t)m * m * sizeof *L);
    if (!L)
        return -PF_ENOMEM;
    double diag = 0.0;
    for (int i = 0; i < m; i++)
        diag += A[(size_t)i * m + i];
    diag = m ? diag / m : 0.0;
    double lam = ridge * (diag > 1e-12 ? diag : 1e-12);
    int ok = -1;
    for (int tries = 0; tries < 7 && ok<0; tries++, lam = lam> 0 ? lam * 10.0 : 1e-12) {
        memcpy(L, A, (size_t)m * m * sizeof *L);
        for (int i = 0; i < m; i++)
            L[(size_t)i * m + i] += lam;
        ok = cholesky(L, m);
    }
    if (ok < 0) {
        free(L);
        return PF_ERR(PF_EINVAL,
                      "least squares: the %dx%d Gram matrix is not positive definite "
                      "even with a ridge (NaN or Inf in the samples?)",
                      m, m);
    }
    /* forward then backward substitution, every right-hand column at once */
    memcpy(X, B, (size_t)m * k * sizeof *X);
    for (int i = 0; i < m; i++) {
        double *xi = X + (size_t)i * k;
        for (int p = 0; p < i; p++) {
            double l = L[(size_t)i * m + p];
            const double *xp = X + (size_t)p * k;
            for (int j = 0; j < k; j++)
                xi[j] -= l * xp[j];
        }
        double d = L[(size_t)i * m + i];
        for (int j = 0; j < k; j++)
            xi[j] /= d;
    }
    for (int i = m - 1; i >= 0; i--) {
        double *xi = X + (size_t)i * k;
        for (int p = i + 1; p < m; p++) {
            double l = L[(size_t)p * m + i];
            const double *xp = X + (size_t)p * k;
            for (int j = 0; j < k; j++)
                xi[j] -= l * xp[j];
        }
        double d = L[(size_t)i * m + i];
        for (int j = 0; j < k; j++)
            xi[j] /= d;
    }
    free(L);
    return 0;
}

int pf_lstsq_adam(const double *A, const double *B, int m, int k, double wd, double lr, int iters,
                  double *W)
{
    size_t n = (size_t)k * m;
    double *g = pf_malloc(n * sizeof *g), *m1 = pf_calloc(n, sizeof *m1),
           *m2 = pf_calloc(n, sizeof *m2);
    int rc = 0;
    if (!g || !m1 || !m2) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int t = 1; t <= iters; t++) {
        /* g = W A - B' + wd W: the gradient of |X W' - Y|^2 / (2N) + wd |W|^2 / 2 */
        for (int o = 0; o < k; o++)
            for (int i = 0; i < m; i++) {
                double s = -B[(size_t)i * k + o] + wd * W[(size_t)o * m + i];
                const double *wo = W + (size_t)o * m;
                const double *ai = A + (size_t)i * m;
                for (int j = 0; j < m; j++)
                    s += wo[j] * ai[j];
                g[(size_t)o * m + i] = s;
            }
        double c1 = 1.0 - pow(b1, t), c2 = 1.0 - pow(b2, t);
        for (size_t i = 0; i < n; i++) {
            m1[i] = b1 * m1[i] + (1.0 - b1) * g[i];
            m2[i] = b2 * m2[i] + (1.0 - b2) * g[i] * g[i];
            W[i] -= lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + eps);
        }
    }
fail:
    free(g);
    free(m1);
    free(m2);
    return rc;
}

double pf_lstsq_error(const double *A, const double *B, double yy, int m, int k, const double *W)
{
    double e = yy;
    for (int o = 0; o < k; o++) {
        const double *wo = W + (size_t)o * m;
        for (int i = 0; i < m; i++) {
            if (wo[i] == 0.0)
                continue;
            double s = 0.0;
            const double *ai = A + (size_t)i * m;
            for (int j = 0; j < m; j++)
                s += ai[j] * wo[j];
            e += wo[i] * s - 2.0 * wo[i] * B[(size_t)i * k + o];
        }
    }
    return e;
}
