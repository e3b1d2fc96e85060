/* tensor.h: struct pf_tensor, the engine's n-dimensional array.
 *
 * Row-major, at most 4 dimensions. Activations are NCHW (N batch, C channels, H, W); conv
 * weights (K, C/groups, R, S) = (out, in, kh, kw); dense weights (out, in). A tensor either owns
 * its data (pf_tensor_new) or is a view into memory someone else owns (owns_data = false). */
#ifndef PF_ENGINE_TENSOR_H
#define PF_ENGINE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pf_dtype { PF_DTYPE_F32, PF_DTYPE_U8, PF_DTYPE_I8, PF_DTYPE_I32 };
enum pf_device { PF_DEV_CPU, PF_DEV_CUDA };

#define PF_MAX_DIMS 4

struct pf_tensor {
    enum pf_dtype dtype;
    int ndim;               /* 0..4; 0 = empty tensor */
    int shape[PF_MAX_DIMS]; /* unused trailing entries are 1 */
    void *data;
    enum pf_device device;
    bool owns_data;
};

/* Allocates a zero-filled tensor of the given shape into *t (64-byte aligned data).
 * Returns 0 or -PF_ENOMEM / -PF_EINVAL (bad ndim or negative dim). Free with pf_tensor_free. */
int pf_tensor_init(struct pf_tensor *t, enum pf_dtype dtype, int ndim, const int *shape);
/* Frees owned data and resets *t to empty; a view or an empty tensor is only reset. */
void pf_tensor_deinit(struct pf_tensor *t);
/* Number of elements (1 for ndim 0 is NOT returned: an empty tensor has 0). */
size_t pf_tensor_numel(const struct pf_tensor *t);
size_t pf_dtype_size(enum pf_dtype dt);
/* Copies src into dst; both must have the same dtype and element count. */
int pf_tensor_copy(struct pf_tensor *dst, const struct pf_tensor *src);
/* "32x1x5x5" into buf. */
const char *pf_tensor_shape_str(const struct pf_tensor *t, char *buf, size_t n);

static inline float *pf_tensor_f32(const struct pf_tensor *t)
{
    return (float *)t->data;
}

#endif
