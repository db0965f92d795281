/* The core's side of a communicator (gr_comm.h): checked, counted calls
 * into the implementation, and the rank-ordered sum of doubles. */
#include "gr_comm.h"

#include <limits.h>
#include <stdlib.h>

static const size_t type_size[GR_COMM_NTYPES] = {sizeof(float), sizeof(double), 1};

const char *gr_comm_kind_name(gr_comm_kind kind)
{
    static const char *const names[GR_COMM_NKINDS] = {"all_reduce", "reduce_scatter", "all_gather", "broadcast"};
    return names[kind];
}

const char *gr_comm_type_name(gr_comm_type type)
{
    static const char *const names[GR_COMM_NTYPES] = {"f32", "f64", "u8"};
    return names[type];
}

gr_status gr_comm_check_open(const gr_comm *c, const char *what)
{
    if (c->closed)
        return gr_fail(GR_ECOMM, "%s: the communicator has been shut down (distributed.finalize was called)", what);
    return GR_OK;
}

static gr_status check_open(const gr_comm *c, gr_comm_kind kind)
{
    return gr_comm_check_open(c, gr_comm_kind_name(kind));
}

static gr_status check_count(gr_comm_kind kind, int64_t count)
{
    if (count < 0 || count > INT_MAX)
        return gr_fail(GR_ECOMM, "%s: %lld elements is more than one collective can take (at most %d)",
                       gr_comm_kind_name(kind), (long long)count, INT_MAX);
    return GR_OK;
}

/* Counts the traffic of a call and turns an implementation error code into a status. */
static gr_status done(gr_comm *c, gr_comm_kind kind, gr_comm_type type, int64_t count, int rc)
{
    if (rc != 0) {
        char buf[256];
        return gr_fail(GR_ECOMM, "%s failed on rank %d: %s", gr_comm_kind_name(kind), c->rank,
                       c->ops->error_string(c, rc, buf, sizeof buf));
    }
    c->traffic[kind][type].calls++;
    c->traffic[kind][type].bytes += (uint64_t)count * type_size[type];
    return GR_OK;
}

static int64_t total_of(const gr_comm *c, const int *counts)
{
    int64_t total = 0;
    for (int r = 0; r < c->size; r++) total += counts[r];
    return total;
}

gr_status gr_comm_all_reduce(gr_comm *c, void *buf, int64_t count, gr_comm_type type, gr_comm_op op,
                             gr_comm_req *req)
{
    GR_TRY(check_open(c, GR_COMM_ALL_REDUCE));
    GR_TRY(check_count(GR_COMM_ALL_REDUCE, count));
    return done(c, GR_COMM_ALL_REDUCE, type, count, c->ops->all_reduce(c, buf, (int)count, type, op, req));
}

gr_status gr_comm_reduce_scatter(gr_comm *c, const void *send, void *recv, const int *counts, gr_comm_type type,
                                 gr_comm_req *req)
{
    GR_TRY(check_open(c, GR_COMM_REDUCE_SCATTER));
    int64_t total = total_of(c, counts);
    GR_TRY(check_count(GR_COMM_REDUCE_SCATTER, total));
    return done(c, GR_COMM_REDUCE_SCATTER, type, total, c->ops->reduce_scatter(c, send, recv, counts, type, req));
}

gr_status gr_comm_all_gather(gr_comm *c, void *buf, const int *counts, const int *displs, gr_comm_type type,
                             gr_comm_req *req)
{
    GR_TRY(check_open(c, GR_COMM_ALL_GATHER));
    int64_t total = total_of(c, counts);
    GR_TRY(check_count(GR_COMM_ALL_GATHER, total));
    return done(c, GR_COMM_ALL_GATHER, type, total, c->ops->all_gather(c, buf, counts, displs, type, req));
}

gr_status gr_comm_broadcast(gr_comm *c, void *buf, int64_t count, gr_comm_type type, int root)
{
    GR_TRY(check_open(c, GR_COMM_BROADCAST));
    GR_TRY(check_count(GR_COMM_BROADCAST, count));
    if (root < 0 || root >= c->size)
        return gr_fail(GR_ECOMM, "broadcast: root %d is not a rank (0 to %d)", root, c->size - 1);
    return done(c, GR_COMM_BROADCAST, type, count, c->ops->broadcast(c, buf, (int)count, type, root));
}

gr_status gr_comm_barrier(gr_comm *c)
{
    GR_TRY(gr_comm_check_open(c, "barrier"));
    int rc = c->ops->barrier(c);
    if (rc == 0) return GR_OK;
    char buf[256];
    return gr_fail(GR_ECOMM, "barrier failed on rank %d: %s", c->rank, c->ops->error_string(c, rc, buf, sizeof buf));
}

gr_status gr_comm_wait(gr_comm *c, gr_comm_req *req)
{
    int rc = c->ops->wait(c, req);
    if (rc == 0) return GR_OK;
    char buf[256];
    return gr_fail(GR_ECOMM, "a collective failed on rank %d: %s", c->rank, c->ops->error_string(c, rc, buf, sizeof buf));
}

gr_status gr_comm_sum_f64(gr_comm *c, double *vals, int n)
{
    if (c->size == 1) return GR_OK;
    int size = c->size;
    double *all = malloc((size_t)size * (size_t)n * sizeof *all);
    int *counts = malloc((size_t)size * 2 * sizeof *counts);
    if (!all || !counts) {
        free(all);
        free(counts);
        return gr_fail(GR_ENOMEM, "out of host memory");
    }
    int *displs = counts + size;
    for (int r = 0; r < size; r++) {
        counts[r] = n;
        displs[r] = r * n;
    }
    for (int i = 0; i < n; i++) all[(size_t)c->rank * (size_t)n + (size_t)i] = vals[i];
    gr_status s = gr_comm_all_gather(c, all, counts, displs, GR_COMM_F64, NULL);
    if (s == GR_OK)
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int r = 0; r < size; r++) sum += all[(size_t)r * (size_t)n + (size_t)i];
            vals[i] = sum;
        }
    free(all);
    free(counts);
    return s;
}

void gr_comm_split(const gr_comm *c, int64_t total, int64_t align, int *counts, int *displs)
{
    int64_t per = (total + c->size - 1) / c->size;
    per = (per + align - 1) / align * align;
    for (int r = 0; r < c->size; r++) {
        int64_t lo = (int64_t)r * per, hi = lo + per;
        if (lo > total) lo = total;
        if (hi > total) hi = total;
        displs[r] = (int)lo;
        counts[r] = (int)(hi - lo);
    }
}
