/* The state of a data-parallel optimizer: agreement and rank 0's state at
 * the start, the split of a full state into this rank's shard, the gather of
 * the shards back into one full state, loading and saving. */
#include "gr_optim_dist_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- agreement ---------------------------------------------------------- */

enum { AG_KIND, AG_NPARAMS, AG_TOTAL, AG_SHAPES, AG_DEVICE, AG_SHARD, AG_BUCKET, AG_LEN };

/* The shapes of the parameters as one number (52 bits of FNV-1a). */
static double shapes_hash(const gr_optim_dist *d)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < d->n; i++) {
        const gr_tensor *p = d->params[i];
        h = (h ^ (uint64_t)p->ndim) * 1099511628211ull;
        for (int k = 0; k < p->ndim; k++) h = (h ^ (uint64_t)p->shape[k]) * 1099511628211ull;
    }
    return (double)(h >> 12);
}

static gr_status check_agree(gr_optim_dist *d, const gr_optim *opt)
{
    gr_comm *c = d->comm;
    double mine[AG_LEN] = {
        [AG_KIND] = opt->kind, [AG_NPARAMS] = d->n, [AG_TOTAL] = (double)d->total, [AG_SHAPES] = shapes_hash(d),
        [AG_DEVICE] = d->device->kind, [AG_SHARD] = d->o.shard_state, [AG_BUCKET] = (double)d->o.bucket_elems,
    };
    double *all = calloc((size_t)c->size * AG_LEN, sizeof *all);
    int *counts = malloc((size_t)c->size * 2 * sizeof *counts);
    gr_status s = all && counts ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory");
    if (s == GR_OK) {
        int *displs = counts + c->size;
        for (int r = 0; r < c->size; r++) {
            counts[r] = AG_LEN;
            displs[r] = r * AG_LEN;
        }
        memcpy(all + (size_t)c->rank * AG_LEN, mine, sizeof mine);
        s = gr_comm_all_gather(c, all, counts, displs, GR_COMM_F64, NULL);
    }
    const char *cls = gr_optim_kind_name(opt->kind);
    for (int r = 1; r < c->size && s == GR_OK; r++) {
        const double *a = all, *b = all + (size_t)r * AG_LEN;
        if (a[AG_KIND] != b[AG_KIND])
            s = gr_fail(GR_ECOMM, "%s: the ranks' optimizers differ (rank 0 has %s, rank %d %s)", cls,
                        gr_optim_kind_name((gr_optim_kind)a[AG_KIND]), r, gr_optim_kind_name((gr_optim_kind)b[AG_KIND]));
        else if (a[AG_NPARAMS] != b[AG_NPARAMS] || a[AG_TOTAL] != b[AG_TOTAL] || a[AG_SHAPES] != b[AG_SHAPES])
            s = gr_fail(GR_ECOMM, "%s: the ranks' parameters differ (rank 0 has %.0f tensors of %.0f elements, "
                        "rank %d %.0f of %.0f%s)", cls, a[AG_NPARAMS], a[AG_TOTAL], r, b[AG_NPARAMS], b[AG_TOTAL],
                        a[AG_NPARAMS] == b[AG_NPARAMS] && a[AG_TOTAL] == b[AG_TOTAL] ? ", shaped differently" : "");
        else if (a[AG_DEVICE] != b[AG_DEVICE])
            s = gr_fail(GR_ECOMM, "%s: the ranks' parameters are on different kinds of device (rank 0: %s, rank %d: %s)",
                        cls, a[AG_DEVICE] == GR_DEVICE_CPU ? "cpu" : "vulkan", r,
                        b[AG_DEVICE] == GR_DEVICE_CPU ? "cpu" : "vulkan");
        else if (a[AG_SHARD] != b[AG_SHARD] || a[AG_BUCKET] != b[AG_BUCKET])
            s = gr_fail(GR_ECOMM, "%s: the ranks' distributed options differ (rank 0: shard_state = %s, bucket of "
                        "%.0f elements; rank %d: shard_state = %s, %.0f elements)", cls, a[AG_SHARD] ? "true" : "false",
                        a[AG_BUCKET], r, b[AG_SHARD] ? "true" : "false", b[AG_BUCKET]);
    }
    free(all);
    free(counts);
    return s;
}

