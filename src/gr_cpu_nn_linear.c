/* CPU linear layers through OpenBLAS sgemm, and activation gradients.
 * Sizes reach here checked to fit BLAS's int (gr_nn_linear.c). */
#include "gr_cpu_nn.h"

#include <cblas.h>

gr_status gr_cpu_linear_forward(gr_tensor *out, const gr_tensor *x, const gr_tensor *w, const gr_tensor *b,
                                int64_t m, int64_t n, int64_t k)
{
    float *o = gr_cpu_data(out);
    float beta = 0.0f;
    if (b) {
        /* Start every row from the bias and let sgemm add the product to it. */
        const float *pb = gr_cpu_data(b);
        for (int64_t r = 0; r < m; r++)
            for (int64_t j = 0; j < n; j++) o[r * n + j] = pb[j];
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, gr_cpu_data(x), (int)k,
                gr_cpu_data(w), (int)k, beta, o, (int)n);
    return GR_OK;
}

gr_status gr_cpu_linear_backward(gr_tensor *grad_x, gr_tensor *grad_w, gr_tensor *grad_b, const gr_tensor *grad_out,
                                 const gr_tensor *x, const gr_tensor *w, int64_t m, int64_t n, int64_t k)
{
    const float *g = gr_cpu_data(grad_out);
    if (grad_x)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)k, (int)n, 1.0f, g, (int)n,
                    gr_cpu_data(w), (int)k, 0.0f, gr_cpu_data(grad_x), (int)k);
    if (grad_w)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)k, (int)m, 1.0f, g, (int)n,
                    gr_cpu_data(x), (int)k, 1.0f, gr_cpu_data(grad_w), (int)k);
    if (grad_b) {
        float *restrict gb = gr_cpu_data(grad_b);
        for (int64_t r = 0; r < m; r++)
            for (int64_t j = 0; j < n; j++) gb[j] += g[r * n + j];
    }
    return GR_OK;
}

gr_status gr_cpu_activation_backward(gr_nn_act act, gr_tensor *grad_in, const gr_tensor *y, const gr_tensor *grad_out)
{
    const int64_t n = y->numel;
    float *restrict o = gr_cpu_data(grad_in);
    const float *restrict v = gr_cpu_data(y), *restrict g = gr_cpu_data(grad_out);
    switch (act) {
    case GR_NN_RELU:    for (int64_t i = 0; i < n; i++) o[i] = v[i] > 0.0f ? g[i] : 0.0f; break;
    case GR_NN_TANH:    for (int64_t i = 0; i < n; i++) o[i] = g[i] * (1.0f - v[i] * v[i]); break;
    case GR_NN_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = g[i] * v[i] * (1.0f - v[i]); break;
    }
    return GR_OK;
}
