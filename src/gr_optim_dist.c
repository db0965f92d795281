/* Data-parallel optimizers (gr_optim_dist.h): the layout of buckets and
 * pieces, construction, and the step: average the gradients bucket by
 * bucket, step, and (sharded) gather the parameters. */
#include "gr_optim_dist_impl.h"

#include <stdlib.h>
#include <string.h>

gr_optim *gr_optim_dist_optim(const gr_optim_dist *d) { return d->opt; }
gr_comm *gr_optim_dist_comm(const gr_optim_dist *d) { return d->comm; }
const gr_optim_dist_options *gr_optim_dist_get_options(const gr_optim_dist *d) { return &d->o; }
int gr_optim_dist_param_count(const gr_optim_dist *d) { return d->n; }
gr_tensor *gr_optim_dist_param(const gr_optim_dist *d, int i) { return d->params[i]; }

/* ---- layout ------------------------------------------------------------- */

/* Loops over the parameter parts inside the flat range [lo, lo + len),
 * declaring for each: the parameter i, its elements [at, at + count), and
 * pos, where they start in the flat vector. */
#define FOR_PARTS(d, lo, len, i, at, count, pos)                                                   \
    for (int i = 0; i < (d)->n; i++)                                                               \
        for (int64_t pos = (d)->offset[i] > (lo) ? (d)->offset[i] : (lo),                          \
                     at = pos - (d)->offset[i],                                                    \
                     count = ((d)->offset[i + 1] < (lo) + (len) ? (d)->offset[i + 1] : (lo) + (len)) - pos; \
             count > 0; count = 0)

gr_status gr_optim_dist_pack(const gr_optim_dist *d, gr_tensor *const *src, int64_t lo, int64_t len, float *buf)
{
    FOR_PARTS(d, lo, len, i, at, count, pos) {
        float *dst = buf + (pos - lo);
        if (!src[i]) memset(dst, 0, (size_t)count * sizeof *dst);
        else GR_TRY(gr_tensor_read_range(src[i], at, count, dst));
    }
    return GR_OK;
}

gr_status gr_optim_dist_unpack(const gr_optim_dist *d, gr_tensor *const *dst, const unsigned char *only,
                               int64_t lo, int64_t len, const float *buf)
{
    FOR_PARTS(d, lo, len, i, at, count, pos) {
        if ((only && !only[i]) || !dst[i]) continue;
        GR_TRY(gr_tensor_write_range(dst[i], at, count, buf + (pos - lo)));
    }
    return GR_OK;
}

static gr_status make_buckets(gr_optim_dist *d)
{
    int size = d->comm->size, rank = d->comm->rank;
    int64_t be = d->o.bucket_elems;
    d->nbuckets = (int)((d->total + be - 1) / be);
    d->buckets = calloc((size_t)(d->nbuckets ? d->nbuckets : 1), sizeof *d->buckets);
    d->slices = malloc((size_t)(d->nbuckets ? d->nbuckets : 1) * 2 * (size_t)size * sizeof *d->slices);
    d->reqs = calloc((size_t)(d->nbuckets ? d->nbuckets : 1), sizeof *d->reqs);
    if (!d->buckets || !d->slices || !d->reqs) return gr_fail(GR_ENOMEM, "out of host memory");
    int64_t shard = 0;
    for (int b = 0; b < d->nbuckets; b++) {
        gr_dist_bucket *bk = &d->buckets[b];
        bk->lo = (int64_t)b * be;
        bk->len = d->total - bk->lo < be ? d->total - bk->lo : be;
        bk->counts = d->slices + (size_t)b * 2 * (size_t)size;
        bk->displs = bk->counts + size;
        gr_comm_split(d->comm, bk->len, GR_DIST_ALIGN, bk->counts, bk->displs);
        bk->shard_at = shard;
        shard += bk->counts[rank];
    }
    d->shard_len = shard;
    return GR_OK;
}

