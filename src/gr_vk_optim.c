/* The fused Vulkan optimizer: the device state of one optimizer, and how the
 * host copies in gr_optim (scalars, histories, slots) and the device's copies
 * are kept consistent without a host wait inside a step.
 *
 * The device holds the options, the scalar state and a flags word per
 * parameter (which of m/v, vmax, ema_g exist, and which ema_g buffer is
 * current) in one block. Host writes (fields, options, a state load) are
 * uploaded in stream order right away; the host reads the block back only
 * at sync points. History records go to a ring in host-visible memory, one
 * record per step, and are consumed once the step's batch has finished, so
 * histories grow without the host ever waiting for them.
 *
 * Slots are created by the host at a parameter's first gradient (a step may
 * turn out skipped, which only the device knows); the flags say which exist,
 * and a sync releases those no completed step brought into existence, so the
 * host copies match the CPU's. */
#include "gr_vk_optim.h"

#include <stdlib.h>
#include <string.h>

static void options_block(const gr_optim *opt, double *o)
{
    const gr_optim_options *x = &opt->o;
    memset(o, 0, VKO_NOPTIONS * sizeof *o);
    o[VKO_O_KIND] = opt->kind;
    o[VKO_O_AMSGRAD] = x->amsgrad;
    o[VKO_O_BIAS] = x->bias_correction;
    o[VKO_O_NONFINITE] = x->nonfinite;
    o[VKO_O_BETA_HYPER] = x->beta_hyper;
    o[VKO_O_LOG_SCALE] = x->log_scale;
    o[VKO_O_LR_MIN] = x->lr_min;
    o[VKO_O_LR_MAX] = x->lr_max;
    o[VKO_O_HYPER_LR] = x->hyper_lr;
    o[VKO_O_HYPER_LR_BETA] = x->hyper_lr_beta;
    o[VKO_O_ADAPT_MOMENTUM] = x->adapt_momentum;
    o[VKO_O_TRACK_SURPRISE] = x->track_surprise;
    o[VKO_O_GAMMA] = x->surprise_gamma;
    o[VKO_O_ALPHA] = x->surprise_alpha;
    o[VKO_O_TRAUMA] = x->trauma_threshold;
    o[VKO_O_BETA_MIN] = x->beta_min;
    o[VKO_O_BETA_MAX] = x->beta_max;
    o[VKO_O_WARMUP] = (double)x->warmup_steps;
    o[VKO_O_NORMALIZER] = x->normalizer;
    o[VKO_O_ACCUMULATOR] = x->accumulator;
    o[VKO_O_H_CLIP] = x->h_clip;
    o[VKO_O_MAX_LR_CHANGE] = x->max_lr_change;
    o[VKO_O_EPS] = x->eps;
    o[VKO_O_WEIGHT_DECAY] = x->weight_decay;
}

static gr_status upload_scalar(gr_vk_optim *v, int i, double x)
{
    return gr_vk_upload(v->d, &v->block, VKO_STATE + (size_t)i * sizeof x, &x, sizeof x);
}

