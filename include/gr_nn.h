/* Neural-network kernels: fused linear layers, activation gradients, the
 * cross-entropy loss, leaky integrate-and-fire neurons with surrogate
 * gradients, and spike encoders.
 *
 * Like the tensor ops (gr_ops.h), each gr_nn_* function checks its
 * arguments, allocates its outputs on the inputs' device and runs one entry
 * of that device's gr_nn_backend. The table is separate from gr_backend so
 * that devices gain nn kernels independently of the tensor kernels. A
 * failing call changes nothing (gradient accumulators included). */
#ifndef GR_NN_H
#define GR_NN_H

#include "gr_tensor.h"

typedef enum gr_nn_act { GR_NN_RELU, GR_NN_TANH, GR_NN_SIGMOID } gr_nn_act;

typedef enum gr_surrogate {
    GR_SURROGATE_ATAN,          /* alpha/2 / (1 + (pi/2 * alpha * x)^2) */
    GR_SURROGATE_SIGMOID,       /* alpha * sig(alpha x) * (1 - sig(alpha x)) */
    GR_SURROGATE_FAST_SIGMOID   /* 1 / (1 + alpha |x|)^2 */
} gr_surrogate;

/* What a LIF layer emits at each step. */
typedef enum gr_lif_output {
    GR_LIF_SPIKES,     /* S_t; the neuron fires and resets */
    GR_LIF_MEMBRANE    /* H_t of a neuron that never fires (a leaky integrator readout) */
} gr_lif_output;

/* One update step of every neuron, with x the input and v the membrane
 * carried from the previous step (v_rest at t = 1):
 *   H = decay * (V - v_rest) + v_rest + input_scale * X
 *   S = step(H - v_threshold)                       (1 when H >= v_threshold)
 *   V = H * (1 - S) + v_reset * S   (hard_reset)    V = H - v_threshold * S   (soft)
 * The backward pass replaces dS/dH by the surrogate's derivative at
 * H - v_threshold; detach_reset drops the reset's path through S. */
typedef struct gr_lif_params {
    float decay;          /* 1 - 1/tau; 1 for integrate-and-fire */
    float input_scale;    /* 1, or 1/tau when the input decays too */
    float v_threshold;
    float v_rest;         /* the leak's resting level: v_reset, or 0 with soft reset */
    float v_reset;        /* hard reset only */
    int hard_reset;
    int detach_reset;
    gr_surrogate surrogate;
    float alpha;
    gr_lif_output output;
} gr_lif_params;

/* Kernels of one device. Tensors are contiguous and already checked. A
 * device without linear_forward / linear_backward gets linear layers
 * composed from its tensor kernels (transpose, matmul, add, sum). */
typedef struct gr_nn_backend {
    /* out (m, n) = x (m, k) * w^T (w is (n, k)) + b (n; NULL for none). */
    gr_status (*linear_forward)(gr_tensor *out, const gr_tensor *x, const gr_tensor *w, const gr_tensor *b,
                                int64_t m, int64_t n, int64_t k);
    /* grad_x = grad_out * w; grad_w += grad_out^T * x; grad_b += column sums
     * of grad_out. Any of the three may be NULL. */
    gr_status (*linear_backward)(gr_tensor *grad_x, gr_tensor *grad_w, gr_tensor *grad_b,
                                 const gr_tensor *grad_out, const gr_tensor *x, const gr_tensor *w,
                                 int64_t m, int64_t n, int64_t k);
    /* grad_in = grad_out * f'(.) written in terms of the output y = f(x). */
    gr_status (*activation_backward)(gr_nn_act act, gr_tensor *grad_in, const gr_tensor *y,
                                     const gr_tensor *grad_out);
    /* losses (n) = logsumexp(logits[i]) - logits[i][labels[i]], labels 0-based
     * integers in [0, c) stored as floats. */
    gr_status (*cross_entropy_forward)(gr_tensor *losses, const gr_tensor *logits, const gr_tensor *labels,
                                       int64_t n, int64_t c);
    /* grad (n, c) = scale * (softmax(logits) - onehot(labels)). */
    gr_status (*cross_entropy_backward)(gr_tensor *grad, const gr_tensor *logits, const gr_tensor *labels,
                                        float scale, int64_t n, int64_t c);
    /* x, out and h are (steps, width); h keeps H_t for the backward pass. */
    gr_status (*lif_forward)(gr_tensor *out, gr_tensor *h, const gr_tensor *x, const gr_lif_params *p,
                             int64_t steps, int64_t width);
    gr_status (*lif_backward)(gr_tensor *grad_x, const gr_tensor *grad_out, const gr_tensor *h,
                              const gr_lif_params *p, int64_t steps, int64_t width);
    /* out[i] = scale if u_i < (probs ? probs[i] : p) else 0, with u_i the
     * uniform of Philox counter `counter + i` under `seed` (gr_random.h). */
    gr_status (*bernoulli)(gr_tensor *out, const gr_tensor *probs, float p, float scale,
                           uint64_t seed, uint64_t counter);
    /* out (steps, width): one spike per input x > threshold, at step
     * round((steps - 1) * (1 - min(x, 1))) (0-based); none otherwise. */
    gr_status (*latency_encode)(gr_tensor *out, const gr_tensor *x, float threshold, int64_t steps, int64_t width);
} gr_nn_backend;

