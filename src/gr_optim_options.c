/* Optimizer options: the table of names, types, ranges and the classes
 * that have them; defaults, variant presets, validation and access by name. */
#include "gr_optim.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASS(k) (1u << (k))
#define ALL (CLASS(GR_OPTIM_ADAMW) | CLASS(GR_OPTIM_HYPERGRADIENT) | CLASS(GR_OPTIM_AUTO))
#define HYPER (CLASS(GR_OPTIM_HYPERGRADIENT) | CLASS(GR_OPTIM_AUTO))
#define AUTO CLASS(GR_OPTIM_AUTO)

typedef enum opt_type {
    T_NUMBER, T_BOOL, T_INT, T_CHOICE,
    T_NUMBER_OR_FALSE,   /* a number, or false stored as 0 */
    T_PAIR,              /* two numbers at offset and offset2 */
    T_PRESET             /* "variant": sets several options, not stored */
} opt_type;

typedef enum opt_range { R_ANY, R_POSITIVE, R_NONNEG, R_BETA, R_UNIT } opt_range;

typedef struct opt_desc {
    const char *name;
    unsigned classes;
    opt_type type;
    opt_range range;
    size_t offset, offset2;
    const char *const *choices;   /* T_CHOICE / T_PRESET, NULL-terminated */
    int alias;                    /* another name for part of an option: not in the record */
} opt_desc;

static const char *const bias_choices[] = {"power", "product", NULL};
static const char *const nonfinite_choices[] = {"skip", "error", "propagate", NULL};
static const char *const normalizer_choices[] = {"direction", "gradient", NULL};
static const char *const accumulator_choices[] = {"ema", "sum", NULL};
static const char *const variant_choices[] = {"grilly", "grilly-v2", "paper", NULL};

#define OFF(field) offsetof(gr_optim_options, field)

static const opt_desc options[] = {
    {"variant", AUTO, T_PRESET, R_ANY, 0, 0, variant_choices, 1},
    {"lr", ALL, T_NUMBER, R_POSITIVE, OFF(lr), 0, NULL, 0},
    {"betas", ALL, T_PAIR, R_BETA, OFF(beta1), OFF(beta2), NULL, 0},
    {"beta1", ALL, T_NUMBER, R_BETA, OFF(beta1), 0, NULL, 1},
    {"beta2", ALL, T_NUMBER, R_BETA, OFF(beta2), 0, NULL, 1},
    {"eps", ALL, T_NUMBER, R_NONNEG, OFF(eps), 0, NULL, 0},
    {"weight_decay", ALL, T_NUMBER, R_NONNEG, OFF(weight_decay), 0, NULL, 0},
    {"amsgrad", ALL, T_BOOL, R_ANY, OFF(amsgrad), 0, NULL, 0},
    {"bias_correction", ALL, T_CHOICE, R_ANY, OFF(bias_correction), 0, bias_choices, 0},
    {"nonfinite", ALL, T_CHOICE, R_ANY, OFF(nonfinite), 0, nonfinite_choices, 0},
    {"beta_hyper", CLASS(GR_OPTIM_HYPERGRADIENT), T_NUMBER, R_NONNEG, OFF(beta_hyper), 0, NULL, 0},
    {"log_scale", CLASS(GR_OPTIM_HYPERGRADIENT), T_BOOL, R_ANY, OFF(log_scale), 0, NULL, 0},
    {"lr_min", HYPER, T_NUMBER, R_POSITIVE, OFF(lr_min), 0, NULL, 0},
    {"lr_max", HYPER, T_NUMBER, R_POSITIVE, OFF(lr_max), 0, NULL, 0},
    {"hyper_lr", AUTO, T_NUMBER, R_NONNEG, OFF(hyper_lr), 0, NULL, 0},
    {"hyper_lr_beta", AUTO, T_NUMBER, R_NONNEG, OFF(hyper_lr_beta), 0, NULL, 0},
    {"adapt_momentum", AUTO, T_BOOL, R_ANY, OFF(adapt_momentum), 0, NULL, 0},
    {"track_surprise", AUTO, T_BOOL, R_ANY, OFF(track_surprise), 0, NULL, 0},
    {"surprise_gamma", AUTO, T_NUMBER, R_UNIT, OFF(surprise_gamma), 0, NULL, 0},
    {"surprise_alpha", AUTO, T_NUMBER, R_UNIT, OFF(surprise_alpha), 0, NULL, 0},
    {"trauma_threshold", AUTO, T_NUMBER, R_POSITIVE, OFF(trauma_threshold), 0, NULL, 0},
    {"beta_min", AUTO, T_NUMBER, R_BETA, OFF(beta_min), 0, NULL, 0},
    {"beta_max", AUTO, T_NUMBER, R_BETA, OFF(beta_max), 0, NULL, 0},
    {"warmup_steps", AUTO, T_INT, R_NONNEG, OFF(warmup_steps), 0, NULL, 0},
    {"normalizer", AUTO, T_CHOICE, R_ANY, OFF(normalizer), 0, normalizer_choices, 0},
    {"accumulator", AUTO, T_CHOICE, R_ANY, OFF(accumulator), 0, accumulator_choices, 0},
    {"h_clip", AUTO, T_NUMBER_OR_FALSE, R_POSITIVE, OFF(h_clip), 0, NULL, 0},
    {"max_lr_change", AUTO, T_NUMBER_OR_FALSE, R_POSITIVE, OFF(max_lr_change), 0, NULL, 0},
};

