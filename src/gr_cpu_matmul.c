/* CPU matrix products through OpenBLAS sgemm, one call per batch entry. */
#include "gr_cpu.h"

#include <cblas.h>
#include <limits.h>

gr_status gr_cpu_matmul(gr_tensor *out, const gr_tensor *a, const gr_tensor *b, int64_t batch, int64_t m,
                        int64_t n, int64_t k, int64_t a_batch_stride, int64_t b_batch_stride)
{
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return gr_fail(GR_EINVAL, "matmul sizes above %d are not supported by BLAS (got m=%lld n=%lld k=%lld)",
                       INT_MAX, (long long)m, (long long)n, (long long)k);
    const float *pa = gr_cpu_data(a), *pb = gr_cpu_data(b);
    float *pc = gr_cpu_data(out);
    for (int64_t i = 0; i < batch; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                    pa + i * a_batch_stride, (int)k, pb + i * b_batch_stride, (int)n, 0.0f,
                    pc + i * m * n, (int)n);
    return GR_OK;
}
