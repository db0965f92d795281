#version 450
// grad_in = grad_out * f'(x) written in terms of the output y = f(x), as
// src/gr_cpu_nn_linear.c. Specialization: 1 = 0 relu, 1 tanh, 2 sigmoid.
#include "common.glsl"

layout(constant_id = 1) const uint ACT = 0;

layout(push_constant) uniform Push { Floats gin; Floats y; Floats gout; uint n; } p;

void main()
{
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += grid_threads()) {
        float v = p.y.v[i], g = p.gout.v[i];
        precise float r;
        if (ACT == 0) r = v > 0.0 ? g : 0.0;
        else if (ACT == 1) r = g * (1.0 - v * v);
        else r = g * v * (1.0 - v);
        p.gin.v[i] = r;
    }
}
