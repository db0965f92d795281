/* The process-wide random generator state (see gr_random.h). */
#include "gr_random.h"

static uint64_t gen_seed;
static uint64_t gen_position;

gr_status gr_random_manual_seed(uint64_t seed)
{
    if (seed >= GR_RANDOM_SEED_LIMIT)
        return gr_fail(GR_EINVAL, "seed must be an integer in [0, 2^53) (got %llu)", (unsigned long long)seed);
    gen_seed = seed;
    gen_position = 0;
    return GR_OK;
}

void gr_random_get_state(uint64_t *seed, uint64_t *position)
{
    *seed = gen_seed;
    *position = gen_position;
}

void gr_random_advance(uint64_t count) { gen_position += count; }
