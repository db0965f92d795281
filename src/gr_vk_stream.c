/* The command stream: ops are recorded into the current batch's command
 * buffer and submitted together; the host waits only at sync points.
 * Barriers are placed from the address ranges each command reads and
 * writes: a command that reads what an earlier unbarriered command wrote, or
 * writes what one read or wrote, gets one global memory barrier first, so
 * independent kernels may overlap on the GPU. */
#include "gr_vk.h"

#include <string.h>

/* Commands per batch before it is submitted without waiting for a sync point:
 * big enough that a training step is one submit, small enough that the GPU
 * starts early on long loops. */
#define GR_VK_FLUSH_AFTER 512
/* The largest staging reservation; bigger transfers go in pieces. */
#define GR_VK_ARENA_MIN ((VkDeviceSize)4 << 20)

static const VkPipelineStageFlags work_stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

gr_status gr_vk_stream_init(gr_vk_device *d)
{
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, .queueFamilyIndex = d->queue_family,
    };
    VkResult r = d->fn.vkCreateCommandPool(d->device, &pci, NULL, &d->cmd_pool);
    if (r != VK_SUCCESS) return gr_fail(GR_EDEVICE, "vkCreateCommandPool failed (%s)", gr_vk_result_str(r));
    for (int i = 0; i < GR_VK_BATCHES; i++) {
        gr_vk_batch *b = &d->batches[i];
        VkCommandBufferAllocateInfo cai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = d->cmd_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
        };
        r = d->fn.vkAllocateCommandBuffers(d->device, &cai, &b->cmd);
        VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
        if (r == VK_SUCCESS) r = d->fn.vkCreateFence(d->device, &fci, NULL, &b->fence);
        if (r != VK_SUCCESS) return gr_fail(GR_EDEVICE, "cannot create a command buffer (%s)", gr_vk_result_str(r));
    }
    d->next_serial = 1;
    d->completed = 0;
    d->barrier_all = 1;
    return GR_OK;
}

void gr_vk_stream_destroy(gr_vk_device *d)
{
    for (int i = 0; i < GR_VK_BATCHES; i++) {
        gr_vk_batch *b = &d->batches[i];
        if (b->arena.block) gr_vk_pool_free(d, &b->arena);
        if (b->fence) d->fn.vkDestroyFence(d->device, b->fence, NULL);
        b->fence = VK_NULL_HANDLE;
    }
    if (d->cmd_pool) d->fn.vkDestroyCommandPool(d->device, d->cmd_pool, NULL);
    d->cmd_pool = VK_NULL_HANDLE;
}

static gr_status device_lost(gr_vk_device *d, const char *what, VkResult r)
{
    return gr_fail(GR_EDEVICE, "%s failed on %s (%s)", what, d->base.name, gr_vk_result_str(r));
}

static void batch_finished(gr_vk_device *d, gr_vk_batch *b)
{
    d->fn.vkResetFences(d->device, 1, &b->fence);
    b->submitted = 0;
    if (b->serial > d->completed) d->completed = b->serial;
}

/* The submitted batch with the smallest serial, or NULL. */
static gr_vk_batch *oldest_submitted(gr_vk_device *d)
{
    gr_vk_batch *o = NULL;
    for (int i = 0; i < GR_VK_BATCHES; i++)
        if (d->batches[i].submitted && (!o || d->batches[i].serial < o->serial)) o = &d->batches[i];
    return o;
}

void gr_vk_poll(gr_vk_device *d)
{
    gr_vk_batch *b;
    int any = 0;
    while ((b = oldest_submitted(d)) && d->fn.vkGetFenceStatus(d->device, b->fence) == VK_SUCCESS) {
        batch_finished(d, b);
        any = 1;
    }
    if (any) gr_vk_memory_reap(d);
}

