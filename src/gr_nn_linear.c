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

/* x viewed as (m, k), or any tensor t as rows x cols. */
static gr_status as_matrix(const gr_tensor *t, int64_t rows, int64_t cols, gr_tensor **out)
{
    const int64_t shape[2] = { rows, cols };
    return gr_tensor_reshape(t, 2, shape, out);
}

/* y = x w^T + b from the tensor ops, for devices without a linear kernel. */
static gr_status composed_forward(gr_tensor *out, const gr_tensor *x, const gr_tensor *w, const gr_tensor *b,
                                  int64_t m, int64_t n, int64_t k)
{
    gr_tensor *x2 = NULL, *wt = NULL, *y = NULL, *o2 = NULL;
    gr_status s = as_matrix(x, m, k, &x2);
    if (s == GR_OK) s = gr_tensor_transpose(w, 0, 1, &wt);
    if (s == GR_OK) s = gr_tensor_matmul(x2, wt, &y);
    if (s == GR_OK && b) s = gr_tensor_binary_(GR_BIN_ADD, y, b);
    if (s == GR_OK) s = as_matrix(out, m, n, &o2);
    if (s == GR_OK) s = gr_tensor_copy_(o2, y);
    gr_tensor_release(x2);
    gr_tensor_release(wt);
    gr_tensor_release(y);
    gr_tensor_release(o2);
    return s;
}

/* The linear backward pass from the tensor ops. The accumulators are
 * updated last, once every product exists. */
static gr_status composed_backward(gr_tensor *grad_x, gr_tensor *grad_w, gr_tensor *grad_b, const gr_tensor *grad_out,
                                   const gr_tensor *x, const gr_tensor *w, int64_t m, int64_t n, int64_t k)
{
    gr_tensor *g2 = NULL, *x2 = NULL, *gx = NULL, *gx2 = NULL, *gt = NULL, *dw = NULL, *db = NULL;
    gr_status s = as_matrix(grad_out, m, n, &g2);
    if (s == GR_OK) s = as_matrix(x, m, k, &x2);
    if (s == GR_OK && grad_x) s = gr_tensor_matmul(g2, w, &gx);
    if (s == GR_OK && grad_x) s = as_matrix(grad_x, m, k, &gx2);
    if (s == GR_OK && grad_x) s = gr_tensor_copy_(gx2, gx);
    if (s == GR_OK && grad_w) s = gr_tensor_transpose(g2, 0, 1, &gt);
    if (s == GR_OK && grad_w) s = gr_tensor_matmul(gt, x2, &dw);
    if (s == GR_OK && grad_b) s = gr_tensor_reduce_dim(GR_RED_SUM, g2, 0, 0, &db);
    if (s == GR_OK && grad_w) s = gr_tensor_binary_(GR_BIN_ADD, grad_w, dw);
    if (s == GR_OK && grad_b) s = gr_tensor_binary_(GR_BIN_ADD, grad_b, db);
    gr_tensor *temps[] = { g2, x2, gx, gx2, gt, dw, db };
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++) gr_tensor_release(temps[i]);
    return s;
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
    gr_status s = m == 0 ? GR_OK
                 : nb->linear_forward ? nb->linear_forward(r, x, w, b, m, n, k)
                                      : composed_forward(r, x, w, b, m, n, k);
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
    gr_status s = m == 0 ? GR_OK
                 : nb->linear_backward ? nb->linear_backward(gx, grad_w, grad_b, grad_out, x, w, m, n, k)
                                       : composed_backward(gx, grad_w, grad_b, grad_out, x, w, m, n, k);
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
