#version 450
// The optimizer's scalar kernel: one workgroup, in double. It mirrors the
// rules of src/gr_optim_scalar.c line for line.
//
// MODE 0 (step), between pass 1 and pass 2:
//   - finishes the partial sums of pass 1 into the global sums: the one
//     device-side global reduction of a step, where a distributed build
//     would all-reduce the five sums;
//   - applies the non-finite policy and the lr / beta1 / surprise rules to
//     the scalar state, derives pass 2's coefficients (float32, computed in
//     double) and the skip flag, appends the step's record to the history
//     ring, and marks the slots the step brings into existence;
//   - computes pass 1's coefficients of the next step.
// MODE 1 (refresh), after the host wrote options or state: pass 1's
// coefficients again.
// Both first finish a Σd² left by the previous pass 2 into prev_norm.
#include "optim_common.glsl"
#include "optim_math.glsl"

// NaN and infinities kept through the float64 rules (a NaN lr stays NaN, as on
// the CPU, under nonfinite = "propagate") where the device offers it;
// src/gr_vk_pipeline.c removes the mode elsewhere. It takes the place of
// common.glsl's float32 form (one mode per kernel): this kernel's float32
// work is conversions only.
spirv_execution_mode(capabilities = [4466], 4461, 64);   // SignedZeroInfNanPreserve

layout(constant_id = 1) const uint MODE = 0u;

layout(push_constant) uniform Push {
    Block blk; Doubles parts1; Doubles parts2; Words pinfo; Words tflags; Doubles ring;
    uint ring_slot;   // where this step's record goes; ~0u: the class keeps no histories
    uint groups1;     // partials of pass 1 (0: pass 1 did not run)
    uint groups2;     // partials pass 2 will write (0: no Σd²)
    uint nparams;
} p;

// GR_STEP_* flags
const uint LR_ADAPTED = 1u, BETA1_ADAPTED = 2u, SURPRISE_UPDATED = 4u, NONFINITE = 8u, SKIPPED = 16u;
// Option values
const double KIND_HYPERGRADIENT = 1.0lf, KIND_AUTO = 2.0lf;
const double NONFINITE_SKIP = 0.0lf, NONFINITE_PROPAGATE = 2.0lf;

shared double sums[NSUMS];
shared uint sh_flags;

// The totals of `count` records of `width` doubles, in a fixed order, into
// red_out (thread k holds total k; all threads after a barrier).
void totals(Doubles parts, uint count, uint width)
{
    const uint tid = gl_LocalInvocationID.x;
    double s[NSUMS] = double[NSUMS](0.0lf, 0.0lf, 0.0lf, 0.0lf, 0.0lf);
    for (uint i = tid; i < count; i += WG)   // a record's values load together
        for (int k = 0; k < NSUMS; k++)
            if (uint(k) < width) s[k] += parts.v[i * width + uint(k)];
    for (int k = 0; k < NSUMS; k++)
        if (uint(k) < width) red[uint(k) * WG + tid] = s[k];
    workgroup_sums(width);
}

double opt(int i) { return p.blk.opt[i]; }

