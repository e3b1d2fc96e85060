/* masks.c: magnitude masks and sparsity schedules (PocketFlow learners/weight_sparsification).
 * The k smallest magnitudes are found with a quickselect on a scratch copy (O(n) expected), so a
 * mask update costs a few passes over the tensor. */
#include "learners/common/masks.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

double pf_sparsity_schedule(long t, long t_b, long t_e, double s_f, double alpha)
{
    if (t < t_b)
        return 0.0;
    if (t_e <= t_b || t >= t_e)
        return s_f;
    double r = (double)(t - t_b) / (double)(t_e - t_b);
    return s_f * (1.0 - pow(1.0 - r, alpha));
}

/* The k-th smallest (0-based) of a[0..n), reordering a (Hoare partition quickselect). */
static float select_kth(float *a, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return a[kk];
    }
    return a[kk];
}

long pf_mask_magnitude(const float *v, size_t n, double sparsity, uint8_t *mask)
{
    if (!(sparsity >= 0.0 && sparsity < 1.0))
        return PF_ERR(PF_EINVAL, "sparsity %g is outside [0, 1)", sparsity);
    size_t k = (size_t)llround(sparsity * (double)n);
    if (k == 0) {
        memset(mask, 1, n);
        return 0;
    }
    float *a = pf_malloc(n * sizeof *a);
    if (!a)
        return -PF_ENOMEM;
    for (size_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    float thr = select_kth(a, n, k - 1); /* the largest magnitude that is pruned */
    free(a);
    size_t below = 0;
    for (size_t i = 0; i < n; i++)
        below += fabsf(v[i]) < thr;
    size_t ties = k - below; /* entries equal to thr that are pruned, first ones first */
    for (size_t i = 0; i < n; i++) {
        float m = fabsf(v[i]);
        if (m < thr) {
            mask[i] = 0;
        } else if (m == thr && ties > 0) {
            mask[i] = 0;
            ties--;
        } else {
            mask[i] = 1;
        }
    }
    return (long)k;
}

double pf_mask_sparsity(const uint8_t *mask, size_t n)
{
    size_t z = 0;
    for (size_t i = 0; i < n; i++)
        z += mask[i] == 0;
    return n ? (double)z / (double)n : 0.0;
}

double pf_zero_fraction(const float *w, size_t n)
{
    size_t z = 0;
    for (size_t i = 0; i < n; i++)
        z += w[i] == 0.0f;
    return n ? (double)z / (double)n : 0.0;
}

int pf_sparsity_heurist(const size_t *n, int L, double pr, double cap, double *out)
{
    if (!(pr >= 0.0 && pr < 1.0))
        return PF_ERR(PF_EINVAL, "prune ratio %g is outside [0, 1)", pr);
    if (L < 1)
        return PF_ERR(PF_EINVAL, "no layers to prune");
    double sum_n = 0.0, sum_nln = 0.0;
    for (int l = 0; l < L; l++) {
        if (n[l] == 0)
            return PF_ERR(PF_EINVAL, "layer %d has no weights", l);
        sum_n += (double)n[l];
        sum_nln += (double)n[l] * log((double)n[l]);
    }
    double alpha = sum_nln > 0.0 ? pr * sum_n / sum_nln : 0.0;
    for (int l = 0; l < L; l++)
        out[l] = n[l] > 1 ? alpha * log((double)n[l]) : pr;
    /* cap, and give the weights a capped layer could not take to the uncapped ones */
    for (int iter = 0; iter < L; iter++) {
        double excess = 0.0, free_w = 0.0;
        for (int l = 0; l < L; l++) {
            if (out[l] > cap) {
                excess += (out[l] - cap) * (double)n[l];
                out[l] = cap;
            } else if (out[l] < cap) {
                free_w += out[l] * (double)n[l];
            }
        }
        if (excess <= 0.0 || free_w <= 0.0)
            break;
        for (int l = 0; l < L; l++)
            if (out[l] < cap)
                out[l] *= 1.0 + excess / free_w;
    }
    return 0;
}