/* ---- rank 0's values to every rank -------------------------------------- */

/* Root's tensors (one per parameter, NULL for none) to the same tensors on
 * every other rank, bucket by bucket through the flat buffer. */
static gr_status broadcast_tensors(gr_optim_dist *d, gr_tensor *const *ts)
{
    int root = d->comm->rank == 0;
    for (int b = 0; b < d->nbuckets; b++) {
        const gr_dist_bucket *bk = &d->buckets[b];
        float *buf = d->flat + bk->lo;
        if (root) GR_TRY(gr_optim_dist_pack(d, ts, bk->lo, bk->len, buf));
        GR_TRY(gr_comm_broadcast(d->comm, buf, bk->len, GR_COMM_F32, 0));
        if (!root) GR_TRY(gr_optim_dist_unpack(d, ts, NULL, bk->lo, bk->len, buf));
    }
    return GR_OK;
}

/* The fixed-size part of a state, sent as bytes (every rank runs the same build). */
typedef struct state_head {
    gr_optim_options options;
    gr_optim_scalars scalars;
    int64_t history_len[GR_OPTIM_NHIST];
} state_head;

gr_status gr_optim_dist_broadcast_state(gr_optim_dist *d, gr_optim *full)
{
    gr_comm *c = d->comm;
    if (c->size == 1) return GR_OK;
    GR_TRY(gr_optim_sync(full));   /* a fused device's state reaches the host here */
    int root = c->rank == 0, n = d->n;
    state_head head;
    memset(&head, 0, sizeof head);
    head.options = full->o;
    head.scalars = full->s;
    int64_t nhist = 0;
    for (int h = 0; h < GR_OPTIM_NHIST; h++) head.history_len[h] = full->hist[h].len;
    GR_TRY(gr_comm_broadcast(c, &head, (int64_t)sizeof head, GR_COMM_U8, 0));
    for (int h = 0; h < GR_OPTIM_NHIST; h++) nhist += head.history_len[h];

    size_t nslots = (size_t)n * GR_OPTIM_NSLOTS;
    double *hist = malloc((size_t)(nhist ? nhist : 1) * sizeof *hist);
    unsigned char *present = calloc(nslots, 1);
    gr_tensor **slots = calloc(nslots, sizeof *slots), **column = calloc((size_t)n, sizeof *column);
    gr_status s = hist && present && slots && column ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory");
    if (s == GR_OK && root) {
        for (int h = 0, at = 0; h < GR_OPTIM_NHIST; at += (int)head.history_len[h], h++)
            if (head.history_len[h]) memcpy(hist + at, full->hist[h].data, (size_t)head.history_len[h] * sizeof *hist);
        for (size_t j = 0; j < nslots; j++) present[j] = full->params[j / GR_OPTIM_NSLOTS].slot[j % GR_OPTIM_NSLOTS] != NULL;
    }
    if (s == GR_OK) s = gr_comm_broadcast(c, hist, nhist, GR_COMM_F64, 0);
    if (s == GR_OK) s = gr_comm_broadcast(c, present, (int64_t)nslots, GR_COMM_U8, 0);
    for (int k = 0; k < GR_OPTIM_NSLOTS && s == GR_OK; k++) {
        int any = 0;
        for (int i = 0; i < n && s == GR_OK; i++) {
            column[i] = NULL;
            if (!present[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k]) continue;
            any = 1;
            const gr_tensor *p = d->params[i];
            if (root) column[i] = full->params[i].slot[k];
            else s = gr_tensor_empty(d->device, p->ndim, p->shape, &slots[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k]);
            if (!root) column[i] = slots[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k];
        }
        if (any && s == GR_OK) s = broadcast_tensors(d, column);
    }
    if (s == GR_OK && !root) {
        gr_optim_state st = {.options = head.options, .scalars = head.scalars, .slots = slots, .nparams = n};
        for (int h = 0, at = 0; h < GR_OPTIM_NHIST; at += (int)head.history_len[h], h++) {
            st.history[h] = hist + at;
            st.history_len[h] = head.history_len[h];
        }
        s = gr_optim_load_state(full, &st);
    }
    for (size_t j = 0; slots && j < nslots; j++) gr_tensor_release(slots[j]);
    free(hist);
    free(present);
    free(slots);
    free(column);
    return s;
}

