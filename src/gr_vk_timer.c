/* Device timing on a Vulkan device: a timestamp before and after the timed
 * commands, written by the GPU into a query pool of two, so the figure is the
 * device's own time (like CUDA events), not the host's recording and waiting. */
#include "gr_vk.h"

static gr_status create_queries(gr_vk_device *d)
{
    VkQueryPoolCreateInfo qi = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2,
    };
    VkResult r = d->fn.vkCreateQueryPool(d->device, &qi, NULL, &d->timer_queries);
    if (r != VK_SUCCESS) return gr_fail(GR_EDEVICE, "vkCreateQueryPool failed (%s)", gr_vk_result_str(r));
    return GR_OK;
}

gr_status gr_vk_timer_start(gr_device *dev)
{
    gr_vk_device *d = gr_vk_dev(dev);
    if (d->timestamp_bits == 0)
        return gr_fail(GR_EDEVICE, "%s (%s) cannot time work: its compute queue writes no timestamps", dev->name,
                       d->props.deviceName);
    if (!d->timer_queries) GR_TRY(create_queries(d));
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, NULL, 0, &cmd));
    d->fn.vkCmdResetQueryPool(cmd, d->timer_queries, 0, 2);
    /* Written once everything recorded before has finished; the barrier that
     * follows keeps the timed commands from starting earlier. */
    d->fn.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, d->timer_queries, 0);
    d->barrier_all = 1;
    return GR_OK;
}

gr_status gr_vk_timer_stop(gr_device *dev, double *seconds)
{
    gr_vk_device *d = gr_vk_dev(dev);
    VkCommandBuffer cmd;
    GR_TRY(gr_vk_record(d, NULL, 0, &cmd));
    d->fn.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, d->timer_queries, 1);
    GR_TRY(gr_vk_wait_all(d));
    uint64_t stamps[2];
    VkResult r = d->fn.vkGetQueryPoolResults(d->device, d->timer_queries, 0, 2, sizeof stamps, stamps,
                                             sizeof stamps[0], VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS)
        return gr_fail(GR_EDEVICE, "reading the timestamps of %s failed (%s)", dev->name, gr_vk_result_str(r));
    /* Timestamps wrap at their valid bits. */
    uint64_t mask = d->timestamp_bits >= 64 ? UINT64_MAX : ((uint64_t)1 << d->timestamp_bits) - 1;
    uint64_t ticks = (stamps[1] - stamps[0]) & mask;
    *seconds = (double)ticks * (double)d->props.limits.timestampPeriod * 1e-9;
    return GR_OK;
}

void gr_vk_timer_destroy(gr_vk_device *d)
{
    if (d->timer_queries) d->fn.vkDestroyQueryPool(d->device, d->timer_queries, NULL);
    d->timer_queries = VK_NULL_HANDLE;
}
