/* Collectives on tensors (gr_comm_tensor.h). */
#include "gr_comm_tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elements per collective: CPU tensors go in pieces this large, staged
 * tensors through two host buffers of STAGE elements each. */
#define PIECE ((int64_t)1 << 28)
#define STAGE ((int64_t)1 << 20)

/* ---- agreement across ranks --------------------------------------------- */

#define DESC_LEN (GR_MAX_DIMS + 2)

/* What each rank passes: ndim, the shape, and an extra number (the
 * operation or the root). */
static void describe(const gr_tensor *t, double extra, double *d)
{
    memset(d, 0, DESC_LEN * sizeof *d);
    d[0] = t->ndim;
    for (int i = 0; i < t->ndim; i++) d[1 + i] = (double)t->shape[i];
    d[DESC_LEN - 1] = extra;
}

static const char *desc_shape(const double *d, char *buf, size_t len)
{
    int64_t shape[GR_MAX_DIMS];
    int ndim = (int)d[0];
    for (int i = 0; i < ndim; i++) shape[i] = (int64_t)d[1 + i];
    return gr_shape_str(ndim, shape, buf, len);
}

/* Fails on every rank alike when the ranks disagree on the shape or on the
 * extra number; extra_text names the extra number's values for messages. */
static gr_status check_agree(gr_comm *c, const char *what, const gr_tensor *t, double extra,
                             const char *(*extra_text)(double x, char *buf, size_t len))
{
    GR_TRY(gr_comm_check_open(c, what));
    if (c->size == 1) return GR_OK;
    double *all = malloc((size_t)c->size * DESC_LEN * sizeof *all);
    int *counts = malloc((size_t)c->size * 2 * sizeof *counts);
    if (!all || !counts) {
        free(all);
        free(counts);
        return gr_fail(GR_ENOMEM, "out of host memory");
    }
    int *displs = counts + c->size;
    for (int r = 0; r < c->size; r++) {
        counts[r] = DESC_LEN;
        displs[r] = r * DESC_LEN;
    }
    describe(t, extra, all + (size_t)c->rank * DESC_LEN);
    gr_status s = gr_comm_all_gather(c, all, counts, displs, GR_COMM_F64, NULL);
    for (int r = 1; r < c->size && s == GR_OK; r++) {
        const double *d0 = all, *dr = all + (size_t)r * DESC_LEN;
        char a[96], b[96];
        if (memcmp(d0, dr, (DESC_LEN - 1) * sizeof *d0))
            s = gr_fail(GR_ECOMM, "%s: tensor shapes differ across ranks (rank 0 has %s, rank %d has %s)", what,
                        desc_shape(d0, a, sizeof a), r, desc_shape(dr, b, sizeof b));
        else if (d0[DESC_LEN - 1] != dr[DESC_LEN - 1])
            s = gr_fail(GR_ECOMM, "%s: ranks disagree (rank 0 asks for %s, rank %d for %s)", what,
                        extra_text(d0[DESC_LEN - 1], a, sizeof a), r, extra_text(dr[DESC_LEN - 1], b, sizeof b));
    }
    free(all);
    free(counts);
    return s;
}

static const char *op_text(double x, char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return x != 0 ? "\"mean\"" : "\"sum\"";
}

static const char *root_text(double x, char *buf, size_t len)
{
    snprintf(buf, len, "root %d", (int)x);
    return buf;
}

/* ---- all_reduce and broadcast ------------------------------------------- */

static void divide(float *x, int64_t n, int size)
{
    float d = (float)size;
    for (int64_t i = 0; i < n; i++) x[i] /= d;
}

/* In place on host memory, in pieces. */
static gr_status host_all_reduce(gr_comm *c, float *x, int64_t n, int mean)
{
    for (int64_t first = 0; first < n; first += PIECE) {
        int64_t len = n - first < PIECE ? n - first : PIECE;
        GR_TRY(gr_comm_all_reduce(c, x + first, len, GR_COMM_F32, GR_COMM_SUM, NULL));
        if (mean) divide(x + first, len, c->size);
    }
    return GR_OK;
}

/* A chunk of a staged tensor in flight. */
typedef struct stage_slot {
    float *buf;
    int64_t first, len;
    gr_comm_req req;
    int pending;
} stage_slot;

static gr_status stage_finish(gr_comm *c, gr_tensor *t, stage_slot *sl, int mean, gr_status s)
{
    if (!sl->pending) return s;
    sl->pending = 0;
    gr_status w = gr_comm_wait(c, &sl->req);
    if (s != GR_OK) return s;
    if (w != GR_OK) return w;
    if (mean) divide(sl->buf, sl->len, c->size);
    return gr_tensor_write_range(t, sl->first, sl->len, sl->buf);
}

/* Through two host buffers: while chunk k is being reduced, chunk k-1 is
 * written back and chunk k+1 read. */
