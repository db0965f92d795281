/* The optimizers: AdamW, HypergradientAdamW and AutoHypergradientAdamW.
 * docs/optimizers.md describes their semantics; this header is the C face
 * of them: options by name, construction, the
 * step, hyperparameters as fields, and the complete resumable state. */
#ifndef GR_OPTIM_H
#define GR_OPTIM_H

#include <stdint.h>
#include "gr_tensor.h"

typedef enum gr_optim_kind {
    GR_OPTIM_ADAMW = 0,
    GR_OPTIM_HYPERGRADIENT = 1,
    GR_OPTIM_AUTO = 2
} gr_optim_kind;

/* The class name of a kind: "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW". */
const char *gr_optim_kind_name(gr_optim_kind kind);

typedef enum gr_optim_nonfinite { GR_NONFINITE_SKIP, GR_NONFINITE_ERROR, GR_NONFINITE_PROPAGATE } gr_optim_nonfinite;
typedef enum gr_optim_bias_correction { GR_BIAS_POWER, GR_BIAS_PRODUCT } gr_optim_bias_correction;
typedef enum gr_optim_normalizer { GR_NORMALIZER_DIRECTION, GR_NORMALIZER_GRADIENT } gr_optim_normalizer;
typedef enum gr_optim_accumulator { GR_ACCUMULATOR_EMA, GR_ACCUMULATOR_SUM } gr_optim_accumulator;

/* Every hyperparameter of the three classes; a class ignores those it does
 * not have. lr, beta1 and beta2 here are the construction values; the ones
 * in use live in gr_optim_scalars. h_clip and max_lr_change are 0 for "false". */
typedef struct gr_optim_options {
    double lr, beta1, beta2, eps, weight_decay;
    int amsgrad;
    int bias_correction;          /* a gr_optim_bias_correction */
    int nonfinite;                /* a gr_optim_nonfinite */
    /* HypergradientAdamW */
    double beta_hyper;
    int log_scale;
    /* both hypergradient classes */
    double lr_min, lr_max;
    /* AutoHypergradientAdamW */
    double hyper_lr, hyper_lr_beta;
    int adapt_momentum, track_surprise;
    double surprise_gamma, surprise_alpha, trauma_threshold, beta_min, beta_max;
    int64_t warmup_steps;
    int normalizer;               /* a gr_optim_normalizer */
    int accumulator;              /* a gr_optim_accumulator */
    double h_clip, max_lr_change;
} gr_optim_options;

/* An option value as the caller has it, before validation. */
typedef enum gr_optim_value_type {
    GR_OPTV_NUMBER, GR_OPTV_BOOL, GR_OPTV_STRING,
    GR_OPTV_PAIR,    /* two numbers, e.g. betas */
    GR_OPTV_OTHER    /* anything else; type_name says what */
} gr_optim_value_type;

typedef struct gr_optim_value {
    gr_optim_value_type type;
    double num[2];           /* NUMBER: num[0]; PAIR: both */
    int boolean;
    const char *str;         /* STRING: the text (borrowed) */
    const char *type_name;   /* for messages: "number", "table", ... */
} gr_optim_value;

/* Defaults of a class. */
void gr_optim_options_default(gr_optim_kind kind, gr_optim_options *o);

/* Sets options by name on *o, validating each and then the cross-option
 * rules (lr_min <= lr_max, beta_min <= beta_max). A "variant" entry is
 * applied first, so explicit options override the preset. On failure *o is
 * unchanged and the message names the option. */
gr_status gr_optim_options_apply(gr_optim_kind kind, gr_optim_options *o,
                                 const char *const *names, const gr_optim_value *values, int n);

/* The i-th option name of a class (0-based), NULL past the end; the names
 * that make up a complete options record (the "variant" preset excluded). */
const char *gr_optim_option_name(gr_optim_kind kind, int i);

/* Reads an option by name; returns 0 if the class has no such option.
 * String values point at static text. */
int gr_optim_options_get(gr_optim_kind kind, const gr_optim_options *o, const char *name,
                         gr_optim_value *out);

/* Writes x in its shortest round-trip form ("0.1", "1e-07", "nan"). */
const char *gr_optim_fmt(double x, char *buf, size_t len);

/* Scalar state, all double (binding precision rules). */
typedef struct gr_optim_scalars {
    int64_t t;                   /* completed steps */
    int64_t skipped_steps;       /* steps skipped for non-finite gradients */
    double lr, beta1, beta2;     /* in use by the next step */
    double prev_beta1, prev_beta2;  /* used by the last completed step (for d_prev) */
    double P;                    /* product of the beta1 values of steps 1..t */
    double G_lr, G_beta, prev_norm, var_ema, S, Sbar, gain;
} gr_optim_scalars;

/* The scalar state by name, for state records and files: the i-th name
 * (NULL past the end), and whether it is a count (t, skipped_steps). */
const char *gr_optim_scalar_name(int i, int *is_count);
double gr_optim_scalar_get(const gr_optim_scalars *s, int i);
/* Fails, naming the field, for a count that is not an integer in [0, 2^53). */
gr_status gr_optim_scalar_set(gr_optim_scalars *s, int i, double x);

