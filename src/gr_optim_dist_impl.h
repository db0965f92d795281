/* The data-parallel optimizer record, shared by its step (gr_optim_dist.c)
 * and its state handling (gr_optim_dist_state.c).
 *
 * Layout: the parameters laid end to end form a flat vector of `total`
 * elements, cut into buckets of at most bucket_elems. Each bucket is split
 * across the ranks (gr_comm_split); with sharded state this rank owns its
 * slice of every bucket, and the parts of parameters inside its slices are
 * the pieces its own optimizer steps on. */
#ifndef GR_OPTIM_DIST_IMPL_H
#define GR_OPTIM_DIST_IMPL_H

#include "gr_optim_dist.h"
#include "gr_optim_impl.h"

/* Slices of a bucket start at multiples of this many elements (64 bytes). */
#define GR_DIST_ALIGN 16

typedef struct gr_dist_bucket {
    int64_t lo, len;        /* the flat range */
    int *counts, *displs;   /* each rank's slice, relative to lo */
    int64_t shard_at;       /* where this rank's slice starts in its shard */
} gr_dist_bucket;

typedef struct gr_dist_piece {
    int param;              /* the parameter it is part of */
    int64_t at, len;        /* element range within the parameter */
    int64_t shard_at;       /* where it starts in this rank's shard */
} gr_dist_piece;

struct gr_optim_dist {
    gr_comm *comm;
    gr_optim_dist_options o;
    int n;
    gr_tensor **params;       /* retained */
    int64_t *offset;          /* n + 1 flat offsets; offset[n] = total */
    int64_t total;
    gr_device *device;
    int nbuckets;
    gr_dist_bucket *buckets;
    int *slices;              /* backs every bucket's counts and displs */
    int npieces;              /* sharded: at least 1 (an empty piece when the rank owns nothing) */
    gr_dist_piece *pieces;
    int64_t shard_len;
    gr_optim *opt;            /* over params (replicated) or over the pieces (sharded) */
    float *flat;              /* host, total elements: packed gradients; the parameters' all-gather */
    float *recv;              /* host: where averaged gradients land (flat, or the shard) */
    gr_tensor *grad;          /* the averaged gradients on the device: flat or shard */
    gr_tensor **views;        /* per parameter of opt: its gradient, a view of grad */
    gr_tensor **step_grads;   /* the gradient list passed to opt's step */
    unsigned char *mask;      /* per parameter: a gradient on some rank this step */
    gr_comm_req *reqs;        /* per bucket */
};

/* Checks that the ranks agree on the class, the parameters' layout and the
 * distributed options; then rank 0's parameter values and the state of its
 * opt (a full optimizer over d's parameters) become every rank's. */
gr_status gr_optim_dist_replicate(gr_optim_dist *d, gr_optim *opt);

/* Rank 0's state of full (options, scalars, histories, every slot) becomes
 * every rank's full's state. */
gr_status gr_optim_dist_broadcast_state(gr_optim_dist *d, gr_optim *full);

/* A new optimizer over this rank's pieces, with the matching slices of the
 * full optimizer's state and its scalars, histories and options. */
gr_status gr_optim_dist_shard(const gr_optim_dist *d, const gr_optim *full, gr_optim **out);

/* Packs the flat range [lo, lo + len) of src (one tensor per parameter:
 * the parameters, their gradients or a slot of each) into buf, buf[0] being
 * element lo; where src[i] is NULL its part is zeros. */
gr_status gr_optim_dist_pack(const gr_optim_dist *d, gr_tensor *const *src, int64_t lo, int64_t len, float *buf);
/* The reverse: writes buf's part of each dst[i] that is not NULL (and, with
 * `only`, has only[i] set). */
gr_status gr_optim_dist_unpack(const gr_optim_dist *d, gr_tensor *const *dst, const unsigned char *only,
                               int64_t lo, int64_t len, const float *buf);

/* Waits for the bucket requests in [first, last) that are still pending. */
void gr_optim_dist_drain(gr_optim_dist *d, int first, int last);

#endif
