/* Data-parallel optimizers: one optimizer (any of the three classes) run
 * by every rank of a communicator on its own part of each batch.
 *
 * A step averages the gradients over the ranks in a few large collectives
 * (buckets of the parameters laid end to end, not one per tensor), then
 * steps on the average, so every rank takes the same step:
 * - replicated state: an all-reduce per bucket; every rank holds all of m,
 *   v, vmax and ema_g and updates every parameter.
 * - sharded state (ZeRO stage 1): a reduce-scatter per bucket leaves each
 *   rank the average of its slice of every bucket; the rank keeps m, v,
 *   vmax and ema_g for its slices only (about 1/N of the optimizer memory),
 *   updates them and its slices of the parameters, adds its part of the
 *   step's global sums to the other ranks' (a few doubles, through
 *   gr_optim_reduce_global) so that lr, beta1 and the surprise adapt alike
 *   on every rank, and an all-gather per bucket brings every rank the
 *   updated parameters.
 * Every function here that takes a gr_optim_dist is collective: every rank
 * must call it, in the same order. */
#ifndef GR_OPTIM_DIST_H
#define GR_OPTIM_DIST_H

#include "gr_optim.h"
#include "gr_comm.h"

typedef struct gr_optim_dist gr_optim_dist;

typedef struct gr_optim_dist_options {
    int shard_state;
    int64_t bucket_elems;   /* elements per bucket, 1 .. GR_OPTIM_DIST_MAX_BUCKET */
} gr_optim_dist_options;

#define GR_OPTIM_DIST_MAX_BUCKET ((int64_t)1 << 30)

/* Makes opt data-parallel over comm. The ranks must have the same class and
 * parameter shapes; rank 0's parameter values and optimizer state become
 * every rank's. On success the result owns opt (a sharded one keeps only
 * this rank's slices of its state and frees it); on failure the caller
 * keeps opt, which may then hold rank 0's values. */
gr_status gr_optim_dist_new(gr_optim *opt, gr_comm *comm, const gr_optim_dist_options *o, gr_optim_dist **out);
void gr_optim_dist_free(gr_optim_dist *d);

/* The optimizer that holds the scalar state, the histories and the
 * hyperparameters (the same on every rank): opt itself when replicated,
 * else the one over this rank's slices. Its fields may be read and set;
 * setting them is up to every rank alike. */
gr_optim *gr_optim_dist_optim(const gr_optim_dist *d);
gr_comm *gr_optim_dist_comm(const gr_optim_dist *d);
const gr_optim_dist_options *gr_optim_dist_get_options(const gr_optim_dist *d);
int gr_optim_dist_param_count(const gr_optim_dist *d);
gr_tensor *gr_optim_dist_param(const gr_optim_dist *d, int i);

/* One data-parallel step on this rank's gradients (grads[i] NULL for none).
 * A parameter takes part when some rank has a gradient for it; ranks
 * without one count as a zero gradient. */
gr_status gr_optim_dist_step(gr_optim_dist *d, gr_tensor *const *grads, int *skipped);

/* The complete state as one optimizer over the full parameters: the
 * replicated optimizer itself (*owned = 0), or a new one gathered from every
 * rank's slices (*owned = 1: the caller frees it). */
gr_status gr_optim_dist_full(gr_optim_dist *d, gr_optim **full, int *owned);

/* Continues from the state of full (an optimizer of the same class over the
 * same parameters, e.g. a loaded checkpoint), rank 0's copy winning; takes
 * full over, also on failure. */
gr_status gr_optim_dist_load(gr_optim_dist *d, gr_optim *full);

/* Writes the complete state as one ordinary optimizer file (loadable at any
 * number of ranks, including one, with gr_optim_load): rank 0 writes, and
 * every rank returns rank 0's outcome. */
gr_status gr_optim_dist_save(gr_optim_dist *d, const char *path);

#endif