/* This rank's pieces: the parameter parts inside its slices, in flat order. */
static gr_status make_pieces(gr_optim_dist *d)
{
    int rank = d->comm->rank, np = 0;
    for (int pass = 0; pass < 2; pass++) {
        np = 0;
        for (int b = 0; b < d->nbuckets; b++) {
            const gr_dist_bucket *bk = &d->buckets[b];
            int64_t lo = bk->lo + bk->displs[rank], len = bk->counts[rank];
            FOR_PARTS(d, lo, len, i, at, count, pos) {
                if (pass) d->pieces[np] = (gr_dist_piece){i, at, count, bk->shard_at + (pos - lo)};
                np++;
            }
        }
        if (!pass) {
            /* A rank that owns nothing still steps, on an empty piece, so that
             * it takes part in the step's collectives. */
            d->pieces = calloc((size_t)(np ? np : 1), sizeof *d->pieces);
            if (!d->pieces) return gr_fail(GR_ENOMEM, "out of host memory");
        }
    }
    d->npieces = np ? np : 1;
    return GR_OK;
}

/* The averaged-gradient buffers and, per parameter of opt, its view. */
static gr_status make_buffers(gr_optim_dist *d)
{
    int cpu = d->device->kind == GR_DEVICE_CPU, shard = d->o.shard_state;
    int64_t glen = shard ? d->shard_len : d->total;
    GR_TRY(gr_tensor_empty(d->device, 1, &glen, &d->grad));
    int m = shard ? d->npieces : d->n;
    d->views = calloc((size_t)m, sizeof *d->views);
    d->step_grads = calloc((size_t)m, sizeof *d->step_grads);
    d->mask = calloc((size_t)d->n, 1);
    if (cpu && !shard) d->flat = d->grad->storage->host + d->grad->offset;
    else d->flat = malloc((size_t)(d->total ? d->total : 1) * sizeof *d->flat);
    if (cpu) d->recv = d->grad->storage->host + d->grad->offset;
    else if (shard) d->recv = malloc((size_t)(d->shard_len ? d->shard_len : 1) * sizeof *d->recv);
    else d->recv = d->flat;
    if (!d->views || !d->step_grads || !d->mask || !d->flat || !d->recv) return gr_fail(GR_ENOMEM, "out of host memory");
    for (int j = 0; j < m; j++) {
        if (shard) {
            const gr_dist_piece *pc = &d->pieces[j];
            GR_TRY(gr_tensor_view_at(d->grad, pc->shard_at, 1, &pc->len, &d->views[j]));
        } else {
            const gr_tensor *p = d->params[j];
            GR_TRY(gr_tensor_view_at(d->grad, d->offset[j], p->ndim, p->shape, &d->views[j]));
        }
    }
    return GR_OK;
}

static gr_status make_layout(gr_optim_dist *d, gr_optim *opt)
{
    d->n = opt->n;
    d->device = opt->device;
    d->params = calloc((size_t)d->n, sizeof *d->params);
    d->offset = malloc((size_t)(d->n + 1) * sizeof *d->offset);
    if (!d->params || !d->offset) return gr_fail(GR_ENOMEM, "out of host memory");
    d->offset[0] = 0;
    for (int i = 0; i < d->n; i++) {
        d->params[i] = opt->params[i].p;
        gr_tensor_retain(d->params[i]);
        d->offset[i + 1] = d->offset[i] + d->params[i]->numel;
    }
    d->total = d->offset[d->n];
    GR_TRY(make_buckets(d));
    if (d->o.shard_state) GR_TRY(make_pieces(d));
    return GR_OK;
}

/* ---- lifetime ----------------------------------------------------------- */

void gr_optim_dist_free(gr_optim_dist *d)
{
    if (!d) return;
    int m = d->o.shard_state ? d->npieces : d->n;
    if (d->views)
        for (int j = 0; j < m; j++) gr_tensor_release(d->views[j]);
    int cpu = d->device && d->device->kind == GR_DEVICE_CPU;
    if (!(cpu && !d->o.shard_state)) free(d->flat);
    if (!cpu && d->o.shard_state) free(d->recv);
    gr_tensor_release(d->grad);
    if (d->params)
        for (int i = 0; i < d->n; i++) gr_tensor_release(d->params[i]);
    gr_optim_free(d->opt);
    free(d->params);
    free(d->offset);
    free(d->buckets);
    free(d->slices);
    free(d->pieces);
    free(d->views);
    free(d->step_grads);
    free(d->mask);
    free(d->reqs);
    free(d);
}

