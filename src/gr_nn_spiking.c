/* Spiking neurons and spike encoders, independent of the device. */
#include "gr_nn_common.h"
#include "gr_random.h"

#include <math.h>

gr_status gr_lif_params_check(const gr_lif_params *p)
{
    if (!isfinite(p->decay) || !isfinite(p->input_scale) || !isfinite(p->v_threshold) || !isfinite(p->v_rest) ||
        !isfinite(p->v_reset))
        return gr_fail(GR_EINVAL, "LIF parameters must be finite");
    if (!(p->alpha > 0.0f) || !isfinite(p->alpha))
        return gr_fail(GR_EINVAL, "surrogate alpha must be a finite number > 0 (got %g)", (double)p->alpha);
    if (p->surrogate != GR_SURROGATE_ATAN && p->surrogate != GR_SURROGATE_SIGMOID &&
        p->surrogate != GR_SURROGATE_FAST_SIGMOID)
        return gr_fail(GR_EINVAL, "unknown surrogate %d", (int)p->surrogate);
    return GR_OK;
}

/* (steps, width) of a time-major tensor. */
static gr_status time_major(const gr_tensor *x, int64_t *steps, int64_t *width)
{
    if (x->ndim < 1)
        return gr_fail(GR_ESHAPE, "a spiking layer needs input of shape time x ..., got a scalar");
    *steps = x->shape[0];
    *width = *steps ? x->numel / *steps : 0;
    return GR_OK;
}

gr_status gr_nn_lif_forward(const gr_tensor *x, const gr_lif_params *p, gr_tensor **out, gr_tensor **h)
{
    GR_TRY(gr_lif_params_check(p));
    int64_t steps = 0, width = 0;
    GR_TRY(time_major(x, &steps, &width));
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(x, &nb));
    gr_tensor *o = NULL, *hh = NULL;
    gr_status s = gr_tensor_empty(gr_tensor_device(x), x->ndim, x->shape, &o);
    if (s == GR_OK) s = gr_tensor_empty(gr_tensor_device(x), x->ndim, x->shape, &hh);
    if (s == GR_OK && x->numel > 0) s = nb->lif_forward(o, hh, x, p, steps, width);
    if (s != GR_OK) {
        gr_tensor_release(o);
        gr_tensor_release(hh);
        return s;
    }
    *out = o;
    *h = hh;
    return GR_OK;
}

gr_status gr_nn_lif_backward(const gr_tensor *h, const gr_tensor *grad_out, const gr_lif_params *p,
                             gr_tensor **grad_x)
{
    GR_TRY(gr_lif_params_check(p));
    GR_TRY(gr_check_same_device(h, grad_out));
    int64_t steps = 0, width = 0;
    GR_TRY(time_major(h, &steps, &width));
    GR_TRY(gr_nn_check_shape(grad_out, h->ndim, h->shape, "grad_output"));
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(h, &nb));
    gr_tensor *g;
    GR_TRY(gr_tensor_empty(gr_tensor_device(h), h->ndim, h->shape, &g));
    gr_status s = h->numel > 0 ? nb->lif_backward(g, grad_out, h, p, steps, width) : GR_OK;
    if (s != GR_OK) { gr_tensor_release(g); return s; }
    *grad_x = g;
    return GR_OK;
}

/* Draws out's elements from the process-wide generator and advances it. */
static gr_status bernoulli_fill(const gr_nn_backend *nb, gr_tensor *out, const gr_tensor *probs, float p,
                                float scale)
{
    if (out->numel == 0) return GR_OK;
    uint64_t seed, position;
    gr_random_get_state(&seed, &position);
    GR_TRY(nb->bernoulli(out, probs, p, scale, seed, position));
    gr_random_advance((uint64_t)out->numel);
    return GR_OK;
}

gr_status gr_nn_bernoulli(const gr_tensor *probs, gr_tensor **out)
{
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(probs, &nb));
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(probs), probs->ndim, probs->shape, &r));
    gr_status s = bernoulli_fill(nb, r, probs, 0.0f, 1.0f);
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}

gr_status gr_nn_dropout_mask(gr_device *dev, int ndim, const int64_t *shape, float p, gr_tensor **out)
{
    if (!(p >= 0.0f && p < 1.0f))
        return gr_fail(GR_EINVAL, "dropout probability must be in [0, 1), got %g", (double)p);
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(dev, ndim, shape, &r));
    const gr_nn_backend *nb;
    gr_status s = gr_nn_backend_of(r, &nb);
    if (s == GR_OK) s = bernoulli_fill(nb, r, NULL, 1.0f - p, 1.0f / (1.0f - p));
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}

gr_status gr_nn_latency_encode(const gr_tensor *x, int64_t steps, float threshold, gr_tensor **out)
{
    if (steps < 1) return gr_fail(GR_EINVAL, "latency coding needs at least one time step, got %lld", (long long)steps);
    if (!isfinite(threshold)) return gr_fail(GR_EINVAL, "latency threshold must be finite");
    if (x->ndim >= GR_MAX_DIMS)
        return gr_fail(GR_ESHAPE, "latency coding adds a time dimension: the input has at most %d dimensions",
                       GR_MAX_DIMS - 1);
    const gr_nn_backend *nb;
    GR_TRY(gr_nn_backend_of(x, &nb));
    int64_t shape[GR_MAX_DIMS];
    shape[0] = steps;
    for (int i = 0; i < x->ndim; i++) shape[i + 1] = x->shape[i];
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(x), x->ndim + 1, shape, &r));
    gr_status s = r->numel > 0 ? nb->latency_encode(r, x, threshold, steps, x->numel) : GR_OK;
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}
