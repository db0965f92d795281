/* Shape and data movement: views, transpose, narrow, select, index_select, cat. */
#include "gr_ops_common.h"

#include <string.h>

gr_status gr_tensor_view(const gr_tensor *t, int ndim, const int64_t *shape, gr_tensor **out)
{
    if (ndim < 0 || ndim > GR_MAX_DIMS)
        return gr_fail(GR_EINVAL, "a tensor has 0 to %d dimensions (got %d)", GR_MAX_DIMS, ndim);
    int64_t s[GR_MAX_DIMS];
    double known = 1.0;   /* product of the given sizes; exact while it matters (<= 2^40) */
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0) return gr_fail(GR_EINVAL, "only one size may be -1 (inferred)");
            infer = i;
        } else if (shape[i] < 0) {
            return gr_fail(GR_EINVAL, "size of dimension %d must be >= 0 or -1 (got %lld)", i + 1,
                           (long long)shape[i]);
        } else {
            known *= (double)shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0.0 || (t->numel > 0 && (known > (double)t->numel || t->numel % (int64_t)known != 0))) {
            char a[96], b[96];
            return gr_fail(GR_ESHAPE, "cannot reshape %s (%lld elements) to %s",
                           gr_shape_str(t->ndim, t->shape, a, sizeof a), (long long)t->numel,
                           gr_shape_str(ndim, shape, b, sizeof b));
        }
        s[infer] = t->numel == 0 ? 0 : t->numel / (int64_t)known;
    }
    return gr_tensor_reshape(t, ndim, s, out);
}

gr_status gr_tensor_row(const gr_tensor *t, int64_t index, gr_tensor **out)
{
    if (t->ndim == 0) return gr_fail(GR_EINVAL, "cannot index a 0-d tensor");
    if (index < 0 || index >= t->shape[0])
        return gr_fail(GR_ERANGE, "index %lld out of range for size %lld", (long long)index, (long long)t->shape[0]);
    int64_t rowsize = gr_shape_prod(t->shape, 1, t->ndim);
    return gr_tensor_view_at(t, index * rowsize, t->ndim - 1, t->shape + 1, out);
}

/* Runs copy_strided after dropping size-1 dimensions and merging neighbours
 * that both sides step through uniformly (a plain copy ends up 1-D). */
static gr_status copy_strided(const gr_tensor *dst_t, int64_t dst_off, const int64_t *dst_stride,
                              const gr_tensor *src_t, int64_t src_off, const int64_t *src_stride,
                              int ndim, const int64_t *shape)
{
    gr_strided dst = { dst_t->storage, dst_off, {0} }, src = { src_t->storage, src_off, {0} };
    int64_t sh[GR_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) return GR_OK;
        if (shape[i] == 1) continue;
        if (n > 0 && dst.stride[n - 1] == dst_stride[i] * shape[i] && src.stride[n - 1] == src_stride[i] * shape[i]) {
            sh[n - 1] *= shape[i];
            dst.stride[n - 1] = dst_stride[i];
            src.stride[n - 1] = src_stride[i];
            continue;
        }
        sh[n] = shape[i];
        dst.stride[n] = dst_stride[i];
        src.stride[n] = src_stride[i];
        n++;
    }
    if (n == 0) {
        sh[0] = 1;
        dst.stride[0] = src.stride[0] = 1;
        n = 1;
    }
    return gr_tensor_backend(src_t)->copy_strided(&dst, &src, n, sh);
}

/* A new tensor of the given shape filled by reading t through (offset, stride). */
static gr_status gather_new(const gr_tensor *t, int64_t offset, const int64_t *stride,
                            int ndim, const int64_t *shape, gr_tensor **out)
{
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(t), ndim, shape, &r));
    int64_t rstride[GR_MAX_DIMS];
    gr_contiguous_strides(ndim, shape, rstride);
    gr_status s = copy_strided(r, r->offset, rstride, t, offset, stride, ndim, shape);
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}

gr_status gr_tensor_transpose(const gr_tensor *t, int d1, int d2, gr_tensor **out)
{
    GR_TRY(gr_check_dim(t, d1));
    GR_TRY(gr_check_dim(t, d2));
    int64_t stride[GR_MAX_DIMS], shape[GR_MAX_DIMS], tmp;
    gr_contiguous_strides(t->ndim, t->shape, stride);
    memcpy(shape, t->shape, sizeof shape);
    tmp = shape[d1]; shape[d1] = shape[d2]; shape[d2] = tmp;
    tmp = stride[d1]; stride[d1] = stride[d2]; stride[d2] = tmp;
    return gather_new(t, t->offset, stride, t->ndim, shape, out);
}