gr_status gr_optim_dist_new(gr_optim *opt, gr_comm *comm, const gr_optim_dist_options *o, gr_optim_dist **out)
{
    if (o->bucket_elems < 1 || o->bucket_elems > GR_OPTIM_DIST_MAX_BUCKET)
        return gr_fail(GR_EINVAL, "%s: bucket size must be 1 to %lld elements (got %lld)", gr_optim_kind_name(opt->kind),
                       (long long)GR_OPTIM_DIST_MAX_BUCKET, (long long)o->bucket_elems);
    if (opt->comm) return gr_fail(GR_EINVAL, "%s: the optimizer is distributed already", gr_optim_kind_name(opt->kind));
    gr_optim_dist *d = calloc(1, sizeof *d);
    if (!d) return gr_fail(GR_ENOMEM, "out of host memory");
    d->comm = comm;
    d->o = *o;
    gr_status s = make_layout(d, opt);
    if (s == GR_OK) s = make_buffers(d);
    if (s == GR_OK) s = gr_optim_dist_replicate(d, opt);
    gr_optim *shard = NULL;
    if (s == GR_OK && o->shard_state) s = gr_optim_dist_shard(d, opt, &shard);
    if (s != GR_OK) {
        gr_optim_dist_free(d);
        return s;
    }
    if (shard) gr_optim_free(opt);
    d->opt = shard ? shard : opt;
    *out = d;
    return GR_OK;
}

/* ---- the step ----------------------------------------------------------- */

void gr_optim_dist_drain(gr_optim_dist *d, int first, int last)
{
    for (int b = first; b < last; b++)
        if (d->reqs[b].handle) gr_comm_wait(d->comm, &d->reqs[b]);
}

static void divide(float *x, int64_t n, int size)
{
    float f = (float)size;
    for (int64_t i = 0; i < n; i++) x[i] /= f;
}

/* Waits for bucket b's gradient collective, averages what this rank
 * received and moves it to the device. */
static gr_status finish_gradients(gr_optim_dist *d, int b)
{
    const gr_dist_bucket *bk = &d->buckets[b];
    GR_TRY(gr_comm_wait(d->comm, &d->reqs[b]));
    int64_t at = d->o.shard_state ? bk->shard_at : bk->lo;
    int64_t len = d->o.shard_state ? bk->counts[d->comm->rank] : bk->len;
    if (d->comm->size > 1) divide(d->recv + at, len, d->comm->size);
    if (d->device->kind == GR_DEVICE_CPU) return GR_OK;
    return gr_tensor_write_range(d->grad, at, len, d->recv + at);
}

/* The request slot of bucket b's collective: non-blocking for parameters
 * staged through host memory, so that copying the next bucket off the
 * device can overlap it; blocking for CPU parameters, where there is no such
 * copy to hide and Open MPI's blocking collectives are about twice as fast. */
static gr_comm_req *request(gr_optim_dist *d, int b)
{
    return d->device->kind == GR_DEVICE_CPU ? NULL : &d->reqs[b];
}

/* Packs each bucket's gradients (zeros where this rank has none) and starts
 * its collective; a bucket in flight is finished while the next is packed. */
static gr_status average_gradients(gr_optim_dist *d, gr_tensor *const *grads)
{
    gr_status s = GR_OK;
    int b = 0;
    for (; b < d->nbuckets && s == GR_OK; b++) {
        const gr_dist_bucket *bk = &d->buckets[b];
        float *buf = d->flat + bk->lo;
        s = gr_optim_dist_pack(d, grads, bk->lo, bk->len, buf);
        if (s != GR_OK) break;
        if (d->o.shard_state)
            s = gr_comm_reduce_scatter(d->comm, buf, d->recv + bk->shard_at, bk->counts, GR_COMM_F32, request(d, b));
        else
            s = gr_comm_all_reduce(d->comm, buf, bk->len, GR_COMM_F32, GR_COMM_SUM, request(d, b));
        if (s == GR_OK && b > 0) s = finish_gradients(d, b - 1);
    }
    if (s == GR_OK && d->nbuckets > 0) s = finish_gradients(d, d->nbuckets - 1);
    gr_optim_dist_drain(d, 0, d->nbuckets);
    return s;
}

