/* The optimizer passes on the CPU device.
 * Pass 1 (reduce) reads g (and m, v, ema_g as needed) and produces the
 * per-parameter sums; pass 2 (update) writes p, m, v, vmax (and ema_g) and
 * sums d² of the new direction. d_prev and m_prev come from m and v, so
 * there are no extra buffers.
 * Each pass walks BLOCK elements at a time: an element-wise loop (which the
 * compiler vectorises) writes the per-element terms in double into small
 * buffers, and lanes_add folds them into LANES running double sums. The
 * summation order is fixed, so results are reproducible run to run. */
#include "gr_optim_step.h"
#include "gr_cpu.h"

#include <math.h>
#include <string.h>

#define LANES 8
#define BLOCK 256   /* a multiple of LANES */

enum { EMA_NONE, EMA_FRESH, EMA_OLD };

/* num / den for the Adam direction. guard is set when eps = 0: an element
 * whose vhat is 0 (no nonzero gradient yet) then has direction 0, not
 * 0/0 = NaN. With eps > 0 the denominator is never 0; each kernel is
 * instantiated for both, so that the usual case carries no test. */
static inline float quotient(float num, float den, const int guard)
{
    return guard && den == 0.0f ? 0.0f : num / den;
}

/* The Adam direction of m and vhat (v, or vmax with amsgrad). */
static inline float direction(float m, float vh, float inv_bc1, float inv_bc2, float eps, const int guard)
{
    return quotient(m * inv_bc1, sqrtf(vh * inv_bc2) + eps, guard);
}

/* acc[l] += the terms x[l], x[l + LANES], ...; x[len..BLOCK) is cleared first. */
static inline void lanes_add(double *restrict acc, double *restrict x, int64_t len)
{
    for (int64_t j = len; j < BLOCK; j++) x[j] = 0;
    for (int j = 0; j < BLOCK; j += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[j + l];
}

static double lanes_total(const double *acc)
{
    double sum = 0;
    for (int l = 0; l < LANES; l++) sum += acc[l];
    return sum;
}

/* ---- pass 1 ------------------------------------------------------------- */

static inline __attribute__((always_inline)) void
reduce_kernel(int64_t n, const float *restrict g, const float *restrict m,
              const float *restrict vh, float *restrict ema, const gr_optim_reduce_coeffs *c,
              const int dprev, const int ema_mode, const int ema_write, const int guard, double *out)
{
    const float inv_bc1 = c->inv_bc1, inv_bc2 = c->inv_bc2, eps = c->eps;
    const float gamma = c->gamma, omg = c->one_minus_gamma;
    double acc[GR_OPTIM_NSUMS][LANES];
    double gd[BLOCK], gm[BLOCK], gg[BLOCK], ee[BLOCK], nf[BLOCK];
    memset(acc, 0, sizeof acc);
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;
        const float *restrict gb = g + i0;
        for (int64_t j = 0; j < len; j++) {
            float gk = gb[j];
            double x = gk;
            if (dprev) {
                gd[j] = x * direction(m[i0 + j], vh[i0 + j], inv_bc1, inv_bc2, eps, guard);
                gm[j] = x * m[i0 + j];
            }
            gg[j] = x * x;
            nf[j] = gk - gk != 0.0f;   /* gk - gk is 0 when gk is finite, NaN otherwise */
            if (ema_mode != EMA_NONE) {
                double e = ema_mode == EMA_FRESH ? x : x - ema[i0 + j];
                ee[j] = e * e;
                if (ema_write) ema[i0 + j] = ema_mode == EMA_FRESH ? gk : gamma * ema[i0 + j] + omg * gk;
            }
        }
        if (dprev) {
            lanes_add(acc[GR_SUM_G_DPREV], gd, len);
            lanes_add(acc[GR_SUM_G_MPREV], gm, len);
        }
        lanes_add(acc[GR_SUM_G_SQ], gg, len);
        lanes_add(acc[GR_SUM_NONFINITE], nf, len);
        if (ema_mode != EMA_NONE) lanes_add(acc[GR_SUM_E_SQ], ee, len);
    }
    for (int s = 0; s < GR_OPTIM_NSUMS; s++) out[s] = lanes_total(acc[s]);
}

