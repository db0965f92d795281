/* Vulkan element-wise kernels: binary ops with broadcasting, unary maps and
 * random fills. Contiguous operands of any length run in pieces of at most
 * 2^30 elements, each piece addressed from its own base pointer. */
#include "gr_vk_ops.h"

#include <string.h>

gr_status gr_vk_check_span(int64_t elements, const char *what)
{
    if (elements >= GR_VK_MAX_SPAN)
        return gr_fail(GR_EINVAL, "%s spans %lld elements; the Vulkan kernels address at most 2^31 - 1 "
                       "elements per operand (use the 'cpu' device for this op)", what, (long long)elements);
    return GR_OK;
}

typedef struct binary_push {
    VkDeviceAddress a, b, o;
    uint32_t n;
    int32_t ndim;
    int32_t shape[8], astride[8], bstride[8];
} binary_push;

gr_status gr_vk_binary(gr_binop op, gr_tensor *out, const gr_tensor *a, const gr_tensor *b, const gr_bcast *plan)
{
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    gr_vk_access acc[3] = { gr_vk_tensor_access(out, 1), gr_vk_tensor_access(a, 0), gr_vk_tensor_access(b, 0) };
    VkDeviceAddress pa = gr_vk_tensor_address(a), pb = gr_vk_tensor_address(b), po = gr_vk_tensor_address(out);
    const int last = plan->ndim - 1;
    uint32_t mode;
    if (plan->ndim == 1 && plan->astride[0] == 1 && plan->bstride[0] == 1) mode = 0;
    else if (plan->ndim == 1 && plan->astride[0] == 1 && plan->bstride[0] == 0) mode = 1;
    else if (plan->ndim == 1 && plan->astride[0] == 0 && plan->bstride[0] == 1) mode = 2;
    else mode = 3;

    binary_push push;
    memset(&push, 0, sizeof push);
    if (mode == 3) {
        GR_TRY(gr_vk_check_span(out->numel, "a broadcast operation"));
        GR_TRY(gr_vk_check_span(a->numel, "a broadcast operation"));
        GR_TRY(gr_vk_check_span(b->numel, "a broadcast operation"));
        push.a = pa; push.b = pb; push.o = po;
        push.n = (uint32_t)out->numel;
        push.ndim = plan->ndim;
        for (int i = 0; i <= last; i++) {
            push.shape[i] = (int32_t)plan->shape[i];
            push.astride[i] = (int32_t)plan->astride[i];
            push.bstride[i] = (int32_t)plan->bstride[i];
        }
        uint32_t spec[4] = { GR_VK_WG, (uint32_t)op, mode, 0 };
        return gr_vk_dispatch(d, GR_VK_K_binary, spec, &push, sizeof push,
                              gr_vk_groups(out->numel, GR_VK_WG), acc, 3);
    }
    int vec4 = gr_vk_aligned16(po) && (mode == 2 || gr_vk_aligned16(pa)) && (mode == 1 || gr_vk_aligned16(pb));
    uint32_t spec[4] = { GR_VK_WG, (uint32_t)op, mode, (uint32_t)vec4 };
    for (int64_t at = 0; at < out->numel; at += GR_VK_PIECE) {
        int64_t n = out->numel - at < GR_VK_PIECE ? out->numel - at : GR_VK_PIECE;
        push.a = pa + (mode == 2 ? 0 : (VkDeviceAddress)at * 4);
        push.b = pb + (mode == 1 ? 0 : (VkDeviceAddress)at * 4);
        push.o = po + (VkDeviceAddress)at * 4;
        push.n = (uint32_t)n;
        GR_TRY(gr_vk_dispatch(d, GR_VK_K_binary, spec, &push, sizeof push,
                              gr_vk_groups(n, vec4 ? 4 * GR_VK_WG : GR_VK_WG), acc, 3));
    }
    return GR_OK;
}

typedef struct unary_push {
    VkDeviceAddress x, y;
    uint32_t n;
    float a, b;
} unary_push;

gr_status gr_vk_unary(gr_unop op, gr_tensor *out, const gr_tensor *x, float a, float b)
{
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    gr_vk_access acc[2] = { gr_vk_tensor_access(out, 1), gr_vk_tensor_access(x, 0) };
    VkDeviceAddress px = gr_vk_tensor_address(x), py = gr_vk_tensor_address(out);
    int vec4 = gr_vk_aligned16(px) && gr_vk_aligned16(py);
    uint32_t spec[4] = { GR_VK_WG, (uint32_t)op, (uint32_t)vec4, 0 };
    for (int64_t at = 0; at < x->numel; at += GR_VK_PIECE) {
        int64_t n = x->numel - at < GR_VK_PIECE ? x->numel - at : GR_VK_PIECE;
        unary_push push = { px + (VkDeviceAddress)at * 4, py + (VkDeviceAddress)at * 4, (uint32_t)n, a, b };
        GR_TRY(gr_vk_dispatch(d, GR_VK_K_unary, spec, &push, sizeof push,
                              gr_vk_groups(n, vec4 ? 4 * GR_VK_WG : GR_VK_WG), acc, 2));
    }
    return GR_OK;
}

typedef struct random_push {
    VkDeviceAddress o;
    uint32_t n, seed_lo, seed_hi, counter_lo, counter_hi;
    float a, b;
} random_push;

gr_status gr_vk_random(gr_tensor *t, gr_randkind kind, uint64_t seed, uint64_t counter, float a, float b)
{
    gr_vk_device *d = gr_vk_dev(t->storage->device);
    gr_vk_access acc = gr_vk_tensor_access(t, 1);
    VkDeviceAddress po = gr_vk_tensor_address(t);
    uint32_t spec[4] = { GR_VK_WG, (uint32_t)kind, 0, 0 };
    for (int64_t at = 0; at < t->numel; at += GR_VK_PIECE) {
        int64_t n = t->numel - at < GR_VK_PIECE ? t->numel - at : GR_VK_PIECE;
        uint64_t c = counter + (uint64_t)at;
        random_push push = {
            po + (VkDeviceAddress)at * 4, (uint32_t)n, (uint32_t)seed, (uint32_t)(seed >> 32),
            (uint32_t)c, (uint32_t)(c >> 32), a, b,
        };
        GR_TRY(gr_vk_dispatch(d, GR_VK_K_random, spec, &push, sizeof push, gr_vk_groups(n, GR_VK_WG), &acc, 1));
    }
    return GR_OK;
}