#define NOPTIONS ((int)(sizeof options / sizeof options[0]))

/* The variant options each preset sets, in the order of variant_choices. */
typedef struct preset {
    int normalizer, accumulator;
    double h_clip, max_lr_change;
} preset;

static const preset presets[] = {
    {GR_NORMALIZER_DIRECTION, GR_ACCUMULATOR_EMA, 1.0, 0.1},
    {GR_NORMALIZER_GRADIENT, GR_ACCUMULATOR_EMA, 1.0, 0.1},
    {GR_NORMALIZER_GRADIENT, GR_ACCUMULATOR_SUM, 0.0, 0.0},
};

const char *gr_optim_kind_name(gr_optim_kind kind)
{
    switch (kind) {
    case GR_OPTIM_ADAMW: return "AdamW";
    case GR_OPTIM_HYPERGRADIENT: return "HypergradientAdamW";
    default: return "AutoHypergradientAdamW";
    }
}

static void apply_preset(gr_optim_options *o, const preset *p)
{
    o->normalizer = p->normalizer;
    o->accumulator = p->accumulator;
    o->h_clip = p->h_clip;
    o->max_lr_change = p->max_lr_change;
}

void gr_optim_options_default(gr_optim_kind kind, gr_optim_options *o)
{
    (void)kind;   /* one record serves all classes; each reads its own fields */
    *o = (gr_optim_options){
        .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01,
        .amsgrad = 0, .bias_correction = GR_BIAS_POWER, .nonfinite = GR_NONFINITE_SKIP,
        .beta_hyper = 1e-7, .log_scale = 0, .lr_min = 1e-6, .lr_max = 1.0,
        .hyper_lr = 0.01, .hyper_lr_beta = 1.0, .adapt_momentum = 0, .track_surprise = 0,
        .surprise_gamma = 0.9, .surprise_alpha = 0.1, .trauma_threshold = 0.5,
        .beta_min = 0.5, .beta_max = 0.9995, .warmup_steps = 10,
    };
    apply_preset(o, &presets[0]);
}

/* ---- formatting --------------------------------------------------------- */

const char *gr_optim_fmt(double x, char *buf, size_t len)
{
    if (isnan(x)) { snprintf(buf, len, "nan"); return buf; }
    if (isinf(x)) { snprintf(buf, len, x > 0 ? "inf" : "-inf"); return buf; }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

/* The value as a message shows it after "got". */
static const char *value_str(const gr_optim_value *v, char *buf, size_t len)
{
    char a[32], b[32];
    switch (v->type) {
    case GR_OPTV_NUMBER: return gr_optim_fmt(v->num[0], buf, len);
    case GR_OPTV_BOOL: return v->boolean ? "true" : "false";
    case GR_OPTV_STRING: snprintf(buf, len, "\"%.64s\"", v->str); return buf;
    case GR_OPTV_PAIR:
        snprintf(buf, len, "{%s, %s}", gr_optim_fmt(v->num[0], a, sizeof a), gr_optim_fmt(v->num[1], b, sizeof b));
        return buf;
    default: return v->type_name ? v->type_name : "a value of another type";
    }
}

/* "\"a\", \"b\" or \"c\"" */
static const char *choices_str(const char *const *choices, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; choices[i] && used < len; i++) {
        const char *sep = i == 0 ? "" : choices[i + 1] ? ", " : " or ";
        used += (size_t)snprintf(buf + used, len - used, "%s\"%s\"", sep, choices[i]);
    }
    return buf;
}

/* ---- lookup ------------------------------------------------------------- */

static const opt_desc *find(const char *name)
{
    for (int i = 0; i < NOPTIONS; i++)
        if (strcmp(options[i].name, name) == 0) return &options[i];
    return NULL;
}

const char *gr_optim_option_name(gr_optim_kind kind, int i)
{
    for (int k = 0; k < NOPTIONS; k++) {
        if (options[k].alias || !(options[k].classes & CLASS(kind))) continue;
        if (i-- == 0) return options[k].name;
    }
    return NULL;
}

