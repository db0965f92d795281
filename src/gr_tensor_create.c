/* Creation of ranges: arange and linspace, computed in double on the host. */
#include "gr_ops_common.h"

#include <math.h>
#include <stdlib.h>

/* Fills a new 1-D tensor of n elements with start + i * step, or with b for
 * the last element when last_is_b is set. */
static gr_status range_new(gr_device *dev, int64_t n, double start, double step, int last_is_b, double b,
                           gr_tensor **out)
{
    GR_TRY(gr_shape_check(1, &n, NULL));
    float *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!buf) return gr_fail(GR_ENOMEM, "out of host memory building %lld elements", (long long)n);
    for (int64_t i = 0; i < n; i++) buf[i] = (float)(start + (double)i * step);
    if (last_is_b && n > 1) buf[n - 1] = (float)b;
    gr_status s = gr_tensor_from_host(dev, 1, &n, buf, out);
    free(buf);
    return s;
}

gr_status gr_tensor_arange(gr_device *dev, double start, double stop, double step, gr_tensor **out)
{
    if (!isfinite(start) || !isfinite(stop) || !isfinite(step))
        return gr_fail(GR_EINVAL, "arange needs finite start, stop and step (got %g, %g, %g)", start, stop, step);
    if (step == 0.0) return gr_fail(GR_EINVAL, "arange step must not be 0");
    double count = ceil((stop - start) / step);
    if (!(count > 0)) count = 0;
    if (count > 1e15) return gr_fail(GR_EINVAL, "arange of %g elements is too large", count);
    return range_new(dev, (int64_t)count, start, step, 0, 0.0, out);
}

gr_status gr_tensor_linspace(gr_device *dev, double a, double b, int64_t n, gr_tensor **out)
{
    if (!isfinite(a) || !isfinite(b))
        return gr_fail(GR_EINVAL, "linspace needs finite end points (got %g, %g)", a, b);
    if (n < 0) return gr_fail(GR_EINVAL, "linspace count must be >= 0 (got %lld)", (long long)n);
    return range_new(dev, n, a, n > 1 ? (b - a) / (double)(n - 1) : 0.0, 1, b, out);
}
