#version 450
// dst = src (FILL = 0) or every word of dst = value (FILL = 1), over n 32-bit
// words moved as bit patterns: no float operation touches them, so NaN
// payloads and subnormals arrive unchanged on every device. Specialization:
// 1 = FILL, 2 = 1 when the addresses are 16-byte aligned (four words per access).
#include "common.glsl"

layout(constant_id = 1) const uint FILL = 0;
layout(constant_id = 2) const uint VEC4 = 0;

layout(push_constant) uniform Push { Words dst; Words src; uint n; uint value; } p;

void main()
{
    uint stride = grid_threads(), g = gl_GlobalInvocationID.x;
    if (VEC4 == 1) {
        Word4s d4 = Word4s(p.dst), s4 = Word4s(p.src);
        uint n4 = p.n / 4;
        for (uint i = g; i < n4; i += stride) d4.v[i] = FILL == 1 ? uvec4(p.value) : s4.v[i];
        uint t = n4 * 4 + g;
        if (t < p.n) p.dst.v[t] = FILL == 1 ? p.value : p.src.v[t];
    } else {
        for (uint i = g; i < p.n; i += stride) p.dst.v[i] = FILL == 1 ? p.value : p.src.v[i];
    }
}
