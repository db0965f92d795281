/* The random generator shared by every device: Philox4x32-10 (Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
 *
 * Element i of a tensor filled at generator position `counter` hashes the
 * counter block (c & 0xffffffff, c >> 32, 0, 0), c = counter + i, under the
 * key (seed & 0xffffffff, seed >> 32). The functions below are the reference
 * that device kernels (shaders included) mirror operation for operation: no
 * fused multiply-add, float32 arithmetic for the normal transform. */
#ifndef GR_RANDOM_H
#define GR_RANDOM_H

#include <math.h>
#include <stdint.h>
#include "gr_status.h"

#define GR_PHILOX_M0 0xD2511F53u
#define GR_PHILOX_M1 0xCD9E8D57u
#define GR_PHILOX_W0 0x9E3779B9u
#define GR_PHILOX_W1 0xBB67AE85u

/* Seeds are integers below 2^53, so that Lua numbers carry them exactly. */
#define GR_RANDOM_SEED_LIMIT ((uint64_t)1 << 53)

/* Ten rounds of Philox4x32 on the counter block c under key (k0, k1). */
static inline void gr_philox4x32_10(const uint32_t c_in[4], uint32_t k0, uint32_t k1, uint32_t out[4])
{
    uint32_t c0 = c_in[0], c1 = c_in[1], c2 = c_in[2], c3 = c_in[3];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)GR_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)GR_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += GR_PHILOX_W0;
        k1 += GR_PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* The four words for stream position c under seed. */
static inline void gr_philox_words(uint64_t seed, uint64_t c, uint32_t out[4])
{
    const uint32_t block[4] = { (uint32_t)c, (uint32_t)(c >> 32), 0u, 0u };
    gr_philox4x32_10(block, (uint32_t)seed, (uint32_t)(seed >> 32), out);
}

/* Uniform on [a, b): u = (o0 >> 8) * 2^-24. */
static inline float gr_random_uniform(uint64_t seed, uint64_t c, float a, float b)
{
    uint32_t o[4];
    gr_philox_words(seed, c, o);
    float u = (float)(o[0] >> 8) * 0x1p-24f;
    return a + (b - a) * u;
}

/* Normal with the given mean and std (Box-Muller on o0, o1; u1 in (0, 1]). */
static inline float gr_random_normal(uint64_t seed, uint64_t c, float mean, float std)
{
    uint32_t o[4];
    gr_philox_words(seed, c, o);
    float u1 = (float)((o[0] >> 8) + 1u) * 0x1p-24f;
    float u2 = (float)(o[1] >> 8) * 0x1p-24f;
    float z = sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
    return mean + std * z;
}

/* The process-wide generator: a seed and a position that every fill
 * advances by the number of elements it drew. */
gr_status gr_random_manual_seed(uint64_t seed);        /* also resets the position to 0 */
void gr_random_get_state(uint64_t *seed, uint64_t *position);
void gr_random_advance(uint64_t count);

#endif
