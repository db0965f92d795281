/* The Vulkan device's nn kernels (shaders/nn_*.comp). Linear layers have no
 * entry here: gr_nn_linear.c composes them from the tensor kernels
 * (transposes and tiled matrix products), which the Vulkan backend has. */
#include "gr_vk_ops.h"
#include "gr_nn.h"

#include <string.h>

typedef struct act_push {
    VkDeviceAddress gin, y, gout;
    uint32_t n;
} act_push;

static gr_status vk_activation_backward(gr_nn_act act, gr_tensor *grad_in, const gr_tensor *y,
                                        const gr_tensor *grad_out)
{
    GR_TRY(gr_vk_check_span(y->numel, "an activation gradient"));
    gr_vk_device *d = gr_vk_dev(y->storage->device);
    gr_vk_access acc[3] = { gr_vk_tensor_access(grad_in, 1), gr_vk_tensor_access(y, 0),
                            gr_vk_tensor_access(grad_out, 0) };
    act_push push = { gr_vk_tensor_address(grad_in), gr_vk_tensor_address(y), gr_vk_tensor_address(grad_out),
                      (uint32_t)y->numel };
    uint32_t spec[4] = { GR_VK_WG, (uint32_t)act, 0, 0 };
    return gr_vk_dispatch(d, GR_VK_K_nn_activation_backward, spec, &push, sizeof push,
                          gr_vk_groups(y->numel, GR_VK_WG), acc, 3);
}

typedef struct ce_push {
    VkDeviceAddress x, labels, o;
    uint32_t n, c;
    float scale;
} ce_push;

static gr_status cross_entropy(int backward, gr_tensor *o, const gr_tensor *logits, const gr_tensor *labels,
                               float scale, int64_t n, int64_t c)
{
    GR_TRY(gr_vk_check_span(n * c, "cross-entropy logits"));
    gr_vk_device *d = gr_vk_dev(logits->storage->device);
    gr_vk_access acc[3] = { gr_vk_tensor_access(o, 1), gr_vk_tensor_access(logits, 0),
                            gr_vk_tensor_access(labels, 0) };
    ce_push push = { gr_vk_tensor_address(logits), gr_vk_tensor_address(labels), gr_vk_tensor_address(o),
                     (uint32_t)n, (uint32_t)c, scale };
    uint32_t spec[4] = { 64, (uint32_t)backward, 0, 0 };
    return gr_vk_dispatch(d, GR_VK_K_nn_cross_entropy, spec, &push, sizeof push, gr_vk_groups(n, 64), acc, 3);
}

static gr_status vk_cross_entropy_forward(gr_tensor *losses, const gr_tensor *logits, const gr_tensor *labels,
                                          int64_t n, int64_t c)
{
    return cross_entropy(0, losses, logits, labels, 1.0f, n, c);
}

static gr_status vk_cross_entropy_backward(gr_tensor *grad, const gr_tensor *logits, const gr_tensor *labels,
                                           float scale, int64_t n, int64_t c)
{
    return cross_entropy(1, grad, logits, labels, scale, n, c);
}

typedef struct lif_push {
    VkDeviceAddress a, b, c;
    uint32_t steps, width;
    float decay, input_scale, v_threshold, v_rest, v_reset, alpha;
} lif_push;

static gr_status lif(int backward, const gr_tensor *a, gr_tensor *b, gr_tensor *c, int c_written,
                     const gr_lif_params *p, int64_t steps, int64_t width)
{
    GR_TRY(gr_vk_check_span(steps * width, "a spiking layer"));
    gr_vk_device *d = gr_vk_dev(a->storage->device);
    gr_vk_access acc[3] = { gr_vk_tensor_access(a, 0), gr_vk_tensor_access(b, 1), gr_vk_tensor_access(c, c_written) };
    lif_push push = {
        gr_vk_tensor_address(a), gr_vk_tensor_address(b), gr_vk_tensor_address(c), (uint32_t)steps, (uint32_t)width,
        p->decay, p->input_scale, p->v_threshold, p->v_rest, p->v_reset, p->alpha,
    };
    uint32_t flags = (p->hard_reset ? 1u : 0u) | (p->detach_reset ? 2u : 0u) | (p->output == GR_LIF_MEMBRANE ? 4u : 0u);
    uint32_t spec[4] = { 64, (uint32_t)backward, (uint32_t)p->surrogate, flags };
    return gr_vk_dispatch(d, GR_VK_K_nn_lif, spec, &push, sizeof push, gr_vk_groups(width, 64), acc, 3);
}

static gr_status vk_lif_forward(gr_tensor *out, gr_tensor *h, const gr_tensor *x, const gr_lif_params *p,
                                int64_t steps, int64_t width)
{
    return lif(0, x, out, h, 1, p, steps, width);
}

static gr_status vk_lif_backward(gr_tensor *grad_x, const gr_tensor *grad_out, const gr_tensor *h,
                                 const gr_lif_params *p, int64_t steps, int64_t width)
{
    return lif(1, grad_out, grad_x, (gr_tensor *)h, 0, p, steps, width);
}

typedef struct encode_push {
    VkDeviceAddress o, x;
    uint32_t n, steps;
    float p, scale, threshold;
    uint32_t seed_lo, seed_hi, counter_lo, counter_hi;
} encode_push;

static gr_status vk_bernoulli(gr_tensor *out, const gr_tensor *probs, float p, float scale, uint64_t seed,
                              uint64_t counter)
{
    GR_TRY(gr_vk_check_span(out->numel, "a Bernoulli draw"));
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    gr_vk_access acc[2] = { gr_vk_tensor_access(out, 1), gr_vk_tensor_access(probs ? probs : out, 0) };
    encode_push push = {
        gr_vk_tensor_address(out), gr_vk_tensor_address(probs ? probs : out), (uint32_t)out->numel, 1, p, scale, 0.0f,
        (uint32_t)seed, (uint32_t)(seed >> 32), (uint32_t)counter, (uint32_t)(counter >> 32),
    };
    uint32_t spec[4] = { GR_VK_WG, 0, probs ? 1u : 0u, 0 };
    return gr_vk_dispatch(d, GR_VK_K_nn_spike_encode, spec, &push, sizeof push, gr_vk_groups(out->numel, GR_VK_WG),
                          acc, probs ? 2 : 1);
}

static gr_status vk_latency_encode(gr_tensor *out, const gr_tensor *x, float threshold, int64_t steps, int64_t width)
{
    GR_TRY(gr_vk_check_span(steps * width, "a latency code"));
    gr_vk_device *d = gr_vk_dev(out->storage->device);
    gr_vk_access acc[2] = { gr_vk_tensor_access(out, 1), gr_vk_tensor_access(x, 0) };
    encode_push push = {
        gr_vk_tensor_address(out), gr_vk_tensor_address(x), (uint32_t)width, (uint32_t)steps, 0.0f, 1.0f, threshold,
        0, 0, 0, 0,
    };
    uint32_t spec[4] = { GR_VK_WG, 1, 0, 0 };
    return gr_vk_dispatch(d, GR_VK_K_nn_spike_encode, spec, &push, sizeof push, gr_vk_groups(width, GR_VK_WG), acc, 2);
}

const gr_nn_backend gr_vk_nn_backend = {
    .activation_backward = vk_activation_backward,
    .cross_entropy_forward = vk_cross_entropy_forward,
    .cross_entropy_backward = vk_cross_entropy_backward,
    .lif_forward = vk_lif_forward,
    .lif_backward = vk_lif_backward,
    .bernoulli = vk_bernoulli,
    .latency_encode = vk_latency_encode,
};
