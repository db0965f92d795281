/* The cross-entropy loss, independent of the device. */
#include "gr_nn_common.h"

#include <math.h>
#include <stdlib.h>

/* Checks logits (n, c) and labels (n) of 1-based class indices, and returns
 * the labels as a new tensor of 0-based indices on the logits' device. */
static gr_status zero_based_labels(const gr_tensor *logits, const gr_tensor *labels, gr_tensor **out)
{
    GR_TRY(gr_check_same_device(logits, labels));
    char sl[96], sy[96];
    if (logits->ndim != 2 || logits->shape[0] == 0 || logits->shape[1] == 0)
        return gr_fail(GR_ESHAPE, "cross-entropy needs non-empty logits of shape batch x classes, got %s",
                       gr_shape_str(logits->ndim, logits->shape, sl, sizeof sl));
    const int64_t n = logits->shape[0], c = logits->shape[1];
    if (labels->ndim != 1 || labels->shape[0] != n)
        return gr_fail(GR_ESHAPE, "shape mismatch: logits %s vs labels %s (expected %lld labels)",
                       gr_shape_str(logits->ndim, logits->shape, sl, sizeof sl),
                       gr_shape_str(labels->ndim, labels->shape, sy, sizeof sy), (long long)n);
    float *host = malloc((size_t)n * sizeof *host);
    if (!host) return gr_fail(GR_ENOMEM, "out of host memory for %lld labels", (long long)n);
    gr_status s = gr_tensor_read(labels, host);
    for (int64_t i = 0; s == GR_OK && i < n; i++) {
        float y = host[i];
        if (!(y >= 1.0f && y <= (float)c && y == floorf(y)))
            s = gr_fail(GR_ERANGE, "label %lld is %g, expected a class index from 1 to %lld", (long long)(i + 1),
                        (double)y, (long long)c);
        host[i] = y - 1.0f;
    }
    if (s == GR_OK) s = gr_tensor_from_host(gr_tensor_device(logits), 1, &n, host, out);
    free(host);
    return s;
}

gr_status gr_nn_cross_entropy_forward(const gr_tensor *logits, const gr_tensor *labels, double *loss)
{
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(logits, &nb));
    gr_tensor *y0, *losses = NULL;
    GR_TRY(zero_based_labels(logits, labels, &y0));
    const int64_t n = logits->shape[0], c = logits->shape[1];
    gr_status s = gr_tensor_empty(gr_tensor_device(logits), 1, &n, &losses);
    if (s == GR_OK) s = nb->cross_entropy_forward(losses, logits, y0, n, c);
    if (s == GR_OK) s = gr_tensor_reduce_all(GR_RED_MEAN, losses, loss);
    gr_tensor_release(losses);
    gr_tensor_release(y0);
    return s;
}

gr_status gr_nn_cross_entropy_backward(const gr_tensor *logits, const gr_tensor *labels, gr_tensor **grad)
{
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(logits, &nb));
    gr_tensor *y0, *g = NULL;
    GR_TRY(zero_based_labels(logits, labels, &y0));
    const int64_t n = logits->shape[0], c = logits->shape[1];
    gr_status s = gr_tensor_empty(gr_tensor_device(logits), 2, logits->shape, &g);
    if (s == GR_OK) s = nb->cross_entropy_backward(g, logits, y0, 1.0f / (float)n, n, c);
    gr_tensor_release(y0);
    if (s != GR_OK) { gr_tensor_release(g); return s; }
    *grad = g;
    return GR_OK;
}