gr_status gr_vk_optim_send(gr_optim *opt, unsigned hold)
{
    gr_vk_optim *v = opt->resident;
    unsigned what = v->unsent & ~hold;
    if (what & GR_CHANGED_ALL) what = v->unsent;
    if (!what) return GR_OK;
    if (what & (GR_CHANGED_OPTIONS | GR_CHANGED_ALL)) {
        double o[VKO_NOPTIONS];
        options_block(opt, o);
        GR_TRY(gr_vk_upload(v->d, &v->block, VKO_OPTIONS, o, sizeof o));
    }
    if (what & (GR_CHANGED_ALL | VKO_SEND_STATE)) {
        double st[VKO_NSTATE] = {0};
        for (int i = 0; i < VKO_NSCALARS; i++) st[i] = gr_optim_scalar_get(&opt->s, i);
        GR_TRY(gr_vk_upload(v->d, &v->block, VKO_STATE, st, sizeof st));
    }
    /* Field writes: only the values written, so whatever else the device's
     * pending steps produce stays. */
    unsigned whole = GR_CHANGED_ALL | VKO_SEND_STATE;
    if ((what & GR_CHANGED_LR) && !(what & whole)) GR_TRY(upload_scalar(v, 2, opt->s.lr));
    if ((what & GR_CHANGED_BETA1) && !(what & whole)) GR_TRY(upload_scalar(v, 3, opt->s.beta1));
    if ((what & GR_CHANGED_BETA2) && !(what & whole)) GR_TRY(upload_scalar(v, 4, opt->s.beta2));
    if (what & (VKO_SEND_FLAGS | whole))
        GR_TRY(gr_vk_upload(v->d, &v->block, VKO_FLAGS, v->flags, (size_t)opt->n * sizeof *v->flags));
    if (what & (GR_CHANGED_OPTIONS | whole)) GR_TRY(gr_vk_optim_refresh(opt));
    v->unsent &= ~what;
    return GR_OK;
}

/* The flags that describe the host's slots (after a load). */
static void flags_from_slots(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    for (int i = 0; i < opt->n; i++) {
        gr_tensor *const *sl = opt->params[i].slot;
        v->flags[i] = (sl[GR_SLOT_M] ? VKO_TF_MOMENTS : 0) | (sl[GR_SLOT_VMAX] ? VKO_TF_VMAX : 0) |
                      (sl[GR_SLOT_EMA_G] ? VKO_TF_EMA : 0);
    }
}

static void vk_changed(gr_optim *opt, unsigned what)
{
    gr_vk_optim *v = opt->resident;
    if (what & GR_CHANGED_ALL) {
        /* The host copies now are the state; records of earlier steps are void. */
        v->drained = v->recorded;
        v->stale = 0;
        flags_from_slots(opt);
    }
    v->unsent |= what;
    /* A failure leaves the copies marked unsent; the next step or sync reports it. */
    (void)gr_vk_optim_send(opt, VKO_SEND_STATE);
}

/* ---- the history ring ----------------------------------------------------- */

static gr_status consume(gr_optim *opt, const double *rec)
{
    unsigned flags = (unsigned)rec[0];
    if (flags & GR_STEP_SKIPPED) return GR_OK;
    for (int h = 0; h < GR_OPTIM_NHIST; h++) GR_TRY(gr_optim_series_reserve(&opt->hist[h], opt->hist[h].len + 1));
    if (flags & GR_STEP_LR_ADAPTED) gr_optim_series_push(&opt->hist[GR_HIST_LR], rec[1]);
    if (flags & GR_STEP_BETA1_ADAPTED) gr_optim_series_push(&opt->hist[GR_HIST_BETA1], rec[2]);
    if (flags & GR_STEP_SURPRISE_UPDATED) {
        gr_optim_series_push(&opt->hist[GR_HIST_SURPRISE], rec[3]);
        gr_optim_series_push(&opt->hist[GR_HIST_S_BAR], rec[4]);
    }
    return GR_OK;
}

gr_status gr_vk_optim_drain(gr_optim *opt, int wait)
{
    gr_vk_optim *v = opt->resident;
    if (!v->ring.block) return GR_OK;
    gr_vk_poll(v->d);
    const double *ring = (const double *)(v->ring.block->map + v->ring.offset);
    while (v->drained < v->recorded) {
        int64_t slot = v->drained % VKO_RING_CAP;
        if (v->ring_serial[slot] > v->d->completed) {
            if (!wait) break;
            GR_TRY(gr_vk_wait(v->d, v->ring_serial[slot]));
        }
        GR_TRY(consume(opt, ring + slot * VKO_RECORD));
        v->drained++;
    }
    return GR_OK;
}

/* ---- sync ------------------------------------------------------------------ */

/* Releases slots created ahead of a step that did not bring them into
 * existence, and makes the current ema_g buffer the slot's. */
