/* Plain-C baselines the benchmarks compare grilly against, loaded through the
 * LuaJIT FFI so that both run in the same process. */
#include <stddef.h>
#include <string.h>

void baseline_add(const float *restrict a, const float *restrict b, float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void baseline_memcpy(void *dst, const void *src, size_t nbytes)
{
    memcpy(dst, src, nbytes);
}
