// exp, log, tanh, sigmoid, pow and cos to within a few ULP on every device.
// Vulkan leaves the precision of its own versions wide open (exp: 3 + 2|x|
// ULP, log: absolute 2^-21 near 1, tanh and cos: unspecified, pow: inherited
// from exp2 and log2), so these reduce the argument exactly and evaluate
// short series in correctly rounded float operations. Special values follow
// C's expf, logf, tanhf, powf and cosf. Needs ieee.glsl and pairs.glsl.

const float LN2_HI = 0.693145751953125;        // 16 bits: n LN2_HI is exact for |n| < 256
const float LN2_LO = 1.4286068202862268e-06;   // ln 2 - LN2_HI
const float INV_LN2_HI = 1.4426950216293335;   // float(1 / ln 2)
const float INV_LN2_LO = 1.92596298909109e-08; // 1 / ln 2 - INV_LN2_HI

// e^r for |r| <= 0.36: Taylor series to r^7 (truncation below 0.2 ULP).
float exp_core(float r)
{
    return 1.0 + r * (1.0 + r * (0.5 + r * (0.166666667 + r * (0.0416666667 +
           r * (0.00833333333 + r * (0.00138888889 + r * 0.000198412698))))));
}

float exp_ieee(float x)
{
    if (is_nan(x)) return nan_of(x, x);
    if (x > 89.0) return inf_with(0u);             // +inf included
    if (x < -104.0) return 0.0;                     // below half the smallest subnormal
    float n = floor(x * 1.44269504 + 0.5);
    precise float r = (x - n * LN2_HI) - n * LN2_LO; // x - n LN2_HI is exact
    return scale2(exp_core(r), int(n));
}

// 2^(t.x + t.y) for a pair t, rounded once at the end.
float exp2_pair(vec2 t)
{
    if (t.x > 200.0) return inf_with(0u);
    if (t.x < -200.0) return 0.0;
    float n = floor(t.x + 0.5);
    precise float g = (t.x - n) + t.y;              // t.x - n is exact
    return scale2(exp_core(g * 0.693147181), int(n));
}

// ln(1 + f) for f in (-0.3, 0.42] as a pair, with about 36 correct bits:
// 2 atanh(s), s = f / (2 + f), where s is itself carried as a pair.
vec2 log1p_pair(float f)
{
    precise float d = 2.0 + f;
    precise float dl = (2.0 - d) + f;               // 2 + f = d + dl exactly
    float sh = div_ieee(f, d);
    vec2 p = two_prod(sh, d);
    precise float sl = (((f - p.x) - p.y) - sh * dl) / d;
    float z = sh * sh;
    precise float tail = 2.0 * sh * z * (0.333333333 + z * (0.2 + z * (0.142857143 + z * (0.111111111 + z * 0.0909090909))));
    precise float hi = 2.0 * sh;
    precise float lo = 2.0 * sl + tail;
    precise float h = hi + lo;
    precise float l = lo - (h - hi);
    return vec2(h, l);
}

// For the magnitude bits a of a finite x > 0: x = 2^E (1 + f), 1 + f in
// [sqrt(1/2), sqrt(2)), with f exact.
float log_reduce(uint a, out int E)
{
    int e;
    uint m = significand(a, e);
    float f1 = uintBitsToFloat((m & 0x007fffffu) | 0x3f800000u);   // [1, 2)
    E = e + 23;
    if (f1 > 1.41421356) { f1 = uintBitsToFloat((m & 0x007fffffu) | 0x3f000000u); E++; }
    return f1 - 1.0;
}

float log_ieee(float x)
{
    uint b = bits(x);
    if (is_nan(x)) return nan_of(x, x);
    if ((b & ABS) == 0u) return inf_with(SIGN);
    if ((b & SIGN) != 0u) return invalid();
    if (b == EXP) return x;
    int E;
    vec2 l = log1p_pair(log_reduce(b, E));
    float fe = float(E);
    precise float r = fe * LN2_HI + (l.x + (fe * LN2_LO + l.y));
    return r;
}

