#version 450
#include "common.glsl"
layout(push_constant) uniform P { Floats x; Floats y; uint n; } p;
void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += grid_threads()) p.y.v[i] = -p.x.v[i];
}
