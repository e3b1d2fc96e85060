/* backend.h: the seam between the engine's math and the hardware (implementer header).
 *
 * Layers never call BLAS or oneDNN directly: they call through the ops table of the selected
 * backend, pf_backend(). cpu_ref.c is the plain-loop oracle every test compares against;
 * cpu.c is the fast one (oneDNN convolutions, OpenBLAS GEMM). A backend may leave an entry
 * NULL; the dispatch helpers below then fall back to cpu_ref. Only backend/registry.c knows
 * which backends exist (and is the only file with #ifdef PF_HAVE_CUDA). */
#ifndef PF_ENGINE_BACKEND_BACKEND_H
#define PF_ENGINE_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Channels per block of the blocked inference layout (conv2d_blk). */
#define PF_BLK 16

/* Whether a pruned count of channels ends in a partial block: the CPU's kernels pad it to whole
 * blocks, so layers on it run at about the speed of the padded count, not at their MACs. */
static inline bool pf_blk_partial(int channels)
{
    return channels % PF_BLK != 0;
}

/* One 2-D convolution, all sizes resolved. x (N, C, H, W), w (K, C/groups, R, S), b (K) or
 * NULL, y (N, K, OH, OW). Padding may be asymmetric (TensorFlow SAME puts the odd pixel at the
 * bottom/right): OH = (H + pad_t + pad_b - R) / stride_h + 1, likewise OW. */
struct pf_conv_desc {
    int N, C, H, W; /* input */
    int K, R, S;    /* output channels, kernel height, width */
    int stride_h, stride_w;
    int pad_t, pad_b, pad_l, pad_r;
    int groups; /* C and K divisible by groups; depthwise: groups = C */
    int OH, OW; /* output size (derived, filled by pf_conv_desc_finish) */
};

/* Computes OH and OW; returns 0 or -PF_ESHAPE when the kernel does not fit. */
int pf_conv_desc_finish(struct pf_conv_desc *d);

struct pf_backend_ops {
    const char *name; /* "cpu", "cpu_ref", "cuda" */

    /* Sets the number of threads the backend's libraries use (OpenBLAS, oneDNN's OpenMP). */
    void (*set_threads)(int n);

