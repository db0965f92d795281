// IEEE 754 float32 semantics that do not depend on the device. Vulkan lets a
// device treat NaN, infinities and signed zeros loosely unless the shader
// asks for SignedZeroInfNanPreserve (common.glsl asks, where the device
// offers it), and lets division be off by 2.5 ULP and sqrt by more. So
// special values are classified and ordered on the bit patterns (integer
// operations, which no float mode can change), and division and square root
// are rounded exactly with integer arithmetic, the device's own result only
// serving as a first guess.

const uint SIGN = 0x80000000u;
const uint ABS = 0x7fffffffu;
const uint EXP = 0x7f800000u;      // the bits of +inf
const uint QUIET = 0x00400000u;    // the quiet bit of a NaN

uint bits(float x) { return floatBitsToUint(x); }
bool is_nan(float x) { return (bits(x) & ABS) > EXP; }
bool is_finite(float x) { return (bits(x) & EXP) != EXP; }
bool is_zero(float x) { return (bits(x) & ABS) == 0u; }

float inf_with(uint sign) { return uintBitsToFloat(sign | EXP); }
float zero_with(uint sign) { return uintBitsToFloat(sign); }
// The NaN an invalid operation (0/0, inf - inf, sqrt(-1), ...) gives.
float invalid() { return uintBitsToFloat(0x7fc00000u); }
// The NaN an operation on NaN gives: the first NaN operand, made quiet.
float nan_of(float x, float y) { return uintBitsToFloat((is_nan(x) ? bits(x) : bits(y)) | QUIET); }

float neg_ieee(float x) { return uintBitsToFloat(bits(x) ^ SIGN); }
float abs_ieee(float x) { return uintBitsToFloat(bits(x) & ABS); }

// An integer that orders non-NaN floats as numbers; -0 and +0 both give 0.
int order_key(float x)
{
    int i = floatBitsToInt(x);
    return i < 0 ? -(i & 0x7fffffff) : i;
}

// x < y as IEEE compares: false when either is NaN.
bool less_ieee(float x, float y)
{
    return !is_nan(x) && !is_nan(y) && order_key(x) < order_key(y);
}

// For the magnitude bits a of a finite nonzero float: the integer m in
// [2^23, 2^24) and e with |x| = m 2^e (subnormals normalised).
uint significand(uint a, out int e)
{
    if (a >= 0x00800000u) {
        e = int(a >> 23) - 150;
        return (a & 0x007fffffu) | 0x00800000u;
    }
    int sh = 23 - findMSB(a);
    e = -149 - sh;
    return a << sh;
}

// m 2^k as a float, for m in [2^23, 2^24) and -149 <= k <= 104 (exact,
// without an int-to-float conversion).
float from_significand(uint m, int k) { return uintBitsToFloat((uint(k + 150) << 23) | (m & 0x007fffffu)); }

// The bits of m 2^k for m in [2^23, 2^24] and -149 <= k <= 104, or of the
// subnormal m 2^-149 for m <= 2^23. m = 2^24 carries into the exponent, as
// rounding up does.
uint compose(uint m, int k) { return (uint(k + 149) << 23) + m; }

// x 2^n rounded to nearest even, subnormal and overflowing results included.
float scale2(float x, int n)
{
    uint b = bits(x), a = b & ABS, s = b & SIGN;
    if (a == 0u || a >= EXP) return x;
    int e;
    uint m = significand(a, e);
    int k = e + n;
    if (k > 104) return inf_with(s);
    if (k >= -149) return uintBitsToFloat(s | compose(m, k));
    int sh = -149 - k;
    if (sh > 24) return zero_with(s);
    uint q = m >> sh, rest = m & ((1u << sh) - 1u), mid = 1u << (sh - 1);
    if (rest > mid || (rest == mid && (q & 1u) != 0u)) q++;
    return uintBitsToFloat(s | q);
}

float add_ieee(float x, float y)
{
    if (!is_finite(x) || !is_finite(y)) {
        if (is_nan(x) || is_nan(y)) return nan_of(x, y);
        if (is_finite(x)) return y;
        if (is_finite(y)) return x;
        return bits(x) == bits(y) ? x : invalid();
    }
    precise float r = x + y;
    // An exact zero is +0 unless both operands are -0 (round to nearest).
    if (is_zero(r)) return zero_with(bits(x) & bits(y) & SIGN);
    return r;
}

