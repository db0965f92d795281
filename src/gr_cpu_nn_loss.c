/* CPU cross-entropy: a fused, max-shifted log-softmax per row. Labels reach
 * here checked to be integers in [0, c) (gr_nn_loss.c). */
#include "gr_cpu_nn.h"

#include <math.h>

/* The row's maximum and log(sum(exp(row - max))), summed in double. */
static void row_logsumexp(const float *row, int64_t c, float *max_out, double *lse_out)
{
    float mx = row[0];
    for (int64_t j = 1; j < c; j++) mx = row[j] > mx ? row[j] : mx;
    double s = 0.0;
    for (int64_t j = 0; j < c; j++) s += exp((double)(row[j] - mx));
    *max_out = mx;
    *lse_out = log(s);
}

gr_status gr_cpu_cross_entropy_forward(gr_tensor *losses, const gr_tensor *logits, const gr_tensor *labels,
                                       int64_t n, int64_t c)
{
    const float *x = gr_cpu_data(logits), *y = gr_cpu_data(labels);
    float *l = gr_cpu_data(losses);
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * c;
        float mx;
        double lse;
        row_logsumexp(row, c, &mx, &lse);
        l[i] = (float)(lse - (double)(row[(int64_t)y[i]] - mx));
    }
    return GR_OK;
}

gr_status gr_cpu_cross_entropy_backward(gr_tensor *grad, const gr_tensor *logits, const gr_tensor *labels,
                                        float scale, int64_t n, int64_t c)
{
    const float *x = gr_cpu_data(logits), *y = gr_cpu_data(labels);
    float *g = gr_cpu_data(grad);
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * c;
        float *grow = g + i * c;
        float mx;
        double lse;
        row_logsumexp(row, c, &mx, &lse);
        for (int64_t j = 0; j < c; j++) grow[j] = scale * (float)exp((double)(row[j] - mx) - lse);
        grow[(int64_t)y[i]] -= scale;
    }
    return GR_OK;
}
