/* Argument checks and stride arithmetic shared by the op files (gr_tensor_*.c). */
#ifndef GR_OPS_COMMON_H
#define GR_OPS_COMMON_H

#include "gr_ops.h"

static inline gr_device *gr_tensor_device(const gr_tensor *t) { return t->storage->device; }
static inline const gr_backend *gr_tensor_backend(const gr_tensor *t) { return t->storage->device->backend; }

/* Both operands of an op must live on one device. */
static inline gr_status gr_check_same_device(const gr_tensor *a, const gr_tensor *b)
{
    if (gr_tensor_device(a) != gr_tensor_device(b))
        return gr_fail(GR_EDEVICE, "device mismatch: %s vs %s", gr_tensor_device(a)->name,
                       gr_tensor_device(b)->name);
    return GR_OK;
}

static inline gr_status gr_check_dim(const gr_tensor *t, int dim)
{
    if (dim < 0 || dim >= t->ndim)
        return gr_fail(GR_EINVAL, "dimension %d out of range for a %d-d tensor", dim, t->ndim);
    return GR_OK;
}

/* "shape mismatch: 3x4 vs 4x3" */
static inline gr_status gr_fail_shapes(const gr_tensor *a, const gr_tensor *b)
{
    char sa[96], sb[96];
    return gr_fail(GR_ESHAPE, "shape mismatch: %s vs %s", gr_shape_str(a->ndim, a->shape, sa, sizeof sa),
                   gr_shape_str(b->ndim, b->shape, sb, sizeof sb));
}

/* Element strides of a contiguous tensor of this shape. */
static inline void gr_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i];
    }
}

/* Product of shape[from..to). */
static inline int64_t gr_shape_prod(const int64_t *shape, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= shape[i];
    return p;
}

#endif
