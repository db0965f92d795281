#version 450
// out[b] = a[b] (m x k) * b[b] (k x n), row-major float32, for every batch
// entry b. Each workgroup of TX x TX threads computes a (8 TX) x (8 TX) tile
// of out, stepping through k in slices of 8 held in shared memory (A stored
// transposed); two slices alternate, so that the next slice is fetched into
// registers while the current one is used and one barrier per slice suffices.
// Each thread keeps an 8 x 8 block of results in registers, made of two 4-row
// by two 4-column groups half a tile apart, so that its shared-memory reads
// are conflict-free vec4 loads.
// Specialization: 1 = TX (8 or 16; the workgroup size must be TX * TX),
// 2 = ALIGNED: k, n and every base offset a multiple of 4 (vec4 global access).
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 1) const uint TX = 16;
layout(constant_id = 2) const uint ALIGNED = 0;

const uint BK = 8;
const uint BM = TX * 8;                 // tile rows = tile columns
const uint Q = BM / 4;                  // vec4s per tile row
const uint LOADS = 16 / TX;             // vec4s of each operand a thread fetches per slice

layout(push_constant) uniform Push {
    Floats a; Floats b; Floats o;
    uint m; uint n; uint k;
    uint a_bs; uint b_bs;
    uint tiles_m; uint tiles_n; uint groups;
} p;

shared vec4 As[2 * BK * Q];             // [slice][k][m / 4], A transposed
shared vec4 Bs[2 * BK * Q];             // [slice][k][n / 4]

vec4 load_a(uint base, uint row, uint col)
{
    if (row >= p.m || col >= p.k) return vec4(0.0);
    uint at = base + row * p.k + col;
    if (ALIGNED == 1) return Float4s(p.a).v[at / 4];
    vec4 v;
    [[unroll]] for (uint j = 0; j < 4; j++) v[j] = col + j < p.k ? p.a.v[at + j] : 0.0;
    return v;
}

vec4 load_b(uint base, uint row, uint col)
{
    if (row >= p.k || col >= p.n) return vec4(0.0);
    uint at = base + row * p.n + col;
    if (ALIGNED == 1) return Float4s(p.b).v[at / 4];
    vec4 v;
    [[unroll]] for (uint j = 0; j < 4; j++) v[j] = col + j < p.n ? p.b.v[at + j] : 0.0;
    return v;
}

void main()
{
    const uint NT = TX * TX;
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid % TX, ty = tid / TX;
    uint slices = (p.k + BK - 1) / BK;

    for (uint g = gl_WorkGroupID.x; g < p.groups; g += gl_NumWorkGroups.x) {
        uint tn = g % p.tiles_n, rest = g / p.tiles_n;
        uint tm = rest % p.tiles_m, batch = rest / p.tiles_m;
        uint row0 = tm * BM, col0 = tn * BM;
        uint abase = batch * p.a_bs, bbase = batch * p.b_bs;

        vec4 pa[2], pb[2];
        // Slice 0 straight into shared memory.
        [[unroll]] for (uint r = 0; r < LOADS; r++) {
            uint q = tid + r * NT;
            uint arow = q / 2, akq = (q % 2) * 4;
            uint bk = q / Q, bq = q % Q;
            pa[r] = load_a(abase, row0 + arow, akq);
            pb[r] = load_b(bbase, bk, col0 + bq * 4);
            [[unroll]] for (uint j = 0; j < 4; j++) As[(akq + j) * Q + arow / 4][arow % 4] = pa[r][j];
            Bs[bk * Q + bq] = pb[r];
        }
        barrier();

        // Explicit fma: the IEEE-preserving float controls of common.glsl stop
        // the compiler from contracting a * b + c on its own.
        vec4 acc[16];
        [[unroll]] for (uint i = 0; i < 16; i++) acc[i] = vec4(0.0);

        for (uint s = 0; s < slices; s++) {
            uint cur = (s % 2) * BK * Q, nxt = ((s + 1) % 2) * BK * Q;
            bool more = s + 1 < slices;
            if (more) {
                uint kk0 = (s + 1) * BK;
                [[unroll]] for (uint r = 0; r < LOADS; r++) {
                    uint q = tid + r * NT;
                    pa[r] = load_a(abase, row0 + q / 2, kk0 + (q % 2) * 4);
                    pb[r] = load_b(bbase, kk0 + q / Q, col0 + (q % Q) * 4);
                }
            }
            [[unroll]] for (uint kk = 0; kk < BK; kk++) {
                vec4 a0 = As[cur + kk * Q + ty], a1 = As[cur + kk * Q + TX + ty];
                vec4 b0 = Bs[cur + kk * Q + tx], b1 = Bs[cur + kk * Q + TX + tx];
                [[unroll]] for (uint i = 0; i < 4; i++) {
                    acc[i * 2] = fma(vec4(a0[i]), b0, acc[i * 2]);
                    acc[i * 2 + 1] = fma(vec4(a0[i]), b1, acc[i * 2 + 1]);
                    acc[8 + i * 2] = fma(vec4(a1[i]), b0, acc[8 + i * 2]);
                    acc[8 + i * 2 + 1] = fma(vec4(a1[i]), b1, acc[8 + i * 2 + 1]);
                }
            }
            if (more) {
                [[unroll]] for (uint r = 0; r < LOADS; r++) {
                    uint q = tid + r * NT;
                    uint arow = q / 2, akq = (q % 2) * 4;
                    [[unroll]] for (uint j = 0; j < 4; j++) As[nxt + (akq + j) * Q + arow / 4][arow % 4] = pa[r][j];
                    Bs[nxt + (q / Q) * Q + q % Q] = pb[r];
                }
            }
            barrier();
        }

        uint obase = batch * p.m * p.n;
        [[unroll]] for (uint i = 0; i < 8; i++) {
            uint row = row0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + (i - 4));
            [[unroll]] for (uint h = 0; h < 2; h++) {
                uint col = col0 + h * (BM / 2) + tx * 4;
                vec4 v = acc[(i % 4) * 2 + h + (i < 4 ? 0 : 8)];
                uint at = obase + row * p.n + col;
                if (row < p.m && ALIGNED == 1 && col + 3 < p.n) {
                    Float4s(p.o).v[at / 4] = v;
                } else if (row < p.m) {
                    [[unroll]] for (uint j = 0; j < 4; j++)
                        if (col + j < p.n) p.o.v[at + j] = v[j];
                }
            }
        }
    }
}
