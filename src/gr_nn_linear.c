/* Linear layers and activation gradients, independent of the device. */
#include "gr_nn_common.h"

#include <limits.h>

/* Checks x (..., k) against w (n, k) and b (n) and works out m, n, k. */
static gr_status linear_sizes(const gr_tensor *x, const gr_tensor *w, const gr_tensor *b,
                              int64_t *m, int64_t *n, int64_t *k)
{
    GR_TRY(gr_check_same_device(x, w));
    if (b) GR_TRY(gr_check_same_device(x, b));
    char sx[96], sw[96];
    if (w->ndim != 2)
        return gr_fail(GR_ESHAPE, "linear weight must be 2-D (out_features x in_features), got %s",
                       gr_shape_str(w->ndim, w->shape, sw, sizeof sw));
    *n = w->shape[0];
    *k = w->shape[1];
    if (*k == 0 || *n == 0)
        return gr_fail(GR_ESHAPE, "linear weight must have at least one input and one output feature, got %s",
                       gr_shape_str(w->ndim, w->shape, sw, sizeof sw));
    if (x->ndim < 1 || x->shape[x->ndim - 1] != *k)
        return gr_fail(GR_ESHAPE, "shape mismatch: input %s vs weight %s (the input's last size must be %lld)",
                       gr_shape_str(x->ndim, x->shape, sx, sizeof sx), gr_shape_str(w->ndim, w->shape, sw, sizeof sw),
                       (long long)*k);
    if (b) GR_TRY(gr_nn_check_shape(b, 1, n, "bias"));
    *m = x->numel / *k;
    if (*m > INT_MAX || *n > INT_MAX || *k > INT_MAX)
        return gr_fail(GR_EINVAL, "linear sizes above %d are not supported (got %lld x %lld by %lld)", INT_MAX,
                       (long long)*m, (long long)*k, (long long)*n);
    return GR_OK;
}

gr_status gr_nn_linear_forward(const gr_tensor *x, const gr_tensor *w, const gr_tensor *b, gr_tensor **out)
{
    int64_t m = 0, n = 0, k = 0;
    GR_TRY(linear_sizes(x, w, b, &m, &n, &k));
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(x, &nb));
    int64_t shape[GR_MAX_DIMS];
    for (int i = 0; i < x->ndim - 1; i++) shape[i] = x->shape[i];
    shape[x->ndim - 1] = n;
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(x), x->ndim, shape, &r));
    gr_status s = m > 0 ? nb->linear_forward(r, x, w, b, m, n, k) : GR_OK;
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}

gr_status gr_nn_linear_backward(const gr_tensor *x, const gr_tensor *w, const gr_tensor *grad_out,
                                gr_tensor *grad_w, gr_tensor *grad_b, gr_tensor **grad_x)
{
    int64_t m = 0, n = 0, k = 0;
    GR_TRY(linear_sizes(x, w, NULL, &m, &n, &k));
    GR_TRY(gr_check_same_device(x, grad_out));
    int64_t shape[GR_MAX_DIMS];
    for (int i = 0; i < x->ndim - 1; i++) shape[i] = x->shape[i];
    shape[x->ndim - 1] = n;
    GR_TRY(gr_nn_check_shape(grad_out, x->ndim, shape, "grad_output"));
    if (grad_w) {
        GR_TRY(gr_check_same_device(x, grad_w));
        GR_TRY(gr_nn_check_shape(grad_w, 2, w->shape, "weight gradient"));
    }
    if (grad_b) {
        GR_TRY(gr_check_same_device(x, grad_b));
        GR_TRY(gr_nn_check_shape(grad_b, 1, &n, "bias gradient"));
    }
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(x, &nb));
    gr_tensor *gx = NULL;
    if (grad_x) GR_TRY(gr_tensor_empty(gr_tensor_device(x), x->ndim, x->shape, &gx));
    gr_status s = m > 0 ? nb->linear_backward(gx, grad_w, grad_b, grad_out, x, w, m, n, k) : GR_OK;
    if (s != GR_OK) { gr_tensor_release(gx); return s; }
    if (grad_x) *grad_x = gx;
    return GR_OK;
}

gr_status gr_nn_activation_backward(gr_nn_act act, const gr_tensor *y, const gr_tensor *grad_out,
                                    gr_tensor **grad_in)
{
    GR_TRY(gr_check_same_device(y, grad_out));
    if (!gr_shape_equal(y, grad_out)) return gr_fail_shapes(grad_out, y);
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(y, &nb));
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(y), y->ndim, y->shape, &r));
    gr_status s = r->numel > 0 ? nb->activation_backward(act, r, y, grad_out) : GR_OK;
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *grad_in = r;
    return GR_OK;
}
