#version 450
// Reductions over the middle extent of x viewed as (outer, len, inner), and
// the dot product. Element (o, l, i) is at o*so + l*sl + i*si.
//
// A workgroup holds COLS columns (inner positions) by WG/COLS rows; each
// thread walks its share of one segment of len, then the rows combine in a
// shared-memory tree. Several segments per output give partial results that
// a second pass (STAGE bit 0: input is partials) combines.
//
// Precision: sums (sum, mean, norm, dot) are carried as unevaluated pairs
// hi + lo of float32 (pairs.glsl), about 48 significant bits, so results
// match the CPU's double accumulation to float32 rounding; the mean's
// division and the norm's square root are rounded from the pair. max and min
// propagate NaN; argmax picks the first maximum, NaN counting as larger than
// everything, as on the CPU. Comparisons and NaN tests work on the bit
// patterns (ieee.glsl), whatever the device's float modes.
#include "common.glsl"
#include "ieee.glsl"
#include "pairs.glsl"

layout(constant_id = 1) const uint OP = 0;     // 0 sum, 1 mean, 2 max, 3 min, 4 argmax, 5 norm, 6 dot
layout(constant_id = 2) const uint COLS = 1;   // power of two dividing WG
layout(constant_id = 3) const uint STAGE = 0;  // bit 0: input partials, bit 1: output partials

layout(push_constant) uniform Push {
    Floats x; Floats y; Floats o;
    uint outer; uint len; uint inner;
    uint so; uint sl; uint si;
    uint segs; uint seg_len; uint tiles; uint groups;
    float len_hi; float len_lo;                // the mean's divisor as a float pair
} p;

shared vec4 part[gl_WorkGroupSize.x];

const bool SUMLIKE = OP == 0 || OP == 1 || OP == 5 || OP == 6;

const float NO_EXPONENT = -300.0;   // below every float exponent

vec4 identity()
{
    if (OP == 5) return vec4(0.0, 0.0, NO_EXPONENT, 0.0);
    if (SUMLIKE) return vec4(0.0);
    if (OP == 3) return vec4(inf_with(0u), 0.0, 0.0, 0.0);
    return vec4(inf_with(SIGN), uintBitsToFloat(0xffffffffu), 0.0, 0.0);
}

// A norm accumulator is (hi, lo, k, special): the sum of the squares of the
// values scaled by 2^-k, k the largest exponent seen, so that squares neither
// overflow nor underflow; special holds the largest infinity or a NaN.

// The accumulator's pair rescaled to exponent k >= s.z.
vec2 rescaled(vec4 s, float k)
{
    int shift = int(max(2.0 * (s.z - k), -300.0));
    return vec2(scale2(s.x, shift), scale2(s.y, shift));
}

// The larger of two values >= 0, or the first NaN.
float special(float a, float b)
{
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return bits(a) >= bits(b) ? a : b;
}

vec4 add_norm(vec4 s, float v)
{
    if (!is_finite(v)) return vec4(s.xyz, special(s.w, abs_ieee(v)));
    if (is_zero(v)) return s;
    int e;
    significand(bits(v) & ABS, e);
    float k = max(s.z, float(e + 24));        // |v| < 2^(e + 24)
    float sv = scale2(v, -int(k));
    return vec4(pair_add_product(rescaled(s, k), sv, sv), k, s.w);
}

vec4 combine_norm(vec4 s, vec4 q)
{
    float k = max(s.z, q.z);
    return vec4(pair_add2(rescaled(s, k), rescaled(q, k)), k, special(s.w, q.w));
}

// Whether candidate q should replace the best so far s.
bool wins(vec4 s, vec4 q)
{
    if (OP == 2) return less_ieee(s.x, q.x) || is_nan(q.x);
    if (OP == 3) return less_ieee(q.x, s.x) || is_nan(q.x);
    bool qn = is_nan(q.x), sn = is_nan(s.x);
    uint qi = floatBitsToUint(q.y), si = floatBitsToUint(s.y);
    if (qn || sn) return qn && (!sn || qi < si);
    return less_ieee(s.x, q.x) || (order_key(q.x) == order_key(s.x) && qi < si);
}

vec4 combine(vec4 s, vec4 q)
{
    if (OP == 5) return combine_norm(s, q);
    if (SUMLIKE) return vec4(pair_add2(s.xy, q.xy), 0.0, 0.0);
    if (OP == 2 || OP == 3) return is_nan(s.x) ? s : (wins(s, q) ? q : s);
    return wins(s, q) ? q : s;
}

vec4 take(vec4 s, uint idx, uint l)
{
    if ((STAGE & 1u) != 0u) return combine(s, Float4s(p.x).v[idx]);
    float v = p.x.v[idx];
    if (OP == 0 || OP == 1) return vec4(pair_add(s.xy, v), 0.0, 0.0);
    if (OP == 5) return add_norm(s, v);
    if (OP == 6) return vec4(pair_add_product(s.xy, v, p.y.v[idx]), 0.0, 0.0);
    return combine(s, vec4(v, uintBitsToFloat(l), 0.0, 0.0));
}

float finish(vec4 s)
{
    if (OP == 0) return add_ieee(s.x, s.y);
    if (OP == 1) return pair_div(s.xy, vec2(p.len_hi, p.len_lo));
    if (OP == 5) return bits(s.w) != 0u ? s.w : scale2(pair_sqrt(s.xy), int(s.z));
    if (OP == 4) return float(floatBitsToUint(s.y));
    return s.x;
}

void main()
{
    const uint ROWS = gl_WorkGroupSize.x / COLS;
    uint tid = gl_LocalInvocationID.x;
    uint col = tid % COLS, row = tid / COLS;
    for (uint g = gl_WorkGroupID.x; g < p.groups; g += gl_NumWorkGroups.x) {
        uint seg = g % p.segs, rest = g / p.segs;
        uint i = (rest % p.tiles) * COLS + col, o = rest / p.tiles;
        vec4 acc = identity();
        if (i < p.inner) {
            uint l1 = min(p.len, (seg + 1u) * p.seg_len);
            uint base = o * p.so + i * p.si;
            for (uint l = seg * p.seg_len + row; l < l1; l += ROWS) acc = take(acc, base + l * p.sl, l);
        }
        part[tid] = acc;
        barrier();
        for (uint s = ROWS / 2u; s > 0u; s >>= 1) {
            if (row < s) part[tid] = combine(part[tid], part[tid + s * COLS]);
            barrier();
        }
        if (row == 0u && i < p.inner) {
            uint at = (o * p.segs + seg) * p.inner + i;
            if ((STAGE & 2u) != 0u) Float4s(p.o).v[at] = part[tid];
            else p.o.v[at] = finish(part[tid]);
        }
        barrier();
    }
}
