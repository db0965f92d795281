// Shared by the optimizer kernels (optim_reduce, optim_scalar, optim_update).
// src/gr_vk_optim.h lays out the same memory on the host; keep them in step.
//
// The multi-tensor table: every parameter taking part in a pass is one or
// more pieces (a piece spans at most 2^30 elements). A pass covers a chunk
// space: piece k owns chunks [start, start + ceil(n / CHUNK)), and each
// workgroup takes a contiguous run of chunks, finding the first one's piece
// by binary search over `start`.
//
// The optimizer's block holds the options (written by the host), the scalar
// state (doubles, in the order of gr_optim_scalar_name, then the fields
// below), and the coefficients the scalar kernel derives for the passes.
#include "common.glsl"
#include "ieee.glsl"

layout(buffer_reference, std430, buffer_reference_align = 8) buffer Doubles { double v[]; };

const uint WG = gl_WorkGroupSize.x;
const uint CHUNK = 2048u;        // elements per chunk (VKO_CHUNK)
const uint ITER = CHUNK / (4u * WG);   // vec4s per thread and chunk

// Piece bits
const uint PIECE_GRAD = 1u;      // has a gradient this step
const uint PIECE_VEC4 = 2u;      // every buffer is 16-byte aligned
const uint PIECE_EMA_ALT = 4u;   // ema_b exists: ema_g is double-buffered

struct Piece {
    Floats p; Floats g; Floats m; Floats v; Floats vmax; Floats ema_a; Floats ema_b;
    uint start; uint n; uint param; uint bits;
};
layout(buffer_reference, std430, buffer_reference_align = 8) buffer Pieces { Piece e[]; };

// Per-parameter device flags (the optimizer's own record of its slots)
const uint TF_MOMENTS = 1u;      // m and v exist
const uint TF_VMAX = 2u;         // vmax exists
const uint TF_EMA = 4u;          // ema_g exists
const uint TF_EMA_ALT = 8u;      // the current ema_g is ema_b

// Per-parameter step info (the host's, for this step)
const uint PI_GRAD = 1u;
const uint PI_EMA_ALT = 2u;

// Options: indices into Block.opt
const int O_KIND = 0, O_AMSGRAD = 1, O_BIAS = 2, O_NONFINITE = 3, O_BETA_HYPER = 4, O_LOG_SCALE = 5,
          O_LR_MIN = 6, O_LR_MAX = 7, O_HYPER_LR = 8, O_HYPER_LR_BETA = 9, O_ADAPT_MOMENTUM = 10,
          O_TRACK_SURPRISE = 11, O_GAMMA = 12, O_ALPHA = 13, O_TRAUMA = 14, O_BETA_MIN = 15,
          O_BETA_MAX = 16, O_WARMUP = 17, O_NORMALIZER = 18, O_ACCUMULATOR = 19, O_H_CLIP = 20,
          O_MAX_LR_CHANGE = 21, O_EPS = 22, O_WEIGHT_DECAY = 23;
// State: indices into Block.st
const int S_T = 0, S_SKIPPED = 1, S_LR = 2, S_BETA1 = 3, S_BETA2 = 4, S_PREV_BETA1 = 5,
          S_PREV_BETA2 = 6, S_P = 7, S_G_LR = 8, S_G_BETA = 9, S_PREV_NORM = 10, S_VAR_EMA = 11,
          S_S = 12, S_SBAR = 13, S_GAIN = 14,
          S_PENDING = 15,     // pass-2 partials of Σd² not yet finished into prev_norm
          S_FLAGS = 16,       // GR_STEP_* flags of the last step
          S_SUMS = 17;        // the last step's global sums (5)

// Sums of pass 1 (gr_optim_sum)
const int SUM_G_DPREV = 0, SUM_G_MPREV = 1, SUM_G_SQ = 2, SUM_E_SQ = 3, SUM_NONFINITE = 4, NSUMS = 5;

layout(buffer_reference, std430, buffer_reference_align = 8) buffer Block {
    double opt[32];
    double st[32];
    // pass 1 of the next step
    uint p1_dprev; uint p1_surprise; float p1_inv_bc1; float p1_inv_bc2;
    float p1_eps; float p1_gamma; float p1_omg; uint p1_pad;
    // pass 2 of the step in progress
    uint p2_skip; float p2_b1; float p2_omb1; float p2_b2; float p2_omb2; float p2_step;
    float p2_decay; float p2_inv_bc1; float p2_inv_bc2; float p2_eps;
};

// The piece owning chunk c: the last one whose start is <= c.
uint find_piece(Pieces t, uint npieces, uint c)
{
    uint lo = 0u, hi = npieces;
    while (hi - lo > 1u) {
        uint mid = (lo + hi) / 2u;
        if (t.e[mid].start <= c) lo = mid;
        else hi = mid;
    }
    return lo;
}

// The Adam direction of m and vhat, as the CPU computes it: 0 where the
// denominator is 0 (eps = 0 and vhat = 0), not 0/0.
float direction(float m, float vh, float inv_bc1, float inv_bc2, float eps)
{
    precise float den = sqrt(vh * inv_bc2) + eps;
    precise float d = m * inv_bc1 / den;
    return den != 0.0 ? d : 0.0;
}

// Workgroup sums in a fixed order: each thread puts up to 5 values in
// red[k * WG + thread] and calls workgroup_sums(width); the sum of value k
// is then red_out[k] (visible to thread k, and to all after a barrier). Two
// levels (8 threads per value add WG / 8 values each, then one adds those 8)
// keep barriers few, which CPU implementations of Vulkan pay dearly for.
// WG is 64 or 256.
shared double red[5u * WG];
shared double red_mid[5u * 8u];
shared double red_out[5u];

void workgroup_sums(uint width)
{
    const uint t = gl_LocalInvocationID.x, k = t / 8u, r = t % 8u, per = WG / 8u;
    barrier();
    if (k < width) {
        double s = 0.0lf;
        for (uint i = 0u; i < per; i++) s += red[k * WG + r * per + i];
        red_mid[k * 8u + r] = s;
    }
    barrier();
    if (t < width) {
        double s = 0.0lf;
        for (uint i = 0u; i < 8u; i++) s += red_mid[t * 8u + i];
        red_out[t] = s;
    }
}