gr_status gr_tensor_narrow(const gr_tensor *t, int dim, int64_t start, int64_t length, gr_tensor **out)
{
    GR_TRY(gr_check_dim(t, dim));
    if (start < 0 || length < 0 || start > t->shape[dim] - length)
        return gr_fail(GR_ERANGE, "range [%lld, %lld) out of bounds for size %lld", (long long)start,
                       (long long)(start + length), (long long)t->shape[dim]);
    int64_t stride[GR_MAX_DIMS], shape[GR_MAX_DIMS];
    gr_contiguous_strides(t->ndim, t->shape, stride);
    memcpy(shape, t->shape, sizeof shape);
    shape[dim] = length;
    return gather_new(t, t->offset + start * stride[dim], stride, t->ndim, shape, out);
}

gr_status gr_tensor_select(const gr_tensor *t, int dim, int64_t index, gr_tensor **out)
{
    GR_TRY(gr_check_dim(t, dim));
    if (index < 0 || index >= t->shape[dim])
        return gr_fail(GR_ERANGE, "index %lld out of range for size %lld", (long long)index, (long long)t->shape[dim]);
    int64_t stride[GR_MAX_DIMS], rstride[GR_MAX_DIMS], shape[GR_MAX_DIMS];
    gr_contiguous_strides(t->ndim, t->shape, stride);
    int n = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i == dim) continue;
        shape[n] = t->shape[i];
        rstride[n] = stride[i];
        n++;
    }
    return gather_new(t, t->offset + index * stride[dim], rstride, n, shape, out);
}

gr_status gr_tensor_index_select(const gr_tensor *t, int dim, const int64_t *idx, int64_t nidx, gr_tensor **out)
{
    GR_TRY(gr_check_dim(t, dim));
    int64_t len = t->shape[dim];
    for (int64_t j = 0; j < nidx; j++)
        if (idx[j] < 0 || idx[j] >= len)
            return gr_fail(GR_ERANGE, "index %lld out of range for size %lld", (long long)idx[j], (long long)len);
    int64_t shape[GR_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[dim] = nidx;
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(t), t->ndim, shape, &r));
    if (r->numel > 0) {
        gr_status s = gr_tensor_backend(t)->index_select(r, t, gr_shape_prod(t->shape, 0, dim), len,
                                                         gr_shape_prod(t->shape, dim + 1, t->ndim), idx, nidx);
        if (s != GR_OK) { gr_tensor_release(r); return s; }
    }
    *out = r;
    return GR_OK;
}

gr_status gr_tensor_cat(gr_tensor *const *parts, int nparts, int dim, gr_tensor **out)
{
    if (nparts < 1) return gr_fail(GR_EINVAL, "cat needs at least one tensor");
    const gr_tensor *first = parts[0];
    GR_TRY(gr_check_dim(first, dim));
    int64_t shape[GR_MAX_DIMS];
    memcpy(shape, first->shape, sizeof shape);
    for (int p = 1; p < nparts; p++) {
        const gr_tensor *t = parts[p];
        GR_TRY(gr_check_same_device(first, t));
        int fits = t->ndim == first->ndim;
        for (int i = 0; fits && i < t->ndim; i++)
            if (i != dim && t->shape[i] != first->shape[i]) fits = 0;
        if (!fits) {
            char sa[96], sb[96];
            return gr_fail(GR_ESHAPE, "shape mismatch: %s vs %s (tensor %d; only dimension %d may differ)",
                           gr_shape_str(first->ndim, first->shape, sa, sizeof sa),
                           gr_shape_str(t->ndim, t->shape, sb, sizeof sb), p + 1, dim + 1);
        }
        shape[dim] += t->shape[dim];
    }
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(first), first->ndim, shape, &r));
    int64_t rstride[GR_MAX_DIMS], pstride[GR_MAX_DIMS], at = 0;
    gr_contiguous_strides(r->ndim, r->shape, rstride);
    for (int p = 0; p < nparts; p++) {
        const gr_tensor *t = parts[p];
        gr_contiguous_strides(t->ndim, t->shape, pstride);
        gr_status s = copy_strided(r, r->offset + at * rstride[dim], rstride, t, t->offset, pstride, t->ndim, t->shape);
        if (s != GR_OK) { gr_tensor_release(r); return s; }
        at += t->shape[dim];
    }
    *out = r;
    return GR_OK;
}