extern const gr_nn_backend gr_cpu_nn_backend;
extern const gr_nn_backend gr_vk_nn_backend;

/* ---- layers (gr_nn_linear.c) ---------------------------------------------- */

/* x (..., k), w (n, k), b (n) or NULL -> (..., n). */
gr_status gr_nn_linear_forward(const gr_tensor *x, const gr_tensor *w, const gr_tensor *b, gr_tensor **out);
/* Accumulates into grad_w and grad_b (either may be NULL) and, when grad_x
 * is not NULL, returns the input's gradient there. */
gr_status gr_nn_linear_backward(const gr_tensor *x, const gr_tensor *w, const gr_tensor *grad_out,
                                gr_tensor *grad_w, gr_tensor *grad_b, gr_tensor **grad_x);
gr_status gr_nn_activation_backward(gr_nn_act act, const gr_tensor *y, const gr_tensor *grad_out,
                                    gr_tensor **grad_in);

/* ---- losses (gr_nn_loss.c) ------------------------------------------------- */

/* logits (n, c) and labels (n) holding 1-based class indices. *loss is the
 * mean over rows of -log softmax(logits)[label]. */
gr_status gr_nn_cross_entropy_forward(const gr_tensor *logits, const gr_tensor *labels, double *loss);
/* The gradient of that mean with respect to the logits. */
gr_status gr_nn_cross_entropy_backward(const gr_tensor *logits, const gr_tensor *labels, gr_tensor **grad);

/* ---- spiking neurons and encoders (gr_nn_spiking.c) ------------------------ */

/* Checks the parameters (finite, alpha > 0). */
gr_status gr_lif_params_check(const gr_lif_params *p);
/* x (T, ...) -> out of x's shape; *h (x's shape) is what lif_backward needs. */
gr_status gr_nn_lif_forward(const gr_tensor *x, const gr_lif_params *p, gr_tensor **out, gr_tensor **h);
gr_status gr_nn_lif_backward(const gr_tensor *h, const gr_tensor *grad_out, const gr_lif_params *p,
                             gr_tensor **grad_x);
/* A tensor of x's shape with 1 where a uniform draw from the process-wide
 * generator falls below x (clamped to [0, 1]), else 0. */
gr_status gr_nn_bernoulli(const gr_tensor *probs, gr_tensor **out);
/* Inverted dropout: a tensor of `shape` holding 1/(1-p) with probability
 * 1-p and 0 otherwise, drawn from the process-wide generator; 0 <= p < 1. */
gr_status gr_nn_dropout_mask(gr_device *dev, int ndim, const int64_t *shape, float p, gr_tensor **out);
/* x (...) -> (steps, ...), see latency_encode. */
gr_status gr_nn_latency_encode(const gr_tensor *x, int64_t steps, float threshold, gr_tensor **out);

#endif
