#version 450
// Philox4x32-10 random fills, operation for operation as gr_random.h:
// element i uses counter block (c lo, c hi, 0, 0) with c = counter + i under
// key (seed lo, seed hi). Specialization: 1 = 0 uniform on [a, b), 1 normal
// with mean a and std b (Box-Muller, float32, with log, sqrt and cos of
// known precision: ieee.glsl, elementary.glsl).
#include "common.glsl"
#include "philox.glsl"
#include "ieee.glsl"
#include "pairs.glsl"
#include "elementary.glsl"

layout(constant_id = 1) const uint KIND = 0;

const float TWO_TO_MINUS_24 = 5.9604644775390625e-08;

layout(push_constant) uniform Push {
    Floats o; uint n; uint seed_lo; uint seed_hi; uint counter_lo; uint counter_hi; float a; float b;
} p;

void main()
{
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += grid_threads()) {
        uint carry;
        uint lo = uaddCarry(p.counter_lo, i, carry);
        uvec4 o = philox(uvec4(lo, p.counter_hi + carry, 0u, 0u), uvec2(p.seed_lo, p.seed_hi));
        precise float r;
        if (KIND == 0) {
            float u = float(o.x >> 8) * TWO_TO_MINUS_24;
            r = p.a + (p.b - p.a) * u;
        } else {
            float u1 = float((o.x >> 8) + 1u) * TWO_TO_MINUS_24;
            float u2 = float(o.y >> 8) * TWO_TO_MINUS_24;
            precise float angle = 6.28318530717958647692 * u2;
            float z = mul_ieee(sqrt_ieee(-2.0 * log_ieee(u1)), cos_ieee(angle));
            r = p.a + p.b * z;
        }
        p.o.v[i] = r;
    }
}
