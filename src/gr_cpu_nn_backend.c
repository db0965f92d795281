/* The CPU device's nn kernel table. */
#include "gr_cpu_nn.h"

const gr_nn_backend gr_cpu_nn_backend = {
    .linear_forward = gr_cpu_linear_forward,
    .linear_backward = gr_cpu_linear_backward,
    .activation_backward = gr_cpu_activation_backward,
    .cross_entropy_forward = gr_cpu_cross_entropy_forward,
    .cross_entropy_backward = gr_cpu_cross_entropy_backward,
    .lif_forward = gr_cpu_lif_forward,
    .lif_backward = gr_cpu_lif_backward,
    .bernoulli = gr_cpu_bernoulli,
    .latency_encode = gr_cpu_latency_encode,
};
