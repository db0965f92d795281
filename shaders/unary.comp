#version 450
// y = f(x; a, b) for the maps of gr_unop, with the CPU's semantics (C's
// expf, logf, ... and IEEE arithmetic; see ieee.glsl and elementary.glsl).
// Specialization: 1 = the map (gr_unop), 2 = 1 when x and y are 16-byte
// aligned, so that four elements move per load.
#include "common.glsl"
#include "ieee.glsl"
#include "pairs.glsl"
#include "elementary.glsl"

layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const uint VEC4 = 0;

layout(push_constant) uniform Push { Floats x; Floats y; uint n; float a; float b; } p;

float f(float v)
{
    switch (OP) {
    case 0: return neg_ieee(v);
    case 1: return exp_ieee(v);
    case 2: return log_ieee(v);
    case 3: return sqrt_ieee(v);
    case 4: return abs_ieee(v);
    case 5: return tanh_ieee(v);
    case 6: return sigmoid_ieee(v);
    case 7: return less_ieee(v, 0.0) ? 0.0 : v;                  // NaN and -0 pass through
    case 8: return pow_ieee(v, p.a);
    case 9: return less_ieee(v, p.a) ? p.a : (less_ieee(p.b, v) ? p.b : v);
    case 10: return add_ieee(v, p.a);
    case 11: return sub_ieee(v, p.a);
    case 12: return sub_ieee(p.a, v);
    case 13: return mul_ieee(v, p.a);
    case 14: return div_ieee(v, p.a);
    default: return div_ieee(p.a, v);
    }
}

void main()
{
    uint stride = grid_threads();
    if (VEC4 == 1) {
        Float4s x4 = Float4s(p.x), y4 = Float4s(p.y);
        uint n4 = p.n / 4;
        for (uint i = gl_GlobalInvocationID.x; i < n4; i += stride) {
            vec4 v = x4.v[i];
            y4.v[i] = vec4(f(v.x), f(v.y), f(v.z), f(v.w));
        }
        uint t = n4 * 4 + gl_GlobalInvocationID.x;
        if (t < p.n) p.y.v[t] = f(p.x.v[t]);
    } else {
        for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) p.y.v[i] = f(p.x.v[i]);
    }
}
