/* The Vulkan backend table: storages, host transfers, fill and copy.
 * Kernels live in gr_vk_elementwise.c, gr_vk_reduce.c, gr_vk_matmul.c and
 * gr_vk_gather.c. */
#include "gr_vk.h"
#include "gr_vk_ops.h"

#include <stdlib.h>
#include <string.h>

/* Host transfers go through staging in pieces of at most this size. */
#define GR_VK_STAGE_PIECE ((size_t)16 << 20)

static gr_status vk_alloc(gr_device *dev, size_t nbytes, gr_storage *st)
{
    gr_vk_device *d = gr_vk_dev(dev);
    gr_vk_alloc *a = calloc(1, sizeof *a);
    if (!a) return gr_fail(GR_ENOMEM, "out of host memory");
    gr_vk_poll(d);
    gr_status s = gr_vk_pool_alloc(d, &d->tensors, nbytes, a);
    if (s != GR_OK) { free(a); return s; }
    st->impl = a;
    st->host = a->block->map ? (float *)(a->block->map + a->offset) : NULL;
    return GR_OK;
}

static void vk_free(gr_storage *st)
{
    gr_vk_alloc *a = gr_vk_storage_alloc(st);
    if (!a) return;
    gr_vk_pool_free(gr_vk_dev(st->device), a);
    free(a);
    st->impl = NULL;
    st->host = NULL;
}

/* Records a copy of n bytes between byte `off` of an allocation and a staging
 * reservation: into the allocation (upload) or out of it. */
static gr_status record_staged_copy(gr_vk_device *d, gr_vk_alloc *a, size_t off, gr_vk_alloc *arena,
                                    VkDeviceSize at, size_t n, int upload)
{
    gr_vk_access acc[2] = { { a, off, n, upload }, { arena, at, n, !upload } };
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, acc, 2, &cmd));
    VkDeviceSize dev_at = a->offset + off, stage_at = arena->offset + at;
    VkBufferCopy region = { upload ? stage_at : dev_at, upload ? dev_at : stage_at, n };
    d->fn.vkCmdCopyBuffer(cmd, upload ? arena->block->buffer : a->block->buffer,
                          upload ? a->block->buffer : arena->block->buffer, 1, &region);
    return GR_OK;
}

gr_status gr_vk_upload(gr_vk_device *d, gr_vk_alloc *a, size_t off, const void *src, size_t n)
{
    gr_vk_poll(d);
    /* Mapped memory that no pending command touches is written in place;
     * otherwise the bytes travel through staging, ordered after those commands. */
    if (a->block->map && a->last_use <= d->completed) {
        memcpy(a->block->map + a->offset + off, src, n);
        return GR_OK;
    }
    for (size_t done = 0; done < n;) {
        size_t piece = n - done < GR_VK_STAGE_PIECE ? n - done : GR_VK_STAGE_PIECE;
        gr_vk_alloc *arena;
        VkDeviceSize at;
        GR_TRY(gr_vk_stage(d, piece, &arena, &at));
        memcpy(arena->block->map + arena->offset + at, (const char *)src + done, piece);
        GR_TRY(record_staged_copy(d, a, off + done, arena, at, piece, 1));
        done += piece;
    }
    return GR_OK;
}

gr_status gr_vk_download(gr_vk_device *d, gr_vk_alloc *a, size_t off, void *dst, size_t n)
{
    if (a->block->map && d->tensors_mapped_cached) {
        GR_TRY(gr_vk_wait(d, a->last_write));
        memcpy(dst, a->block->map + a->offset + off, n);
        return GR_OK;
    }
    /* Device-only or uncached memory: copy into cached staging memory first. */
    for (size_t done = 0; done < n;) {
        size_t piece = n - done < GR_VK_STAGE_PIECE ? n - done : GR_VK_STAGE_PIECE;
        gr_vk_alloc *arena;
        VkDeviceSize at;
        GR_TRY(gr_vk_stage(d, piece, &arena, &at));
        GR_TRY(record_staged_copy(d, a, off + done, arena, at, piece, 0));
        GR_TRY(gr_vk_wait(d, gr_vk_recording_serial(d)));
        memcpy((char *)dst + done, arena->block->map + arena->offset + at, piece);
        done += piece;
    }
    return GR_OK;
}

