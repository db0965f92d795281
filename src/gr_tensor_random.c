/* Random fills from the process-wide Philox generator (gr_random.h). */
#include "gr_ops_common.h"
#include "gr_random.h"

#include <math.h>

static gr_status random_fill(gr_tensor *t, gr_randkind kind, float a, float b)
{
    if (t->numel == 0) return GR_OK;
    uint64_t seed, position;
    gr_random_get_state(&seed, &position);
    GR_TRY(gr_tensor_backend(t)->random(t, kind, seed, position, a, b));
    gr_random_advance((uint64_t)t->numel);
    return GR_OK;
}

gr_status gr_tensor_uniform_(gr_tensor *t, float a, float b)
{
    if (!isfinite(a) || !isfinite(b) || a > b)
        return gr_fail(GR_EINVAL, "uniform needs finite bounds with a <= b (got %g, %g)", (double)a, (double)b);
    return random_fill(t, GR_RAND_UNIFORM, a, b);
}

gr_status gr_tensor_normal_(gr_tensor *t, float mean, float std)
{
    if (!isfinite(mean) || !isfinite(std) || std < 0)
        return gr_fail(GR_EINVAL, "normal needs a finite mean and a finite std >= 0 (got %g, %g)",
                       (double)mean, (double)std);
    return random_fill(t, GR_RAND_NORMAL, mean, std);
}

static gr_status random_new(gr_device *dev, int ndim, const int64_t *shape, gr_randkind kind, gr_tensor **out)
{
    gr_tensor *t;
    GR_TRY(gr_tensor_empty(dev, ndim, shape, &t));
    gr_status s = kind == GR_RAND_UNIFORM ? gr_tensor_uniform_(t, 0.0f, 1.0f) : gr_tensor_normal_(t, 0.0f, 1.0f);
    if (s != GR_OK) { gr_tensor_release(t); return s; }
    *out = t;
    return GR_OK;
}

gr_status gr_tensor_rand(gr_device *dev, int ndim, const int64_t *shape, gr_tensor **out)
{
    return random_new(dev, ndim, shape, GR_RAND_UNIFORM, out);
}

gr_status gr_tensor_randn(gr_device *dev, int ndim, const int64_t *shape, gr_tensor **out)
{
    return random_new(dev, ndim, shape, GR_RAND_NORMAL, out);
}
