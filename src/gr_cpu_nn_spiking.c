/* CPU spiking kernels: the LIF recurrence forward and through time
 * backward (see gr_lif_params in gr_nn.h), Bernoulli draws and latency
 * coding. Each time step is one vectorisable loop over the layer's width. */
#include "gr_cpu_nn.h"
#include "gr_random.h"

#include <math.h>
#include <stdlib.h>

#define GR_PI_F 3.14159265358979323846f

/* The surrogate's derivative dS/dH at u = H - v_threshold. */
static inline float surrogate_grad(gr_surrogate kind, float alpha, float u)
{
    switch (kind) {
    case GR_SURROGATE_ATAN: {
        float z = 0.5f * GR_PI_F * alpha * u;
        return 0.5f * alpha / (1.0f + z * z);
    }
    case GR_SURROGATE_SIGMOID: {
        float s = 1.0f / (1.0f + expf(-alpha * u));
        return alpha * s * (1.0f - s);
    }
    case GR_SURROGATE_FAST_SIGMOID: {
        float d = 1.0f + alpha * fabsf(u);
        return 1.0f / (d * d);
    }
    }
    return 0.0f;
}

gr_status gr_cpu_lif_forward(gr_tensor *out, gr_tensor *h, const gr_tensor *x, const gr_lif_params *p,
                             int64_t steps, int64_t width)
{
    float *v = malloc((size_t)(width ? width : 1) * sizeof *v);
    if (!v) return gr_fail(GR_ENOMEM, "out of host memory for %lld membrane potentials", (long long)width);
    const float decay = p->decay, scale = p->input_scale, vth = p->v_threshold, rest = p->v_rest,
                vreset = p->v_reset;
    for (int64_t i = 0; i < width; i++) v[i] = rest;
    for (int64_t t = 0; t < steps; t++) {
        const float *restrict xt = gr_cpu_data(x) + t * width;
        float *restrict ht = gr_cpu_data(h) + t * width;
        float *restrict ot = gr_cpu_data(out) + t * width;
        if (p->output == GR_LIF_MEMBRANE) {
            for (int64_t i = 0; i < width; i++) {
                float hv = decay * (v[i] - rest) + rest + scale * xt[i];
                ht[i] = hv;
                ot[i] = hv;
                v[i] = hv;
            }
        } else {
            for (int64_t i = 0; i < width; i++) {
                float hv = decay * (v[i] - rest) + rest + scale * xt[i];
                float s = hv >= vth ? 1.0f : 0.0f;
                ht[i] = hv;
                ot[i] = s;
                v[i] = p->hard_reset ? (s > 0.0f ? vreset : hv) : hv - vth * s;
            }
        }
    }
    free(v);
    return GR_OK;
}

gr_status gr_cpu_lif_backward(gr_tensor *grad_x, const gr_tensor *grad_out, const gr_tensor *h,
                              const gr_lif_params *p, int64_t steps, int64_t width)
{
    /* gv[i] = dL/dV_t of the step after the one being processed. */
    float *gv = calloc((size_t)(width ? width : 1), sizeof *gv);
    if (!gv) return gr_fail(GR_ENOMEM, "out of host memory for %lld membrane gradients", (long long)width);
    const float decay = p->decay, scale = p->input_scale, vth = p->v_threshold, vreset = p->v_reset,
                alpha = p->alpha;
    const float reset_path = p->detach_reset ? 0.0f : 1.0f;
    for (int64_t t = steps - 1; t >= 0; t--) {
        const float *restrict ht = gr_cpu_data(h) + t * width;
        const float *restrict go = gr_cpu_data(grad_out) + t * width;
        float *restrict gx = gr_cpu_data(grad_x) + t * width;
        if (p->output == GR_LIF_MEMBRANE) {
            for (int64_t i = 0; i < width; i++) {
                float gh = go[i] + gv[i];
                gx[i] = scale * gh;
                gv[i] = decay * gh;
            }
            continue;
        }
        for (int64_t i = 0; i < width; i++) {
            float u = ht[i] - vth;
            float sg = surrogate_grad(p->surrogate, alpha, u);
            float s = u >= 0.0f ? 1.0f : 0.0f;
            float dv_dh = p->hard_reset ? (1.0f - s) + reset_path * (vreset - ht[i]) * sg
                                        : 1.0f - reset_path * vth * sg;
            float gh = go[i] * sg + gv[i] * dv_dh;
            gx[i] = scale * gh;
            gv[i] = decay * gh;
        }
    }
    free(gv);
    return GR_OK;
}

gr_status gr_cpu_bernoulli(gr_tensor *out, const gr_tensor *probs, float p, float scale, uint64_t seed,
                           uint64_t counter)
{
    float *restrict o = gr_cpu_data(out);
    const float *restrict pr = probs ? gr_cpu_data(probs) : NULL;
    for (int64_t i = 0; i < out->numel; i++) {
        float u = gr_random_uniform(seed, counter + (uint64_t)i, 0.0f, 1.0f);
        o[i] = u < (pr ? pr[i] : p) ? scale : 0.0f;
    }
    return GR_OK;
}

gr_status gr_cpu_latency_encode(gr_tensor *out, const gr_tensor *x, float threshold, int64_t steps, int64_t width)
{
    const float *restrict xv = gr_cpu_data(x);
    float *restrict o = gr_cpu_data(out);
    for (int64_t i = 0; i < steps * width; i++) o[i] = 0.0f;
    const float last = (float)(steps - 1);
    for (int64_t i = 0; i < width; i++) {
        if (!(xv[i] > threshold)) continue;
        float c = xv[i] < 0.0f ? 0.0f : (xv[i] > 1.0f ? 1.0f : xv[i]);
        int64_t t = (int64_t)floorf(last * (1.0f - c) + 0.5f);
        o[t * width + i] = 1.0f;
    }
    return GR_OK;
}
