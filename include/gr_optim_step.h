/* The building blocks of one optimizer step, below the orchestration in
 * gr_optim.c:
 *   pass 1 (reduce, per device)  ->  global sums  ->  scalar rules (pure,
 *   double)  ->  per-element coefficients  ->  pass 2 (update, per device).
 * A device provides the two passes through gr_optim_device_ops; the scalar
 * rules are the host mirror of a device's scalar kernel. */
#ifndef GR_OPTIM_STEP_H
#define GR_OPTIM_STEP_H

#include "gr_optim.h"
#include "gr_comm.h"

/* The global sums of pass 1, over every element of every parameter that
 * has a gradient this step. */
typedef enum gr_optim_sum {
    GR_SUM_G_DPREV,     /* g · d_prev */
    GR_SUM_G_MPREV,     /* g · m_prev (m before this step) */
    GR_SUM_G_SQ,        /* g · g */
    GR_SUM_E_SQ,        /* (g - ema_g)², g · g where ema_g is new */
    GR_SUM_NONFINITE,   /* count of non-finite gradient elements */
    GR_OPTIM_NSUMS
} gr_optim_sum;

/* One parameter as the passes see it. */
typedef struct gr_optim_item {
    gr_tensor *p;
    const gr_tensor *g;   /* NULL: no gradient; pass 2 then only adds its d² */
    gr_tensor *m, *v;
    gr_tensor *vmax;      /* with amsgrad; where NULL, v stands in for it in d */
    gr_tensor *ema;       /* with surprise on this step */
    int ema_fresh;        /* ema was created by this step: it becomes g */
} gr_optim_item;

/* Pass 1's inputs. d_prev = m*inv_bc1 / (sqrt(vhat*inv_bc2) + eps), with the
 * bias corrections of the previous step; vhat is vmax with amsgrad (v where
 * the item has no vmax yet). */
typedef struct gr_optim_reduce_coeffs {
    int dprev;            /* read m and v for g·d_prev and g·m_prev */
    int amsgrad;
    float inv_bc1, inv_bc2, eps;
    int surprise;         /* (g - ema_g)² */
    int ema_write;        /* update ema_g in this pass (only where no skip can follow) */
    float gamma, one_minus_gamma;
} gr_optim_reduce_coeffs;

/* Pass 2's inputs, derived in double from the new scalar state. */
typedef struct gr_optim_update_coeffs {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float step_size;      /* lr / bc1 */
    float decay;          /* 1 - lr * weight_decay */
    float inv_bc1, inv_bc2, eps;
    int amsgrad;
    int dnorm;            /* accumulate Σd² of the new direction */
    int ema_write;
    float gamma, one_minus_gamma;
} gr_optim_update_coeffs;

/* What the host wrote to an optimizer's copies since a resident device
 * last saw them (see gr_optim_resident_ops). */
enum {
    GR_CHANGED_OPTIONS = 1 << 0,                                      /* opt->o */
    GR_CHANGED_LR = 1 << 1, GR_CHANGED_BETA1 = 1 << 2, GR_CHANGED_BETA2 = 1 << 3,   /* those scalars */
    GR_CHANGED_ALL = 1 << 4     /* everything: options, scalars, histories and slots (a state load) */
};

/* A device that runs whole steps itself, with no host round trip: pass 1,
 * its mirror of the scalar rules and pass 2 are recorded for the device, and
 * the scalar state, the histories and which slots exist live there between
 * sync points. The optimizer's host copies (scalars, histories, slots) are
 * current only after `sync`; `changed` sends the device what the host wrote
 * to them. Failures of `changed` surface at the next step or sync. */
typedef struct gr_optim_resident_ops {
    gr_status (*attach)(gr_optim *opt);                          /* device state of a new optimizer */
    void (*detach)(gr_optim *opt);
    gr_status (*step)(gr_optim *opt, gr_tensor *const *grads);   /* grads already checked */
    gr_status (*sync)(gr_optim *opt);
    void (*changed)(gr_optim *opt, unsigned what);               /* GR_CHANGED_* */
} gr_optim_resident_ops;

/* The passes of one device. Both take every participating parameter at
 * once (a device may run them as one multi-tensor dispatch) and write one
 * partial per item, which the orchestration finishes in double. A device
 * with `resident` steps runs whole steps instead; reduce and update are then
 * NULL. */
