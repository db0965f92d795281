/* One optimizer step on Vulkan, recorded without a host wait: the
 * multi-tensor table of the step (every parameter's buffer addresses and its
 * place in the chunk space), then pass 1 (optim_reduce), the scalar kernel
 * (optim_scalar) and pass 2 (optim_update), each one dispatch over all
 * parameters. Only nonfinite = "error" waits, because the step must know
 * whether to raise. A step no device value decides is pass 2 alone, with
 * coefficients the host derived (host_derived). */
#include "gr_vk_optim.h"

#include <string.h>

typedef struct pass1_push {
    VkDeviceAddress pieces, block, partials, tflags, counts;
    uint32_t npieces, chunks;
} pass1_push;

typedef struct pass2_push {
    VkDeviceAddress pieces, block, partials, tflags;
    uint32_t npieces, chunks;
    float coeffs[VKO_NCOEFFS];
} pass2_push;

typedef struct scalar_push {
    VkDeviceAddress block, parts1, parts2, pinfo, tflags, ring;
    uint32_t ring_slot, groups1, groups2, nparams;
} scalar_push;

enum { MODE_STEP = 0, MODE_REFRESH = 1 };

/* The step's table: pieces [0, n1) have a gradient, [n1, n2) only take part
 * in Σd²; chunks1 and chunks2 are the chunk spaces of the two passes. */
typedef struct step_table {
    vko_piece *pieces;
    uint32_t *pinfo;
    int n1, n2;
    uint32_t chunks1, chunks2;
    size_t bytes;
} step_table;

static VkDeviceAddress block_at(const gr_vk_optim *v, size_t off)
{
    return gr_vk_alloc_address(&v->block) + off;
}

static int needs_pass1(const gr_optim *opt)
{
    return opt->kind != GR_OPTIM_ADAMW || opt->o.nonfinite != GR_NONFINITE_PROPAGATE;
}

static int needs_dnorm(const gr_optim *opt)
{
    return opt->kind == GR_OPTIM_AUTO && opt->o.normalizer == GR_NORMALIZER_DIRECTION;
}

/* AdamW under nonfinite = "propagate" takes no sum and skips no step: while
 * the host copies are current (no step the device derived is pending), the
 * host derives the step's scalars as the CPU does, and the device's copy of
 * the state waits until the device reads it again (VKO_SEND_STATE). */
static int host_derived(const gr_optim *opt)
{
    const gr_vk_optim *v = opt->resident;
    return opt->kind == GR_OPTIM_ADAMW && opt->o.nonfinite == GR_NONFINITE_PROPAGATE && !v->stale;
}

static int surprise_slots(const gr_optim *opt)
{
    return opt->kind == GR_OPTIM_AUTO && opt->o.track_surprise;
}

/* Workgroups of a pass over `chunks` chunks: each takes a run of
 * ceil(chunks / groups) chunks, at most `cap` of them, none empty. */
static uint32_t groups_for(uint32_t chunks, uint32_t cap)
{
    if (chunks == 0) return 0;
    uint32_t per = (chunks + cap - 1) / cap;
    return (chunks + per - 1) / per;
}

/* Pass 2 leaves partial sums only for Σd²; without them it takes a workgroup
 * a chunk up to the grid limit. Long runs of chunks in a few workgroups left
 * 4% of the H100's bandwidth unused at 1e8 parameters (docs/benchmarks.md). */
static uint32_t pass2_groups(const gr_optim *opt, uint32_t chunks)
{
    const gr_vk_optim *v = opt->resident;
    return groups_for(chunks, needs_dnorm(opt) ? v->max_groups : GR_VK_MAX_GROUPS);
}

/* ---- slots ------------------------------------------------------------------ */

static void drop_fresh_alts(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    for (int i = 0; i < opt->n; i++)
        if (v->alt_fresh[i]) {
            gr_tensor_release(v->ema_alt[i]);
            v->ema_alt[i] = NULL;
            v->alt_fresh[i] = 0;
        }
}

/* Every slot a parameter with a gradient may need this step, created ahead:
 * whether the step brings it into existence is the device's to decide. A
 * double-buffered ema_g gets its second buffer where a step can be skipped. */
