/* CPU element-wise kernels. The output may be the same array as the first
 * input (in-place ops), so out and a are not restrict; gcc versions the loops
 * on a runtime overlap check and still vectorises them. */
#include "gr_cpu.h"

#include <math.h>

/* One loop per operator over n elements; A and B are expressions in i. */
#define BINARY_LOOPS(A, B)                                                          \
    switch (op) {                                                                   \
    case GR_BIN_ADD: for (int64_t i = 0; i < n; i++) o[i] = (A) + (B); break;       \
    case GR_BIN_SUB: for (int64_t i = 0; i < n; i++) o[i] = (A) - (B); break;       \
    case GR_BIN_MUL: for (int64_t i = 0; i < n; i++) o[i] = (A) * (B); break;       \
    case GR_BIN_DIV: for (int64_t i = 0; i < n; i++) o[i] = (A) / (B); break;       \
    }

/* o[i] = a[i * as] op b[i * bs] for i < n, with fast paths for the
 * contiguous and scalar-operand strides. */
static void binary_span(gr_binop op, int64_t n, float *o, const float *a, int64_t as, const float *b, int64_t bs)
{
    if (as == 1 && bs == 1) {
        BINARY_LOOPS(a[i], b[i])
    } else if (as == 1 && bs == 0) {
        const float s = b[0];
        BINARY_LOOPS(a[i], s)
    } else if (as == 0 && bs == 1) {
        const float s = a[0];
        BINARY_LOOPS(s, b[i])
    } else {
        BINARY_LOOPS(a[i * as], b[i * bs])
    }
}

gr_status gr_cpu_binary(gr_binop op, gr_tensor *out, const gr_tensor *a, const gr_tensor *b, const gr_bcast *plan)
{
    const int last = plan->ndim - 1;
    const int64_t n = plan->shape[last], as = plan->astride[last], bs = plan->bstride[last];
    const int64_t rows = out->numel / n;
    float *o = gr_cpu_data(out);
    const float *pa = gr_cpu_data(a), *pb = gr_cpu_data(b);
    int64_t pos[GR_MAX_DIMS] = {0}, ao = 0, bo = 0;
    for (int64_t r = 0; r < rows; r++) {
        binary_span(op, n, o + r * n, pa + ao, as, pb + bo, bs);
        /* Step the outer dimensions like an odometer. */
        for (int d = last - 1; d >= 0; d--) {
            ao += plan->astride[d];
            bo += plan->bstride[d];
            if (++pos[d] < plan->shape[d]) break;
            ao -= plan->astride[d] * plan->shape[d];
            bo -= plan->bstride[d] * plan->shape[d];
            pos[d] = 0;
        }
    }
    return GR_OK;
}

gr_status gr_cpu_unary(gr_unop op, gr_tensor *out, const gr_tensor *x, float a, float b)
{
    const int64_t n = x->numel;
    float *o = gr_cpu_data(out);
    const float *v = gr_cpu_data(x);
    switch (op) {
    case GR_UN_NEG:     for (int64_t i = 0; i < n; i++) o[i] = -v[i]; break;
    case GR_UN_EXP:     for (int64_t i = 0; i < n; i++) o[i] = expf(v[i]); break;
    case GR_UN_LOG:     for (int64_t i = 0; i < n; i++) o[i] = logf(v[i]); break;
    case GR_UN_SQRT:    for (int64_t i = 0; i < n; i++) o[i] = sqrtf(v[i]); break;
    case GR_UN_ABS:     for (int64_t i = 0; i < n; i++) o[i] = fabsf(v[i]); break;
    case GR_UN_TANH:    for (int64_t i = 0; i < n; i++) o[i] = tanhf(v[i]); break;
    case GR_UN_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / (1.0f + expf(-v[i])); break;
    /* Written so that NaN passes through, as it does for the other maps. */
    case GR_UN_RELU:    for (int64_t i = 0; i < n; i++) o[i] = v[i] < 0.0f ? 0.0f : v[i]; break;
    case GR_UN_POW:     for (int64_t i = 0; i < n; i++) o[i] = powf(v[i], a); break;
    case GR_UN_CLAMP:
        for (int64_t i = 0; i < n; i++) o[i] = v[i] < a ? a : (v[i] > b ? b : v[i]);
        break;
    case GR_UN_ADD_S:   for (int64_t i = 0; i < n; i++) o[i] = v[i] + a; break;
    case GR_UN_SUB_S:   for (int64_t i = 0; i < n; i++) o[i] = v[i] - a; break;
    case GR_UN_RSUB_S:  for (int64_t i = 0; i < n; i++) o[i] = a - v[i]; break;
    case GR_UN_MUL_S:   for (int64_t i = 0; i < n; i++) o[i] = v[i] * a; break;
    case GR_UN_DIV_S:   for (int64_t i = 0; i < n; i++) o[i] = v[i] / a; break;
    case GR_UN_RDIV_S:  for (int64_t i = 0; i < n; i++) o[i] = a / v[i]; break;
    }
    return GR_OK;
}
