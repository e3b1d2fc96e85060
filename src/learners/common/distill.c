/* distill.c: PocketFlow's distillation loss, its gradient, and the training hook that adds it
 * to every fine-tune of a run with enbl_dst (see distill.h). */
#include "learners/common/distill.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/model/train.h"

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

/* ---- the training hook ---- */

int pf_distill_hook_init(struct pf_distill_hook *h, struct pf_model *teacher,
                         const struct pf_distill_cfg *cfg, struct pf_train_hooks *hooks)
{
    memset(h, 0, sizeof *h);
    memset(hooks, 0, sizeof *hooks);
    if (!(cfg->tempr > 0.0))
        return PF_ERR(PF_EINVAL, "distillation: tempr_dst = %g must be > 0", cfg->tempr);
    if (!(cfg->loss_w >= 0.0))
        return PF_ERR(PF_EINVAL, "distillation: loss_w_dst = %g must be >= 0", cfg->loss_w);
    h->teacher = teacher;
    h->cfg = *cfg;
    hooks->before_backward = pf_distill_before_backward;
    hooks->user = h;
    return 0;
}

int pf_distill_before_backward(struct pf_model *m, const float *x, int N, float *dlogits, long step,
                               void *user)
{
    (void)step;
    struct pf_distill_hook *h = user;
    struct pf_model *t = h->teacher;
    if (t->classes != m->classes || t->input.c != m->input.c || t->input.h != m->input.h ||
        t->input.w != m->input.w)
        return PF_ERR(PF_ESHAPE,
                      "distillation: the teacher %s takes %dx%dx%d and outputs %d classes, the "
                      "student %s takes %dx%dx%d and outputs %d",
                      t->name, t->input.c, t->input.h, t->input.w, t->classes, m->name, m->input.c,
                      m->input.h, m->input.w, m->classes);
    int rc;
    /* allocates only when the batch grows (the first step); inference mode: running BN
     * statistics, no dropout, nothing in the teacher changes */
    if ((rc = pf_model_set_batch(t, N)) < 0 || (rc = pf_model_forward(t, x, N, false)) < 0)
        return rc;
    float loss;
    if ((rc = pf_distill_loss(pf_model_logits(m), pf_model_logits(t), N, m->classes, &h->cfg, &loss,
                              dlogits)) < 0)
        return rc;
    h->loss_sum += loss;
    h->steps++;
    return 0;
}

double pf_distill_hook_take(struct pf_distill_hook *h)
{
    double v = h->steps ? h->loss_sum / (double)h->steps : 0.0;
    h->loss_sum = 0.0;
    h->steps = 0;
    return v;
}
