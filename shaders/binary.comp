#version 450
// out = a op b with IEEE results, division exactly rounded (ieee.glsl).
// Specialization: 1 = the operator (gr_binop), 2 = the layout:
// 0 both contiguous, 1 b a scalar, 2 a a scalar, 3 a general broadcast plan
// (output dimensions with per-input strides, 0 where broadcast);
// 3 = 1 when the contiguous operands are 16-byte aligned (vec4 access).
#include "common.glsl"
#include "ieee.glsl"

layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const uint MODE = 0;
layout(constant_id = 3) const uint VEC4 = 0;

layout(push_constant) uniform Push {
    Floats a; Floats b; Floats o;
    uint n; int ndim;
    int shape[8]; int astride[8]; int bstride[8];
} p;

float apply(float x, float y) { return arith(OP, x, y); }

vec4 apply4(vec4 x, vec4 y)
{
    return vec4(apply(x.x, y.x), apply(x.y, y.y), apply(x.z, y.z), apply(x.w, y.w));
}

void main()
{
    uint stride = grid_threads();
    uint g = gl_GlobalInvocationID.x;
    if (MODE == 3) {
        for (uint i = g; i < p.n; i += stride) {
            int rest = int(i), ao = 0, bo = 0;
            for (int d = p.ndim - 1; d >= 0; d--) {
                int c = rest % p.shape[d];
                rest /= p.shape[d];
                ao += c * p.astride[d];
                bo += c * p.bstride[d];
            }
            p.o.v[i] = apply(p.a.v[ao], p.b.v[bo]);
        }
        return;
    }
    float sa = p.a.v[0], sb = p.b.v[0];
    if (VEC4 == 1) {
        Float4s a4 = Float4s(p.a), b4 = Float4s(p.b), o4 = Float4s(p.o);
        uint n4 = p.n / 4;
        for (uint i = g; i < n4; i += stride) {
            vec4 x = MODE == 2 ? vec4(sa) : a4.v[i];
            vec4 y = MODE == 1 ? vec4(sb) : b4.v[i];
            o4.v[i] = apply4(x, y);
        }
        g += n4 * 4;
        if (g >= p.n) return;
        stride = p.n;   // the tail: one element per thread
    }
    for (uint i = g; i < p.n; i += stride) {
        float x = MODE == 2 ? sa : p.a.v[i];
        float y = MODE == 1 ? sb : p.b.v[i];
        p.o.v[i] = apply(x, y);
    }
}