// log2(x) for x > 0 (magnitude bits a) as a pair.
vec2 log2_pair(uint a)
{
    int E;
    vec2 l = log1p_pair(log_reduce(a, E));
    vec2 p = two_prod(l.x, INV_LN2_HI);
    precise float pl = p.y + (l.x * INV_LN2_LO + l.y * INV_LN2_HI);
    vec2 s = pair_add(vec2(float(E), 0.0), p.x);
    precise float lo = s.y + pl;
    return vec2(s.x, lo);
}

// Whether a finite y is an integer, and whether an odd one.
bool is_integer(float y)
{
    uint a = bits(y) & ABS;
    if (a < 0x3f800000u) return a == 0u;
    int e = int(a >> 23) - 127;
    return e >= 23 || (a & ((1u << (23 - e)) - 1u)) == 0u;
}

bool is_odd_integer(float y)
{
    uint a = bits(y) & ABS;
    int e = int(a >> 23) - 127;
    if (e < 0 || e > 23 || !is_integer(y)) return false;
    return ((((a & 0x007fffffu) | 0x00800000u) >> (23 - e)) & 1u) != 0u;
}

// x^y with powf's special cases; otherwise 2^(y log2|x|) with log2 and the
// product carried as pairs, so that large results keep their precision.
float pow_ieee(float x, float y)
{
    uint bx = bits(x), by = bits(y), ax = bx & ABS, ay = by & ABS;
    if (ay == 0u || bx == 0x3f800000u) return 1.0;
    if (ax > EXP || ay > EXP) return nan_of(x, y);
    bool yneg = (by & SIGN) != 0u;
    if (ay == EXP) {
        if (ax == 0x3f800000u) return 1.0;                       // (-1)^+-inf
        return (ax < 0x3f800000u) != yneg ? 0.0 : inf_with(0u);
    }
    uint sign = (bx & SIGN) != 0u && is_odd_integer(y) ? SIGN : 0u;
    if (ax == 0u || ax == EXP) return (ax == EXP) != yneg ? inf_with(sign) : zero_with(sign);
    if ((bx & SIGN) != 0u && !is_integer(y)) return invalid();
    vec2 l = log2_pair(ax);
    vec2 t = two_prod(y, l.x);
    precise float tl = t.y + y * l.y;
    return uintBitsToFloat(bits(exp2_pair(vec2(t.x, tl))) | sign);
}

float tanh_ieee(float x)
{
    uint a = bits(x) & ABS;
    if (a > EXP) return nan_of(x, x);
    if (a < 0x39800000u) return x;                  // |x| < 2^-12: tanh x rounds to x
    float ax = uintBitsToFloat(a), r;
    if (ax < 0.55) {
        // Taylor series to x^17 (truncation below 0.1 ULP)
        float z = x * x;
        r = x + x * z * (-0.333333333 + z * (0.133333333 + z * (-0.0539682540 + z * (0.0218694885 +
            z * (-0.00886323553 + z * (0.00359212804 + z * (-0.00145583439 + z * 0.000590027441)))))));
        return r;
    }
    if (ax > 9.5) r = 1.0;                          // 1 - tanh x < 2^-26
    else r = 1.0 - div_ieee(2.0, exp_ieee(2.0 * ax) + 1.0);
    return uintBitsToFloat(bits(r) | (bits(x) & SIGN));
}

float sigmoid_ieee(float x)
{
    return div_ieee(1.0, add_ieee(1.0, exp_ieee(neg_ieee(x))));
}

// cos(v) for finite 0 <= v < 8 (the angles of the Box-Muller transform):
// v minus the nearest multiple of pi/2, then the sine or cosine series.
float cos_ieee(float v)
{
    float k = floor(v * 0.636619772 + 0.5);
    precise float r = (v - k * 1.5707950592041016) - k * 1.267590794995499e-06;   // pi/2 in two parts
    float z = r * r;
    float c = 1.0 + z * (-0.5 + z * (0.0416666667 + z * (-0.00138888889 + z * (0.0000248015873 +
              z * -2.75573192e-7))));
    float s = r + r * z * (-0.166666667 + z * (0.00833333333 + z * (-0.000198412698 +
              z * (0.00000275573192 + z * -2.50521084e-8))));
    int q = int(k) & 3;
    if (q == 0) return c;
    if (q == 1) return neg_ieee(s);
    if (q == 2) return neg_ieee(c);
    return s;
}