static gr_status create_slots(gr_optim *opt, gr_tensor *const *grads)
{
    gr_vk_optim *v = opt->resident;
    int surprise = surprise_slots(opt), alt = opt->o.nonfinite != GR_NONFINITE_PROPAGATE;
    gr_status s = GR_OK;
    for (int i = 0; i < opt->n && s == GR_OK; i++) {
        gr_tensor **sl = opt->params[i].slot;
        if (!grads[i]) continue;
        if (!sl[GR_SLOT_M]) {
            s = gr_optim_slot_create(opt, i, GR_SLOT_M);
            if (s == GR_OK) s = gr_optim_slot_create(opt, i, GR_SLOT_V);
        }
        if (s == GR_OK && opt->o.amsgrad && !sl[GR_SLOT_VMAX]) s = gr_optim_slot_create(opt, i, GR_SLOT_VMAX);
        if (s == GR_OK && surprise && !sl[GR_SLOT_EMA_G]) s = gr_optim_slot_create(opt, i, GR_SLOT_EMA_G);
        if (s == GR_OK && surprise && alt && !v->ema_alt[i]) {
            const gr_tensor *p = opt->params[i].p;
            s = gr_tensor_empty(opt->device, p->ndim, p->shape, &v->ema_alt[i]);
            if (s == GR_OK) v->alt_fresh[i] = 1;
        }
    }
    if (s != GR_OK) {
        gr_optim_drop_created(opt);
        drop_fresh_alts(opt);
    }
    return s;
}

/* ---- the table -------------------------------------------------------------- */

static VkDeviceAddress address(const gr_tensor *t, int64_t at)
{
    return t ? gr_vk_tensor_address(t) + (VkDeviceAddress)at * sizeof(float) : 0;
}

static int aligned(VkDeviceAddress a) { return (a & 15) == 0; }

/* Appends parameter i's pieces, starting at chunk *chunks. */
static void add_pieces(gr_optim *opt, step_table *t, int i, const gr_tensor *g, uint32_t *chunks)
{
    gr_vk_optim *v = opt->resident;
    gr_tensor *const *sl = opt->params[i].slot;
    const gr_tensor *p = opt->params[i].p;
    for (int64_t at = 0; at < p->numel; at += VKO_PIECE) {
        int64_t n = p->numel - at < VKO_PIECE ? p->numel - at : VKO_PIECE;
        vko_piece *e = &t->pieces[t->n2++];
        *e = (vko_piece){
            .p = address(p, at), .g = address(g, at), .m = address(sl[GR_SLOT_M], at),
            .v = address(sl[GR_SLOT_V], at), .vmax = address(sl[GR_SLOT_VMAX], at),
            .ema_a = address(sl[GR_SLOT_EMA_G], at), .ema_b = address(v->ema_alt[i], at),
            .start = *chunks, .n = (uint32_t)n, .param = (uint32_t)i,
        };
        int vec4 = aligned(e->p) && aligned(e->g) && aligned(e->m) && aligned(e->v) && aligned(e->vmax) &&
                   aligned(e->ema_a) && aligned(e->ema_b);
        e->bits = (g ? VKO_PIECE_GRAD : 0) | (vec4 ? VKO_PIECE_VEC4 : 0) | (e->ema_b ? VKO_PIECE_EMA_ALT : 0);
        *chunks += (uint32_t)((n + VKO_CHUNK - 1) / VKO_CHUNK);
    }
}

static void build_table(gr_optim *opt, gr_tensor *const *grads, step_table *t)
{
    gr_vk_optim *v = opt->resident;
    t->pieces = (vko_piece *)v->table_host;
    t->n2 = 0;
    uint32_t chunks = 0;
    for (int i = 0; i < opt->n; i++)
        if (grads[i]) add_pieces(opt, t, i, grads[i], &chunks);
    t->n1 = t->n2;
    t->chunks1 = chunks;
    if (needs_dnorm(opt))
        for (int i = 0; i < opt->n; i++)
            if (!grads[i] && opt->params[i].slot[GR_SLOT_M]) add_pieces(opt, t, i, NULL, &chunks);
    t->chunks2 = chunks;
    /* pinfo follows the pieces the table has room for. */
    t->pinfo = (uint32_t *)(v->table_host + (size_t)v->max_pieces * sizeof(vko_piece));
    for (int i = 0; i < opt->n; i++)
        t->pinfo[i] = (grads[i] ? VKO_PI_GRAD : 0) | (v->ema_alt[i] ? VKO_PI_EMA_ALT : 0);
    t->bytes = (size_t)v->max_pieces * sizeof(vko_piece) + (size_t)opt->n * sizeof(uint32_t);
}

