#version 450
// out (outer, nidx, inner) = x (outer, len, inner) gathered along the middle
// extent by the int32 indices idx[nidx], already checked to lie in [0, len);
// values move as bit patterns.
#include "common.glsl"

layout(push_constant) uniform Push {
    Words x; Words o; Ints idx;
    uint outer; uint len; uint inner; uint nidx; uint n;
} p;

void main()
{
    for (uint e = gl_GlobalInvocationID.x; e < p.n; e += grid_threads()) {
        uint i = e % p.inner, rest = e / p.inner;
        uint j = rest % p.nidx, o = rest / p.nidx;
        p.o.v[e] = p.x.v[(o * p.len + uint(p.idx.v[j])) * p.inner + i];
    }
}
