/* Optimizer passes for a device without passes of its own: each parameter's
 * buffers are copied to host memory, the CPU passes run on the copies, and
 * what they wrote is copied back. Results equal the CPU path's bit for bit,
 * at the price of host round trips inside every step. */
#include "gr_optim_step.h"

/* Host copies of the tensors of one item. */
typedef struct staged {
    gr_optim_item host;
    gr_tensor *copies[6];
    int ncopies;
} staged;

static gr_status stage_one(staged *st, const gr_tensor *t, gr_tensor **out)
{
    *out = NULL;
    if (!t) return GR_OK;
    GR_TRY(gr_tensor_to(t, gr_device_cpu(), out));
    st->copies[st->ncopies++] = *out;
    return GR_OK;
}

static void unstage(staged *st)
{
    for (int i = 0; i < st->ncopies; i++) gr_tensor_release(st->copies[i]);
    st->ncopies = 0;
}

/* Copies g and what else a pass reads: p, the moments (m, v, vmax), ema_g. */
static gr_status stage(const gr_optim_item *it, staged *st, int p, int moments, int ema)
{
    gr_tensor *g = NULL;
    st->ncopies = 0;
    st->host = *it;
    gr_status s = stage_one(st, p ? it->p : NULL, &st->host.p);
    if (s == GR_OK) s = stage_one(st, it->g, &g);
    if (s == GR_OK) s = stage_one(st, moments ? it->m : NULL, &st->host.m);
    if (s == GR_OK) s = stage_one(st, moments ? it->v : NULL, &st->host.v);
    if (s == GR_OK) s = stage_one(st, moments ? it->vmax : NULL, &st->host.vmax);
    if (s == GR_OK) s = stage_one(st, ema ? it->ema : NULL, &st->host.ema);
    st->host.g = g;
    if (s != GR_OK) unstage(st);
    return s;
}

static gr_status write_back(gr_tensor *dst, const gr_tensor *host)
{
    return dst ? gr_tensor_copy_(dst, host) : GR_OK;
}

static gr_status staged_reduce(const gr_optim_item *items, int n, const gr_optim_reduce_coeffs *c,
                               double *partials)
{
    for (int i = 0; i < n; i++) {
        staged st;
        GR_TRY(stage(&items[i], &st, 0, c->dprev, c->surprise));
        gr_status s = gr_optim_cpu_ops.reduce(&st.host, 1, c, partials + (size_t)i * GR_OPTIM_NSUMS);
        if (s == GR_OK && c->ema_write) s = write_back(items[i].ema, st.host.ema);
        unstage(&st);
        GR_TRY(s);
    }
    return GR_OK;
}

static gr_status staged_update(const gr_optim_item *items, int n, const gr_optim_update_coeffs *c,
                               double *dnorm)
{
    for (int i = 0; i < n; i++) {
        const gr_optim_item *it = &items[i];
        staged st;
        GR_TRY(stage(it, &st, 1, 1, c->ema_write));
        gr_status s = gr_optim_cpu_ops.update(&st.host, 1, c, dnorm + i);
        if (it->g) {
            if (s == GR_OK) s = write_back(it->p, st.host.p);
            if (s == GR_OK) s = write_back(it->m, st.host.m);
            if (s == GR_OK) s = write_back(it->v, st.host.v);
            if (s == GR_OK && c->amsgrad) s = write_back(it->vmax, st.host.vmax);
            if (s == GR_OK && c->ema_write) s = write_back(it->ema, st.host.ema);
        }
        unstage(&st);
        GR_TRY(s);
    }
    return GR_OK;
}

gr_status gr_optim_staged_direction(const gr_optim_item *item, const gr_optim_reduce_coeffs *c, gr_tensor *out)
{
    staged st;
    gr_tensor *d;
    GR_TRY(stage(item, &st, 0, 1, 0));
    gr_status s = gr_tensor_empty(gr_device_cpu(), out->ndim, out->shape, &d);
    if (s == GR_OK) {
        s = gr_optim_cpu_ops.direction(&st.host, c, d);
        if (s == GR_OK) s = gr_tensor_copy_(out, d);
        gr_tensor_release(d);
    }
    unstage(&st);
    return s;
}

const gr_optim_device_ops gr_optim_staged_ops = {
    .reduce = staged_reduce,
    .update = staged_update,
    .direction = gr_optim_staged_direction,
};