gr_status gr_optim_dist_replicate(gr_optim_dist *d, gr_optim *opt)
{
    GR_TRY(gr_optim_sync(opt));
    GR_TRY(check_agree(d, opt));
    if (d->comm->size == 1) return GR_OK;
    GR_TRY(broadcast_tensors(d, d->params));
    return gr_optim_dist_broadcast_state(d, opt);
}

/* ---- the shard ---------------------------------------------------------- */

/* A view of piece j of t (a tensor shaped like the piece's parameter). */
static gr_status piece_view(const gr_dist_piece *pc, const gr_tensor *t, gr_tensor **out)
{
    return gr_tensor_view_at(t, pc->at, 1, &pc->len, out);
}

static void state_of(const gr_optim *o, gr_tensor *const *slots, int nparams, gr_optim_state *st)
{
    memset(st, 0, sizeof *st);
    st->options = o->o;
    st->scalars = o->s;
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        st->history[h] = o->hist[h].data;
        st->history_len[h] = o->hist[h].len;
    }
    st->slots = slots;
    st->nparams = nparams;
}

gr_status gr_optim_dist_shard(const gr_optim_dist *d, const gr_optim *full, gr_optim **out)
{
    int m = d->npieces;
    size_t nslots = (size_t)m * GR_OPTIM_NSLOTS;
    gr_tensor **views = calloc((size_t)m, sizeof *views), **slots = calloc(nslots, sizeof *slots);
    gr_status s = views && slots ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory");
    for (int j = 0; j < m && s == GR_OK; j++) {
        const gr_dist_piece *pc = &d->pieces[j];
        s = piece_view(pc, d->params[pc->param], &views[j]);
        for (int k = 0; k < GR_OPTIM_NSLOTS && s == GR_OK; k++) {
            const gr_tensor *slot = full->params[pc->param].slot[k];
            if (slot) s = piece_view(pc, slot, &slots[(size_t)j * GR_OPTIM_NSLOTS + (size_t)k]);
        }
    }
    gr_optim *o = NULL;
    if (s == GR_OK) s = gr_optim_new(full->kind, views, m, &full->o, &o);
    if (s == GR_OK) {
        gr_optim_state st;
        state_of(full, slots, m, &st);
        s = gr_optim_load_state(o, &st);
    }
    for (size_t j = 0; slots && j < nslots; j++) gr_tensor_release(slots[j]);
    for (int j = 0; views && j < m; j++) gr_tensor_release(views[j]);
    free(slots);
    free(views);
    if (s != GR_OK) {
        gr_optim_free(o);
        return s;
    }
    s = gr_optim_share_sums(o, d->comm);
    if (s != GR_OK) {
        gr_optim_free(o);
        return s;
    }
    *out = o;
    return GR_OK;
}

/* ---- the full state ----------------------------------------------------- */

/* Slot k of every parameter from the shards: a CPU tensor of all the flat
 * elements, each rank's slices gathered into it. */
static gr_status gather_slot(gr_optim_dist *d, int k, gr_tensor **out)
{
    const gr_optim *inner = d->opt;
    int64_t total = d->total;
    gr_tensor *flat;
    GR_TRY(gr_tensor_empty(gr_device_cpu(), 1, &total, &flat));
    float *buf = flat->storage->host + flat->offset;
    gr_status s = GR_OK;
    for (int j = 0; j < d->npieces && s == GR_OK; j++) {
        const gr_dist_piece *pc = &d->pieces[j];
        const gr_tensor *slot = inner->params[j].slot[k];
        if (slot) s = gr_tensor_read_range(slot, 0, pc->len, buf + d->offset[pc->param] + pc->at);
    }
    int b = 0;
    for (; b < d->nbuckets && s == GR_OK; b++) {
        const gr_dist_bucket *bk = &d->buckets[b];
        s = gr_comm_all_gather(d->comm, buf + bk->lo, bk->counts, bk->displs, GR_COMM_F32, &d->reqs[b]);
    }
    for (int i = 0; i < b && s == GR_OK; i++) s = gr_comm_wait(d->comm, &d->reqs[i]);
    gr_optim_dist_drain(d, 0, d->nbuckets);
    if (s != GR_OK) {
        gr_tensor_release(flat);
        return s;
    }
    *out = flat;
    return GR_OK;
}