/* Per-parameter state slots. */
typedef enum gr_optim_slot { GR_SLOT_M, GR_SLOT_V, GR_SLOT_VMAX, GR_SLOT_EMA_G, GR_OPTIM_NSLOTS } gr_optim_slot;
const char *gr_optim_slot_name(gr_optim_slot slot);   /* "m", "v", "vmax", "ema_g" */

typedef enum gr_optim_history_id {
    GR_HIST_LR, GR_HIST_BETA1, GR_HIST_SURPRISE, GR_HIST_S_BAR, GR_OPTIM_NHIST
} gr_optim_history_id;
const char *gr_optim_history_name(gr_optim_history_id h);  /* "lr", "beta1", "surprise", "s_bar" */

typedef struct gr_optim gr_optim;

/* A new optimizer over n parameters (retained), all on one device, with
 * validated options. Fails on an empty list, mixed devices or parameters
 * that share memory. */
gr_status gr_optim_new(gr_optim_kind kind, gr_tensor *const *params, int n,
                       const gr_optim_options *o, gr_optim **out);
void gr_optim_free(gr_optim *opt);

gr_optim_kind gr_optim_get_kind(const gr_optim *opt);
int gr_optim_param_count(const gr_optim *opt);
gr_tensor *gr_optim_param(const gr_optim *opt, int i);
gr_device *gr_optim_device(const gr_optim *opt);
const gr_optim_options *gr_optim_get_options(const gr_optim *opt);
const gr_optim_scalars *gr_optim_get_scalars(const gr_optim *opt);

/* One step. grads[i] is parameter i's gradient, or NULL for none. A shape,
 * device or aliasing error, a non-finite gradient under nonfinite = "error"
 * or an allocation failure changes nothing. *skipped (may be NULL) tells
 * whether the step was skipped under nonfinite = "skip". */
gr_status gr_optim_step(gr_optim *opt, gr_tensor *const *grads, int *skipped);

/* Brings the host copies of the scalar state, the histories and the
 * per-parameter slots up to date. A device that runs steps on its own (the
 * fused Vulkan path) keeps them between sync points; this waits for the
 * steps recorded so far and reads them back. Nothing to do on the CPU.
 * gr_optim_get_scalars, gr_optim_history, gr_optim_state_slot and the fields
 * of gr_optim_field_in_use show what the last sync saw. */
gr_status gr_optim_sync(gr_optim *opt);

/* Hyperparameters as fields: every option of the class plus "lr", "beta1",
 * "beta2" and "betas", which read and write the values in use. Writing
 * validates like construction; a failed write changes nothing. */
int gr_optim_get(const gr_optim *opt, const char *name, gr_optim_value *out);
/* Whether field `name` reads the scalar state ("lr", "beta1", "beta2", "betas"). */
int gr_optim_field_in_use(const char *name);
gr_status gr_optim_set(gr_optim *opt, const char *name, const gr_optim_value *value);

/* Histories: a view valid until the next step or state load. */
const double *gr_optim_history(const gr_optim *opt, gr_optim_history_id h, int64_t *len);

/* Per-parameter state: the slot's tensor (owned by the optimizer) or NULL. */
gr_tensor *gr_optim_state_slot(const gr_optim *opt, int param, gr_optim_slot slot);

/* Bytes of per-parameter state (m, v, vmax, ema_g) the optimizer holds. */
int64_t gr_optim_state_bytes(const gr_optim *opt);

/* The current update direction of parameter i (what the next step uses as
 * d_prev), as a new tensor on the parameter's device; zeros without state.
 * A sync point. */
gr_status gr_optim_direction(gr_optim *opt, int param, gr_tensor **out);

/* A complete state to restore: options, scalars, histories and, for each
 * parameter, GR_OPTIM_NSLOTS tensors (NULL where absent), in
 * slots[param * GR_OPTIM_NSLOTS + slot]. */
typedef struct gr_optim_state {
    gr_optim_options options;
    gr_optim_scalars scalars;
    const double *history[GR_OPTIM_NHIST];
    int64_t history_len[GR_OPTIM_NHIST];
    gr_tensor *const *slots;
    int nparams;
} gr_optim_state;

/* Validates st against opt (parameter count and shapes, slot consistency,
 * scalar ranges) and only then replaces opt's whole state with copies on
 * the parameters' device. A failure changes nothing. */
gr_status gr_optim_load_state(gr_optim *opt, const gr_optim_state *st);

/* Writes the complete state of opt (class, options, scalars, histories and
 * the per-parameter tensors) to a grilly file at path, atomically. A sync point. */
gr_status gr_optim_save(gr_optim *opt, const char *path);

/* A new optimizer of the class saved at path, over params, with the saved
 * state; fails naming the file when it is not an optimizer file, holds
 * another number or shape of parameters, or is damaged. */
gr_status gr_optim_load(const char *path, gr_tensor *const *params, int n, gr_optim **out);

#endif
