#version 450
// dst[window] = src[window] for two strided windows of one shape (up to 8
// dimensions, element strides >= 0, both bases already offset), moved as bit
// patterns.
#include "common.glsl"

layout(push_constant) uniform Push {
    Words dst; Words src;
    uint n; int ndim;
    int shape[8]; int dstride[8]; int sstride[8];
} p;

void main()
{
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += grid_threads()) {
        int rest = int(i), so = 0, dof = 0;
        for (int d = p.ndim - 1; d >= 0; d--) {
            int c = rest % p.shape[d];
            rest /= p.shape[d];
            so += c * p.sstride[d];
            dof += c * p.dstride[d];
        }
        p.dst.v[dof] = p.src.v[so];
    }
}
