#version 450
// y = f(x; a, b) for the maps of gr_unop, in the CPU's operation order.
// Specialization: 1 = the map (gr_unop), 2 = 1 when x and y are 16-byte
// aligned, so that four elements move per load.
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const uint VEC4 = 0;

layout(push_constant) uniform Push { Floats x; Floats y; uint n; float a; float b; } p;

float gpow(float x, float e)
{
    // powf semantics: GLSL pow is undefined for x < 0 and for x = 0, e <= 0.
    if (e == 0.0 || x == 1.0) return 1.0;
    if (isnan(x) || isnan(e)) return x + e;
    float ax = abs(x);
    float r = ax == 0.0 ? (e > 0.0 ? 0.0 : 1.0 / 0.0) : pow(ax, e);
    if (x < 0.0 || (x == 0.0 && floatBitsToUint(x) != 0u)) {
        if (floor(e) != e) return x == 0.0 || isinf(x) ? r : 0.0 / 0.0;
        if (abs(e) < 16777216.0 && mod(e, 2.0) == 1.0) r = -r;
    }
    return r;
}

float f(float v)
{
    precise float r;
    switch (OP) {
    case 0: r = -v; break;
    case 1: r = exp(v); break;
    case 2: r = log(v); break;
    case 3: r = sqrt(v); break;
    case 4: r = abs(v); break;
    case 5: r = abs(v) > 15.0 ? sign(v) : tanh(v); break;   // tanh(15) rounds to 1 in float
    case 6: r = 1.0 / (1.0 + exp(-v)); break;
    case 7: r = v < 0.0 ? 0.0 : v; break;
    case 8: r = gpow(v, p.a); break;
    case 9: r = v < p.a ? p.a : (v > p.b ? p.b : v); break;
    case 10: r = v + p.a; break;
    case 11: r = v - p.a; break;
    case 12: r = p.a - v; break;
    case 13: r = v * p.a; break;
    case 14: r = v / p.a; break;
    default: r = p.a / v; break;
    }
    return r;
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