/* Uploads the table unless the device already holds it (the same gradients
 * and slots as the last step). */
static gr_status send_table(gr_vk_optim *v, const step_table *t)
{
    if (v->table_sent_len == t->bytes && memcmp(v->table_sent, v->table_host, t->bytes) == 0) return GR_OK;
    GR_TRY(gr_vk_upload(v->d, &v->table, 0, v->table_host, t->bytes));
    memcpy(v->table_sent, v->table_host, t->bytes);
    v->table_sent_len = t->bytes;
    return GR_OK;
}

/* ---- accesses ---------------------------------------------------------------- */

static void add(gr_vk_access *acc, int *n, const gr_tensor *t, int write)
{
    if (t && t->numel) acc[(*n)++] = gr_vk_tensor_access(t, write);
}

static void add_own(gr_vk_access *acc, int *n, gr_vk_alloc *a, int write)
{
    acc[(*n)++] = (gr_vk_access){ a, 0, a->size, write };
}

/* ---- dispatches --------------------------------------------------------------- */

static gr_status pass1(gr_optim *opt, gr_tensor *const *grads, const step_table *t, uint32_t groups)
{
    gr_vk_optim *v = opt->resident;
    gr_vk_access *acc = v->acc;
    int nacc = 0;
    for (int i = 0; i < opt->n; i++) {
        if (!grads[i]) continue;
        gr_tensor *const *sl = opt->params[i].slot;
        add(acc, &nacc, grads[i], 0);
        add(acc, &nacc, sl[GR_SLOT_M], 0);
        add(acc, &nacc, sl[GR_SLOT_V], 0);
        add(acc, &nacc, sl[GR_SLOT_VMAX], 0);
        add(acc, &nacc, sl[GR_SLOT_EMA_G], 1);
        add(acc, &nacc, v->ema_alt[i], 1);
    }
    add_own(acc, &nacc, &v->table, 0);
    add_own(acc, &nacc, &v->block, opt->o.nonfinite == GR_NONFINITE_ERROR);
    add_own(acc, &nacc, &v->parts1, 1);
    pass1_push push = {
        gr_vk_alloc_address(&v->table), block_at(v, 0), gr_vk_alloc_address(&v->parts1),
        block_at(v, VKO_FLAGS), block_at(v, VKO_FLAGS + (size_t)opt->n * sizeof(uint32_t)),
        (uint32_t)t->n1, t->chunks1,
    };
    uint32_t spec[4] = { v->wg, opt->kind != GR_OPTIM_ADAMW, opt->o.nonfinite == GR_NONFINITE_ERROR,
                         (uint32_t)opt->o.amsgrad };
    return gr_vk_dispatch(v->d, GR_VK_K_optim_reduce, spec, &push, sizeof push, groups, acc, nacc);
}

static gr_status scalar(gr_optim *opt, int mode, uint32_t ring_slot, uint32_t groups1, uint32_t groups2)
{
    gr_vk_optim *v = opt->resident;
    gr_vk_access acc[6];
    int nacc = 0;
    add_own(acc, &nacc, &v->block, 1);
    add_own(acc, &nacc, &v->parts2, 0);
    if (mode == MODE_STEP) {
        add_own(acc, &nacc, &v->parts1, 0);
        add_own(acc, &nacc, &v->table, 0);
        if (v->ring.block) add_own(acc, &nacc, &v->ring, 1);
    }
    scalar_push push = {
        block_at(v, 0), gr_vk_alloc_address(&v->parts1), gr_vk_alloc_address(&v->parts2),
        gr_vk_alloc_address(&v->table) + (VkDeviceAddress)v->max_pieces * sizeof(vko_piece),
        block_at(v, VKO_FLAGS), v->ring.block ? gr_vk_alloc_address(&v->ring) : 0,
        ring_slot, groups1, groups2, (uint32_t)opt->n,
    };
    uint32_t spec[4] = { v->wg, (uint32_t)mode, 0, 0 };
    return gr_vk_dispatch(v->d, GR_VK_K_optim_scalar, spec, &push, sizeof push, 1, acc, nacc);
}

gr_status gr_vk_optim_refresh(gr_optim *opt)
{
    return scalar(opt, MODE_REFRESH, ~0u, 0, 0);
}

