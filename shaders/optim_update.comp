#version 450
// Optimizer pass 2 (update) over every piece in one dispatch, with the
// coefficients the scalar kernel wrote: p, m and v (and vmax) of pieces with
// a gradient, the same float32 arithmetic as the CPU pass. With DNORM, each
// workgroup's partial Σd² of the new direction (pieces without a gradient
// contribute their unchanged direction) for the next step's normaliser.
// Nothing is written when the scalar kernel skipped the step. With PUSHED,
// the host derived the coefficients (a step no device value decides) and
// they come as push constants: no scalar kernel runs before this pass.
//
// Specialization: 1 = AMSGRAD, 2 = DNORM, 3 = PUSHED.
#include "optim_common.glsl"

layout(constant_id = 1) const uint AMSGRAD = 0u;
layout(constant_id = 2) const uint DNORM = 0u;
layout(constant_id = 3) const uint PUSHED = 0u;

layout(push_constant) uniform Push {
    Pieces pieces; Block blk; Doubles partials; Words tflags;
    uint npieces; uint chunks;
    // The coefficients, with PUSHED: b1, 1 - b1, b2, 1 - b2, step, decay, 1/bc1, 1/bc2, eps.
    float c[9];
} p;

double acc = 0.0lf;
float b1, omb1, b2, omb2, step, decay, ib1, ib2, eps;

// One element of a parameter with a gradient; x = (p, m, v, vmax) in and out.
vec4 update(vec4 x, float g)
{
    precise float m = b1 * x.y + omb1 * g;
    precise float v = b2 * x.z + omb2 * g * g;
    float vh = v, vmax = x.w;
    if (AMSGRAD != 0u) {
        vh = v > vmax ? v : vmax;   // a NaN v leaves vmax as it was
        vmax = vh;
    }
    precise float den = sqrt(vh * ib2) + eps;
    precise float q = step * m / den;
    precise float pn = x.x * decay - (den != 0.0 ? q : 0.0);   // as direction() does
    if (DNORM != 0u) {
        precise float d = m * ib1 / den;
        d = den != 0.0 ? d : 0.0;
        acc += double(d) * double(d);
    }
    return vec4(pn, m, v, vmax);
}

void unchanged(float m, float vh)
{
    float d = direction(m, vh, ib1, ib2, eps);
    acc += double(d) * double(d);
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    if (PUSHED != 0u) {
        b1 = p.c[0]; omb1 = p.c[1]; b2 = p.c[2]; omb2 = p.c[3];
        step = p.c[4]; decay = p.c[5]; ib1 = p.c[6]; ib2 = p.c[7]; eps = p.c[8];
    } else {
        if (p.blk.p2_skip != 0u) return;
        b1 = p.blk.p2_b1; omb1 = p.blk.p2_omb1; b2 = p.blk.p2_b2; omb2 = p.blk.p2_omb2;
        step = p.blk.p2_step; decay = p.blk.p2_decay; ib1 = p.blk.p2_inv_bc1; ib2 = p.blk.p2_inv_bc2;
        eps = p.blk.p2_eps;
    }

    // A contiguous run of chunks per workgroup: the piece of the next chunk
    // is the same or a later one.
    uint per = (p.chunks + gl_NumWorkGroups.x - 1u) / gl_NumWorkGroups.x;
    uint c0 = gl_WorkGroupID.x * per, c1 = min(c0 + per, p.chunks);
    uint at = c0 < c1 ? find_piece(p.pieces, p.npieces, c0) : 0u;
    for (uint c = c0; c < c1; c++) {
        while (at + 1u < p.npieces && p.pieces.e[at + 1u].start <= c) at++;
        Piece e = p.pieces.e[at];
        uint base = (c - e.start) * CHUNK;
        bool vec4s = (e.bits & PIECE_VEC4) != 0u;
        if ((e.bits & PIECE_GRAD) == 0u) {
            // A parameter without a gradient: only its d² (DNORM), where its moments exist.
            uint tf = p.tflags.v[e.param];
            if (DNORM == 0u || (tf & TF_MOMENTS) == 0u) continue;
            Floats vh = e.v;
            if (AMSGRAD != 0u && (tf & TF_VMAX) != 0u) vh = e.vmax;
            for (uint k = 0u; k < 4u * ITER; k++) {
                uint j = base + k * WG + tid;
                if (j < e.n) unchanged(e.m.v[j], vh.v[j]);
            }
            continue;
        }
        if (vec4s) {
            Float4s p4 = Float4s(e.p), g4 = Float4s(e.g), m4 = Float4s(e.m), v4 = Float4s(e.v), x4 = Float4s(e.vmax);
            for (uint k = 0u; k < ITER; k++) {
                uint i = base + 4u * (k * WG + tid);
                if (i + 4u <= e.n) {
                    uint q = i / 4u;
                    vec4 pv = p4.v[q], gv = g4.v[q], mv = m4.v[q], vv = v4.v[q], xv = vec4(0.0);
                    if (AMSGRAD != 0u) xv = x4.v[q];
                    for (int j = 0; j < 4; j++) {
                        vec4 r = update(vec4(pv[j], mv[j], vv[j], xv[j]), gv[j]);
                        pv[j] = r.x; mv[j] = r.y; vv[j] = r.z; xv[j] = r.w;
                    }
                    p4.v[q] = pv; m4.v[q] = mv; v4.v[q] = vv;
                    if (AMSGRAD != 0u) x4.v[q] = xv;
                    continue;
                }
                for (uint j = i; j < e.n && j < i + 4u; j++) {
                    vec4 r = update(vec4(e.p.v[j], e.m.v[j], e.v.v[j], AMSGRAD != 0u ? e.vmax.v[j] : 0.0), e.g.v[j]);
                    e.p.v[j] = r.x; e.m.v[j] = r.y; e.v.v[j] = r.z;
                    if (AMSGRAD != 0u) e.vmax.v[j] = r.w;
                }
            }
        } else {
            for (uint k = 0u; k < 4u * ITER; k++) {
                uint j = base + k * WG + tid;
                if (j >= e.n) break;
                vec4 r = update(vec4(e.p.v[j], e.m.v[j], e.v.v[j], AMSGRAD != 0u ? e.vmax.v[j] : 0.0), e.g.v[j]);
                e.p.v[j] = r.x; e.m.v[j] = r.y; e.v.v[j] = r.z;
                if (AMSGRAD != 0u) e.vmax.v[j] = r.w;
            }
        }
    }

    if (DNORM == 0u) return;
    red[tid] = acc;
    workgroup_sums(1u);
    if (tid == 0u) p.partials.v[gl_WorkGroupID.x] = red_out[0];
}
