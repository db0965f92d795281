/* CPU reductions over the middle extent of (outer, len, inner) and the dot
 * product. Sums accumulate in double, in a fixed order (so results do not
 * depend on the machine), over eight lanes that the compiler vectorises.
 * max and min return NaN when the extent holds one; argmax returns the first
 * maximum, a NaN counting as larger than everything. */
#include "gr_cpu.h"

#include <math.h>
#include <stdlib.h>

#define LANES 8

static double sum_span(const float *restrict x, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)x[i + j];
    double s = 0.0;
    for (; i < n; i++) s += (double)x[i];
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

static double dot_span(const float *restrict x, const float *restrict y, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)x[i + j] * (double)y[i + j];
    double s = 0.0;
    for (; i < n; i++) s += (double)x[i] * (double)y[i];
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

/* Larger of best and v for max (smaller for min), NaN winning and sticking. */
static inline float extreme(int is_max, float best, float v)
{
    int take = (is_max ? v > best : v < best) | (v != v);   /* no branch: vectorises as a blend */
    return take ? v : best;
}

static float extreme_span(int is_max, const float *restrict x, int64_t n)
{
    float lane[LANES];
    for (int j = 0; j < LANES; j++) lane[j] = x[0];
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) lane[j] = extreme(is_max, lane[j], x[i + j]);
    float best = x[0];
    for (; i < n; i++) best = extreme(is_max, best, x[i]);
    for (int j = 0; j < LANES; j++) best = extreme(is_max, best, lane[j]);
    return best;
}

static int64_t argmax_span(const float *restrict x, int64_t n, int64_t stride)
{
    float best = x[0];
    int64_t at = 0;
    for (int64_t i = 1; i < n && best == best; i++) {
        float v = x[i * stride];
        if (v > best || v != v) { best = v; at = i; }
    }
    return at;
}

/* One value per row of len contiguous elements. */
static void reduce_rows(gr_redop op, float *restrict o, const float *restrict x, int64_t rows, int64_t len)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * len;
        switch (op) {
        case GR_RED_SUM:    o[r] = (float)sum_span(row, len); break;
        case GR_RED_MEAN:   o[r] = (float)(sum_span(row, len) / (double)len); break;
        case GR_RED_NORM:   o[r] = (float)sqrt(dot_span(row, row, len)); break;
        case GR_RED_MAX:    o[r] = extreme_span(1, row, len); break;
        case GR_RED_MIN:    o[r] = extreme_span(0, row, len); break;
        case GR_RED_ARGMAX: o[r] = (float)argmax_span(row, len, 1); break;
        }
    }
}

/* Sum-type reductions with inner > 1: walk the len rows of each block once,
 * accumulating all inner columns side by side. */
static gr_status reduce_columns_sum(gr_redop op, float *restrict o, const float *restrict x,
                                    int64_t outer, int64_t len, int64_t inner)
{
    double *acc = malloc((size_t)inner * sizeof *acc);
    if (!acc) return gr_fail(GR_ENOMEM, "out of host memory for a reduction of %lld columns", (long long)inner);
    for (int64_t b = 0; b < outer; b++) {
        const float *blk = x + b * len * inner;
        for (int64_t j = 0; j < inner; j++) acc[j] = 0.0;
        for (int64_t l = 0; l < len; l++) {
            const float *row = blk + l * inner;
            if (op == GR_RED_NORM)
                for (int64_t j = 0; j < inner; j++) acc[j] += (double)row[j] * (double)row[j];
            else
                for (int64_t j = 0; j < inner; j++) acc[j] += (double)row[j];
        }
        float *ob = o + b * inner;
        for (int64_t j = 0; j < inner; j++)
            ob[j] = (float)(op == GR_RED_NORM ? sqrt(acc[j]) : op == GR_RED_MEAN ? acc[j] / (double)len : acc[j]);
    }
    free(acc);
    return GR_OK;
}

static void reduce_columns_extreme(int is_max, float *restrict o, const float *restrict x,
                                   int64_t outer, int64_t len, int64_t inner)
{
    for (int64_t b = 0; b < outer; b++) {
        const float *blk = x + b * len * inner;
        float *ob = o + b * inner;
        for (int64_t j = 0; j < inner; j++) ob[j] = blk[j];
        for (int64_t l = 1; l < len; l++) {
            const float *row = blk + l * inner;
            for (int64_t j = 0; j < inner; j++) ob[j] = extreme(is_max, ob[j], row[j]);
        }
    }
}

gr_status gr_cpu_reduce(gr_redop op, gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner)
{
    float *restrict o = gr_cpu_data(out);
    const float *restrict v = gr_cpu_data(x);
    if (inner == 1) {
        reduce_rows(op, o, v, outer, len);
        return GR_OK;
    }
    switch (op) {
    case GR_RED_SUM: case GR_RED_MEAN: case GR_RED_NORM:
        return reduce_columns_sum(op, o, v, outer, len, inner);
    case GR_RED_MAX: case GR_RED_MIN:
        reduce_columns_extreme(op == GR_RED_MAX, o, v, outer, len, inner);
        return GR_OK;
    case GR_RED_ARGMAX:
        for (int64_t b = 0; b < outer; b++)
            for (int64_t j = 0; j < inner; j++)
                o[b * inner + j] = (float)argmax_span(v + b * len * inner + j, len, inner);
        return GR_OK;
    }
    return gr_fail(GR_EINVAL, "unknown reduction %d", (int)op);
}

gr_status gr_cpu_dot(const gr_tensor *a, const gr_tensor *b, double *result)
{
    *result = dot_span(gr_cpu_data(a), gr_cpu_data(b), a->numel);
    return GR_OK;
}
