/* The scalar rules of a step, in double: what a device's scalar kernel
 * mirrors. They turn the finished global sums and the scalar state into the
 * new lr, beta1, surprise terms and flags, and derive the per-element
 * coefficients of both passes. */
#include "gr_optim_step.h"

#include <math.h>

/* Keeps NaN (a NaN x fails both tests), as nonfinite = "propagate" wants. */
static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static double clip(double x, double c)
{
    return c > 0 ? clamp(x, -c, c) : x;
}

static double accumulate(const gr_optim_options *o, double G, double h)
{
    return o->accumulator == GR_ACCUMULATOR_SUM ? G + h * h : 0.99 * G + 0.01 * h * h;
}

/* 1 - beta1^t, or 1 - P_t with the product bias correction. */
static double bias1(const gr_optim_options *o, double beta1, double P, int64_t t)
{
    return 1.0 - (o->bias_correction == GR_BIAS_PRODUCT ? P : pow(beta1, (double)t));
}

static double bias2(double beta2, int64_t t)
{
    return 1.0 - pow(beta2, (double)t);
}

int gr_optim_surprise_on(gr_optim_kind kind, const gr_optim_options *o, const gr_optim_scalars *s)
{
    return kind == GR_OPTIM_AUTO && o->track_surprise && s->t >= o->warmup_steps;
}

/* Whether the step after s uses g·d_prev (and g·m_prev). */
static int uses_dprev(gr_optim_kind kind, const gr_optim_options *o, const gr_optim_scalars *s)
{
    switch (kind) {
    case GR_OPTIM_HYPERGRADIENT: return s->t >= 1;
    case GR_OPTIM_AUTO: return s->t >= o->warmup_steps && s->t >= 1 && s->prev_norm > 1e-12;
    default: return 0;
    }
}

void gr_optim_reduce_coeffs_make(gr_optim_kind kind, const gr_optim_options *o,
                                 const gr_optim_scalars *s, gr_optim_reduce_coeffs *c)
{
    *c = (gr_optim_reduce_coeffs){0};
    c->amsgrad = o->amsgrad;
    c->eps = (float)o->eps;
    if (s->t >= 1) {
        /* d_prev: the direction of step t, with the betas that step used. */
        c->inv_bc1 = (float)(1.0 / bias1(o, s->prev_beta1, s->P, s->t));
        c->inv_bc2 = (float)(1.0 / bias2(s->prev_beta2, s->t));
    }
    c->dprev = uses_dprev(kind, o, s);
    c->surprise = gr_optim_surprise_on(kind, o, s);
    /* Under "propagate" no step is skipped, so ema_g can be updated while it is read. */
    c->ema_write = c->surprise && o->nonfinite == GR_NONFINITE_PROPAGATE;
    c->gamma = (float)o->surprise_gamma;
    c->one_minus_gamma = (float)(1.0 - o->surprise_gamma);
}

static unsigned surprise_rules(const gr_optim_options *o, const gr_optim_scalars *in,
                               const double *sums, gr_optim_scalars *out)
{
    double gamma = o->surprise_gamma, alpha = o->surprise_alpha;
    double n2 = sums[GR_SUM_G_SQ];
    if (in->var_ema == 0 && in->t == o->warmup_steps) out->var_ema = n2;
    else out->var_ema = gamma * in->var_ema + (1 - gamma) * n2;
    out->S = tanh(sums[GR_SUM_E_SQ] / (out->var_ema + 1e-12));
    out->Sbar = alpha * out->S + (1 - alpha) * in->Sbar;
    out->gain = out->Sbar * exp(-out->Sbar / o->trauma_threshold);
    return GR_STEP_SURPRISE_UPDATED;
}

