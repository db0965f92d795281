/* The Vulkan kernels behind gr_vk_backend, and helpers they share. */
#ifndef GR_VK_OPS_H
#define GR_VK_OPS_H

#include "gr_vk.h"
#include "gr_vk_shaders.h"

/* Threads per workgroup of the element-wise kernels. */
#define GR_VK_WG 256u
/* Workgroups per dispatch at most; kernels loop over larger index spaces. */
#define GR_VK_MAX_GROUPS 65535u
/* Elements per dispatch of the contiguous element-wise kernels (a multiple
 * of 4, so that every piece keeps the alignment of the first). */
#define GR_VK_PIECE ((int64_t)1 << 30)
/* Elements one index space of a kernel may span: shaders index in 32-bit signed
 * integers, so larger tensors are split on the host where the op allows it. */
#define GR_VK_MAX_SPAN ((int64_t)1 << 31)

static inline gr_vk_access gr_vk_tensor_access(const gr_tensor *t, int write)
{
    return (gr_vk_access){ gr_vk_storage_alloc(t->storage), (VkDeviceSize)t->offset * sizeof(float),
                           (VkDeviceSize)t->numel * sizeof(float), write };
}

static inline VkDeviceAddress gr_vk_tensor_address(const gr_tensor *t)
{
    return gr_vk_alloc_address(gr_vk_storage_alloc(t->storage)) + (VkDeviceAddress)t->offset * sizeof(float);
}

static inline int gr_vk_aligned16(VkDeviceAddress a) { return (a & 15) == 0; }

/* Workgroups for n work items of `per_group` items each, capped at the grid limit. */
static inline uint32_t gr_vk_groups(int64_t n, int64_t per_group)
{
    int64_t g = (n + per_group - 1) / per_group;
    return g > (int64_t)GR_VK_MAX_GROUPS ? GR_VK_MAX_GROUPS : (uint32_t)g;
}

/* Host transfers into and out of an allocation (the backend's upload and
 * download); reading waits for the commands that write it. */
gr_status gr_vk_upload(gr_vk_device *d, gr_vk_alloc *a, size_t off, const void *src, size_t n);
gr_status gr_vk_download(gr_vk_device *d, gr_vk_alloc *a, size_t off, void *dst, size_t n);

/* Fails with a message when an operand spans more elements than one kernel
 * index space can address. */
gr_status gr_vk_check_span(int64_t elements, const char *what);

gr_status gr_vk_binary(gr_binop op, gr_tensor *out, const gr_tensor *a, const gr_tensor *b, const gr_bcast *plan);
gr_status gr_vk_unary(gr_unop op, gr_tensor *out, const gr_tensor *x, float a, float b);
gr_status gr_vk_random(gr_tensor *t, gr_randkind kind, uint64_t seed, uint64_t counter, float a, float b);
gr_status gr_vk_reduce(gr_redop op, gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner);
gr_status gr_vk_dot(const gr_tensor *a, const gr_tensor *b, double *result);
gr_status gr_vk_matmul(gr_tensor *out, const gr_tensor *a, const gr_tensor *b, int64_t batch, int64_t m,
                       int64_t n, int64_t k, int64_t a_batch_stride, int64_t b_batch_stride);
gr_status gr_vk_copy_strided(const gr_strided *dst, const gr_strided *src, int ndim, const int64_t *shape);
gr_status gr_vk_index_select(gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner,
                             const int64_t *idx, int64_t nidx);

#endif
