// Unevaluated pairs hi + lo of float32: about 48 significant bits from
// float operations, which Vulkan rounds correctly (RoundingModeRTE where
// offered). `precise` keeps every step as written: no fused multiply-add
// (which some drivers evaluate unfused anyway) and no reassociation.
// Needs ieee.glsl.

// s + v with the rounding error of the sum kept in lo (TwoSum). A sum that
// is infinite or NaN follows IEEE and leaves lo = 0.
vec2 pair_add(vec2 s, float v)
{
    if (!is_finite(s.x) || !is_finite(v)) return vec2(add_ieee(s.x, v), 0.0);
    precise float t = s.x + v;
    if (!is_finite(t)) return vec2(t, 0.0);
    precise float bp = t - s.x;
    precise float err = (s.x - (t - bp)) + (v - bp);
    precise float lo = s.y + err;
    return vec2(t, lo);
}

vec2 pair_add2(vec2 s, vec2 q)
{
    vec2 r = pair_add(s, q.x);
    if (!is_finite(r.x)) return r;
    precise float lo = r.y + q.y;
    precise float hi = r.x + lo;
    precise float lo2 = lo - (hi - r.x);
    return vec2(hi, lo2);
}

// Dekker's split of v into two halves of 12 significant bits each, scaled
// down first where 4097 v would overflow.
vec2 split(float v)
{
    bool big = abs_ieee(v) > 1.0e30;
    precise float w = v * (big ? 2.3283064365386963e-10 : 1.0);    // 2^-32
    precise float c = 4097.0 * w;
    precise float hi = c - (c - w);
    precise float lo = w - hi;
    return vec2(hi, lo) * (big ? 4294967296.0 : 1.0);
}

// u * w exactly as a pair (Dekker's product), for finite u and w whose
// product neither overflows nor falls below the normal range.
vec2 two_prod(float u, float w)
{
    precise float prod = u * w;
    if (!is_finite(prod)) return vec2(mul_ieee(u, w), 0.0);
    vec2 us = split(u), ws = split(w);
    precise float err = ((us.x * ws.x - prod) + us.x * ws.y + us.y * ws.x) + us.y * ws.y;
    return vec2(prod, is_finite(err) ? err : 0.0);
}

// s + u * w with the product exact.
vec2 pair_add_product(vec2 s, float u, float w)
{
    if (!is_finite(u) || !is_finite(w)) return pair_add(s, mul_ieee(u, w));
    vec2 p = two_prod(u, w);
    vec2 r = pair_add(s, p.x);
    if (!is_finite(r.x)) return r;
    precise float lo = r.y + p.y;
    return vec2(r.x, lo);
}

// (s.x + s.y) / (d.x + d.y) for d > 0: the correctly rounded quotient of
// the rounded numerator by d.x, corrected by the exact remainder.
float pair_div(vec2 s, vec2 d)
{
    precise float v = s.x + s.y;
    float q = div_ieee(v, d.x);
    if (!is_finite(q) || is_zero(q)) return q;
    vec2 p = two_prod(q, d.x);
    precise float r = (((s.x - p.x) - p.y) + s.y) - q * d.y;
    precise float c = q + r / d.x;
    return c;
}

// sqrt(s.x + s.y) for s >= 0: the correctly rounded root of the rounded sum,
// corrected by one Newton step on the exact remainder.
float pair_sqrt(vec2 s)
{
    precise float v = s.x + s.y;
    float q = sqrt_ieee(v);
    if (!is_finite(q) || is_zero(q)) return q;
    vec2 p = two_prod(q, q);
    precise float r = ((s.x - p.x) - p.y) + s.y;
    precise float c = q + r / (2.0 * q);
    return c;
}
