/* tensor.c: allocation and copies of struct pf_tensor. */
#include "engine/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

size_t pf_dtype_size(enum pf_dtype dt)
{
    return dt == PF_DTYPE_F32 || dt == PF_DTYPE_I32 ? 4 : 1;
}

size_t pf_tensor_numel(const struct pf_tensor *t)
{
    if (t->ndim == 0)
        return 0;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

int pf_tensor_init(struct pf_tensor *t, enum pf_dtype dtype, int ndim, const int *shape)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > PF_MAX_DIMS)
        return PF_ERR(PF_EINVAL, "tensor rank %d outside 1..%d", ndim, PF_MAX_DIMS);
    for (int i = 0; i < PF_MAX_DIMS; i++) {
        int d = i < ndim ? shape[i] : 1;
        if (d < 0 || d > (1 << 30))
            return PF_ERR(PF_EINVAL, "tensor dimension %d is %d", i, d);
        t->shape[i] = d;
    }
    t->dtype = dtype;
    t->ndim = ndim;
    size_t bytes = pf_tensor_numel(t) * pf_dtype_size(dtype);
    t->data = pf_malloc_aligned(bytes);
    if (!t->data) {
        t->ndim = 0;
        return -PF_ENOMEM;
    }
    memset(t->data, 0, bytes);
    t->owns_data = true;
    return 0;
}

void pf_tensor_deinit(struct pf_tensor *t)
{
    if (t->owns_data)
        free(t->data);
    memset(t, 0, sizeof *t);
}

int pf_tensor_copy(struct pf_tensor *dst, const struct pf_tensor *src)
{
    if (dst->dtype != src->dtype || pf_tensor_numel(dst) != pf_tensor_numel(src))
        return PF_ERR(PF_ESHAPE, "tensor copy: sizes differ (%zu vs %zu)", pf_tensor_numel(dst),
                      pf_tensor_numel(src));
    memcpy(dst->data, src->data, pf_tensor_numel(src) * pf_dtype_size(src->dtype));
    return 0;
}

const char *pf_tensor_shape_str(const struct pf_tensor *t, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%d", i ? "x" : "", t->shape[i]);
    return buf;
}