static gr_status vk_upload(gr_storage *st, size_t off, const void *src, size_t n)
{
    return gr_vk_upload(gr_vk_dev(st->device), gr_vk_storage_alloc(st), off, src, n);
}

static gr_status vk_download(gr_storage *st, size_t off, void *dst, size_t n)
{
    return gr_vk_download(gr_vk_dev(st->device), gr_vk_storage_alloc(st), off, dst, n);
}

static gr_status vk_synchronize(gr_device *dev)
{
    return gr_vk_wait_all(gr_vk_dev(dev));
}

typedef struct copy_push {
    VkDeviceAddress dst, src;
    uint32_t n, value;
} copy_push;

/* Records dst = src, or dst filled with the bits of value when fill is set,
 * over n floats at device addresses (shaders/copy.comp, in pieces). A kernel
 * rather than vkCmdCopyBuffer / vkCmdFillBuffer: on some GPUs these run on
 * a slower path of the compute queue. */
static gr_status record_move(gr_vk_device *d, VkDeviceAddress dst, VkDeviceAddress src, int64_t n, int fill,
                             uint32_t value, const gr_vk_access *acc, int nacc)
{
    int vec4 = gr_vk_aligned16(dst) && (fill || gr_vk_aligned16(src));
    uint32_t spec[4] = { GR_VK_WG, (uint32_t)fill, (uint32_t)vec4, 0 };
    for (int64_t at = 0; at < n; at += GR_VK_PIECE) {
        int64_t m = n - at < GR_VK_PIECE ? n - at : GR_VK_PIECE;
        VkDeviceAddress to = dst + (VkDeviceAddress)at * 4;
        copy_push push = { to, fill ? to : src + (VkDeviceAddress)at * 4, (uint32_t)m, value };
        GR_TRY(gr_vk_dispatch(d, GR_VK_K_copy, spec, &push, sizeof push,
                              gr_vk_groups(m, vec4 ? 4 * GR_VK_WG : GR_VK_WG), acc, nacc));
    }
    return GR_OK;
}

static gr_status vk_fill(gr_tensor *t, float value)
{
    gr_vk_device *d = gr_vk_dev(t->storage->device);
    gr_vk_access acc = gr_vk_tensor_access(t, 1);
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    VkDeviceAddress at = gr_vk_tensor_address(t);
    return record_move(d, at, at, t->numel, 1, bits, &acc, 1);
}

static gr_status vk_copy(gr_tensor *dst, const gr_tensor *src)
{
    gr_vk_device *d = gr_vk_dev(dst->storage->device);
    gr_vk_access acc[2] = { gr_vk_tensor_access(dst, 1), gr_vk_tensor_access(src, 0) };
    VkDeviceAddress dlo = gr_vk_tensor_address(dst), slo = gr_vk_tensor_address(src);
    if (dlo == slo) return GR_OK;
    int64_t n = src->numel;
    if (dlo < slo + acc[1].size && slo < dlo + acc[0].size) {
        /* Overlapping windows of one storage: through a temporary. */
        gr_vk_alloc tmp;
        GR_TRY(gr_vk_pool_alloc(d, &d->tensors, acc[1].size, &tmp));
        VkDeviceAddress t = gr_vk_alloc_address(&tmp);
        gr_vk_access a1[2] = { { &tmp, 0, acc[1].size, 1 }, acc[1] };
        gr_vk_access a2[2] = { acc[0], { &tmp, 0, acc[1].size, 0 } };
        gr_status s = record_move(d, t, slo, n, 0, 0, a1, 2);
        if (s == GR_OK) s = record_move(d, dlo, t, n, 0, 0, a2, 2);
        gr_vk_pool_free(d, &tmp);
        return s;
    }
    return record_move(d, dlo, slo, n, 0, 0, acc, 2);
}

const gr_backend gr_vk_backend = {
    .alloc = vk_alloc,
    .free = vk_free,
    .upload = vk_upload,
    .download = vk_download,
    .synchronize = vk_synchronize,
    .timer_start = gr_vk_timer_start,
    .timer_stop = gr_vk_timer_stop,
    .fill = vk_fill,
    .copy = vk_copy,
    .binary = gr_vk_binary,
    .unary = gr_vk_unary,
    .reduce = gr_vk_reduce,
    .dot = gr_vk_dot,
    .matmul = gr_vk_matmul,
    .copy_strided = gr_vk_copy_strided,
    .index_select = gr_vk_index_select,
    .random = gr_vk_random,
};
