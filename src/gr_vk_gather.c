/* Vulkan data movement: strided window copies and index_select. */
#include "gr_vk_ops.h"

#include <stdlib.h>
#include <string.h>

typedef struct strided_push {
    VkDeviceAddress dst, src;
    uint32_t n;
    int32_t ndim;
    int32_t shape[8], dstride[8], sstride[8];
} strided_push;

/* Elements a strided window reaches past its first one, plus one. */
static int64_t window_span(int ndim, const int64_t *shape, const int64_t *stride)
{
    int64_t span = 1;
    for (int i = 0; i < ndim; i++) span += (shape[i] - 1) * stride[i];
    return span;
}

gr_status gr_vk_copy_strided(const gr_strided *dst, const gr_strided *src, int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n == 0) return GR_OK;
    GR_TRY(gr_vk_check_span(n, "a strided copy"));
    int64_t dspan = window_span(ndim, shape, dst->stride), sspan = window_span(ndim, shape, src->stride);
    GR_TRY(gr_vk_check_span(dspan, "a strided copy's destination"));
    GR_TRY(gr_vk_check_span(sspan, "a strided copy's source"));
    gr_vk_device *d = gr_vk_dev(dst->storage->device);
    gr_vk_alloc *da = gr_vk_storage_alloc(dst->storage), *sa = gr_vk_storage_alloc(src->storage);
    strided_push push;
    memset(&push, 0, sizeof push);
    push.dst = gr_vk_alloc_address(da) + (VkDeviceAddress)dst->offset * 4;
    push.src = gr_vk_alloc_address(sa) + (VkDeviceAddress)src->offset * 4;
    push.n = (uint32_t)n;
    push.ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        push.shape[i] = (int32_t)shape[i];
        push.dstride[i] = (int32_t)dst->stride[i];
        push.sstride[i] = (int32_t)src->stride[i];
    }
    gr_vk_access acc[2] = {
        { da, (VkDeviceSize)dst->offset * 4, (VkDeviceSize)dspan * 4, 1 },
        { sa, (VkDeviceSize)src->offset * 4, (VkDeviceSize)sspan * 4, 0 },
    };
    uint32_t spec[4] = { GR_VK_WG, 0, 0, 0 };
    return gr_vk_dispatch(d, GR_VK_K_copy_strided, spec, &push, sizeof push, gr_vk_groups(n, GR_VK_WG), acc, 2);
}

typedef struct gather_push {
    VkDeviceAddress x, o, idx;
    uint32_t outer, len, inner, nidx, n;
} gather_push;

gr_status gr_vk_index_select(gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len,
                             int64_t inner, const int64_t *idx, int64_t nidx)
{
    if (out->numel == 0) return GR_OK;
    GR_TRY(gr_vk_check_span(out->numel, "index_select's result"));
    GR_TRY(gr_vk_check_span(x->numel, "index_select's input"));
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    VkDeviceSize bytes = (VkDeviceSize)nidx * sizeof(int32_t);
    int32_t *list = malloc((size_t)bytes);
    if (!list) return gr_fail(GR_ENOMEM, "out of host memory for %lld indices", (long long)nidx);
    for (int64_t j = 0; j < nidx; j++) list[j] = (int32_t)idx[j];
    /* The indices travel with the other operands as a device tensor. */
    gr_vk_alloc ia;
    gr_status s = gr_vk_pool_alloc(d, &d->tensors, bytes, &ia);
    if (s != GR_OK) { free(list); return s; }
    s = gr_vk_upload(d, &ia, 0, list, (size_t)bytes);
    free(list);
    if (s == GR_OK) {
        gather_push push = {
            gr_vk_tensor_address(x), gr_vk_tensor_address(out), gr_vk_alloc_address(&ia),
            (uint32_t)outer, (uint32_t)len, (uint32_t)inner, (uint32_t)nidx, (uint32_t)out->numel,
        };
        gr_vk_access acc[3] = { gr_vk_tensor_access(out, 1), gr_vk_tensor_access(x, 0), { &ia, 0, bytes, 0 } };
        uint32_t spec[4] = { GR_VK_WG, 0, 0, 0 };
        s = gr_vk_dispatch(d, GR_VK_K_index_select, spec, &push, sizeof push,
                           gr_vk_groups(out->numel, GR_VK_WG), acc, 3);
    }
    gr_vk_pool_free(d, &ia);
    return s;
}
