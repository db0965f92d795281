/* Tensor lifetime, storage, shapes and host transfers. */
#include "gr_tensor.h"
#include "gr_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest element count a tensor may have: keeps byte counts far from overflow. */
#define GR_MAX_NUMEL ((int64_t)1 << 40)

gr_status gr_shape_check(int ndim, const int64_t *shape, int64_t *numel_out)
{
    if (ndim < 0 || ndim > GR_MAX_DIMS)
        return gr_fail(GR_EINVAL, "a tensor has 0 to %d dimensions (got %d)", GR_MAX_DIMS, ndim);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return gr_fail(GR_EINVAL, "size of dimension %d must be >= 0 (got %lld)", i + 1, (long long)shape[i]);
        if (shape[i] > 0 && numel > GR_MAX_NUMEL / shape[i])
            return gr_fail(GR_EINVAL, "tensor too large (more than 2^40 elements)");
        numel *= shape[i];
    }
    if (numel_out) *numel_out = numel;
    return GR_OK;
}

int gr_shape_equal(const gr_tensor *a, const gr_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *gr_shape_str(int ndim, const int64_t *shape, char *buf, size_t len)
{
    if (ndim == 0) { snprintf(buf, len, "scalar"); return buf; }
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? "x%lld" : "%lld", (long long)shape[i]);
    return buf;
}

static gr_status storage_new(gr_device *dev, size_t nbytes, gr_storage **out)
{
    gr_storage *st = calloc(1, sizeof *st);
    if (!st) return gr_fail(GR_ENOMEM, "out of host memory");
    st->refcount = 1;
    st->nbytes = nbytes;
    gr_status s = dev->backend->alloc(dev, nbytes, st);
    if (s != GR_OK) { free(st); return s; }
    st->device = dev;
    gr_device_retain(dev);
    dev->bytes_in_use += nbytes;
    *out = st;
    return GR_OK;
}

static void storage_release(gr_storage *st)
{
    if (!st || --st->refcount > 0) return;
    gr_device *dev = st->device;
    dev->backend->free(st);
    dev->bytes_in_use -= st->nbytes;
    gr_device_release(dev);
    free(st);
}

static gr_status header_new(int ndim, const int64_t *shape, gr_tensor **out)
{
    int64_t numel;
    GR_TRY(gr_shape_check(ndim, shape, &numel));
    gr_tensor *t = calloc(1, sizeof *t);
    if (!t) return gr_fail(GR_ENOMEM, "out of host memory");
    t->refcount = 1;
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = numel;
    *out = t;
    return GR_OK;
}

gr_status gr_tensor_empty(gr_device *dev, int ndim, const int64_t *shape, gr_tensor **out)
{
    gr_tensor *t = NULL;
    GR_TRY(header_new(ndim, shape, &t));
    gr_status s = storage_new(dev, (size_t)t->numel * sizeof(float), &t->storage);
    if (s != GR_OK) { free(t); return s; }
    *out = t;
    return GR_OK;
}

gr_status gr_tensor_full(gr_device *dev, int ndim, const int64_t *shape, float value, gr_tensor **out)
{
    gr_tensor *t = NULL;
    GR_TRY(gr_tensor_empty(dev, ndim, shape, &t));
    gr_status s = gr_tensor_fill_(t, value);
    if (s != GR_OK) { gr_tensor_release(t); return s; }
    *out = t;
    return GR_OK;
}

gr_status gr_tensor_from_host(gr_device *dev, int ndim, const int64_t *shape, const float *data, gr_tensor **out)
{
    gr_tensor *t = NULL;
    GR_TRY(gr_tensor_empty(dev, ndim, shape, &t));
    gr_status s = gr_tensor_write(t, data);
    if (s != GR_OK) { gr_tensor_release(t); return s; }
    *out = t;
    return GR_OK;
}

void gr_tensor_retain(gr_tensor *t) { if (t) t->refcount++; }

void gr_tensor_release(gr_tensor *t)
{
    if (!t || --t->refcount > 0) return;
    storage_release(t->storage);
    free(t);
}

static gr_status check_range(const gr_tensor *t, int64_t first, int64_t count)
{
    if (first < 0 || count < 0 || first > t->numel - count)
        return gr_fail(GR_ERANGE, "element range [%lld, %lld) outside a tensor of %lld elements",
                       (long long)first, (long long)(first + count), (long long)t->numel);
    return GR_OK;
}