static gr_status staged_all_reduce(gr_comm *c, gr_tensor *t, int mean)
{
    float *mem = malloc((size_t)(2 * STAGE) * sizeof *mem);
    if (!mem) return gr_fail(GR_ENOMEM, "out of host memory staging a collective");
    stage_slot slot[2] = {{mem, 0, 0, {0}, 0}, {mem + STAGE, 0, 0, {0}, 0}};
    gr_status s = GR_OK;
    int64_t k = 0;
    for (int64_t first = 0; first < t->numel && s == GR_OK; first += STAGE, k++) {
        stage_slot *sl = &slot[k & 1];
        s = stage_finish(c, t, sl, mean, s);
        sl->first = first;
        sl->len = t->numel - first < STAGE ? t->numel - first : STAGE;
        if (s == GR_OK) s = gr_tensor_read_range(t, first, sl->len, sl->buf);
        if (s == GR_OK) s = gr_comm_all_reduce(c, sl->buf, sl->len, GR_COMM_F32, GR_COMM_SUM, &sl->req);
        if (s == GR_OK) sl->pending = 1;
    }
    /* The older chunk first, then the newer; both are waited for even after an error. */
    s = stage_finish(c, t, &slot[k & 1], mean, s);
    s = stage_finish(c, t, &slot[(k + 1) & 1], mean, s);
    free(mem);
    return s;
}

gr_status gr_tensor_all_reduce(gr_comm *c, gr_tensor *t, int mean)
{
    GR_TRY(check_agree(c, "all_reduce", t, mean ? 1 : 0, op_text));
    if (c->size == 1 || t->numel == 0) return GR_OK;
    if (t->storage->device->kind == GR_DEVICE_CPU) return host_all_reduce(c, t->storage->host + t->offset, t->numel, mean);
    return staged_all_reduce(c, t, mean);
}

gr_status gr_tensor_broadcast(gr_comm *c, gr_tensor *t, int root)
{
    if (root < 0 || root >= c->size)
        return gr_fail(GR_ECOMM, "broadcast: root %d is not a rank (0 to %d)", root, c->size - 1);
    GR_TRY(check_agree(c, "broadcast", t, root, root_text));
    if (c->size == 1 || t->numel == 0) return GR_OK;
    int cpu = t->storage->device->kind == GR_DEVICE_CPU;
    int64_t piece = cpu ? PIECE : STAGE;
    float *buf = cpu ? NULL : malloc((size_t)piece * sizeof *buf);
    if (!cpu && !buf) return gr_fail(GR_ENOMEM, "out of host memory staging a collective");
    gr_status s = GR_OK;
    for (int64_t first = 0; first < t->numel && s == GR_OK; first += piece) {
        int64_t len = t->numel - first < piece ? t->numel - first : piece;
        float *x = cpu ? t->storage->host + t->offset + first : buf;
        if (!cpu && c->rank == root) s = gr_tensor_read_range(t, first, len, x);
        if (s == GR_OK) s = gr_comm_broadcast(c, x, len, GR_COMM_F32, root);
        if (s == GR_OK && !cpu && c->rank != root) s = gr_tensor_write_range(t, first, len, x);
    }
    free(buf);
    return s;
}

/* ---- all_gather --------------------------------------------------------- */

gr_status gr_tensor_all_gather(gr_comm *c, const gr_tensor *t, gr_tensor **out)
{
    if (t->ndim >= GR_MAX_DIMS)
        return gr_fail(GR_ESHAPE, "all_gather: a tensor of %d dimensions cannot gain a rank dimension (at most %d)",
                       t->ndim, GR_MAX_DIMS);
    GR_TRY(check_agree(c, "all_gather", t, 0, op_text));
    int64_t shape[GR_MAX_DIMS];
    shape[0] = c->size;
    memcpy(shape + 1, t->shape, (size_t)t->ndim * sizeof *shape);
    int64_t total = (int64_t)c->size * t->numel;
    if (total > 0x7fffffff)
        return gr_fail(GR_ECOMM, "all_gather: %d ranks x %lld elements is more than one collective can take",
                       c->size, (long long)t->numel);
    gr_device *dev = t->storage->device;
    int cpu = dev->kind == GR_DEVICE_CPU;
    gr_tensor *result;
    GR_TRY(gr_tensor_empty(dev, t->ndim + 1, shape, &result));
    float *host = cpu ? result->storage->host + result->offset : malloc((size_t)(total ? total : 1) * sizeof *host);
    int *counts = malloc((size_t)c->size * 2 * sizeof *counts);
    gr_status s = host && counts ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory");
    if (s == GR_OK) {
        int *displs = counts + c->size;
        for (int r = 0; r < c->size; r++) {
            counts[r] = (int)t->numel;
            displs[r] = r * (int)t->numel;
        }
        s = gr_tensor_read(t, host + (size_t)c->rank * (size_t)t->numel);
        if (s == GR_OK && c->size > 1) s = gr_comm_all_gather(c, host, counts, displs, GR_COMM_F32, NULL);
        if (s == GR_OK && !cpu) s = gr_tensor_write(result, host);
    }
    if (!cpu) free(host);
    free(counts);
    if (s != GR_OK) {
        gr_tensor_release(result);
        return s;
    }
    *out = result;
    return GR_OK;
}
