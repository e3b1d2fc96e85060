/* registry.c: which backends exist, and the one in use. The only file that may contain
 * #ifdef PF_HAVE_CUDA. To add a backend: one ops table in its own file, one row below. */
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_status.h"

static const struct pf_backend_ops *const backends[] = {
    &pf_backend_cpu,
    &pf_backend_cpu_ref,
};

static const struct pf_backend_ops *current = &pf_backend_cpu;

const struct pf_backend_ops *pf_backend(void)
{
    return current;
}

const struct pf_backend_ops *pf_backend_get(const char *name)
{
    for (size_t i = 0; i < PF_ARRAY_LEN(backends); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int pf_backend_select(const char *name)
{
    const struct pf_backend_ops *b = pf_backend_get(name);
    if (!b) {
        if (strcmp(name, "cuda") == 0)
            return PF_ERR(PF_EUNSUPPORTED, "device 'cuda': this build has no CUDA backend "
                                           "(rebuild with make CUDA=1 on a machine with nvcc)");
        return PF_ERR(PF_EINVAL, "unknown device '%s' (cpu, cpu_ref)", name);
    }
    current = b;
    return 0;
}

int pf_conv_desc_finish(struct pf_conv_desc *d)
{
    if (d->N < 1 || d->C < 1 || d->K < 1 || d->groups < 1 || d->C % d->groups || d->K % d->groups ||
        d->stride_h < 1 || d->stride_w < 1 || d->R < 1 || d->S < 1)
        return PF_ERR(PF_ESHAPE, "bad convolution: C %d, K %d, groups %d, kernel %dx%d", d->C, d->K,
                      d->groups, d->R, d->S);
    int hh = d->H + d->pad_t + d->pad_b - d->R, ww = d->W + d->pad_l + d->pad_r - d->S;
    if (hh < 0 || ww < 0)
        return PF_ERR(PF_ESHAPE, "convolution kernel %dx%d does not fit input %dx%d", d->R, d->S,
                      d->H, d->W);
    d->OH = hh / d->stride_h + 1;
    d->OW = ww / d->stride_w + 1;
    return 0;
}

/* ---- dispatch ---- */

void pf_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    (current->sgemm ? current->sgemm : pf_backend_cpu_ref.sgemm)(trans_a, trans_b, M, N, K, alpha,
                                                                 A, lda, B, ldb, beta, C, ldc);
}

int pf_conv2d_forward(const struct pf_conv_desc *d, void **state, const float *x, const float *w,
                      const float *b, float *y)
{
    if (current->conv2d_forward)
        return current->conv2d_forward(d, state, x, w, b, y);
    return pf_backend_cpu_ref.conv2d_forward(d, state, x, w, b, y);
}

int pf_conv2d_backward_data(const struct pf_conv_desc *d, void **state, const float *dy,
                            const float *w, float *dx)
{
    if (current->conv2d_backward_data)
        return current->conv2d_backward_data(d, state, dy, w, dx);
    return pf_backend_cpu_ref.conv2d_backward_data(d, state, dy, w, dx);
}

int pf_conv2d_backward_weights(const struct pf_conv_desc *d, void **state, const float *x,
                               const float *dy, float *dw, float *db)
{
    if (current->conv2d_backward_weights)
        return current->conv2d_backward_weights(d, state, x, dy, dw, db);
    return pf_backend_cpu_ref.conv2d_backward_weights(d, state, x, dy, dw, db);
}

int pf_conv2d_backward(const struct pf_conv_desc *d, void **state, const float *x, const float *dy,
                       const float *w, float *dx, float *dw, float *db)
{
    if (current->conv2d_backward)
        return current->conv2d_backward(d, state, x, dy, w, dx, dw, db);
    int rc = pf_conv2d_backward_weights(d, state, x, dy, dw, db);
    if (!rc && dx)
        rc = pf_conv2d_backward_data(d, state, dy, w, dx);
    return rc;
}

int pf_conv2d_u8s8s32(const struct pf_conv_desc *d, void **state, const uint8_t *x, int32_t x_zp,
                      const int8_t *w, int32_t *acc)
{
    if (current->conv2d_u8s8s32)
        return current->conv2d_u8s8s32(d, state, x, x_zp, w, acc);
    return pf_backend_cpu_ref.conv2d_u8s8s32(d, state, x, x_zp, w, acc);
}

int pf_gemm_u8s8s32(int M, int N, int K, const uint8_t *A, int32_t a_zp, const int8_t *B,
                    int32_t *C)
{
    if (current->gemm_u8s8s32)
        return current->gemm_u8s8s32(M, N, K, A, a_zp, B, C);
    return pf_backend_cpu_ref.gemm_u8s8s32(M, N, K, A, a_zp, B, C);
}

int pf_conv2d_blk(const struct pf_conv_desc *d, void **state, bool x_plain, const float *x,
                  const float *w, const float *b, float lo, float hi, float *y)
{
    return (current->conv2d_blk ? current->conv2d_blk : pf_backend_cpu_ref.conv2d_blk)(
        d, state, x_plain, x, w, b, lo, hi, y);
}

void pf_conv_state_free(void **state)
{
    if (*state && current->conv_state_free)
        current->conv_state_free(*state);
    *state = NULL;
}

void pf_backend_set_threads(int n)
{
    for (size_t i = 0; i < PF_ARRAY_LEN(backends); i++)
        if (backends[i]->set_threads)
            backends[i]->set_threads(n);
}

void pf_add_act(size_t n, int k, const float *const *xs, float lo, float hi, float *y)
{
    (current->add_act ? current->add_act : pf_backend_cpu_ref.add_act)(n, k, xs, lo, hi, y);
}

void pf_act_backward_to(size_t n, float lo, float hi, const float *y, const float *dy, int k,
                        float *const *dx)
{
    (current->act_backward ? current->act_backward : pf_backend_cpu_ref.act_backward)(n, lo, hi, y,
                                                                                      dy, k, dx);
}

void pf_accumulate(size_t n, float *dst, const float *src)
{
    (current->accumulate ? current->accumulate : pf_backend_cpu_ref.accumulate)(n, dst, src);
}

void pf_batchnorm_forward(int N, int C, int HW, const float *x, const float *gamma,
                          const float *beta, double eps, bool stats, float lo, float hi,
                          float *mean, float *var, float *invstd, float *y)
{
    (current->batchnorm_forward ? current->batchnorm_forward
                                : pf_backend_cpu_ref.batchnorm_forward)(
        N, C, HW, x, gamma, beta, eps, stats, lo, hi, mean, var, invstd, y);
}

void pf_batchnorm_backward(int N, int C, int HW, const float *x, const float *y, float *dy,
                           float lo, float hi, const float *mean, const float *invstd,
                           const float *gamma, bool stats, float *dgamma, float *dbeta, float *dx)
{
    (current->batchnorm_backward ? current->batchnorm_backward
                                 : pf_backend_cpu_ref.batchnorm_backward)(
        N, C, HW, x, y, dy, lo, hi, mean, invstd, gamma, stats, dgamma, dbeta, dx);
}
