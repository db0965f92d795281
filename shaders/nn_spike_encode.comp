#version 450
// Spike encoders, as src/gr_cpu_nn_spiking.c. Specialization: 1 = 0
// Bernoulli (o[i] = scale if u_i < prob else 0, u_i the Philox uniform of
// counter + i under seed; prob = probs[i], or p when HAS_PROBS is 0),
// 1 latency (o is steps x width: one spike per x > threshold at step
// round((steps - 1) * (1 - min(x, 1)))); 2 = HAS_PROBS.
#include "common.glsl"
#include "philox.glsl"

layout(constant_id = 1) const uint LATENCY = 0;
layout(constant_id = 2) const uint HAS_PROBS = 0;

layout(push_constant) uniform Push {
    Floats o; Floats x; uint n; uint steps; float p; float scale; float threshold;
    uint seed_lo; uint seed_hi; uint counter_lo; uint counter_hi;
} p;

void main()
{
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += grid_threads()) {
        if (LATENCY == 0) {
            uint carry;
            uint lo = uaddCarry(p.counter_lo, i, carry);
            uvec4 w = philox(uvec4(lo, p.counter_hi + carry, 0u, 0u), uvec2(p.seed_lo, p.seed_hi));
            float u = float(w.x >> 8) * (1.0 / 16777216.0);
            float prob = HAS_PROBS == 1 ? p.x.v[i] : p.p;
            p.o.v[i] = u < prob ? p.scale : 0.0;
        } else {
            float x = p.x.v[i];
            uint spike = p.steps;
            if (x > p.threshold) {
                float c = clamp(x, 0.0, 1.0);
                precise float at = float(p.steps - 1u) * (1.0 - c) + 0.5;
                spike = uint(floor(at));
            }
            for (uint t = 0; t < p.steps; t++) p.o.v[t * p.n + i] = t == spike ? 1.0 : 0.0;
        }
    }
}