float sub_ieee(float x, float y)
{
    return is_nan(y) ? nan_of(x, y) : add_ieee(x, neg_ieee(y));
}

float mul_ieee(float x, float y)
{
    uint s = (bits(x) ^ bits(y)) & SIGN;
    if (!is_finite(x) || !is_finite(y)) {
        if (is_nan(x) || is_nan(y)) return nan_of(x, y);
        return is_zero(x) || is_zero(y) ? invalid() : inf_with(s);
    }
    precise float r = x * y;
    if (is_zero(r)) return zero_with(s);
    return r;
}

// x / y rounded to nearest even. With x = X 2^ex and y = Y 2^ey (X, Y
// integers in [2^23, 2^24)) the result is q 2^k, q the rounded quotient
// of X 2^t by Y: the device's division guesses q within a few units, and
// the exact integer remainder, which is small and so fits 32 bits, settles
// it.
float div_ieee(float x, float y)
{
    uint bx = bits(x), by = bits(y), s = (bx ^ by) & SIGN;
    uint ax = bx & ABS, ay = by & ABS;
    if (ax > EXP || ay > EXP) return nan_of(x, y);
    if (ax == EXP) return ay == EXP ? invalid() : inf_with(s);
    if (ay == 0u) return ax == 0u ? invalid() : inf_with(s);
    if (ay == EXP || ax == 0u) return zero_with(s);
    int ex, ey;
    uint X = significand(ax, ex), Y = significand(ay, ey);
    int t = X >= Y ? 23 : 24;               // q in [2^23, 2^24) for a normal result
    int k = ex - ey - t;
    if (k > 104) return inf_with(s);
    uint den = Y;
    int dk = 0;                             // den = Y 2^dk
    if (k < -149) {                         // subnormal: fewer quotient bits
        t -= -149 - k;
        k = -149;
        if (t < -1) return zero_with(s);    // below half the smallest subnormal
        if (t == -1) { t = 0; den = Y << 1; dk = 1; }
    }
    uint num = X << t;                      // modulo 2^32, like every product below
    uint q = uint(from_significand(X, t) / from_significand(Y, dk));
    int r = int(num - q * den);
    for (int i = 0; i < 8 && r < 0; i++) { q--; r += int(den); }
    for (int i = 0; i < 8 && r >= int(den); i++) { q++; r -= int(den); }
    if (2 * r > int(den) || (2 * r == int(den) && (q & 1u) != 0u)) q++;
    return uintBitsToFloat(s | compose(q, k));
}

// sqrt(x) rounded to nearest even: q = floor(sqrt(m 2^t)) from the device's
// guess and the exact remainder m 2^t - q^2, then rounded up when the
// remainder exceeds q (a square root is never halfway between two floats).
float sqrt_ieee(float x)
{
    uint b = bits(x);
    if ((b & ABS) == 0u || b == EXP) return x;      // +-0, +inf
    if (is_nan(x)) return nan_of(x, x);
    if ((b & SIGN) != 0u) return invalid();
    int e;
    uint m = significand(b, e);
    int t = (e & 1) == 0 ? 24 : 23;                 // m 2^t in [2^46, 2^48), e - t even
    int k = (e - t) / 2;
    uint rad = m << t;
    uint q = uint(sqrt(from_significand(m, t)));
    int r = int(rad - q * q);
    for (int i = 0; i < 8 && r < 0; i++) { r += int(2u * q - 1u); q--; }
    for (int i = 0; i < 8 && r > int(2u * q); i++) { r -= int(2u * q + 1u); q++; }
    if (r > int(q)) q++;
    return uintBitsToFloat(compose(q, k));
}

// The four arithmetic operators of gr_binop.
float arith(uint op, float x, float y)
{
    if (op == 0u) return add_ieee(x, y);
    if (op == 1u) return sub_ieee(x, y);
    if (op == 2u) return mul_ieee(x, y);
    return div_ieee(x, y);
}