typedef struct gr_optim_device_ops {
    /* Items all have a gradient; reads g, m and v (or vmax) where c->dprev,
     * ema where c->surprise (and writes it where c->ema_write); fills
     * partials[i*GR_OPTIM_NSUMS + s]. */
    gr_status (*reduce)(const gr_optim_item *items, int n, const gr_optim_reduce_coeffs *c,
                        double *partials);
    /* Items with a gradient get p, m, v (vmax, ema) updated; dnorm[i] gets the
     * Σd² of item i's new direction where c->dnorm (0 otherwise). */
    gr_status (*update)(const gr_optim_item *items, int n, const gr_optim_update_coeffs *c,
                        double *dnorm);
    /* out = the item's d_prev under c (m and v present). */
    gr_status (*direction)(const gr_optim_item *item, const gr_optim_reduce_coeffs *c, gr_tensor *out);
    const gr_optim_resident_ops *resident;
} gr_optim_device_ops;

extern const gr_optim_device_ops gr_optim_cpu_ops;
/* Any device: the CPU passes on host copies of each parameter's buffers. */
extern const gr_optim_device_ops gr_optim_staged_ops;
/* The staged passes' direction, which other tables may share. */
gr_status gr_optim_staged_direction(const gr_optim_item *item, const gr_optim_reduce_coeffs *c, gr_tensor *out);
/* The fused Vulkan step of dev (src/gr_vk_optim*.c), or NULL where the device
 * lacks shaderFloat64 and the staged passes serve it. */
const gr_optim_device_ops *gr_vk_optim_ops(const gr_device *dev);

/* The passes for a device: its own where it has them, else the staged ones. */
gr_status gr_optim_device_ops_get(const gr_device *dev, const gr_optim_device_ops **out);

/* The one global reduction of the optimizers: out[s] = the sum over items
 * of partials[i*width + s], added in item order. Every global sum of a step
 * goes through here. With a communicator (an optimizer whose state is
 * sharded across processes, gr_optim_dist.h) each rank's sums are then added
 * across the ranks, in rank order, so every rank gets the same bits. The
 * fused Vulkan step, whose sums never reach the host, finishes them in its
 * scalar kernel (totals() in shaders/optim_scalar.comp); an optimizer with a
 * communicator therefore never takes that path. */
gr_status gr_optim_reduce_global(gr_comm *comm, const double *partials, int nitems, int width, double *out);

/* What a step did; the scalar rules' flags. */
enum {
    GR_STEP_LR_ADAPTED = 1 << 0,
    GR_STEP_BETA1_ADAPTED = 1 << 1,
    GR_STEP_SURPRISE_UPDATED = 1 << 2,
    GR_STEP_NONFINITE = 1 << 3,   /* a gradient element was not finite */
    GR_STEP_SKIPPED = 1 << 4      /* nothing but skipped_steps changes (skip or error policy) */
};

/* Whether step t+1 computes surprise (and so needs ema_g). */
int gr_optim_surprise_on(gr_optim_kind kind, const gr_optim_options *o, const gr_optim_scalars *s);

/* Pass 1's coefficients for the step that follows state s. */
void gr_optim_reduce_coeffs_make(gr_optim_kind kind, const gr_optim_options *o,
                                 const gr_optim_scalars *s, gr_optim_reduce_coeffs *c);

/* The scalar rules: from the finished global sums and the state before the
 * step, the state the update uses (t, lr, beta1, P, G_lr, G_beta, var_ema,
 * S, Sbar, gain, skipped_steps) and GR_STEP_* flags. prev_norm is left to
 * gr_optim_scalar_finish. Pure: no allocation, no failure. */
unsigned gr_optim_scalar_rules(gr_optim_kind kind, const gr_optim_options *o,
                               const gr_optim_scalars *in, const double *sums,
                               gr_optim_scalars *out);

/* Pass 2's coefficients from the state and flags the scalar rules produced. */
void gr_optim_update_coeffs_make(gr_optim_kind kind, const gr_optim_options *o,
                                 const gr_optim_scalars *s, unsigned flags, gr_optim_update_coeffs *c);

/* After pass 2: the normaliser of the next step (Σd² of the new direction
 * or Σg² of this step's gradients) and the betas this step used. */
void gr_optim_scalar_finish(gr_optim_kind kind, const gr_optim_options *o, const double *sums,
                            double dnorm, gr_optim_scalars *s);

#endif