static gr_status wait_batch(gr_vk_device *d, gr_vk_batch *b)
{
    VkResult r = d->fn.vkWaitForFences(d->device, 1, &b->fence, VK_TRUE, UINT64_MAX);
    d->waits++;
    if (r != VK_SUCCESS) return device_lost(d, "waiting for the GPU", r);
    batch_finished(d, b);
    return GR_OK;
}

static gr_status begin_batch(gr_vk_device *d)
{
    gr_vk_batch *b = &d->batches[d->current];
    if (b->recording) return GR_OK;
    if (b->submitted) {
        /* Every batch is in flight: wait for the oldest (this one). */
        gr_vk_batch *o;
        while ((o = oldest_submitted(d)) && o != b) GR_TRY(wait_batch(d, o));
        GR_TRY(wait_batch(d, b));
        gr_vk_memory_reap(d);
    }
    VkResult r = d->fn.vkResetCommandBuffer(b->cmd, 0);
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (r == VK_SUCCESS) r = d->fn.vkBeginCommandBuffer(b->cmd, &bi);
    if (r != VK_SUCCESS) return device_lost(d, "vkBeginCommandBuffer", r);
    b->serial = d->next_serial;
    b->recording = 1;
    b->dispatches = 0;
    b->arena_used = 0;
    /* Commands of earlier submits are ordered by this batch's first barrier. */
    d->barrier_all = 1;
    d->npending_reads = d->npending_writes = 0;
    d->bound = VK_NULL_HANDLE;
    return GR_OK;
}

gr_status gr_vk_flush(gr_vk_device *d)
{
    gr_vk_batch *b = &d->batches[d->current];
    if (!b->recording) return GR_OK;
    /* Make the batch's writes visible to host reads of mapped memory. */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    d->fn.vkCmdPipelineBarrier(b->cmd, work_stages, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VkResult r = d->fn.vkEndCommandBuffer(b->cmd);
    b->recording = 0;
    if (r != VK_SUCCESS) return device_lost(d, "vkEndCommandBuffer", r);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &b->cmd };
    r = d->fn.vkQueueSubmit(d->queue, 1, &si, b->fence);
    if (r != VK_SUCCESS) return device_lost(d, "vkQueueSubmit", r);
    d->submits++;
    b->submitted = 1;
    d->next_serial++;
    d->current = (d->current + 1) % GR_VK_BATCHES;
    return GR_OK;
}

gr_status gr_vk_wait(gr_vk_device *d, uint64_t serial)
{
    if (serial <= d->completed) return GR_OK;
    if (serial >= d->next_serial) GR_TRY(gr_vk_flush(d));
    gr_vk_batch *b;
    while ((b = oldest_submitted(d)) && b->serial <= serial) GR_TRY(wait_batch(d, b));
    gr_vk_memory_reap(d);
    return GR_OK;
}

gr_status gr_vk_wait_all(gr_vk_device *d)
{
    return gr_vk_wait(d, d->batches[d->current].recording ? d->next_serial : d->next_serial - 1);
}

static int overlaps(const gr_vk_span *list, int n, gr_vk_span s)
{
    for (int i = 0; i < n; i++)
        if (list[i].lo < s.hi && s.lo < list[i].hi) return 1;
    return 0;
}

static gr_vk_span span_of(const gr_vk_access *a)
{
    VkDeviceAddress lo = gr_vk_alloc_address(a->alloc) + a->offset;
    return (gr_vk_span){ lo, lo + a->size };
}

static void remember(gr_vk_device *d, gr_vk_span *list, int *n, gr_vk_span s)
{
    if (*n == GR_VK_MAX_PENDING) { d->barrier_all = 1; return; }
    list[(*n)++] = s;
}

/* Makes the current batch record, submitting it first when it is full. A
 * staging reservation is made after this check, so the command that uses the
 * reservation always lands in the reservation's batch. */