gr_status gr_tensor_read_range(const gr_tensor *t, int64_t first, int64_t count, float *dst)
{
    GR_TRY(check_range(t, first, count));
    if (count == 0) return GR_OK;
    return t->storage->device->backend->download(t->storage, (size_t)(t->offset + first) * sizeof(float),
                                                 dst, (size_t)count * sizeof(float));
}

gr_status gr_tensor_write_range(gr_tensor *t, int64_t first, int64_t count, const float *src)
{
    GR_TRY(check_range(t, first, count));
    if (count == 0) return GR_OK;
    return t->storage->device->backend->upload(t->storage, (size_t)(t->offset + first) * sizeof(float),
                                               src, (size_t)count * sizeof(float));
}

gr_status gr_tensor_read(const gr_tensor *t, float *dst) { return gr_tensor_read_range(t, 0, t->numel, dst); }
gr_status gr_tensor_write(gr_tensor *t, const float *src) { return gr_tensor_write_range(t, 0, t->numel, src); }

gr_status gr_tensor_fill_(gr_tensor *t, float value)
{
    if (t->numel == 0) return GR_OK;
    return t->storage->device->backend->fill(t, value);
}

gr_status gr_tensor_copy_(gr_tensor *dst, const gr_tensor *src)
{
    if (dst->numel != src->numel) {
        char a[96], b[96];
        return gr_fail(GR_ESHAPE, "shape mismatch: %s vs %s",
                       gr_shape_str(dst->ndim, dst->shape, a, sizeof a),
                       gr_shape_str(src->ndim, src->shape, b, sizeof b));
    }
    if (src->numel == 0) return GR_OK;
    gr_device *dd = dst->storage->device, *sd = src->storage->device;
    if (dd == sd) return dd->backend->copy(dst, src);
    /* Across devices: through host memory. */
    if (sd->kind == GR_DEVICE_CPU) return gr_tensor_write(dst, src->storage->host + src->offset);
    if (dd->kind == GR_DEVICE_CPU) return gr_tensor_read(src, dst->storage->host + dst->offset);
    float *tmp = malloc((size_t)src->numel * sizeof(float));
    if (!tmp) return gr_fail(GR_ENOMEM, "out of host memory staging %lld elements", (long long)src->numel);
    gr_status s = gr_tensor_read(src, tmp);
    if (s == GR_OK) s = gr_tensor_write(dst, tmp);
    free(tmp);
    return s;
}

gr_status gr_tensor_to(const gr_tensor *t, gr_device *dev, gr_tensor **out)
{
    gr_tensor *c;
    GR_TRY(gr_tensor_empty(dev, t->ndim, t->shape, &c));
    gr_status s = gr_tensor_copy_(c, t);
    if (s != GR_OK) { gr_tensor_release(c); return s; }
    *out = c;
    return GR_OK;
}

gr_status gr_tensor_clone(const gr_tensor *t, gr_tensor **out)
{
    return gr_tensor_to(t, t->storage->device, out);
}

gr_status gr_tensor_view_at(const gr_tensor *t, int64_t offset, int ndim, const int64_t *shape, gr_tensor **out)
{
    gr_tensor *v = NULL;
    GR_TRY(header_new(ndim, shape, &v));
    if (offset < 0 || offset > t->numel || v->numel > t->numel - offset) {
        char a[96], b[96];
        free(v);
        return gr_fail(GR_ERANGE, "a view of shape %s at element %lld does not fit in %s",
                       gr_shape_str(ndim, shape, a, sizeof a), (long long)offset,
                       gr_shape_str(t->ndim, t->shape, b, sizeof b));
    }
    v->storage = t->storage;
    v->storage->refcount++;
    v->offset = t->offset + offset;
    *out = v;
    return GR_OK;
}

gr_status gr_tensor_reshape(const gr_tensor *t, int ndim, const int64_t *shape, gr_tensor **out)
{
    int64_t numel;
    GR_TRY(gr_shape_check(ndim, shape, &numel));
    if (numel != t->numel) {
        char a[96], b[96];
        return gr_fail(GR_ESHAPE, "cannot reshape %s (%lld elements) to %s",
                       gr_shape_str(t->ndim, t->shape, a, sizeof a), (long long)t->numel,
                       gr_shape_str(ndim, shape, b, sizeof b));
    }
    return gr_tensor_view_at(t, 0, ndim, shape, out);
}