/* Sharded: every rank's updated slices of the parameters to every rank. */
static gr_status gather_params(gr_optim_dist *d)
{
    int rank = d->comm->rank;
    gr_status s = GR_OK;
    int b = 0;
    for (; b < d->nbuckets && s == GR_OK; b++) {
        const gr_dist_bucket *bk = &d->buckets[b];
        int64_t lo = bk->lo + bk->displs[rank];
        s = gr_optim_dist_pack(d, d->params, lo, bk->counts[rank], d->flat + lo);
        if (s == GR_OK)
            s = gr_comm_all_gather(d->comm, d->flat + bk->lo, bk->counts, bk->displs, GR_COMM_F32, request(d, b));
    }
    for (int k = 0; k < b && s == GR_OK; k++) {
        const gr_dist_bucket *bk = &d->buckets[k];
        s = gr_comm_wait(d->comm, &d->reqs[k]);
        /* This rank's own slice is current already; the rest is unpacked
         * around it, for the parameters that changed (had a gradient). */
        int64_t own = bk->lo + bk->displs[rank], end = own + bk->counts[rank];
        if (s == GR_OK) s = gr_optim_dist_unpack(d, d->params, d->mask, bk->lo, own - bk->lo, d->flat + bk->lo);
        if (s == GR_OK) s = gr_optim_dist_unpack(d, d->params, d->mask, end, bk->lo + bk->len - end, d->flat + end);
    }
    gr_optim_dist_drain(d, 0, d->nbuckets);
    return s;
}

/* The message of a non-finite gradient found in the shards: the first
 * parameter with one, and how many of its elements, over every rank. */
static gr_status nonfinite_error(gr_optim_dist *d)
{
    double *count = calloc((size_t)d->n, sizeof *count);
    if (!count) return gr_fail(GR_ENOMEM, "out of host memory");
    for (int j = 0; j < d->npieces; j++) {
        const gr_dist_piece *pc = &d->pieces[j];
        const float *g = d->recv + pc->shard_at;
        for (int64_t e = 0; e < pc->len; e++) count[pc->param] += g[e] - g[e] != 0.0f;
    }
    gr_status s = gr_comm_sum_f64(d->comm, count, d->n);
    int i = 0;
    while (s == GR_OK && i < d->n - 1 && count[i] == 0) i++;
    if (s == GR_OK)
        s = gr_fail(GR_ENONFINITE, "%s: non-finite gradient of parameter %d (%.0f of %lld elements, averaged over "
                    "%d ranks); nothing was changed (nonfinite = \"error\")", gr_optim_kind_name(d->opt->kind), i + 1,
                    count[i], (long long)d->params[i]->numel, d->comm->size);
    free(count);
    return s;
}

gr_status gr_optim_dist_step(gr_optim_dist *d, gr_tensor *const *grads, int *skipped)
{
    if (skipped) *skipped = 0;
    GR_TRY(gr_comm_check_open(d->comm, gr_optim_kind_name(d->opt->kind)));
    for (int i = 0; i < d->n; i++)
        GR_TRY(gr_optim_check_grad(d->opt->kind, d->device, i, d->params[i], grads[i]));
    for (int i = 0; i < d->n; i++) d->mask[i] = grads[i] != NULL;
    GR_TRY(gr_comm_all_reduce(d->comm, d->mask, d->n, GR_COMM_U8, GR_COMM_MAX, NULL));
    int shard = d->o.shard_state;
    GR_TRY(average_gradients(d, grads));
    int m = shard ? d->npieces : d->n;
    for (int j = 0; j < m; j++) d->step_grads[j] = d->mask[shard ? d->pieces[j].param : j] ? d->views[j] : NULL;
    int skip = 0;
    gr_status s = gr_optim_step(d->opt, d->step_grads, &skip);
    if (s == GR_ENONFINITE && shard) s = nonfinite_error(d);
    if (s != GR_OK) return s;
    if (skip) {
        if (skipped) *skipped = 1;
        return GR_OK;
    }
    return shard ? gather_params(d) : GR_OK;
}
