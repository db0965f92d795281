// Double-precision exp, log, tanh and integer powers for the optimizer's
// scalar kernel: GLSL offers only arithmetic and sqrt on doubles. Each is
// accurate to a few units in the last place, far inside the float32
// tolerance the optimizer results are held to.

const double LN2_HI = 6.93147180369123816490e-01lf;   // ln 2 with trailing zeros: k * LN2_HI is exact
const double LN2_LO = 1.90821492927058770002e-10lf;
const double INV_LN2 = 1.44269504088896338700e+00lf;

double d_inf() { return packDouble2x32(uvec2(0u, 0x7ff00000u)); }
double d_nan() { return packDouble2x32(uvec2(0u, 0x7ff80000u)); }

// 2^k for k in [-1022, 1023].
double pow2(int k) { return packDouble2x32(uvec2(0u, uint(k + 1023) << 20)); }

// x * 2^k for |k| <= 2044, in two exact steps.
double scale2_d(double x, int k)
{
    int h = k / 2;
    return x * pow2(h) * pow2(k - h);
}

// b^t for a whole number t >= 0, by repeated squaring.
double pow_int(double b, double t)
{
    double r = 1.0lf;
    for (double e = t; e > 0.0lf;) {
        double h = floor(e * 0.5lf);
        if (e != 2.0lf * h) r *= b;
        b *= b;
        e = h;
    }
    return r;
}

// e^r - 1 for |r| <= 0.5: the Taylor series to r^18, in Horner form.
double expm1_small(double r)
{
    double q = 1.0lf;
    for (int n = 18; n >= 2; n--) q = 1.0lf + r * q / double(n);
    return r * q;
}

double exp_d(double x)
{
    if (isnan(x)) return x;
    if (x > 709.782712893384lf) return d_inf();
    if (x < -745.2lf) return 0.0lf;
    double k = floor(x * INV_LN2 + 0.5lf);
    double r = (x - k * LN2_HI) - k * LN2_LO;   // |r| <= 0.35
    return scale2_d(1.0lf + expm1_small(r), int(k));
}

double expm1_d(double x)
{
    return abs(x) <= 0.5lf ? expm1_small(x) : exp_d(x) - 1.0lf;
}

double log_d(double x)
{
    if (isnan(x) || x < 0.0lf) return d_nan();
    if (x == 0.0lf) return -d_inf();
    if (isinf(x)) return x;
    int e = 0;
    uvec2 w = unpackDouble2x32(x);
    if ((w.y & 0x7ff00000u) == 0u) {   // subnormal: bring it into the normal range first
        x *= pow2(54);
        e = -54;
        w = unpackDouble2x32(x);
    }
    e += int((w.y >> 20) & 0x7ffu) - 1022;
    double m = packDouble2x32(uvec2(w.x, (w.y & 0x800fffffu) | 0x3fe00000u));   // in [0.5, 1)
    if (m < 0.70710678118654752440lf) { m *= 2.0lf; e -= 1; }
    double f = m - 1.0lf;                  // in [-0.293, 0.415)
    double s = f / (2.0lf + f), z = s * s;  // log(1 + f) = 2 atanh(s), |s| < 0.172
    double q = 0.0lf;
    for (int k = 13; k >= 1; k--) q = z * (1.0lf / double(2 * k + 1) + q);
    double l1 = 2.0lf * s * (1.0lf + q);
    double de = double(e);
    return de * LN2_HI + (l1 + de * LN2_LO);
}

double tanh_d(double x)
{
    if (isnan(x)) return x;
    double a = abs(x), r;
    if (a > 22.0lf) r = 1.0lf;
    else if (a < 1e-9lf) r = a;
    else {
        double em = expm1_d(2.0lf * a);
        r = em / (em + 2.0lf);
    }
    return x < 0.0lf ? -r : r;
}