/* One instance per flag combination, so that each loop compiles branch-free. */
#define REDUCE_CASE(dp, em, ew) \
    (c->eps == 0.0f ? reduce_kernel(n, g, m, vh, ema, c, dp, em, ew, 1, out) \
                    : reduce_kernel(n, g, m, vh, ema, c, dp, em, ew, 0, out))

GR_CPU_CLONES static void reduce_item(const gr_optim_item *it, const gr_optim_reduce_coeffs *c, double *out)
{
    int64_t n = it->g->numel;
    const float *g = gr_cpu_data(it->g);
    const float *m = c->dprev ? gr_cpu_data(it->m) : NULL;
    const float *vh = c->dprev ? gr_cpu_data(c->amsgrad && it->vmax ? it->vmax : it->v) : NULL;
    float *ema = c->surprise ? gr_cpu_data(it->ema) : NULL;
    int em = !c->surprise ? EMA_NONE : it->ema_fresh ? EMA_FRESH : EMA_OLD;
    int sel = (c->dprev ? 1 : 0) | em << 1 | (c->ema_write && em != EMA_NONE ? 8 : 0);
    switch (sel) {
    case 0: REDUCE_CASE(0, EMA_NONE, 0); break;
    case 1: REDUCE_CASE(1, EMA_NONE, 0); break;
    case EMA_FRESH << 1: REDUCE_CASE(0, EMA_FRESH, 0); break;
    case EMA_FRESH << 1 | 1: REDUCE_CASE(1, EMA_FRESH, 0); break;
    case EMA_OLD << 1: REDUCE_CASE(0, EMA_OLD, 0); break;
    case EMA_OLD << 1 | 1: REDUCE_CASE(1, EMA_OLD, 0); break;
    case EMA_FRESH << 1 | 8: REDUCE_CASE(0, EMA_FRESH, 1); break;
    case EMA_FRESH << 1 | 9: REDUCE_CASE(1, EMA_FRESH, 1); break;
    case EMA_OLD << 1 | 8: REDUCE_CASE(0, EMA_OLD, 1); break;
    default: REDUCE_CASE(1, EMA_OLD, 1); break;
    }
}

static gr_status cpu_reduce(const gr_optim_item *items, int n, const gr_optim_reduce_coeffs *c,
                            double *partials)
{
    for (int i = 0; i < n; i++) reduce_item(&items[i], c, partials + (size_t)i * GR_OPTIM_NSUMS);
    return GR_OK;
}

/* ---- pass 2 ------------------------------------------------------------- */

typedef struct update_coeffs {
    float b1, omb1, b2, omb2, step, decay, inv_bc1, inv_bc2, eps, gamma, omg;
} update_coeffs;

static inline __attribute__((always_inline)) void
update_kernel(int64_t n, float *restrict p, const float *restrict g, float *restrict m,
              float *restrict v, float *restrict vmax, float *restrict ema, update_coeffs u,
              const int amsgrad, const int dnorm, const int ema_mode, const int guard, double *out)
{
    double acc[LANES] = {0}, d2[BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;
        for (int64_t j = 0; j < len; j++) {
            int64_t k = i0 + j;
            float gk = g[k];
            float mk = u.b1 * m[k] + u.omb1 * gk;
            float vk = u.b2 * v[k] + u.omb2 * gk * gk;
            m[k] = mk;
            v[k] = vk;
            float vh = vk;
            if (amsgrad) {
                float old = vmax[k];
                vh = vk > old ? vk : old;   /* a NaN v leaves vmax as it was */
                vmax[k] = vh;
            }
            float den = sqrtf(vh * u.inv_bc2) + u.eps;
            p[k] = p[k] * u.decay - quotient(u.step * mk, den, guard);
            if (dnorm) {
                float d = quotient(mk * u.inv_bc1, den, guard);
                d2[j] = (double)d * d;
            }
            if (ema_mode == EMA_FRESH) ema[k] = gk;
            else if (ema_mode == EMA_OLD) ema[k] = u.gamma * ema[k] + u.omg * gk;
        }
        if (dnorm) lanes_add(acc, d2, len);
    }
    *out = lanes_total(acc);
}

/* d² of the unchanged direction of a parameter without a gradient. */
static inline __attribute__((always_inline)) double
dnorm_kernel(int64_t n, const float *restrict m, const float *restrict vh, float inv_bc1, float inv_bc2,
             float eps, const int guard)
{
    double acc[LANES] = {0}, d2[BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;
        for (int64_t j = 0; j < len; j++) {
            float d = direction(m[i0 + j], vh[i0 + j], inv_bc1, inv_bc2, eps, guard);
            d2[j] = (double)d * d;
        }
        lanes_add(acc, d2, len);
    }
    return lanes_total(acc);
}