static unsigned adaptation_rules(const gr_optim_options *o, const gr_optim_scalars *in,
                                 const double *sums, gr_optim_scalars *out)
{
    double N = in->prev_norm;
    double h = clip(-sums[GR_SUM_G_DPREV] / N, o->h_clip);
    out->G_lr = accumulate(o, in->G_lr, h);
    double target = in->lr - o->hyper_lr * h / (sqrt(out->G_lr) + 1e-12);
    if (o->max_lr_change > 0) {
        double limit = o->max_lr_change * in->lr;
        if (fabs(target - in->lr) > limit) target = in->lr + (target > in->lr ? limit : -limit);
    }
    out->lr = clamp(target, o->lr_min, o->lr_max);
    unsigned flags = GR_STEP_LR_ADAPTED;
    if (o->adapt_momentum) {
        double hb = clip(sums[GR_SUM_G_MPREV] / N, o->h_clip);
        out->G_beta = accumulate(o, in->G_beta, hb);
        out->beta1 = clamp(in->beta1 - o->hyper_lr_beta * hb / (sqrt(out->G_beta) + 1e-12),
                           o->beta_min, o->beta_max);
        flags |= GR_STEP_BETA1_ADAPTED;
    }
    return flags;
}

unsigned gr_optim_scalar_rules(gr_optim_kind kind, const gr_optim_options *o,
                               const gr_optim_scalars *in, const double *sums,
                               gr_optim_scalars *out)
{
    unsigned flags = 0;
    *out = *in;
    if (sums[GR_SUM_NONFINITE] > 0) {
        flags |= GR_STEP_NONFINITE;
        if (o->nonfinite == GR_NONFINITE_SKIP) out->skipped_steps++;
        if (o->nonfinite != GR_NONFINITE_PROPAGATE) return flags | GR_STEP_SKIPPED;
    }
    int64_t k0 = in->t;
    out->t = k0 + 1;
    if (kind == GR_OPTIM_HYPERGRADIENT && k0 >= 1) {
        double h = sums[GR_SUM_G_DPREV];
        if (o->log_scale) {
            /* At a clamp lr is the bound itself: exp(log(x)) can round above x
             * (0.1, 1e-6), and so can exp just inside the range. */
            double x = log(in->lr) + o->beta_hyper * h;
            out->lr = x <= log(o->lr_min) ? o->lr_min : x >= log(o->lr_max) ? o->lr_max
                                                      : clamp(exp(x), o->lr_min, o->lr_max);
        } else {
            out->lr = clamp(in->lr + o->beta_hyper * h, o->lr_min, o->lr_max);
        }
        flags |= GR_STEP_LR_ADAPTED;
    }
    if (kind == GR_OPTIM_AUTO) {
        if (gr_optim_surprise_on(kind, o, in)) flags |= surprise_rules(o, in, sums, out);
        if (uses_dprev(kind, o, in)) flags |= adaptation_rules(o, in, sums, out);
    }
    out->P = in->P * out->beta1;
    return flags;
}

void gr_optim_update_coeffs_make(gr_optim_kind kind, const gr_optim_options *o,
                                 const gr_optim_scalars *s, unsigned flags, gr_optim_update_coeffs *c)
{
    double bc1 = bias1(o, s->beta1, s->P, s->t), bc2 = bias2(s->beta2, s->t);
    *c = (gr_optim_update_coeffs){0};
    c->beta1 = (float)s->beta1;
    c->one_minus_beta1 = (float)(1.0 - s->beta1);
    c->beta2 = (float)s->beta2;
    c->one_minus_beta2 = (float)(1.0 - s->beta2);
    c->step_size = (float)(s->lr / bc1);
    c->decay = (float)(1.0 - s->lr * o->weight_decay);
    c->inv_bc1 = (float)(1.0 / bc1);
    c->inv_bc2 = (float)(1.0 / bc2);
    c->eps = (float)o->eps;
    c->amsgrad = o->amsgrad;
    c->dnorm = kind == GR_OPTIM_AUTO && o->normalizer == GR_NORMALIZER_DIRECTION;
    c->ema_write = (flags & GR_STEP_SURPRISE_UPDATED) && o->nonfinite != GR_NONFINITE_PROPAGATE;
    c->gamma = (float)o->surprise_gamma;
    c->one_minus_gamma = (float)(1.0 - o->surprise_gamma);
}

void gr_optim_scalar_finish(gr_optim_kind kind, const gr_optim_options *o, const double *sums,
                            double dnorm, gr_optim_scalars *s)
{
    if (kind == GR_OPTIM_AUTO)
        s->prev_norm = o->normalizer == GR_NORMALIZER_GRADIENT ? sums[GR_SUM_G_SQ] : dnorm;
    s->prev_beta1 = s->beta1;
    s->prev_beta2 = s->beta2;
}