static gr_status open_batch(gr_vk_device *d)
{
    if (d->batches[d->current].recording && d->batches[d->current].dispatches >= GR_VK_FLUSH_AFTER)
        GR_TRY(gr_vk_flush(d));
    return begin_batch(d);
}

gr_status gr_vk_record(gr_vk_device *d, const gr_vk_access *acc, int nacc, VkCommandBuffer *cmd)
{
    GR_TRY(open_batch(d));
    gr_vk_batch *b = &d->batches[d->current];

    int barrier = d->barrier_all;
    for (int i = 0; i < nacc && !barrier; i++) {
        gr_vk_span sp = span_of(&acc[i]);
        if (acc[i].size == 0) continue;
        if (overlaps(d->pending_writes, d->npending_writes, sp) ||
            (acc[i].write && overlaps(d->pending_reads, d->npending_reads, sp)))
            barrier = 1;
    }
    if (barrier) {
        VkMemoryBarrier mb = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                             VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        };
        d->fn.vkCmdPipelineBarrier(b->cmd, work_stages, work_stages, 0, 1, &mb, 0, NULL, 0, NULL);
        d->npending_reads = d->npending_writes = 0;
        d->barrier_all = 0;
    }
    for (int i = 0; i < nacc; i++) {
        if (acc[i].size == 0) continue;
        if (acc[i].write) remember(d, d->pending_writes, &d->npending_writes, span_of(&acc[i]));
        else remember(d, d->pending_reads, &d->npending_reads, span_of(&acc[i]));
        acc[i].alloc->last_use = b->serial;
        if (acc[i].write) acc[i].alloc->last_write = b->serial;
    }
    b->dispatches++;
    *cmd = b->cmd;
    return GR_OK;
}

gr_status gr_vk_dispatch(gr_vk_device *d, int kernel, const uint32_t spec[4], const void *push,
                         uint32_t push_size, uint32_t groups, const gr_vk_access *acc, int nacc)
{
    if (groups == 0) return GR_OK;
    VkPipeline pipeline;
    GR_TRY(gr_vk_pipeline_get(d, kernel, spec, &pipeline));
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, acc, nacc, &cmd));
    if (d->bound != pipeline) {
        d->fn.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        d->bound = pipeline;
    }
    d->fn.vkCmdPushConstants(cmd, d->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    d->fn.vkCmdDispatch(cmd, groups, 1, 1);
    d->dispatches++;
    return GR_OK;
}

gr_status gr_vk_stage(gr_vk_device *d, VkDeviceSize size, gr_vk_alloc **arena, VkDeviceSize *offset)
{
    size = (size + 255) & ~(VkDeviceSize)255;
    GR_TRY(open_batch(d));
    gr_vk_batch *b = &d->batches[d->current];
    if (b->arena.block && b->arena_used + size > b->arena.size && b->arena_used > 0) {
        GR_TRY(gr_vk_flush(d));
        GR_TRY(begin_batch(d));
        b = &d->batches[d->current];
    }
    if (!b->arena.block || b->arena.size < size) {
        if (b->arena.block) gr_vk_pool_free(d, &b->arena);
        GR_TRY(gr_vk_pool_alloc(d, &d->staging, size > GR_VK_ARENA_MIN ? size : GR_VK_ARENA_MIN, &b->arena));
    }
    b->arena.last_use = b->arena.last_write = b->serial;
    *arena = &b->arena;
    *offset = b->arena_used;
    b->arena_used += size;
    return GR_OK;
}

gr_status gr_vk_stream_stats(gr_device *dev, uint64_t *submits, uint64_t *waits, uint64_t *dispatches)
{
    if (dev->kind != GR_DEVICE_VULKAN)
        return gr_fail(GR_EDEVICE, "%s has no command stream (a Vulkan device expected)", dev->name);
    gr_vk_device *d = gr_vk_dev(dev);
    *submits = d->submits;
    *waits = d->waits;
    *dispatches = d->dispatches;
    return GR_OK;
}