gr_status gr_optim_dist_full(gr_optim_dist *d, gr_optim **full, int *owned)
{
    GR_TRY(gr_comm_check_open(d->comm, gr_optim_kind_name(d->opt->kind)));
    if (!d->o.shard_state) {
        *full = d->opt;
        *owned = 0;
        return GR_OK;
    }
    const gr_optim *inner = d->opt;
    int n = d->n;
    size_t nslots = (size_t)n * GR_OPTIM_NSLOTS;
    unsigned char *present = calloc(nslots, 1);
    gr_tensor **slots = calloc(nslots, sizeof *slots), *flat[GR_OPTIM_NSLOTS] = {0};
    gr_status s = present && slots ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory");
    for (int j = 0; j < d->npieces && s == GR_OK; j++)
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++)
            if (inner->params[j].slot[k]) present[(size_t)d->pieces[j].param * GR_OPTIM_NSLOTS + (size_t)k] = 1;
    if (s == GR_OK) s = gr_comm_all_reduce(d->comm, present, (int64_t)nslots, GR_COMM_U8, GR_COMM_MAX, NULL);
    for (int k = 0; k < GR_OPTIM_NSLOTS && s == GR_OK; k++) {
        int any = 0;
        for (int i = 0; i < n; i++) any |= present[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k];
        if (any) s = gather_slot(d, k, &flat[k]);
        for (int i = 0; i < n && s == GR_OK && any; i++) {
            if (!present[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k]) continue;
            const gr_tensor *p = d->params[i];
            s = gr_tensor_view_at(flat[k], d->offset[i], p->ndim, p->shape, &slots[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k]);
        }
    }
    gr_optim *f = NULL;
    if (s == GR_OK) s = gr_optim_new(inner->kind, d->params, n, &inner->o, &f);
    if (s == GR_OK) {
        gr_optim_state st;
        state_of(inner, slots, n, &st);
        s = gr_optim_load_state(f, &st);
    }
    for (size_t j = 0; slots && j < nslots; j++) gr_tensor_release(slots[j]);
    for (int k = 0; k < GR_OPTIM_NSLOTS; k++) gr_tensor_release(flat[k]);
    free(slots);
    free(present);
    if (s != GR_OK) {
        gr_optim_free(f);
        return s;
    }
    *full = f;
    *owned = 1;
    return GR_OK;
}

gr_status gr_optim_dist_load(gr_optim_dist *d, gr_optim *full)
{
    gr_status s = gr_optim_dist_broadcast_state(d, full);
    gr_optim *next = full;
    if (s == GR_OK && d->o.shard_state) {
        s = gr_optim_dist_shard(d, full, &next);
        gr_optim_free(full);
    }
    if (s != GR_OK) {
        if (!d->o.shard_state) gr_optim_free(full);
        return s;
    }
    gr_optim_free(d->opt);
    d->opt = next;
    return GR_OK;
}

gr_status gr_optim_dist_save(gr_optim_dist *d, const char *path)
{
    gr_optim *full;
    int owned;
    GR_TRY(gr_optim_dist_full(d, &full, &owned));
    struct {
        int32_t status;
        char message[508];
    } outcome;
    memset(&outcome, 0, sizeof outcome);
    if (d->comm->rank == 0) {
        outcome.status = gr_optim_save(full, path);
        if (outcome.status != GR_OK) snprintf(outcome.message, sizeof outcome.message, "%s", gr_last_error());
    }
    if (owned) gr_optim_free(full);
    GR_TRY(gr_comm_broadcast(d->comm, &outcome, (int64_t)sizeof outcome, GR_COMM_U8, 0));
    if (outcome.status != GR_OK) return gr_fail((gr_status)outcome.status, "%s", outcome.message);
    return GR_OK;
}