/* Pass 2 with the scalar kernel's coefficients, or with `coeffs` (the host's) as push constants. */
static gr_status pass2(gr_optim *opt, gr_tensor *const *grads, const step_table *t, uint32_t groups,
                       const float *coeffs)
{
    gr_vk_optim *v = opt->resident;
    gr_vk_access *acc = v->acc;
    int nacc = 0;
    int dnorm = needs_dnorm(opt);
    for (int i = 0; i < opt->n; i++) {
        gr_tensor *const *sl = opt->params[i].slot;
        if (grads[i]) {
            add(acc, &nacc, opt->params[i].p, 1);
            add(acc, &nacc, grads[i], 0);
            add(acc, &nacc, sl[GR_SLOT_M], 1);
            add(acc, &nacc, sl[GR_SLOT_V], 1);
            if (opt->o.amsgrad) add(acc, &nacc, sl[GR_SLOT_VMAX], 1);
        } else if (dnorm && sl[GR_SLOT_M]) {
            add(acc, &nacc, sl[GR_SLOT_M], 0);
            add(acc, &nacc, sl[GR_SLOT_V], 0);
            add(acc, &nacc, sl[GR_SLOT_VMAX], 0);
        }
    }
    add_own(acc, &nacc, &v->table, 0);
    if (!coeffs) add_own(acc, &nacc, &v->block, 0);
    add_own(acc, &nacc, &v->parts2, 1);
    pass2_push push = {
        gr_vk_alloc_address(&v->table), block_at(v, 0), gr_vk_alloc_address(&v->parts2),
        block_at(v, VKO_FLAGS), (uint32_t)t->n2, t->chunks2, {0},
    };
    if (coeffs) memcpy(push.coeffs, coeffs, sizeof push.coeffs);
    uint32_t spec[4] = { v->wg, (uint32_t)opt->o.amsgrad, (uint32_t)dnorm, coeffs != NULL };
    return gr_vk_dispatch(v->d, GR_VK_K_optim_update, spec, &push, sizeof push, groups, acc, nacc);
}

/* The kernels of this step's configuration, built before anything is
 * recorded, so that a step is recorded whole or not at all. */
static gr_status pipelines(gr_optim *opt, int host)
{
    gr_vk_optim *v = opt->resident;
    VkPipeline pl;
    uint32_t s1[4] = { v->wg, opt->kind != GR_OPTIM_ADAMW, opt->o.nonfinite == GR_NONFINITE_ERROR,
                       (uint32_t)opt->o.amsgrad };
    uint32_t s2[4] = { v->wg, (uint32_t)opt->o.amsgrad, (uint32_t)needs_dnorm(opt), (uint32_t)host };
    uint32_t ss[4] = { v->wg, MODE_STEP, 0, 0 };
    if (!host) {
        if (needs_pass1(opt)) GR_TRY(gr_vk_pipeline_get(v->d, GR_VK_K_optim_reduce, s1, &pl));
        GR_TRY(gr_vk_pipeline_get(v->d, GR_VK_K_optim_scalar, ss, &pl));
    }
    return gr_vk_pipeline_get(v->d, GR_VK_K_optim_update, s2, &pl);
}

static gr_status clear_counts(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    size_t off = VKO_FLAGS + (size_t)opt->n * sizeof(uint32_t), len = (size_t)opt->n * sizeof(uint32_t);
    gr_vk_access acc = { &v->block, off, len, 1 };
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(v->d, &acc, 1, &cmd));
    v->d->fn.vkCmdFillBuffer(cmd, v->block.block->buffer, v->block.offset + off, len, 0);
    return GR_OK;
}

/* nonfinite = "error": waits for the step and raises, naming the first
 * parameter with non-finite gradient elements, when the device skipped it. */
static gr_status check_nonfinite(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    double flags;
    GR_TRY(gr_vk_download(v->d, &v->block, VKO_STATE + VKO_S_FLAGS * sizeof flags, &flags, sizeof flags));
    if (!((unsigned)flags & GR_STEP_NONFINITE)) return GR_OK;
    uint32_t *counts = (uint32_t *)v->readback;
    GR_TRY(gr_vk_download(v->d, &v->block, VKO_FLAGS + (size_t)opt->n * sizeof(uint32_t), counts,
                          (size_t)opt->n * sizeof *counts));
    const char *cls = gr_optim_kind_name(opt->kind);
    for (int i = 0; i < opt->n; i++)
        if (counts[i] > 0)
            return gr_fail(GR_ENONFINITE, "%s: non-finite gradient of parameter %d (%lu of %lld elements); "
                           "nothing was changed (nonfinite = \"error\")", cls, i + 1, (unsigned long)counts[i],
                           (long long)opt->params[i].p->numel);
    return gr_fail(GR_ENONFINITE, "%s: non-finite gradient; nothing was changed (nonfinite = \"error\")", cls);
}

