#version 450
// Cross-entropy per row of logits (n x c), one thread per row, as
// src/gr_cpu_nn_loss.c: the row's max, then log(sum(exp(x - max))).
// Specialization: 1 = 0 forward (losses[i] = lse - (x[label] - max)),
// 1 backward (grad = scale * (softmax - onehot)). Labels are 0-based.
#include "common.glsl"

layout(constant_id = 1) const uint BACKWARD = 0;

layout(push_constant) uniform Push { Floats x; Floats labels; Floats o; uint n; uint c; float scale; } p;

void main()
{
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += grid_threads()) {
        uint base = i * p.c;
        float mx = p.x.v[base];
        for (uint j = 1; j < p.c; j++) mx = max(mx, p.x.v[base + j]);
        float s = 0.0;
        for (uint j = 0; j < p.c; j++) s += exp(p.x.v[base + j] - mx);
        float lse = log(s);
        uint label = uint(p.labels.v[i]);
        if (BACKWARD == 0) {
            p.o.v[i] = lse - (p.x.v[base + label] - mx);
        } else {
            for (uint j = 0; j < p.c; j++) {
                float g = p.scale * exp(p.x.v[base + j] - mx - lse);
                p.o.v[base + j] = j == label ? g - p.scale : g;
            }
        }
    }
}
