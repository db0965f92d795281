/* Reductions: whole-tensor and along one dimension, and the dot product. */
#include "gr_ops_common.h"

/* Indices travel as floats, which hold every integer up to 2^24 exactly. */
#define GR_MAX_INDEX_EXTENT ((int64_t)1 << 24)

static const char *redop_name(gr_redop op)
{
    switch (op) {
    case GR_RED_SUM: return "sum";
    case GR_RED_MEAN: return "mean";
    case GR_RED_MAX: return "max";
    case GR_RED_MIN: return "min";
    case GR_RED_ARGMAX: return "argmax";
    case GR_RED_NORM: return "norm";
    }
    return "reduction";
}

/* Checks that op may reduce an extent of len elements. */
static gr_status check_extent(gr_redop op, int64_t len, const char *what)
{
    if (len == 0 && op != GR_RED_SUM && op != GR_RED_NORM)
        return gr_fail(GR_EINVAL, "%s of an empty %s", redop_name(op), what);
    if (op == GR_RED_ARGMAX && len > GR_MAX_INDEX_EXTENT)
        return gr_fail(GR_EINVAL, "indices of max/min/argmax need at most 2^24 elements along the reduced extent "
                       "(got %lld)", (long long)len);
    return GR_OK;
}

gr_status gr_tensor_reduce_all(gr_redop op, const gr_tensor *x, double *result)
{
    GR_TRY(check_extent(op, x->numel, "tensor"));
    if (x->numel == 0) { *result = 0.0; return GR_OK; }
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(x), 0, NULL, &r));
    gr_status s = gr_tensor_backend(x)->reduce(op, r, x, 1, x->numel, 1);
    float v = 0.0f;
    if (s == GR_OK) s = gr_tensor_read(r, &v);
    gr_tensor_release(r);
    if (s == GR_OK) *result = v;
    return s;
}

/* The output shape of a reduction along dim, and its (outer, len, inner) view. */
static void reduced_shape(const gr_tensor *x, int dim, int keepdim, int *ndim, int64_t *shape,
                          int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = gr_shape_prod(x->shape, 0, dim);
    *len = x->shape[dim];
    *inner = gr_shape_prod(x->shape, dim + 1, x->ndim);
    int n = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != dim) shape[n++] = x->shape[i];
        else if (keepdim) shape[n++] = 1;
    }
    *ndim = n;
}

gr_status gr_tensor_reduce_dim(gr_redop op, const gr_tensor *x, int dim, int keepdim, gr_tensor **out)
{
    GR_TRY(gr_check_dim(x, dim));
    int ndim;
    int64_t shape[GR_MAX_DIMS], outer, len, inner;
    reduced_shape(x, dim, keepdim, &ndim, shape, &outer, &len, &inner);
    GR_TRY(check_extent(op, len, "dimension"));
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(x), ndim, shape, &r));
    gr_status s = GR_OK;
    if (r->numel > 0)
        s = len == 0 ? gr_tensor_fill_(r, 0.0f)
                     : gr_tensor_backend(x)->reduce(op, r, x, outer, len, inner);
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}

gr_status gr_tensor_extreme_dim(int is_max, const gr_tensor *x, int dim, int keepdim,
                                gr_tensor **values, gr_tensor **indices)
{
    gr_tensor *v = NULL, *i = NULL, *neg = NULL;
    GR_TRY(gr_tensor_reduce_dim(is_max ? GR_RED_MAX : GR_RED_MIN, x, dim, keepdim, &v));
    gr_status s;
    if (is_max) {
        s = gr_tensor_reduce_dim(GR_RED_ARGMAX, x, dim, keepdim, &i);
    } else {
        /* The first minimum of x is the first maximum of -x. */
        s = gr_tensor_unary(GR_UN_NEG, x, 0.0f, 0.0f, &neg);
        if (s == GR_OK) s = gr_tensor_reduce_dim(GR_RED_ARGMAX, neg, dim, keepdim, &i);
        gr_tensor_release(neg);
    }
    if (s != GR_OK) { gr_tensor_release(v); return s; }
    *values = v;
    *indices = i;
    return GR_OK;
}

gr_status gr_tensor_dot(const gr_tensor *a, const gr_tensor *b, double *result)
{
    GR_TRY(gr_check_same_device(a, b));
    if (!gr_shape_equal(a, b)) return gr_fail_shapes(a, b);
    if (a->numel == 0) { *result = 0.0; return GR_OK; }
    return gr_tensor_backend(a)->dot(a, b, result);
}
