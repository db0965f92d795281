#version 450
// Optimizer pass 1 (reduce) over every piece with a gradient, in one
// dispatch: per-workgroup partial sums of g·d_prev, g·m_prev, g·g,
// (g - ema_g)² and the count of non-finite gradient elements (tested on the
// bit pattern, never inferred from a sum), in double. d_prev and m_prev come from m and v (vmax);
// with surprise on, the new ema_g is written here too, into the other buffer
// of a double-buffered ema_g (so a skipped step leaves the current one as it
// was), or in place when nothing can skip the step.
//
// Specialization: 1 = ALL_SUMS (0: only the non-finite count, for AdamW),
// 2 = PER_PARAM (count non-finite elements per parameter too, for the
// message of nonfinite = "error"), 3 = AMSGRAD (d_prev uses vmax where it exists).
#include "optim_common.glsl"

layout(constant_id = 1) const uint ALL_SUMS = 1u;
layout(constant_id = 2) const uint PER_PARAM = 0u;
layout(constant_id = 3) const uint AMSGRAD = 0u;

layout(push_constant) uniform Push {
    Pieces pieces; Block blk; Doubles partials; Words tflags; Words counts;
    uint npieces; uint chunks;
} p;

double acc_gd = 0.0lf, acc_gm = 0.0lf, acc_gg = 0.0lf, acc_ee = 0.0lf, acc_nf = 0.0lf;
uint chunk_nf;

bool dprev, surprise;
float ib1, ib2, eps, gamma, omg;

// One element's terms; returns its new ema_g (fresh: the ema_g starts as g).
float take(float g, float m, float vh, float e, bool fresh)
{
    chunk_nf += is_finite(g) ? 0u : 1u;   // on the bits: no float mode can change it
    if (ALL_SUMS == 0u) return 0.0;
    double x = double(g);
    acc_gg += x * x;
    if (dprev) {
        acc_gd += x * double(direction(m, vh, ib1, ib2, eps));
        acc_gm += x * double(m);
    }
    if (!surprise) return 0.0;
    double d = fresh ? x : x - double(e);
    acc_ee += d * d;
    precise float upd = gamma * e + omg * g;
    return fresh ? g : upd;
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    dprev = ALL_SUMS != 0u && p.blk.p1_dprev != 0u;
    surprise = ALL_SUMS != 0u && p.blk.p1_surprise != 0u;
    ib1 = p.blk.p1_inv_bc1; ib2 = p.blk.p1_inv_bc2; eps = p.blk.p1_eps;
    gamma = p.blk.p1_gamma; omg = p.blk.p1_omg;

    // A contiguous run of chunks per workgroup: the piece of the next chunk
    // is the same or a later one.
    uint per = (p.chunks + gl_NumWorkGroups.x - 1u) / gl_NumWorkGroups.x;
    uint c0 = gl_WorkGroupID.x * per, c1 = min(c0 + per, p.chunks);
    uint at = c0 < c1 ? find_piece(p.pieces, p.npieces, c0) : 0u;
    for (uint c = c0; c < c1; c++) {
        while (at + 1u < p.npieces && p.pieces.e[at + 1u].start <= c) at++;
        Piece e = p.pieces.e[at];
        uint tf = p.tflags.v[e.param];
        Floats vh = e.v;
        if (AMSGRAD != 0u && (tf & TF_VMAX) != 0u) vh = e.vmax;
        bool fresh = (tf & TF_EMA) == 0u, alt = (tf & TF_EMA_ALT) != 0u;
        Floats ein = e.ema_a, eout = e.ema_a;
        if (alt) ein = e.ema_b;
        if ((e.bits & PIECE_EMA_ALT) != 0u) eout = alt ? e.ema_a : e.ema_b;
        uint base = (c - e.start) * CHUNK;
        chunk_nf = 0u;
        if ((e.bits & PIECE_VEC4) != 0u) {
            Float4s g4 = Float4s(e.g), m4 = Float4s(e.m), v4 = Float4s(vh), ei4 = Float4s(ein), eo4 = Float4s(eout);
            for (uint k = 0u; k < ITER; k++) {
                uint i = base + 4u * (k * WG + tid);
                if (i + 4u <= e.n) {
                    uint q = i / 4u;
                    vec4 gv = g4.v[q], mv = vec4(0.0), vv = vec4(0.0), ev = vec4(0.0), eo;
                    if (dprev) { mv = m4.v[q]; vv = v4.v[q]; }
                    if (surprise && !fresh) ev = ei4.v[q];
                    for (int j = 0; j < 4; j++) eo[j] = take(gv[j], mv[j], vv[j], ev[j], fresh);
                    if (surprise) eo4.v[q] = eo;
                } else {
                    for (uint j = i; j < e.n && j < i + 4u; j++) {
                        float mj = dprev ? e.m.v[j] : 0.0, vj = dprev ? vh.v[j] : 0.0;
                        float ej = surprise && !fresh ? ein.v[j] : 0.0;
                        float o = take(e.g.v[j], mj, vj, ej, fresh);
                        if (surprise) eout.v[j] = o;
                    }
                }
            }
        } else {
            for (uint k = 0u; k < 4u * ITER; k++) {
                uint j = base + k * WG + tid;
                if (j >= e.n) break;
                float mj = dprev ? e.m.v[j] : 0.0, vj = dprev ? vh.v[j] : 0.0;
                float ej = surprise && !fresh ? ein.v[j] : 0.0;
                float o = take(e.g.v[j], mj, vj, ej, fresh);
                if (surprise) eout.v[j] = o;
            }
        }
        if (PER_PARAM != 0u && chunk_nf > 0u) atomicAdd(p.counts.v[e.param], chunk_nf);
        acc_nf += double(chunk_nf);
    }

    red[tid] = acc_gd;
    red[WG + tid] = acc_gm;
    red[2u * WG + tid] = acc_gg;
    red[3u * WG + tid] = acc_ee;
    red[4u * WG + tid] = acc_nf;
    workgroup_sums(5u);
    if (tid < 5u) p.partials.v[gl_WorkGroupID.x * 5u + tid] = red_out[tid];
}
