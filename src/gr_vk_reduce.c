/* Vulkan reductions and the dot product (shaders/reduce.comp). One pass when
 * the outputs alone give the GPU enough workgroups; otherwise each output's
 * extent is split into segments whose partial results (float pairs) a second
 * pass combines. Sums are float pairs of about 48 significant bits, as the
 * shader's comment explains. */
#include "gr_vk_ops.h"

#include <string.h>

/* Workgroups worth having in flight before splitting extents further. */
#define TARGET_GROUPS 1024
/* Each thread should see at least this many elements of a segment. */
#define MIN_PER_THREAD 8
/* Rows no longer than this, many of them, get one thread each. */
#define SHORT_ROW 64

/* A partial result: four floats (see shaders/reduce.comp). */
#define PARTIAL_BYTES 16

enum { OP_SUM, OP_MEAN, OP_MAX, OP_MIN, OP_ARGMAX, OP_NORM, OP_DOT };

typedef struct reduce_push {
    VkDeviceAddress x, y, o;
    uint32_t outer, len, inner, so, sl, si, segs, seg_len, tiles, groups;
    float len_hi, len_lo;           /* the mean's divisor, exactly, as a float pair */
} reduce_push;

/* The (outer, len, inner) view with element strides, and how it is split. */
typedef struct reduce_plan {
    uint32_t outer, len, inner, so, sl, si;
    uint32_t cols, segs, seg_len, tiles;
} reduce_plan;

static uint32_t kernel_op(gr_redop op)
{
    switch (op) {
    case GR_RED_SUM: return OP_SUM;
    case GR_RED_MEAN: return OP_MEAN;
    case GR_RED_MAX: return OP_MAX;
    case GR_RED_MIN: return OP_MIN;
    case GR_RED_ARGMAX: return OP_ARGMAX;
    case GR_RED_NORM: return OP_NORM;
    }
    return OP_SUM;
}

static reduce_plan plan_for(int64_t outer, int64_t len, int64_t inner)
{
    reduce_plan r = {
        .outer = (uint32_t)outer, .len = (uint32_t)len, .inner = (uint32_t)inner,
        .so = (uint32_t)(len * inner), .sl = (uint32_t)inner, .si = 1,
    };
    if (inner == 1 && len <= SHORT_ROW && outer >= TARGET_GROUPS) {
        /* Many short rows: view the rows as columns, one thread walking each. */
        r.outer = 1; r.inner = (uint32_t)outer; r.so = 0; r.sl = 1; r.si = (uint32_t)len;
    }
    uint32_t cols = 1;
    while (cols < 32 && cols < r.inner) cols *= 2;
    r.cols = cols;
    r.tiles = (r.inner + cols - 1) / cols;
    uint32_t rows = GR_VK_WG / cols;
    uint64_t base = (uint64_t)r.outer * r.tiles;
    uint64_t segs = base >= TARGET_GROUPS ? 1 : TARGET_GROUPS / base;
    uint64_t most = ((uint64_t)r.len + (uint64_t)rows * MIN_PER_THREAD - 1) / ((uint64_t)rows * MIN_PER_THREAD);
    if (segs > most) segs = most;
    if (segs < 1) segs = 1;
    r.seg_len = (uint32_t)(((uint64_t)r.len + segs - 1) / segs);
    r.segs = (r.len + r.seg_len - 1) / r.seg_len;
    return r;
}

static gr_status run_pass(gr_vk_device *d, uint32_t op, uint32_t stage, const reduce_plan *r,
                          VkDeviceAddress x, VkDeviceAddress y, VkDeviceAddress o, int64_t final_len,
                          const gr_vk_access *acc, int nacc)
{
    uint64_t groups = (uint64_t)r->outer * r->tiles * r->segs;
    float len_hi = (float)final_len;
    reduce_push push = {
        x, y, o, r->outer, r->len, r->inner, r->so, r->sl, r->si, r->segs, r->seg_len, r->tiles,
        (uint32_t)groups, len_hi, (float)((double)final_len - (double)len_hi),
    };
    uint32_t spec[4] = { GR_VK_WG, op, r->cols, stage };
    return gr_vk_dispatch(d, GR_VK_K_reduce, spec, &push, sizeof push,
                          gr_vk_groups((int64_t)groups, 1), acc, nacc);
}

