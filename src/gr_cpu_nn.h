/* CPU nn kernels, one group per file, gathered into gr_cpu_nn_backend. */
#ifndef GR_CPU_NN_H
#define GR_CPU_NN_H

#include "gr_cpu.h"
#include "gr_nn.h"

/* gr_cpu_nn_linear.c */
gr_status gr_cpu_linear_forward(gr_tensor *out, const gr_tensor *x, const gr_tensor *w, const gr_tensor *b,
                                int64_t m, int64_t n, int64_t k);
gr_status gr_cpu_linear_backward(gr_tensor *grad_x, gr_tensor *grad_w, gr_tensor *grad_b, const gr_tensor *grad_out,
                                 const gr_tensor *x, const gr_tensor *w, int64_t m, int64_t n, int64_t k);
gr_status gr_cpu_activation_backward(gr_nn_act act, gr_tensor *grad_in, const gr_tensor *y, const gr_tensor *grad_out);

/* gr_cpu_nn_loss.c */
gr_status gr_cpu_cross_entropy_forward(gr_tensor *losses, const gr_tensor *logits, const gr_tensor *labels,
                                       int64_t n, int64_t c);
gr_status gr_cpu_cross_entropy_backward(gr_tensor *grad, const gr_tensor *logits, const gr_tensor *labels,
                                        float scale, int64_t n, int64_t c);

/* gr_cpu_nn_spiking.c */
gr_status gr_cpu_lif_forward(gr_tensor *out, gr_tensor *h, const gr_tensor *x, const gr_lif_params *p,
                             int64_t steps, int64_t width);
gr_status gr_cpu_lif_backward(gr_tensor *grad_x, const gr_tensor *grad_out, const gr_tensor *h,
                              const gr_lif_params *p, int64_t steps, int64_t width);
gr_status gr_cpu_bernoulli(gr_tensor *out, const gr_tensor *probs, float p, float scale, uint64_t seed,
                           uint64_t counter);
gr_status gr_cpu_latency_encode(gr_tensor *out, const gr_tensor *x, float threshold, int64_t steps, int64_t width);

#endif
