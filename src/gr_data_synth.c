/* Seeded permutations and synthetic classification sets, drawn from the
 * Philox stream of a seed of their own (gr_random.h), so that they do not
 * move grilly's process-wide generator. */
#include "gr_data.h"
#include "gr_random.h"

#include <math.h>
#include <stdlib.h>

#define GR_MAX_FLOAT_INDEX ((int64_t)1 << 24)

static gr_status check_seed(uint64_t seed)
{
    if (seed >= GR_RANDOM_SEED_LIMIT)
        return gr_fail(GR_EINVAL, "seed must be an integer in [0, 2^53) (got %llu)", (unsigned long long)seed);
    return GR_OK;
}

gr_status gr_data_permutation(gr_device *dev, int64_t n, uint64_t seed, uint32_t stream, gr_tensor **out)
{
    GR_TRY(check_seed(seed));
    if (n < 0 || n > GR_MAX_FLOAT_INDEX)
        return gr_fail(GR_EINVAL, "a permutation has 0 to 2^24 elements (got %lld)", (long long)n);
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    if (!p) return gr_fail(GR_ENOMEM, "out of host memory for a permutation of %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) p[i] = (float)(i + 1);
    for (int64_t i = n - 1; i > 0; i--) {
        uint32_t o[4];
        gr_philox_words(seed, ((uint64_t)stream << 32) | (uint64_t)i, o);
        int64_t j = (int64_t)(((uint64_t)o[0] * (uint64_t)(i + 1)) >> 32);
        float t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    gr_status s = gr_tensor_from_host(dev, 1, &n, p, out);
    free(p);
    return s;
}

/* Uploads host arrays x (n, dim) and y (n) as two tensors. */
static gr_status upload_pair(gr_device *dev, int64_t n, int64_t dim, const float *xs, const float *ys,
                             gr_tensor **x, gr_tensor **y)
{
    int64_t shape[2] = { n, dim };
    gr_tensor *tx;
    GR_TRY(gr_tensor_from_host(dev, 2, shape, xs, &tx));
    gr_status s = gr_tensor_from_host(dev, 1, &n, ys, y);
    if (s != GR_OK) { gr_tensor_release(tx); return s; }
    *x = tx;
    return GR_OK;
}

static gr_status check_counts(int64_t classes, int64_t per_class, int64_t dim, int64_t *n)
{
    if (classes < 1 || per_class < 1 || dim < 1)
        return gr_fail(GR_EINVAL, "classes, points per class and dimensions must be >= 1 (got %lld, %lld, %lld)",
                       (long long)classes, (long long)per_class, (long long)dim);
    if (classes > GR_MAX_FLOAT_INDEX || per_class > GR_MAX_FLOAT_INDEX / classes ||
        dim > GR_MAX_FLOAT_INDEX / (classes * per_class))
        return gr_fail(GR_EINVAL, "a synthetic set holds at most 2^24 values");
    *n = classes * per_class;
    return GR_OK;
}

gr_status gr_data_spirals(gr_device *dev, int64_t classes, int64_t per_class, float noise, uint64_t seed,
                          gr_tensor **x, gr_tensor **y)
{
    GR_TRY(check_seed(seed));
    int64_t n = 0;
    GR_TRY(check_counts(classes, per_class, 2, &n));
    if (!(noise >= 0.0f) || !isfinite(noise)) return gr_fail(GR_EINVAL, "noise must be finite and >= 0");
    float *xs = malloc((size_t)n * 2 * sizeof *xs), *ys = malloc((size_t)n * sizeof *ys);
    gr_status s = xs && ys ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory for %lld points", (long long)n);
    for (int64_t c = 0; s == GR_OK && c < classes; c++) {
        for (int64_t k = 0; k < per_class; k++) {
            int64_t i = c * per_class + k;
            float r = (float)k / (float)per_class;
            /* Each arm turns through 4 radians, the arms one arm's turn apart. */
            float t = 4.0f * ((float)c + r) + gr_random_normal(seed, (uint64_t)i, 0.0f, noise);
            xs[2 * i] = r * sinf(t);
            xs[2 * i + 1] = r * cosf(t);
            ys[i] = (float)(c + 1);
        }
    }
    if (s == GR_OK) s = upload_pair(dev, n, 2, xs, ys, x, y);
    free(xs);
    free(ys);
    return s;
}

gr_status gr_data_blobs(gr_device *dev, int64_t classes, int64_t per_class, int64_t dim, float box, float spread,
                        uint64_t seed, gr_tensor **x, gr_tensor **y)
{
    GR_TRY(check_seed(seed));
    int64_t n = 0;
    GR_TRY(check_counts(classes, per_class, dim, &n));
    if (!(box >= 0.0f) || !isfinite(box) || !(spread >= 0.0f) || !isfinite(spread))
        return gr_fail(GR_EINVAL, "box and spread must be finite and >= 0");
    float *xs = malloc((size_t)(n * dim) * sizeof *xs), *ys = malloc((size_t)n * sizeof *ys);
    gr_status s = xs && ys ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory for %lld points", (long long)n);
    /* Counters 0 .. classes*dim-1 place the centres, the rest the points. */
    const uint64_t first_point = (uint64_t)(classes * dim);
    for (int64_t i = 0; s == GR_OK && i < n; i++) {
        int64_t c = i / per_class;
        for (int64_t d = 0; d < dim; d++) {
            float centre = gr_random_uniform(seed, (uint64_t)(c * dim + d), -box, box);
            xs[i * dim + d] = gr_random_normal(seed, first_point + (uint64_t)(i * dim + d), centre, spread);
        }
        ys[i] = (float)(c + 1);
    }
    if (s == GR_OK) s = upload_pair(dev, n, dim, xs, ys, x, y);
    free(xs);
    free(ys);
    return s;
}