static void reconcile(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    for (int i = 0; i < opt->n; i++) {
        gr_tensor **sl = opt->params[i].slot;
        uint32_t f = v->flags[i];
        static const struct { int slot; uint32_t flag; } need[] = {
            {GR_SLOT_M, VKO_TF_MOMENTS}, {GR_SLOT_V, VKO_TF_MOMENTS},
            {GR_SLOT_VMAX, VKO_TF_VMAX}, {GR_SLOT_EMA_G, VKO_TF_EMA},
        };
        for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
            if (sl[need[k].slot] && !(f & need[k].flag)) {
                gr_tensor_release(sl[need[k].slot]);
                sl[need[k].slot] = NULL;
            }
        if (f & VKO_TF_EMA_ALT) {
            gr_tensor *t = sl[GR_SLOT_EMA_G];
            sl[GR_SLOT_EMA_G] = v->ema_alt[i];
            v->ema_alt[i] = t;
            v->flags[i] = f & ~(uint32_t)VKO_TF_EMA_ALT;
            v->unsent |= VKO_SEND_FLAGS;
        }
    }
}

static gr_status vk_sync(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    GR_TRY(gr_vk_optim_send(opt, VKO_SEND_STATE));
    if (!v->stale) return GR_OK;
    if (opt->kind == GR_OPTIM_AUTO && opt->o.normalizer == GR_NORMALIZER_DIRECTION)
        GR_TRY(gr_vk_optim_refresh(opt));
    size_t len = VKO_FLAGS - VKO_STATE + (size_t)opt->n * sizeof *v->flags;
    GR_TRY(gr_vk_download(v->d, &v->block, VKO_STATE, v->readback, len));
    GR_TRY(gr_vk_optim_drain(opt, 1));
    gr_optim_scalars s = opt->s;
    const double *st = (const double *)v->readback;
    for (int i = 0; i < VKO_NSCALARS; i++) GR_TRY(gr_optim_scalar_set(&s, i, st[i]));
    opt->s = s;
    memcpy(v->flags, v->readback + (VKO_FLAGS - VKO_STATE), (size_t)opt->n * sizeof *v->flags);
    reconcile(opt);
    v->stale = 0;
    return GR_OK;
}

/* ---- setup ------------------------------------------------------------------ */

static void vk_detach(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    if (!v) return;
    gr_vk_device *d = v->d;
    /* The ring is host-visible memory, which the host writes without waiting
     * once it is reused: it goes back only after the steps writing it finished. */
    if (v->ring.block && v->ring.last_use > d->completed) (void)gr_vk_wait(d, v->ring.last_use);
    for (int i = 0; v->ema_alt && i < opt->n; i++) gr_tensor_release(v->ema_alt[i]);
    gr_vk_alloc *allocs[] = { &v->block, &v->parts1, &v->parts2, &v->table, &v->ring };
    for (size_t i = 0; i < sizeof allocs / sizeof allocs[0]; i++)
        if (allocs[i]->block) gr_vk_pool_free(d, allocs[i]);
    free(v->table_host);
    free(v->table_sent);
    free(v->acc);
    free(v->readback);
    free(v->ring_serial);
    free(v->ema_alt);
    free(v->alt_fresh);
    free(v->flags);
    free(v);
    opt->resident = NULL;
}

static gr_status zero_fill(gr_vk_device *d, gr_vk_alloc *a)
{
    gr_vk_access acc = { a, 0, a->size, 1 };
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, &acc, 1, &cmd));
    d->fn.vkCmdFillBuffer(cmd, a->block->buffer, a->offset, a->size, 0);
    return GR_OK;
}

