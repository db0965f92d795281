/* Communicators: the collectives between processes that data-parallel
 * training needs, on host buffers. The core calls them only through this
 * table; the optional MPI module (build/grilly/mpi.so) fills one in, so the
 * core itself has no MPI dependency. Ranks are numbered 0 .. size-1.
 *
 * Every collective must be called by every rank of the communicator, in
 * the same order and with matching sizes. */
#ifndef GR_COMM_H
#define GR_COMM_H

#include <stddef.h>
#include <stdint.h>
#include "gr_status.h"

typedef enum gr_comm_type { GR_COMM_F32, GR_COMM_F64, GR_COMM_U8, GR_COMM_NTYPES } gr_comm_type;
typedef enum gr_comm_op { GR_COMM_SUM, GR_COMM_MAX } gr_comm_op;

/* The kinds of collective, for the traffic counters. */
typedef enum gr_comm_kind {
    GR_COMM_ALL_REDUCE, GR_COMM_REDUCE_SCATTER, GR_COMM_ALL_GATHER, GR_COMM_BROADCAST, GR_COMM_NKINDS
} gr_comm_kind;

/* A non-blocking collective in flight, finished by gr_comm_wait. */
typedef struct gr_comm_req {
    void *handle;
} gr_comm_req;

typedef struct gr_comm gr_comm;

/* What an implementation provides. Each returns 0 or an implementation
 * error code that error_string describes. Where req is not NULL the
 * operation only starts (wait finishes it, and the buffers must stay
 * untouched until then); with req NULL it completes before returning. */
typedef struct gr_comm_ops {
    /* In place over count elements. */
    int (*all_reduce)(gr_comm *c, void *buf, int count, gr_comm_type type, gr_comm_op op, gr_comm_req *req);
    /* Sums send (the sum of counts elements) across ranks; rank r receives
     * the counts[r] elements at offset counts[0] + ... + counts[r-1] in recv. */
    int (*reduce_scatter)(gr_comm *c, const void *send, void *recv, const int *counts, gr_comm_type type,
                          gr_comm_req *req);
    /* In place: rank r's counts[r] elements at displs[r] in buf reach every rank. */
    int (*all_gather)(gr_comm *c, void *buf, const int *counts, const int *displs, gr_comm_type type,
                      gr_comm_req *req);
    int (*broadcast)(gr_comm *c, void *buf, int count, gr_comm_type type, int root);
    int (*barrier)(gr_comm *c);
    int (*wait)(gr_comm *c, gr_comm_req *req);
    /* Writes the text of an error code into buf and returns buf. */
    const char *(*error_string)(gr_comm *c, int code, char *buf, size_t len);
} gr_comm_ops;

/* Bytes this rank handed to one kind of collective (its buffer's size). */
typedef struct gr_comm_traffic {
    uint64_t calls, bytes;
} gr_comm_traffic;

struct gr_comm {
    const gr_comm_ops *ops;
    int rank, size;
    int closed;                 /* set once the implementation has shut down */
    void *impl;
    gr_comm_traffic traffic[GR_COMM_NKINDS][GR_COMM_NTYPES];   /* counted by the wrappers below */
};

const char *gr_comm_kind_name(gr_comm_kind kind);     /* "all_reduce", ... */
const char *gr_comm_type_name(gr_comm_type type);     /* "f32", "f64", "u8" */

/* Fails, naming the operation `what`, once the communicator has been shut down. */
gr_status gr_comm_check_open(const gr_comm *c, const char *what);

/* The wrappers the core calls: they check the communicator is open and the
 * sizes fit, count the traffic, and turn an implementation error into a
 * status with its message. */
gr_status gr_comm_all_reduce(gr_comm *c, void *buf, int64_t count, gr_comm_type type, gr_comm_op op,
                             gr_comm_req *req);
gr_status gr_comm_reduce_scatter(gr_comm *c, const void *send, void *recv, const int *counts, gr_comm_type type,
                                 gr_comm_req *req);
gr_status gr_comm_all_gather(gr_comm *c, void *buf, const int *counts, const int *displs, gr_comm_type type,
                             gr_comm_req *req);
gr_status gr_comm_broadcast(gr_comm *c, void *buf, int64_t count, gr_comm_type type, int root);
gr_status gr_comm_barrier(gr_comm *c);
gr_status gr_comm_wait(gr_comm *c, gr_comm_req *req);

/* Replaces vals[0..n) by their sum over the ranks, added in rank order on
 * every rank, so the result is the same bits everywhere and run to run,
 * whatever algorithm the implementation uses. */
gr_status gr_comm_sum_f64(gr_comm *c, double *vals, int n);

/* Splits `total` elements across the ranks in slices of whole multiples of
 * `align` (the last non-empty slice takes the rest): counts[r] and
 * displs[r] for r < c->size. */
void gr_comm_split(const gr_comm *c, int64_t total, int64_t align, int *counts, int *displs);

#endif
