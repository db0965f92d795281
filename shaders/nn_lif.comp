#version 450
// Leaky integrate-and-fire neurons over time, one thread per neuron, as
// src/gr_cpu_nn_spiking.c (see gr_lif_params in include/gr_nn.h). x, out,
// h and the gradients are (steps x width).
// Specialization: 1 = 0 forward, 1 backward through time; 2 = surrogate
// (gr_surrogate); 3 = flags: bit 0 hard reset, bit 1 detach_reset, bit 2
// membrane output (a neuron that never fires).
#include "common.glsl"

layout(constant_id = 1) const uint BACKWARD = 0;
layout(constant_id = 2) const uint SURROGATE = 0;
layout(constant_id = 3) const uint FLAGS = 0;
const bool MEMBRANE = (FLAGS & 4u) != 0u;

// forward: a = x, b = out, c = h; backward: a = grad_out, b = grad_x, c = h.
layout(push_constant) uniform Push {
    Floats a; Floats b; Floats c; uint steps; uint width;
    float decay; float input_scale; float v_threshold; float v_rest; float v_reset; float alpha;
} p;

float surrogate_grad(float u)
{
    if (SURROGATE == 0) {
        float z = 0.5 * 3.14159265358979323846 * p.alpha * u;
        return 0.5 * p.alpha / (1.0 + z * z);
    } else if (SURROGATE == 1) {
        float s = 1.0 / (1.0 + exp(-p.alpha * u));
        return p.alpha * s * (1.0 - s);
    }
    float d = 1.0 + p.alpha * abs(u);
    return 1.0 / (d * d);
}

void main()
{
    const bool hard = (FLAGS & 1u) != 0u;
    const float reset_path = (FLAGS & 2u) != 0u ? 0.0 : 1.0;
    for (uint i = gl_GlobalInvocationID.x; i < p.width; i += grid_threads()) {
        if (BACKWARD == 0) {
            precise float v = p.v_rest;
            for (uint t = 0; t < p.steps; t++) {
                uint k = t * p.width + i;
                precise float h = p.decay * (v - p.v_rest) + p.v_rest + p.input_scale * p.a.v[k];
                p.c.v[k] = h;
                if (MEMBRANE) {
                    p.b.v[k] = h;
                    v = h;
                } else {
                    float s = h >= p.v_threshold ? 1.0 : 0.0;
                    p.b.v[k] = s;
                    v = hard ? (s > 0.0 ? p.v_reset : h) : h - p.v_threshold * s;
                }
            }
        } else {
            precise float gv = 0.0;
            for (uint t = p.steps; t-- > 0u;) {
                uint k = t * p.width + i;
                precise float gh;
                if (MEMBRANE) {
                    gh = p.a.v[k] + gv;
                } else {
                    float h = p.c.v[k];
                    float u = h - p.v_threshold;
                    float sg = surrogate_grad(u);
                    float s = u >= 0.0 ? 1.0 : 0.0;
                    float dv_dh = hard ? (1.0 - s) + reset_path * (p.v_reset - h) * sg
                                       : 1.0 - reset_path * p.v_threshold * sg;
                    gh = p.a.v[k] * sg + gv * dv_dh;
                }
                p.b.v[k] = p.input_scale * gh;
                gv = p.decay * gh;
            }
        }
    }
}
