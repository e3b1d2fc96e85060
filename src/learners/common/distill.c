/* distill.c: PocketFlow's distillation loss and its gradient (see distill.h). */
#include "learners/common/distill.h"

#include <math.h>
#include <stddef.h>

#include "engine/core/pf_status.h"

/* p = softmax(z / T) of one row, in double. */
static void soft(const float *z, int K, double T, double *p)
{
    double mx = z[0];
    for (int k = 1; k < K; k++)
        mx = z[k] > mx ? z[k] : mx;
    double s = 0.0;
    for (int k = 0; k < K; k++)
        s += (p[k] = exp((z[k] - mx) / T));
    for (int k = 0; k < K; k++)
        p[k] /= s;
}

int pf_distill_loss(const float *zs, const float *zt, int N, int K, const struct pf_distill_cfg *c,
                    float *loss_out, float *dzs)
{
    if (N < 1 || K < 1)
        return PF_ERR(PF_EINVAL, "distillation loss on %d x %d logits", N, K);
    if (!(c->tempr > 0.0) || !(c->loss_w >= 0.0))
        return PF_ERR(PF_EINVAL,
                      "distillation: tempr_dst = %g must be > 0 and loss_w_dst = %g "
                      ">= 0",
                      c->tempr, c->loss_w);
    double T = c->tempr, scale = c->loss_w * (c->t2_scaled ? T * T : 1.0), total = 0.0;
    enum { KMAX = 1024 };
    double pt[KMAX], ps[KMAX];
    if (K > KMAX)
        return PF_ERR(PF_EINVAL, "distillation: %d classes (at most %d)", K, KMAX);
    for (int n = 0; n < N; n++) {
        const float *s = zs + (size_t)n * K, *t = zt + (size_t)n * K;
        soft(t, K, T, pt);
        soft(s, K, T, ps);
        /* log softmax(s / T)_k = (s_k - max) / T - log sum exp((s - max) / T) */
        double mx = s[0];
        for (int k = 1; k < K; k++)
            mx = s[k] > mx ? s[k] : mx;
        double lse = 0.0;
        for (int k = 0; k < K; k++)
            lse += exp((s[k] - mx) / T);
        lse = log(lse);
        double ce = 0.0;
        for (int k = 0; k < K; k++)
            ce -= pt[k] * ((s[k] - mx) / T - lse);
        total += ce;
        if (dzs)
            for (int k = 0; k < K; k++)
                dzs[(size_t)n * K + k] += (float)(scale * (ps[k] - pt[k]) / (T * N));
    }
    if (loss_out)
        *loss_out = (float)(scale * total / N);
    return 0;
}