/* Runs the reduction of x (and y for the dot product) into o: final values,
 * or (pairs = 1) one partial result per output. */
static gr_status reduce_into(gr_vk_device *d, uint32_t op, int pairs, const reduce_plan *r,
                             gr_vk_access xa, VkDeviceAddress x, gr_vk_access ya, VkDeviceAddress y,
                             gr_vk_access oa, VkDeviceAddress o, int64_t final_len)
{
    int nin = op == OP_DOT ? 3 : 2;
    if (r->segs == 1) {
        gr_vk_access acc[3] = { oa, xa, ya };
        return run_pass(d, op, pairs ? 2u : 0u, r, x, y, o, final_len, acc, nin);
    }
    uint64_t nparts = (uint64_t)r->outer * r->segs * r->inner;
    GR_TRY(gr_vk_check_span((int64_t)nparts * 4, "a reduction's partial results"));
    gr_vk_alloc parts;
    GR_TRY(gr_vk_pool_alloc(d, &d->tensors, nparts * PARTIAL_BYTES, &parts));
    VkDeviceAddress pa = gr_vk_alloc_address(&parts);
    gr_vk_access pacc_w = { &parts, 0, nparts * PARTIAL_BYTES, 1 }, pacc_r = { &parts, 0, nparts * PARTIAL_BYTES, 0 };
    gr_vk_access acc1[3] = { pacc_w, xa, ya };
    gr_status s = run_pass(d, op, 2u, r, x, y, pa, final_len, acc1, nin);
    if (s == GR_OK) {
        /* Partials laid out as (outer, segs, inner). */
        reduce_plan r2 = *r;
        r2.len = r->segs; r2.so = r->segs * r->inner; r2.sl = r->inner; r2.si = 1;
        r2.segs = 1; r2.seg_len = r->segs;
        gr_vk_access acc2[2] = { oa, pacc_r };
        s = run_pass(d, op == OP_DOT ? OP_SUM : op, 1u | (pairs ? 2u : 0u), &r2, pa, 0, o, final_len, acc2, 2);
    }
    gr_vk_pool_free(d, &parts);
    return s;
}

gr_status gr_vk_reduce(gr_redop op, gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner)
{
    GR_TRY(gr_vk_check_span(x->numel, "a reduction"));
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    reduce_plan r = plan_for(outer, len, inner);
    gr_vk_access xa = gr_vk_tensor_access(x, 0);
    return reduce_into(d, kernel_op(op), 0, &r, xa, gr_vk_tensor_address(x), xa, 0,
                       gr_vk_tensor_access(out, 1), gr_vk_tensor_address(out), len);
}

gr_status gr_vk_dot(const gr_tensor *a, const gr_tensor *b, double *result)
{
    if (a->numel == 0) { *result = 0.0; return GR_OK; }
    GR_TRY(gr_vk_check_span(a->numel, "a dot product"));
    gr_vk_device *d = gr_vk_dev(a->storage->device);
    reduce_plan r = plan_for(1, a->numel, 1);
    gr_vk_alloc pair;
    GR_TRY(gr_vk_pool_alloc(d, &d->tensors, PARTIAL_BYTES, &pair));
    gr_vk_access pa = { &pair, 0, PARTIAL_BYTES, 1 };
    gr_status s = reduce_into(d, OP_DOT, 1, &r, gr_vk_tensor_access(a, 0), gr_vk_tensor_address(a),
                              gr_vk_tensor_access(b, 0), gr_vk_tensor_address(b), pa, gr_vk_alloc_address(&pair), 0);
    float hl[4] = {0, 0, 0, 0};
    if (s == GR_OK) s = gr_vk_download(d, &pair, 0, hl, sizeof hl);
    gr_vk_pool_free(d, &pair);
    if (s != GR_OK) return s;
    *result = (double)hl[0] + (double)hl[1];
    return GR_OK;
}