// Keeps NaN (a NaN x fails both tests), as nonfinite = "propagate" wants.
double clamp_d(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

double clip(double x) { double c = opt(O_H_CLIP); return c > 0.0lf ? clamp_d(x, -c, c) : x; }

double accumulate(double G, double h)
{
    return opt(O_ACCUMULATOR) != 0.0lf ? G + h * h : 0.99lf * G + 0.01lf * h * h;
}

// 1 - beta1^t, or 1 - P_t with the product bias correction.
double bias1(double beta1, double P, double t)
{
    return 1.0lf - (opt(O_BIAS) != 0.0lf ? P : pow_int(beta1, t));
}

double bias2(double beta2, double t) { return 1.0lf - pow_int(beta2, t); }

bool surprise_on(double t)
{
    return opt(O_KIND) == KIND_AUTO && opt(O_TRACK_SURPRISE) != 0.0lf && t >= opt(O_WARMUP);
}

// Whether a step from state st uses g·d_prev. The Σd² normaliser may still be
// pending when pass 1's coefficients are made; pass 1 then computes the sums
// whenever they might be needed, and the rules decide with the finished value.
bool uses_dprev(double t, double prev_norm, bool norm_known)
{
    if (opt(O_KIND) == KIND_HYPERGRADIENT) return t >= 1.0lf;
    if (opt(O_KIND) == KIND_AUTO)
        return t >= opt(O_WARMUP) && t >= 1.0lf && (!norm_known || prev_norm > 1e-12lf);
    return false;
}

// Pass 1's coefficients for the step after the current state.
void pass1_coeffs()
{
    double t = p.blk.st[S_T];
    bool norm_known = opt(O_NORMALIZER) != 0.0lf;
    p.blk.p1_dprev = uses_dprev(t, p.blk.st[S_PREV_NORM], norm_known) ? 1u : 0u;
    p.blk.p1_surprise = surprise_on(t) ? 1u : 0u;
    if (t >= 1.0lf) {
        p.blk.p1_inv_bc1 = float(1.0lf / bias1(p.blk.st[S_PREV_BETA1], p.blk.st[S_P], t));
        p.blk.p1_inv_bc2 = float(1.0lf / bias2(p.blk.st[S_PREV_BETA2], t));
    } else {
        p.blk.p1_inv_bc1 = 0.0;
        p.blk.p1_inv_bc2 = 0.0;
    }
    p.blk.p1_eps = float(opt(O_EPS));
    p.blk.p1_gamma = float(opt(O_GAMMA));
    p.blk.p1_omg = float(1.0lf - opt(O_GAMMA));
}

// The scalar state as the rules see it (gr_optim_scalars).
struct State {
    double t, skipped, lr, beta1, beta2, P, G_lr, G_beta, prev_norm, var_ema, S, Sbar, gain;
};

uint surprise_rules(State i, inout State o)
{
    double gamma = opt(O_GAMMA), alpha = opt(O_ALPHA);
    double n2 = sums[SUM_G_SQ];
    if (i.var_ema == 0.0lf && i.t == opt(O_WARMUP)) o.var_ema = n2;
    else o.var_ema = gamma * i.var_ema + (1.0lf - gamma) * n2;
    o.S = tanh_d(sums[SUM_E_SQ] / (o.var_ema + 1e-12lf));
    o.Sbar = alpha * o.S + (1.0lf - alpha) * i.Sbar;
    o.gain = o.Sbar * exp_d(-o.Sbar / opt(O_TRAUMA));
    return SURPRISE_UPDATED;
}

uint adaptation_rules(State i, inout State o)
{
    double N = i.prev_norm;
    double h = clip(-sums[SUM_G_DPREV] / N);
    o.G_lr = accumulate(i.G_lr, h);
    double target = i.lr - opt(O_HYPER_LR) * h / (sqrt(o.G_lr) + 1e-12lf);
    if (opt(O_MAX_LR_CHANGE) > 0.0lf) {
        double limit = opt(O_MAX_LR_CHANGE) * i.lr;
        if (abs(target - i.lr) > limit) target = i.lr + (target > i.lr ? limit : -limit);
    }
    o.lr = clamp_d(target, opt(O_LR_MIN), opt(O_LR_MAX));
    uint flags = LR_ADAPTED;
    if (opt(O_ADAPT_MOMENTUM) != 0.0lf) {
        double hb = clip(sums[SUM_G_MPREV] / N);
        o.G_beta = accumulate(i.G_beta, hb);
        o.beta1 = clamp_d(i.beta1 - opt(O_HYPER_LR_BETA) * hb / (sqrt(o.G_beta) + 1e-12lf),
                          opt(O_BETA_MIN), opt(O_BETA_MAX));
        flags |= BETA1_ADAPTED;
    }
    return flags;
}

// gr_optim_scalar_rules, then gr_optim_update_coeffs_make and
// gr_optim_scalar_finish (prev_norm of the Σd² normaliser is left pending).
uint step_rules()
{
    Block b = p.blk;
    State i = State(b.st[S_T], b.st[S_SKIPPED], b.st[S_LR], b.st[S_BETA1], b.st[S_BETA2], b.st[S_P],
                    b.st[S_G_LR], b.st[S_G_BETA], b.st[S_PREV_NORM], b.st[S_VAR_EMA], b.st[S_S],
                    b.st[S_SBAR], b.st[S_GAIN]);
    State o = i;
    uint flags = 0u;
    if (sums[SUM_NONFINITE] > 0.0lf) {
        flags |= NONFINITE;
        if (opt(O_NONFINITE) == NONFINITE_SKIP) o.skipped = i.skipped + 1.0lf;
        if (opt(O_NONFINITE) != NONFINITE_PROPAGATE) flags |= SKIPPED;
    }
    if ((flags & SKIPPED) != 0u) {
        b.st[S_SKIPPED] = o.skipped;
        b.p2_skip = 1u;
        return flags;
    }
    double k0 = i.t;
    o.t = k0 + 1.0lf;
    if (opt(O_KIND) == KIND_HYPERGRADIENT && k0 >= 1.0lf) {
        double h = sums[SUM_G_DPREV];
        if (opt(O_LOG_SCALE) != 0.0lf) {
            // At a clamp lr is the bound itself, as on the CPU (exp(log(x)) can round above x).
            double x = log_d(i.lr) + opt(O_BETA_HYPER) * h;
            o.lr = x <= log_d(opt(O_LR_MIN)) ? opt(O_LR_MIN)
                 : x >= log_d(opt(O_LR_MAX)) ? opt(O_LR_MAX) : clamp_d(exp_d(x), opt(O_LR_MIN), opt(O_LR_MAX));
        } else {
            o.lr = clamp_d(i.lr + opt(O_BETA_HYPER) * h, opt(O_LR_MIN), opt(O_LR_MAX));
        }
        flags |= LR_ADAPTED;
    }
    if (opt(O_KIND) == KIND_AUTO) {
        if (surprise_on(k0)) flags |= surprise_rules(i, o);
        if (uses_dprev(k0, i.prev_norm, true)) flags |= adaptation_rules(i, o);
    }
    o.P = i.P * o.beta1;

    // Pass 2's coefficients.
    double bc1 = bias1(o.beta1, o.P, o.t), bc2 = bias2(o.beta2, o.t);
    b.p2_skip = 0u;
    b.p2_b1 = float(o.beta1);
    b.p2_omb1 = float(1.0lf - o.beta1);
    b.p2_b2 = float(o.beta2);
    b.p2_omb2 = float(1.0lf - o.beta2);
    b.p2_step = float(o.lr / bc1);
    b.p2_decay = float(1.0lf - o.lr * opt(O_WEIGHT_DECAY));
    b.p2_inv_bc1 = float(1.0lf / bc1);
    b.p2_inv_bc2 = float(1.0lf / bc2);
    b.p2_eps = float(opt(O_EPS));

    // The new state; the Σd² normaliser is finished by the next scalar dispatch.
    if (opt(O_KIND) == KIND_AUTO) {
        if (opt(O_NORMALIZER) != 0.0lf) o.prev_norm = sums[SUM_G_SQ];
        else if (p.groups2 > 0u) b.st[S_PENDING] = double(p.groups2);
        else o.prev_norm = 0.0lf;
    }
    b.st[S_T] = o.t; b.st[S_SKIPPED] = o.skipped; b.st[S_LR] = o.lr; b.st[S_BETA1] = o.beta1;
    b.st[S_BETA2] = o.beta2; b.st[S_PREV_BETA1] = o.beta1; b.st[S_PREV_BETA2] = o.beta2; b.st[S_P] = o.P;
    b.st[S_G_LR] = o.G_lr; b.st[S_G_BETA] = o.G_beta; b.st[S_PREV_NORM] = o.prev_norm;
    b.st[S_VAR_EMA] = o.var_ema; b.st[S_S] = o.S; b.st[S_SBAR] = o.Sbar; b.st[S_GAIN] = o.gain;
    return flags;
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    double pending = p.blk.st[S_PENDING];
    if (pending > 0.0lf) {
        totals(p.parts2, uint(pending), 1u);
        if (tid == 0u) {
            p.blk.st[S_PREV_NORM] = red_out[0];
            p.blk.st[S_PENDING] = 0.0lf;
        }
    }
    if (MODE == 1u) {
        if (tid == 0u) pass1_coeffs();
        return;
    }

    if (p.groups1 > 0u) totals(p.parts1, p.groups1, uint(NSUMS));
    if (tid < uint(NSUMS)) sums[tid] = p.groups1 > 0u ? red_out[tid] : 0.0lf;
    barrier();
    if (tid == 0u) {
        uint flags = step_rules();
        Block b = p.blk;
        b.st[S_FLAGS] = double(flags);
        for (int s = 0; s < NSUMS; s++) b.st[S_SUMS + s] = sums[s];
        if (p.ring_slot != ~0u) {
            uint at = p.ring_slot * 5u;
            p.ring.v[at] = double(flags);
            p.ring.v[at + 1u] = b.st[S_LR];
            p.ring.v[at + 2u] = b.st[S_BETA1];
            p.ring.v[at + 3u] = b.st[S_S];
            p.ring.v[at + 4u] = b.st[S_SBAR];
        }
        if ((flags & SKIPPED) == 0u) pass1_coeffs();
        sh_flags = flags;
    }
    barrier();

    // The slots this step brings into existence (gr_optim.c creates them on the CPU).
    uint flags = sh_flags;
    if ((flags & SKIPPED) != 0u) return;
    bool amsgrad = opt(O_AMSGRAD) != 0.0lf, surprise = (flags & SURPRISE_UPDATED) != 0u;
    for (uint i = tid; i < p.nparams; i += WG) {
        uint info = p.pinfo.v[i];
        if ((info & PI_GRAD) == 0u) continue;
        uint tf = p.tflags.v[i] | TF_MOMENTS;
        if (amsgrad) tf |= TF_VMAX;
        if (surprise) {
            tf |= TF_EMA;
            if ((info & PI_EMA_ALT) != 0u) tf ^= TF_EMA_ALT;
        }
        p.tflags.v[i] = tf;
    }
}
