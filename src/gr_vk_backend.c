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

static gr_status vk_fill(gr_tensor *t, float value)
{
    gr_vk_device *d = gr_vk_dev(t->storage->device);
    gr_vk_access acc = gr_vk_tensor_access(t, 1);
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, &acc, 1, &cmd));
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    d->fn.vkCmdFillBuffer(cmd, acc.alloc->block->buffer, acc.alloc->offset + acc.offset, acc.size, bits);
    return GR_OK;
}

static gr_status vk_copy(gr_tensor *dst, const gr_tensor *src)
{
    gr_vk_device *d = gr_vk_dev(dst->storage->device);
    gr_vk_access acc[2] = { gr_vk_tensor_access(dst, 1), gr_vk_tensor_access(src, 0) };
    if (acc[0].alloc == acc[1].alloc && acc[0].offset == acc[1].offset) return GR_OK;
    VkDeviceSize dlo = gr_vk_alloc_address(acc[0].alloc) + acc[0].offset;
    VkDeviceSize slo = gr_vk_alloc_address(acc[1].alloc) + acc[1].offset;
    if (dlo < slo + acc[1].size && slo < dlo + acc[0].size) {
        /* Overlapping windows of one storage: through a temporary. */
        gr_vk_alloc tmp;
        GR_TRY(gr_vk_pool_alloc(d, &d->tensors, acc[1].size, &tmp));
        gr_vk_access a1[2] = { { &tmp, 0, acc[1].size, 1 }, acc[1] };
        gr_vk_access a2[2] = { acc[0], { &tmp, 0, acc[1].size, 0 } };
        VkCommandBuffer cmd;
        gr_status s = gr_vk_record(d, a1, 2, &cmd);
        if (s == GR_OK) {
            VkBufferCopy r1 = { acc[1].alloc->offset + acc[1].offset, tmp.offset, acc[1].size };
            d->fn.vkCmdCopyBuffer(cmd, acc[1].alloc->block->buffer, tmp.block->buffer, 1, &r1);
            s = gr_vk_record(d, a2, 2, &cmd);
        }
        if (s == GR_OK) {
            VkBufferCopy r2 = { tmp.offset, acc[0].alloc->offset + acc[0].offset, acc[0].size };
            d->fn.vkCmdCopyBuffer(cmd, tmp.block->buffer, acc[0].alloc->block->buffer, 1, &r2);
        }
        gr_vk_pool_free(d, &tmp);
        return s;
    }
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, acc, 2, &cmd));
    VkBufferCopy region = { acc[1].alloc->offset + acc[1].offset, acc[0].alloc->offset + acc[0].offset, acc[0].size };
    d->fn.vkCmdCopyBuffer(cmd, acc[1].alloc->block->buffer, acc[0].alloc->block->buffer, 1, &region);
    return GR_OK;
}

const gr_backend gr_vk_backend = {
    .alloc = vk_alloc,
    .free = vk_free,
    .upload = vk_upload,
    .download = vk_download,
    .synchronize = vk_synchronize,
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