static double *num_at(gr_optim_options *o, size_t off) { return (double *)((char *)o + off); }
static int *int_at(gr_optim_options *o, size_t off) { return (int *)((char *)o + off); }
static const double *cnum_at(const gr_optim_options *o, size_t off) { return (const double *)((const char *)o + off); }
static const int *cint_at(const gr_optim_options *o, size_t off) { return (const int *)((const char *)o + off); }

static int choice_index(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0) return i;
    return -1;
}

/* ---- validation and setting ---------------------------------------------- */

static gr_status bad(gr_optim_kind kind, const opt_desc *d, const char *expected, const gr_optim_value *v)
{
    char got[96];
    return gr_fail(GR_EINVAL, "%s: option '%s' must be %s (got %s)", gr_optim_kind_name(kind), d->name,
                   expected, value_str(v, got, sizeof got));
}

static const char *range_text(opt_range r)
{
    switch (r) {
    case R_POSITIVE: return "> 0";
    case R_NONNEG: return ">= 0";
    case R_BETA: return "in [0, 1)";
    case R_UNIT: return "in [0, 1]";
    default: return "finite";
    }
}

static int in_range(opt_range r, double x)
{
    switch (r) {
    case R_POSITIVE: return x > 0;
    case R_NONNEG: return x >= 0;
    case R_BETA: return x >= 0 && x < 1;
    case R_UNIT: return x >= 0 && x <= 1;
    default: return 1;
    }
}

static gr_status check_number(gr_optim_kind kind, const opt_desc *d, const gr_optim_value *v, double x)
{
    if (!isfinite(x)) return bad(kind, d, "finite", v);
    if (!in_range(d->range, x)) return bad(kind, d, range_text(d->range), v);
    return GR_OK;
}

static gr_status set_one(gr_optim_kind kind, gr_optim_options *o, const opt_desc *d, const gr_optim_value *v)
{
    char text[128];
    switch (d->type) {
    case T_NUMBER:
        if (v->type != GR_OPTV_NUMBER) return bad(kind, d, "a number", v);
        GR_TRY(check_number(kind, d, v, v->num[0]));
        *num_at(o, d->offset) = v->num[0];
        return GR_OK;
    case T_NUMBER_OR_FALSE:
        if (v->type == GR_OPTV_BOOL && !v->boolean) { *num_at(o, d->offset) = 0; return GR_OK; }
        if (v->type != GR_OPTV_NUMBER) return bad(kind, d, "a number > 0 or false", v);
        GR_TRY(check_number(kind, d, v, v->num[0]));
        *num_at(o, d->offset) = v->num[0];
        return GR_OK;
    case T_PAIR:
        if (v->type != GR_OPTV_PAIR) return bad(kind, d, "a pair of numbers {beta1, beta2}", v);
        for (int i = 0; i < 2; i++)
            if (!isfinite(v->num[i]) || !in_range(d->range, v->num[i]))
                return bad(kind, d, "a pair of numbers in [0, 1)", v);
        *num_at(o, d->offset) = v->num[0];
        *num_at(o, d->offset2) = v->num[1];
        return GR_OK;
    case T_BOOL:
        if (v->type != GR_OPTV_BOOL) return bad(kind, d, "a boolean", v);
        *int_at(o, d->offset) = v->boolean;
        return GR_OK;
    case T_INT: {
        if (v->type != GR_OPTV_NUMBER) return bad(kind, d, "an integer >= 0", v);
        double x = v->num[0];
        if (!(x >= 0 && x == floor(x) && x < 9.007199254740992e15)) return bad(kind, d, "an integer >= 0", v);
        *(int64_t *)((char *)o + d->offset) = (int64_t)x;
        return GR_OK;
    }
    default: {   /* T_CHOICE, T_PRESET */
        int i = v->type == GR_OPTV_STRING ? choice_index(d->choices, v->str) : -1;
        if (i < 0) return bad(kind, d, choices_str(d->choices, text, sizeof text), v);
        if (d->type == T_PRESET) apply_preset(o, &presets[i]);
        else *int_at(o, d->offset) = i;
        return GR_OK;
    }
    }
}

static gr_status unknown(gr_optim_kind kind, const char *name)
{
    const opt_desc *d = find(name);
    if (!d)
        return gr_fail(GR_EINVAL, "%s: unknown option '%s'", gr_optim_kind_name(kind), name);
    gr_optim_kind owner = (d->classes & CLASS(GR_OPTIM_HYPERGRADIENT)) ? GR_OPTIM_HYPERGRADIENT : GR_OPTIM_AUTO;
    return gr_fail(GR_EINVAL, "%s: unknown option '%s' (an option of %s)", gr_optim_kind_name(kind), name,
                   gr_optim_kind_name(owner));
}