static gr_status allocate(gr_optim *opt, gr_vk_optim *v)
{
    gr_vk_device *d = v->d;
    int n = opt->n;
    int64_t chunks = 0;
    for (int i = 0; i < n; i++) {
        int64_t numel = opt->params[i].p->numel;
        chunks += (numel + VKO_CHUNK - 1) / VKO_CHUNK;
        v->max_pieces += (int)((numel + VKO_PIECE - 1) / VKO_PIECE);
    }
    v->max_groups = chunks < 1 ? 1 : chunks < (int64_t)VKO_MAX_GROUPS ? (uint32_t)chunks : VKO_MAX_GROUPS;
    size_t table = (size_t)v->max_pieces * sizeof(vko_piece) + (size_t)n * sizeof(uint32_t);
    v->table_host = calloc(1, table);   /* rows past a step's pieces stay zero */
    v->table_sent = malloc(table);
    /* The accesses of a pass: eight tensors a piece, plus the optimizer's own buffers. */
    v->acc = malloc(((size_t)v->max_pieces * 8 + 8) * sizeof *v->acc);
    v->readback = malloc(VKO_FLAGS - VKO_STATE + (size_t)n * sizeof(uint32_t));
    v->ema_alt = calloc((size_t)n, sizeof *v->ema_alt);
    v->alt_fresh = calloc((size_t)n, 1);
    v->flags = calloc((size_t)n, sizeof *v->flags);
    if (!v->table_host || !v->table_sent || !v->acc || !v->readback || !v->ema_alt || !v->alt_fresh || !v->flags)
        return gr_fail(GR_ENOMEM, "out of host memory");
    GR_TRY(gr_vk_pool_alloc(d, &d->tensors, VKO_FLAGS + 2 * (size_t)n * sizeof(uint32_t), &v->block));
    GR_TRY(gr_vk_pool_alloc(d, &d->tensors, (VkDeviceSize)v->max_groups * 5 * sizeof(double), &v->parts1));
    GR_TRY(gr_vk_pool_alloc(d, &d->tensors, (VkDeviceSize)v->max_groups * sizeof(double), &v->parts2));
    GR_TRY(gr_vk_pool_alloc(d, &d->tensors, table, &v->table));
    if (opt->kind != GR_OPTIM_ADAMW) {
        v->ring_serial = calloc(VKO_RING_CAP, sizeof *v->ring_serial);
        if (!v->ring_serial) return gr_fail(GR_ENOMEM, "out of host memory");
        GR_TRY(gr_vk_pool_alloc(d, &d->staging, (VkDeviceSize)VKO_RING_CAP * VKO_RECORD * sizeof(double), &v->ring));
    }
    return zero_fill(d, &v->block);
}

static gr_status vk_attach(gr_optim *opt)
{
    gr_vk_optim *v = calloc(1, sizeof *v);
    if (!v) return gr_fail(GR_ENOMEM, "out of host memory");
    v->d = gr_vk_dev(opt->device);
    v->wg = v->d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? VKO_WG_CPU : VKO_WG_GPU;
    opt->resident = v;
    gr_status s = allocate(opt, v);
    if (s == GR_OK) {
        v->unsent = GR_CHANGED_ALL;
        s = gr_vk_optim_send(opt, 0);
    }
    if (s != GR_OK) vk_detach(opt);
    return s;
}

static const gr_optim_resident_ops vk_resident = {
    .attach = vk_attach,
    .detach = vk_detach,
    .step = gr_vk_optim_step,
    .sync = vk_sync,
    .changed = vk_changed,
};

static const gr_optim_device_ops vk_ops = {
    .direction = gr_optim_staged_direction,
    .resident = &vk_resident,
};

/* GRILLY_OPTIM_STAGED=1 keeps the staged passes on every device (for testing
 * the path of devices without shaderFloat64). */
static int staged_forced(void)
{
    const char *e = getenv("GRILLY_OPTIM_STAGED");
    return e && *e && strcmp(e, "0") != 0;
}

const gr_optim_device_ops *gr_vk_optim_ops(const gr_device *dev)
{
    const gr_vk_device *d = (const gr_vk_device *)dev;
    return d->has_float64 && !staged_forced() ? &vk_ops : NULL;
}