/* Makes room in the history ring for one more record. */
static gr_status ring_room(gr_optim *opt)
{
    gr_vk_optim *v = opt->resident;
    if (!v->ring.block || v->recorded - v->drained < VKO_RING_CAP / 2) return GR_OK;
    GR_TRY(gr_vk_optim_drain(opt, 0));
    return v->recorded - v->drained < VKO_RING_CAP ? GR_OK : gr_vk_optim_drain(opt, 1);
}

static gr_status record(gr_optim *opt, gr_tensor *const *grads, const step_table *t)
{
    gr_vk_optim *v = opt->resident;
    uint32_t groups1 = needs_pass1(opt) ? groups_for(t->chunks1, v->max_groups) : 0;
    uint32_t groups2 = pass2_groups(opt, t->chunks2);
    uint32_t ring_slot = v->ring.block ? (uint32_t)(v->recorded % VKO_RING_CAP) : ~0u;
    if (opt->o.nonfinite == GR_NONFINITE_ERROR) GR_TRY(clear_counts(opt));
    if (groups1) GR_TRY(pass1(opt, grads, t, groups1));
    GR_TRY(scalar(opt, MODE_STEP, ring_slot, groups1, needs_dnorm(opt) ? groups2 : 0));
    if (v->ring.block) {
        v->ring_serial[ring_slot] = gr_vk_recording_serial(v->d);
        v->recorded++;
    }
    v->stale = 1;
    return pass2(opt, grads, t, groups2, NULL);
}

/* A host_derived step: the CPU's scalar rules (no sums: nothing is reduced),
 * then pass 2 with their coefficients. */
static gr_status record_host_derived(gr_optim *opt, gr_tensor *const *grads, const step_table *t)
{
    gr_vk_optim *v = opt->resident;
    double sums[GR_OPTIM_NSUMS] = {0};
    gr_optim_scalars next;
    unsigned flags = gr_optim_scalar_rules(opt->kind, &opt->o, &opt->s, sums, &next);
    gr_optim_update_coeffs uc;
    gr_optim_update_coeffs_make(opt->kind, &opt->o, &next, flags, &uc);
    gr_optim_scalar_finish(opt->kind, &opt->o, sums, 0, &next);
    const float coeffs[VKO_NCOEFFS] = {
        uc.beta1, uc.one_minus_beta1, uc.beta2, uc.one_minus_beta2, uc.step_size, uc.decay,
        uc.inv_bc1, uc.inv_bc2, uc.eps,
    };
    GR_TRY(pass2(opt, grads, t, pass2_groups(opt, t->chunks2), coeffs));
    opt->s = next;
    uint32_t made = VKO_TF_MOMENTS | (opt->o.amsgrad ? VKO_TF_VMAX : 0);
    for (int i = 0; i < opt->n; i++)
        if (grads[i]) v->flags[i] |= made;
    v->unsent |= VKO_SEND_STATE;
    return GR_OK;
}

gr_status gr_vk_optim_step(gr_optim *opt, gr_tensor *const *grads)
{
    gr_vk_optim *v = opt->resident;
    int host = host_derived(opt);
    GR_TRY(gr_vk_optim_send(opt, host ? VKO_SEND_STATE : 0));
    GR_TRY(ring_room(opt));
    GR_TRY(pipelines(opt, host));
    GR_TRY(create_slots(opt, grads));
    step_table t;
    build_table(opt, grads, &t);
    gr_status s = send_table(v, &t);
    if (s == GR_OK) s = host ? record_host_derived(opt, grads, &t) : record(opt, grads, &t);
    if (s == GR_OK && opt->o.nonfinite == GR_NONFINITE_ERROR) s = check_nonfinite(opt);
    if (s != GR_OK) {
        gr_optim_drop_created(opt);
        drop_fresh_alts(opt);
        return s;
    }
    memset(opt->created, 0, (size_t)opt->n);
    memset(v->alt_fresh, 0, (size_t)opt->n);
    return GR_OK;
}