/* The rules between options. The message blames the lower bound unless the
 * caller set only the upper one. */
static gr_status check_pairs(gr_optim_kind kind, const gr_optim_options *o, int max_side_set_alone,
                             int beta_max_set_alone)
{
    char a[32], b[32];
    const char *cls = gr_optim_kind_name(kind);
    if ((CLASS(kind) & HYPER) && o->lr_min > o->lr_max) {
        gr_optim_fmt(o->lr_min, a, sizeof a);
        gr_optim_fmt(o->lr_max, b, sizeof b);
        if (max_side_set_alone)
            return gr_fail(GR_EINVAL, "%s: option 'lr_max' must be >= lr_min (got %s < %s)", cls, b, a);
        return gr_fail(GR_EINVAL, "%s: option 'lr_min' must be <= lr_max (got %s > %s)", cls, a, b);
    }
    if ((CLASS(kind) & AUTO) && o->beta_min > o->beta_max) {
        gr_optim_fmt(o->beta_min, a, sizeof a);
        gr_optim_fmt(o->beta_max, b, sizeof b);
        if (beta_max_set_alone)
            return gr_fail(GR_EINVAL, "%s: option 'beta_max' must be >= beta_min (got %s < %s)", cls, b, a);
        return gr_fail(GR_EINVAL, "%s: option 'beta_min' must be <= beta_max (got %s > %s)", cls, a, b);
    }
    return GR_OK;
}

gr_status gr_optim_options_apply(gr_optim_kind kind, gr_optim_options *o,
                                 const char *const *names, const gr_optim_value *values, int n)
{
    gr_optim_options next = *o;
    int seen_lr_min = 0, seen_lr_max = 0, seen_beta_min = 0, seen_beta_max = 0;
    /* The preset first, so that explicit options override it. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            const opt_desc *d = find(names[i]);
            if (!d || !(d->classes & CLASS(kind))) return unknown(kind, names[i]);
            if ((d->type == T_PRESET) != (pass == 0)) continue;
            GR_TRY(set_one(kind, &next, d, &values[i]));
            seen_lr_min |= strcmp(d->name, "lr_min") == 0;
            seen_lr_max |= strcmp(d->name, "lr_max") == 0;
            seen_beta_min |= strcmp(d->name, "beta_min") == 0;
            seen_beta_max |= strcmp(d->name, "beta_max") == 0;
        }
    }
    GR_TRY(check_pairs(kind, &next, seen_lr_max && !seen_lr_min, seen_beta_max && !seen_beta_min));
    *o = next;
    return GR_OK;
}

/* ---- reading ------------------------------------------------------------ */

static int preset_index(const gr_optim_options *o)
{
    for (int i = 0; variant_choices[i]; i++) {
        const preset *p = &presets[i];
        if (o->normalizer == p->normalizer && o->accumulator == p->accumulator &&
            o->h_clip == p->h_clip && o->max_lr_change == p->max_lr_change)
            return i;
    }
    return -1;
}

int gr_optim_options_get(gr_optim_kind kind, const gr_optim_options *o, const char *name,
                         gr_optim_value *out)
{
    const opt_desc *d = find(name);
    if (!d || !(d->classes & CLASS(kind))) return 0;
    *out = (gr_optim_value){0};
    switch (d->type) {
    case T_NUMBER:
        out->type = GR_OPTV_NUMBER;
        out->num[0] = *cnum_at(o, d->offset);
        break;
    case T_NUMBER_OR_FALSE:
        out->num[0] = *cnum_at(o, d->offset);
        out->type = out->num[0] > 0 ? GR_OPTV_NUMBER : GR_OPTV_BOOL;
        break;
    case T_PAIR:
        out->type = GR_OPTV_PAIR;
        out->num[0] = *cnum_at(o, d->offset);
        out->num[1] = *cnum_at(o, d->offset2);
        break;
    case T_BOOL:
        out->type = GR_OPTV_BOOL;
        out->boolean = *cint_at(o, d->offset);
        break;
    case T_INT:
        out->type = GR_OPTV_NUMBER;
        out->num[0] = (double)*(const int64_t *)((const char *)o + d->offset);
        break;
    case T_CHOICE:
        out->type = GR_OPTV_STRING;
        out->str = d->choices[*cint_at(o, d->offset)];
        break;
    default: {
        int i = preset_index(o);
        out->type = GR_OPTV_STRING;
        out->str = i >= 0 ? variant_choices[i] : "custom";
        break;
    }
    }
    return 1;
}
