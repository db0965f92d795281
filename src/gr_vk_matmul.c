/* Vulkan matrix products (shaders/matmul.comp): 128 x 128 tiles per
 * workgroup of 256 threads on big products, 64 x 64 tiles of 64 threads when
 * big tiles would leave the GPU's cores idle. */
#include "gr_vk_ops.h"

/* Tiles below which the smaller tile size is used: a few per compute unit
 * of a large GPU. */
#define BIG_TILE_MIN 264

typedef struct matmul_push {
    VkDeviceAddress a, b, o;
    uint32_t m, n, k, a_bs, b_bs, tiles_m, tiles_n, groups;
} matmul_push;

static int64_t span(int64_t batch, int64_t stride, int64_t one)
{
    return (batch - 1) * stride + one;
}

gr_status gr_vk_matmul(gr_tensor *out, const gr_tensor *a, const gr_tensor *b,
                       int64_t batch, int64_t m, int64_t n, int64_t k,
                       int64_t a_batch_stride, int64_t b_batch_stride)
{
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    if (out->numel == 0) return GR_OK;
    if (k == 0) return d->base.backend->fill(out, 0.0f);
    GR_TRY(gr_vk_check_span(m * k, "a matrix product's left operand"));
    GR_TRY(gr_vk_check_span(k * n, "a matrix product's right operand"));
    GR_TRY(gr_vk_check_span(m * n, "a matrix product's result"));
    /* All batch entries in one dispatch when their offsets fit in 32 bits,
     * else one dispatch per entry. */
    int64_t per = span(batch, a_batch_stride, m * k) < GR_VK_MAX_SPAN &&
                  span(batch, b_batch_stride, k * n) < GR_VK_MAX_SPAN &&
                  batch * m * n < GR_VK_MAX_SPAN ? batch : 1;

    VkDeviceAddress pa = gr_vk_tensor_address(a), pb = gr_vk_tensor_address(b), po = gr_vk_tensor_address(out);
    int aligned = k % 4 == 0 && n % 4 == 0 && a_batch_stride % 4 == 0 && b_batch_stride % 4 == 0 &&
                  (pa & 15) == 0 && (pb & 15) == 0 && (po & 15) == 0;
    int64_t tiles128 = ((m + 127) / 128) * ((n + 127) / 128) * per;
    uint32_t tx = tiles128 >= BIG_TILE_MIN ? 16 : 8;
    int64_t tile = tx * 8;
    uint32_t tiles_m = (uint32_t)((m + tile - 1) / tile), tiles_n = (uint32_t)((n + tile - 1) / tile);
    uint32_t spec[4] = { tx * tx, tx, (uint32_t)aligned, 0 };
    gr_vk_access acc[3] = { gr_vk_tensor_access(out, 1), gr_vk_tensor_access(a, 0), gr_vk_tensor_access(b, 0) };
    for (int64_t at = 0; at < batch; at += per) {
        uint64_t groups = (uint64_t)tiles_m * tiles_n * (uint64_t)per;
        matmul_push push = {
            pa + (VkDeviceAddress)(at * a_batch_stride) * 4, pb + (VkDeviceAddress)(at * b_batch_stride) * 4,
            po + (VkDeviceAddress)(at * m * n) * 4,
            (uint32_t)m, (uint32_t)n, (uint32_t)k, (uint32_t)a_batch_stride, (uint32_t)b_batch_stride,
            tiles_m, tiles_n, (uint32_t)groups,
        };
        GR_TRY(gr_vk_dispatch(d, GR_VK_K_matmul, spec, &push, sizeof push, gr_vk_groups((int64_t)groups, 1), acc, 3));
    }
    return GR_OK;
}