#define UPDATE_CASE(am, dn, em) \
    (c->eps == 0.0f ? update_kernel(n, p, g, m, v, vmax, ema, u, am, dn, em, 1, out) \
                    : update_kernel(n, p, g, m, v, vmax, ema, u, am, dn, em, 0, out))

GR_CPU_CLONES static void update_item(const gr_optim_item *it, const gr_optim_update_coeffs *c, double *out)
{
    int64_t n = it->p->numel;
    float *m = gr_cpu_data(it->m), *v = gr_cpu_data(it->v);
    float *vmax = c->amsgrad && it->vmax ? gr_cpu_data(it->vmax) : NULL;
    *out = 0;
    if (!it->g) {
        if (c->dnorm)
            *out = c->eps == 0.0f ? dnorm_kernel(n, m, vmax ? vmax : v, c->inv_bc1, c->inv_bc2, c->eps, 1)
                                  : dnorm_kernel(n, m, vmax ? vmax : v, c->inv_bc1, c->inv_bc2, c->eps, 0);
        return;
    }
    float *p = gr_cpu_data(it->p);
    const float *g = gr_cpu_data(it->g);
    float *ema = c->ema_write ? gr_cpu_data(it->ema) : NULL;
    update_coeffs u = {
        c->beta1, c->one_minus_beta1, c->beta2, c->one_minus_beta2, c->step_size, c->decay,
        c->inv_bc1, c->inv_bc2, c->eps, c->gamma, c->one_minus_gamma,
    };
    int em = !c->ema_write ? EMA_NONE : it->ema_fresh ? EMA_FRESH : EMA_OLD;
    switch ((c->amsgrad ? 1 : 0) | (c->dnorm ? 2 : 0) | em << 2) {
    case 0: UPDATE_CASE(0, 0, EMA_NONE); break;
    case 1: UPDATE_CASE(1, 0, EMA_NONE); break;
    case 2: UPDATE_CASE(0, 1, EMA_NONE); break;
    case 3: UPDATE_CASE(1, 1, EMA_NONE); break;
    case EMA_FRESH << 2: UPDATE_CASE(0, 0, EMA_FRESH); break;
    case EMA_FRESH << 2 | 1: UPDATE_CASE(1, 0, EMA_FRESH); break;
    case EMA_FRESH << 2 | 2: UPDATE_CASE(0, 1, EMA_FRESH); break;
    case EMA_FRESH << 2 | 3: UPDATE_CASE(1, 1, EMA_FRESH); break;
    case EMA_OLD << 2: UPDATE_CASE(0, 0, EMA_OLD); break;
    case EMA_OLD << 2 | 1: UPDATE_CASE(1, 0, EMA_OLD); break;
    case EMA_OLD << 2 | 2: UPDATE_CASE(0, 1, EMA_OLD); break;
    default: UPDATE_CASE(1, 1, EMA_OLD); break;
    }
}

static gr_status cpu_update(const gr_optim_item *items, int n, const gr_optim_update_coeffs *c,
                            double *dnorm)
{
    for (int i = 0; i < n; i++) update_item(&items[i], c, &dnorm[i]);
    return GR_OK;
}

/* ---- the current direction ---------------------------------------------- */

GR_CPU_CLONES static gr_status cpu_direction(const gr_optim_item *it, const gr_optim_reduce_coeffs *c,
                                             gr_tensor *out)
{
    const float *restrict m = gr_cpu_data(it->m);
    const float *restrict vh = gr_cpu_data(c->amsgrad && it->vmax ? it->vmax : it->v);
    float *restrict d = gr_cpu_data(out);
    const float inv_bc1 = c->inv_bc1, inv_bc2 = c->inv_bc2, eps = c->eps;
    for (int64_t i = 0; i < out->numel; i++) d[i] = direction(m[i], vh[i], inv_bc1, inv_bc2, eps, eps == 0.0f);
    return GR_OK;
}

const gr_optim_device_ops gr_optim_cpu_ops = {
    .reduce = cpu_reduce,
    .update = cpu_update,
    .direction = cpu_direction,
};