    /* C = alpha * op(A) op(B) + beta * C, row-major, exact BLAS meaning: op(A) is M x K,
     * op(B) is K x N, lda/ldb/ldc are row strides of A, B, C as stored. */
    void (*sgemm)(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

    /* Convolutions. `state` points to a per-layer slot (initially NULL) where a backend may cache
     * primitives and scratch for this descriptor; it is released with conv_state_free. If the
     * descriptor changes (new batch size), the backend rebuilds what it cached.
     * forward: y = conv(x, w) + b. backward_data: dx = conv^T(dy, w) (overwrites dx).
     * backward_weights: dw = sum over batch (overwrites), db = sum of dy over N, OH, OW
     * (overwrites; db may be NULL). Return 0 or a negative PF_E* code. */
    int (*conv2d_forward)(const struct pf_conv_desc *d, void **state, const float *x,
                          const float *w, const float *b, float *y);
    int (*conv2d_backward_data)(const struct pf_conv_desc *d, void **state, const float *dy,
                                const float *w, float *dx);
    int (*conv2d_backward_weights)(const struct pf_conv_desc *d, void **state, const float *x,
                                   const float *dy, float *dw, float *db);
    /* Both backward convolutions of a training step, as backward_weights (dw, and db unless
     * NULL) then backward_data (dx unless NULL). x must be the input of the last
     * conv2d_forward on this state, unchanged since: a backend may reuse what it derived from
     * it there (oneDNN: x already reordered to the blocked layout). NULL: the dispatch calls
     * backward_weights and backward_data. */
    int (*conv2d_backward)(const struct pf_conv_desc *d, void **state, const float *x,
                           const float *dy, const float *w, float *dx, float *dw, float *db);
    void (*conv_state_free)(void *state);

    /* Integer inference (the int8 path, model/int8.h), on CHANNELS-LAST activations (NHWC,
     * TFLite's layout and the one oneDNN's int8 kernels use, so no reorders run per call).
     * conv2d_u8s8s32: acc (N, OH, OW, K) = the sum over each window of (x - x_zp) * w, x uint8
     * (N, H, W, C) with zero point x_zp (padding is the real value 0, i.e. x_zp), w int8
     * (K, C/groups, R, S), no bias; `state` is a convolution slot as above; w must not change
     * between calls on the same state with the same pointer (a backend may keep its reordered
     * copy). gemm_u8s8s32: C (M x N) = (A - a_zp) B^T with A uint8 (M x K), B int8 (N x K),
     * C int32, all row-major and dense. Both return 0 or a negative PF_E* code. */
    int (*conv2d_u8s8s32)(const struct pf_conv_desc *d, void **state, const uint8_t *x,
                          int32_t x_zp, const int8_t *w, int32_t *acc);
    int (*gemm_u8s8s32)(int M, int N, int K, const uint8_t *A, int32_t a_zp, const int8_t *B,
                        int32_t *C);

    /* Float inference on the BLOCKED layout (the inference network, model/infer.h): an
     * activation of C channels is (N, ceil(C / PF_BLK), H, W, PF_BLK), channel c of pixel (h, w)
     * at [n][c / PF_BLK][h][w][c % PF_BLK], the lanes past C zero. oneDNN's AVX-512 kernels work
     * on this layout (nChw16c), so a chain of convolutions runs without reorders.
     * conv2d_blk: y (blocked, K channels) = act(conv(x, w) + b), x blocked, or plain
     * (N, C, H, W) when x_plain (a network input); w (K, C/groups, R, S) plain and unchanged
     * between calls on the same state with the same pointer (a backend may keep its reordered
     * copy); b (K) or NULL; act the clamp [lo, hi] as below; y's padding lanes are written 0.
     * 0 or a negative PF_E* code. */
    int (*conv2d_blk)(const struct pf_conv_desc *d, void **state, bool x_plain, const float *x,
                      const float *w, const float *b, float lo, float hi, float *y);

    /* Element-wise and per-channel work on float activations (what sits between the
     * convolutions). A clamp [lo, hi] stands for the fused activation: (-inf, inf) none,
     * [0, inf) ReLU, [0, 6] ReLU6: act(v) = v > lo ? (v < hi ? v : hi) : lo. Its gradient is
     * read from the output y: dy passes where lo < y < hi, so at exactly 0 (and 6) it is 0, as
     * in PyTorch.
     *
     * add_act: y[i] = act(xs[0][i] + ... + xs[k-1][i]), i < n, summed in input order; k >= 1
     * (k = 1 is a plain activation; y may equal xs[0]).
     * act_backward: each non-NULL dx[j] (j < k) gets dy[i] where lo < y[i] < hi, else 0; a dx[j]
     * may equal dy.
     * accumulate: dst[i] += src[i].
     * batchnorm_forward: x, y (N, C, HW). With `stats` (training), mean[c] and var[c] (biased,
     * over N and HW) are computed from x and written, else read; invstd[c] = 1 / sqrt(var + eps)
     * is written; y = act((x - mean) * invstd * gamma + beta).
     * batchnorm_backward: the gradient of batchnorm_forward (with the same stats flag, mean and
     * invstd), y its output. g = dy masked by the act; dgamma[c] += sum g xhat, dbeta[c] += sum
     * g; dx (may be NULL) = gamma invstd (g - mean(g) - xhat mean(g xhat)) with stats, gamma
     * invstd g without. dy may be clobbered. */
    void (*add_act)(size_t n, int k, const float *const *xs, float lo, float hi, float *y);
    void (*act_backward)(size_t n, float lo, float hi, const float *y, const float *dy, int k,
                         float *const *dx);
    void (*accumulate)(size_t n, float *dst, const float *src);
    void (*batchnorm_forward)(int N, int C, int HW, const float *x, const float *gamma,
                              const float *beta, double eps, bool stats, float lo, float hi,
                              float *mean, float *var, float *invstd, float *y);
    void (*batchnorm_backward)(int N, int C, int HW, const float *x, const float *y, float *dy,
                               float lo, float hi, const float *mean, const float *invstd,
                               const float *gamma, bool stats, float *dgamma, float *dbeta,
                               float *dx);
};

/* The plain-loop oracle and the fast CPU backend. */
extern const struct pf_backend_ops pf_backend_cpu_ref;
extern const struct pf_backend_ops pf_backend_cpu;

/* The backend in use (default: cpu). Not thread-safe to change while a model runs. */
const struct pf_backend_ops *pf_backend(void);
/* Selects a backend by name ("cpu", "cpu_ref", "cuda"); -PF_EUNSUPPORTED if this build or
 * machine lacks it (the message says why). */
int pf_backend_select(const char *name);
/* Looks a backend up by name without selecting it; NULL if unavailable. */
const struct pf_backend_ops *pf_backend_get(const char *name);

/* ---- dispatch: what layers and learners call ----
 * Each calls the selected backend's entry, or cpu_ref's when that entry is NULL. */
void pf_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
int pf_conv2d_forward(const struct pf_conv_desc *d, void **state, const float *x, const float *w,
                      const float *b, float *y);
int pf_conv2d_backward_data(const struct pf_conv_desc *d, void **state, const float *dy,
                            const float *w, float *dx);
int pf_conv2d_backward_weights(const struct pf_conv_desc *d, void **state, const float *x,
                               const float *dy, float *dw, float *db);
int pf_conv2d_backward(const struct pf_conv_desc *d, void **state, const float *x, const float *dy,
                       const float *w, float *dx, float *dw, float *db);
int pf_conv2d_u8s8s32(const struct pf_conv_desc *d, void **state, const uint8_t *x, int32_t x_zp,
                      const int8_t *w, int32_t *acc);
int pf_gemm_u8s8s32(int M, int N, int K, const uint8_t *A, int32_t a_zp, const int8_t *B,
                    int32_t *C);
int pf_conv2d_blk(const struct pf_conv_desc *d, void **state, bool x_plain, const float *x,
                  const float *w, const float *b, float lo, float hi, float *y);
void pf_add_act(size_t n, int k, const float *const *xs, float lo, float hi, float *y);
void pf_act_backward_to(size_t n, float lo, float hi, const float *y, const float *dy, int k,
                        float *const *dx);
void pf_accumulate(size_t n, float *dst, const float *src);
void pf_batchnorm_forward(int N, int C, int HW, const float *x, const float *gamma,
                          const float *beta, double eps, bool stats, float lo, float hi,
                          float *mean, float *var, float *invstd, float *y);
void pf_batchnorm_backward(int N, int C, int HW, const float *x, const float *y, float *dy,
                           float lo, float hi, const float *mean, const float *invstd,
                           const float *gamma, bool stats, float *dgamma, float *dbeta, float *dx);
/* Frees a conv state slot filled by the current backend and sets *state to NULL. */
void pf_conv_state_free(void **state);
/* Sets the thread count of every backend library (OpenBLAS, oneDNN). */
void pf_backend_set_threads(int n);

#endif
