/* CPU data movement: strided copies and gathers along one dimension. */
#include "gr_cpu.h"

#include <string.h>

static inline float *strided_base(const gr_strided *s) { return s->storage->host + s->offset; }

gr_status gr_cpu_copy_strided(const gr_strided *dst, const gr_strided *src, int ndim, const int64_t *shape)
{
    const int last = ndim - 1;
    const int64_t n = shape[last], ds = dst->stride[last], ss = src->stride[last];
    int64_t rows = 1;
    for (int d = 0; d < last; d++) rows *= shape[d];
    float *restrict o = strided_base(dst);
    const float *restrict x = strided_base(src);
    int64_t pos[GR_MAX_DIMS] = {0}, oo = 0, xo = 0;
    for (int64_t r = 0; r < rows; r++) {
        if (ds == 1 && ss == 1)
            memcpy(o + oo, x + xo, (size_t)n * sizeof(float));
        else
            for (int64_t i = 0; i < n; i++) o[oo + i * ds] = x[xo + i * ss];
        for (int d = last - 1; d >= 0; d--) {
            oo += dst->stride[d];
            xo += src->stride[d];
            if (++pos[d] < shape[d]) break;
            oo -= dst->stride[d] * shape[d];
            xo -= src->stride[d] * shape[d];
            pos[d] = 0;
        }
    }
    return GR_OK;
}

gr_status gr_cpu_index_select(gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner,
                              const int64_t *idx, int64_t nidx)
{
    float *restrict o = gr_cpu_data(out);
    const float *restrict v = gr_cpu_data(x);
    for (int64_t b = 0; b < outer; b++) {
        const float *blk = v + b * len * inner;
        float *ob = o + b * nidx * inner;
        if (inner == 1)
            for (int64_t j = 0; j < nidx; j++) ob[j] = blk[idx[j]];
        else
            for (int64_t j = 0; j < nidx; j++) memcpy(ob + j * inner, blk + idx[j] * inner, (size_t)inner * sizeof(float));
    }
    return GR_OK;
}
