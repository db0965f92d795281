/* CPU random fills: the reference Philox functions of gr_random.h per element. */
#include "gr_cpu.h"
#include "gr_random.h"

gr_status gr_cpu_random(gr_tensor *t, gr_randkind kind, uint64_t seed, uint64_t counter, float a, float b)
{
    float *restrict p = gr_cpu_data(t);
    const int64_t n = t->numel;
    if (kind == GR_RAND_UNIFORM)
        for (int64_t i = 0; i < n; i++) p[i] = gr_random_uniform(seed, counter + (uint64_t)i, a, b);
    else
        for (int64_t i = 0; i < n; i++) p[i] = gr_random_normal(seed, counter + (uint64_t)i, a, b);
    return GR_OK;
}
