/* Tensors: float32, n-dimensional, contiguous, on one device.
 * A tensor is a shape plus an element offset into a reference-counted
 * storage; reshape/view share the storage. */
#ifndef GR_TENSOR_H
#define GR_TENSOR_H

#include <stdint.h>
#include <stddef.h>
#include "gr_status.h"
#include "gr_device.h"

#define GR_MAX_DIMS 8

typedef struct gr_storage {
    int refcount;
    gr_device *device;   /* retained */
    size_t nbytes;
    float *host;         /* CPU memory, or a persistent host mapping of device memory, or NULL */
    void *impl;          /* backend allocation handle */
} gr_storage;

typedef struct gr_tensor {
    int refcount;
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    int64_t numel;
    gr_storage *storage;
    int64_t offset;      /* in elements */
} gr_tensor;

/* Lifetime */
gr_status gr_tensor_empty(gr_device *dev, int ndim, const int64_t *shape, gr_tensor **out);
gr_status gr_tensor_full(gr_device *dev, int ndim, const int64_t *shape, float value, gr_tensor **out);
gr_status gr_tensor_from_host(gr_device *dev, int ndim, const int64_t *shape, const float *data, gr_tensor **out);
void gr_tensor_retain(gr_tensor *t);
void gr_tensor_release(gr_tensor *t);

/* Shape helpers */
gr_status gr_shape_check(int ndim, const int64_t *shape, int64_t *numel_out);
int gr_shape_equal(const gr_tensor *a, const gr_tensor *b);
/* Writes "3x4" (or "scalar" for 0-d) into buf. */
const char *gr_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);

/* Host transfer; reading is a sync point. */
gr_status gr_tensor_read(const gr_tensor *t, float *dst);
gr_status gr_tensor_write(gr_tensor *t, const float *src);
gr_status gr_tensor_read_range(const gr_tensor *t, int64_t first, int64_t count, float *dst);
gr_status gr_tensor_write_range(gr_tensor *t, int64_t first, int64_t count, const float *src);

/* Copies */
gr_status gr_tensor_clone(const gr_tensor *t, gr_tensor **out);
gr_status gr_tensor_to(const gr_tensor *t, gr_device *dev, gr_tensor **out);
gr_status gr_tensor_copy_(gr_tensor *dst, const gr_tensor *src);   /* same shape; devices may differ */
gr_status gr_tensor_fill_(gr_tensor *t, float value);

/* A new tensor header over the same storage (numel must match). */
gr_status gr_tensor_reshape(const gr_tensor *t, int ndim, const int64_t *shape, gr_tensor **out);
/* A new tensor header of the given shape over t's storage, starting `offset`
 * elements after t's first element; it must lie within t. */
gr_status gr_tensor_view_at(const gr_tensor *t, int64_t offset, int ndim, const int64_t *shape, gr_tensor **out);

#endif
