/* The optimizer: construction, per-parameter state, the step's
 * orchestration (validate, create state, pass 1, global sums, scalar rules,
 * pass 2, commit) and hyperparameters as fields. */
#include "gr_optim_impl.h"

#include <stdlib.h>
#include <string.h>

const char *gr_optim_slot_name(gr_optim_slot slot)
{
    static const char *const names[GR_OPTIM_NSLOTS] = {"m", "v", "vmax", "ema_g"};
    return names[slot];
}

const char *gr_optim_history_name(gr_optim_history_id h)
{
    static const char *const names[GR_OPTIM_NHIST] = {"lr", "beta1", "surprise", "s_bar"};
    return names[h];
}

gr_status gr_optim_device_ops_get(const gr_device *dev, const gr_optim_device_ops **out)
{
    const gr_optim_device_ops *own = dev->kind == GR_DEVICE_VULKAN ? gr_vk_optim_ops(dev) : NULL;
    *out = dev->kind == GR_DEVICE_CPU ? &gr_optim_cpu_ops : own ? own : &gr_optim_staged_ops;
    return GR_OK;
}

gr_status gr_optim_series_reserve(gr_optim_series *h, int64_t need)
{
    if (need <= h->cap) return GR_OK;
    int64_t cap = h->cap ? h->cap : 16;
    while (cap < need) cap *= 2;
    double *data = realloc(h->data, (size_t)cap * sizeof *data);
    if (!data) return gr_fail(GR_ENOMEM, "out of host memory growing an optimizer history");
    h->data = data;
    h->cap = cap;
    return GR_OK;
}

void gr_optim_scalars_init(const gr_optim_options *o, gr_optim_scalars *s)
{
    double G0 = o->accumulator == GR_ACCUMULATOR_SUM ? 0.0 : 1.0;
    *s = (gr_optim_scalars){
        .lr = o->lr, .beta1 = o->beta1, .beta2 = o->beta2,
        .prev_beta1 = o->beta1, .prev_beta2 = o->beta2, .P = 1.0, .G_lr = G0, .G_beta = G0,
    };
}

/* ---- construction ------------------------------------------------------- */

static int overlaps(const gr_tensor *a, const gr_tensor *b)
{
    return a->storage == b->storage && a->numel && b->numel &&
           a->offset < b->offset + b->numel && b->offset < a->offset + a->numel;
}

static gr_status check_params(gr_optim_kind kind, gr_tensor *const *params, int n)
{
    const char *cls = gr_optim_kind_name(kind);
    if (n < 1) return gr_fail(GR_EINVAL, "%s: empty parameter list", cls);
    for (int i = 0; i < n; i++) {
        gr_device *d0 = params[0]->storage->device, *di = params[i]->storage->device;
        if (di != d0)
            return gr_fail(GR_EDEVICE, "%s: all parameters must be on one device (parameter 1 is on %s, "
                           "parameter %d on %s)", cls, d0->name, i + 1, di->name);
        for (int j = 0; j < i; j++)
            if (overlaps(params[i], params[j]))
                return gr_fail(GR_EINVAL, "%s: parameter %d shares memory with parameter %d", cls, i + 1, j + 1);
    }
    return GR_OK;
}

gr_status gr_optim_new(gr_optim_kind kind, gr_tensor *const *params, int n,
                       const gr_optim_options *o, gr_optim **out)
{
    GR_TRY(check_params(kind, params, n));
    const gr_optim_device_ops *ops;
    GR_TRY(gr_optim_device_ops_get(params[0]->storage->device, &ops));
    gr_optim *opt = calloc(1, sizeof *opt);
    if (!opt) return gr_fail(GR_ENOMEM, "out of host memory");
    opt->kind = kind;
    opt->o = *o;
    opt->n = n;
    opt->device = params[0]->storage->device;
    opt->ops = ops;
    opt->params = calloc((size_t)n, sizeof *opt->params);
    opt->items = calloc((size_t)n, sizeof *opt->items);
    opt->partials = calloc((size_t)n * GR_OPTIM_NSUMS, sizeof *opt->partials);
    opt->dnorm = calloc((size_t)n, sizeof *opt->dnorm);
    opt->created = calloc((size_t)n, 1);
    gr_status s = GR_OK;
    if (!opt->params || !opt->items || !opt->partials || !opt->dnorm || !opt->created)
        s = gr_fail(GR_ENOMEM, "out of host memory");
    for (int h = 0; h < GR_OPTIM_NHIST && s == GR_OK; h++) s = gr_optim_series_reserve(&opt->hist[h], 16);
    if (s != GR_OK) { gr_optim_free(opt); return s; }
    for (int i = 0; i < n; i++) {
        opt->params[i].p = params[i];
        gr_tensor_retain(params[i]);
    }
    gr_optim_scalars_init(o, &opt->s);
    gr_optim_series_push(&opt->hist[GR_HIST_LR], opt->s.lr);
    gr_optim_series_push(&opt->hist[GR_HIST_BETA1], opt->s.beta1);
    if (ops->resident) {
        gr_status s = ops->resident->attach(opt);
        if (s != GR_OK) { gr_optim_free(opt); return s; }
    }
    *out = opt;
    return GR_OK;
}

gr_status gr_optim_share_sums(gr_optim *opt, gr_comm *comm)
{
    if (opt->resident) {
        GR_TRY(gr_optim_sync(opt));
        opt->ops->resident->detach(opt);
        opt->ops = &gr_optim_staged_ops;
    }
    opt->comm = comm;
    return GR_OK;
}

void gr_optim_free(gr_optim *opt)
{
    if (!opt) return;
    if (opt->resident) opt->ops->resident->detach(opt);
    if (opt->params)
        for (int i = 0; i < opt->n; i++) {
            gr_tensor_release(opt->params[i].p);
            for (int k = 0; k < GR_OPTIM_NSLOTS; k++) gr_tensor_release(opt->params[i].slot[k]);
        }
    for (int h = 0; h < GR_OPTIM_NHIST; h++) free(opt->hist[h].data);
    free(opt->params);
    free(opt->items);
    free(opt->partials);
    free(opt->dnorm);
    free(opt->created);
    free(opt);
}

gr_optim_kind gr_optim_get_kind(const gr_optim *opt) { return opt->kind; }
int gr_optim_param_count(const gr_optim *opt) { return opt->n; }
gr_tensor *gr_optim_param(const gr_optim *opt, int i) { return opt->params[i].p; }
gr_device *gr_optim_device(const gr_optim *opt) { return opt->device; }
const gr_optim_options *gr_optim_get_options(const gr_optim *opt) { return &opt->o; }
const gr_optim_scalars *gr_optim_get_scalars(const gr_optim *opt) { return &opt->s; }
gr_tensor *gr_optim_state_slot(const gr_optim *opt, int i, gr_optim_slot k) { return opt->params[i].slot[k]; }

int64_t gr_optim_state_bytes(const gr_optim *opt)
{
    int64_t bytes = 0;
    for (int i = 0; i < opt->n; i++)
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++)
            if (opt->params[i].slot[k]) bytes += opt->params[i].slot[k]->numel * (int64_t)sizeof(float);
    return bytes;
}

const double *gr_optim_history(const gr_optim *opt, gr_optim_history_id h, int64_t *len)
{
    *len = opt->hist[h].len;
    return opt->hist[h].data;
}

/* ---- per-parameter state ------------------------------------------------ */

void gr_optim_drop_created(gr_optim *opt)
{
    for (int i = 0; i < opt->n; i++) {
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++)
            if (opt->created[i] & (1u << k)) {
                gr_tensor_release(opt->params[i].slot[k]);
                opt->params[i].slot[k] = NULL;
            }
        opt->created[i] = 0;
    }
}

gr_status gr_optim_slot_create(gr_optim *opt, int i, gr_optim_slot k)
{
    gr_optim_entry *pp = &opt->params[i];
    gr_status s;
    if (k == GR_SLOT_EMA_G) s = gr_tensor_empty(opt->device, pp->p->ndim, pp->p->shape, &pp->slot[k]);
    else s = gr_tensor_full(opt->device, pp->p->ndim, pp->p->shape, 0.0f, &pp->slot[k]);
    if (s == GR_OK) opt->created[i] |= (unsigned char)(1u << k);
    return s;
}

/* m and v (and vmax) for every parameter with a gradient, ema_g where
 * surprise needs it; all or nothing. */
static gr_status create_state(gr_optim *opt, gr_tensor *const *grads, int surprise)
{
    gr_status s = GR_OK;
    for (int i = 0; i < opt->n && s == GR_OK; i++) {
        gr_optim_entry *pp = &opt->params[i];
        if (!grads[i]) continue;
        if (!pp->slot[GR_SLOT_M]) {
            s = gr_optim_slot_create(opt, i, GR_SLOT_M);
            if (s == GR_OK) s = gr_optim_slot_create(opt, i, GR_SLOT_V);
        }
        /* vmax starts at zero, also when amsgrad is switched on mid-run. */
        if (s == GR_OK && opt->o.amsgrad && !pp->slot[GR_SLOT_VMAX]) s = gr_optim_slot_create(opt, i, GR_SLOT_VMAX);
        if (s == GR_OK && surprise && !pp->slot[GR_SLOT_EMA_G]) s = gr_optim_slot_create(opt, i, GR_SLOT_EMA_G);
    }
    if (s != GR_OK) gr_optim_drop_created(opt);
    return s;
}

/* Parameter i as a pass sees it. Before the update, a vmax created by this
 * step does not exist yet: d_prev then uses v. */
static gr_optim_item item_of(const gr_optim *opt, int i, const gr_tensor *g, int before_update)
{
    const gr_optim_entry *pp = &opt->params[i];
    int vmax_fresh = (opt->created[i] >> GR_SLOT_VMAX) & 1;
    return (gr_optim_item){
        .p = pp->p, .g = g, .m = pp->slot[GR_SLOT_M], .v = pp->slot[GR_SLOT_V],
        .vmax = before_update && vmax_fresh ? NULL : pp->slot[GR_SLOT_VMAX],
        .ema = pp->slot[GR_SLOT_EMA_G],
        .ema_fresh = (opt->created[i] >> GR_SLOT_EMA_G) & 1,
    };
}

/* ---- the step ----------------------------------------------------------- */

gr_status gr_optim_check_grad(gr_optim_kind kind, const gr_device *dev, int i, const gr_tensor *p, const gr_tensor *g)
{
    const char *cls = gr_optim_kind_name(kind);
    if (!g) return GR_OK;
    if (!gr_shape_equal(g, p)) {
        char a[96], b[96];
        return gr_fail(GR_ESHAPE, "%s: gradient of parameter %d: shape mismatch: %s vs %s", cls, i + 1,
                       gr_shape_str(g->ndim, g->shape, a, sizeof a), gr_shape_str(p->ndim, p->shape, b, sizeof b));
    }
    if (g->storage->device != dev)
        return gr_fail(GR_EDEVICE, "%s: gradient of parameter %d: device mismatch: %s vs %s", cls, i + 1,
                       g->storage->device->name, dev->name);
    if (overlaps(g, p))
        return gr_fail(GR_EINVAL, "%s: gradient of parameter %d shares memory with the parameter", cls, i + 1);
    return GR_OK;
}

static gr_status check_grads(const gr_optim *opt, gr_tensor *const *grads)
{
    for (int i = 0; i < opt->n; i++) GR_TRY(gr_optim_check_grad(opt->kind, opt->device, i, opt->params[i].p, grads[i]));
    return GR_OK;
}

/* Whether any sum of pass 1 is used by this step. */
static int needs_reduce(const gr_optim *opt, const gr_optim_reduce_coeffs *rc)
{
    return rc->dprev || rc->surprise || opt->o.nonfinite != GR_NONFINITE_PROPAGATE ||
           (opt->kind == GR_OPTIM_AUTO && opt->o.normalizer == GR_NORMALIZER_GRADIENT);
}

static gr_status nonfinite_error(const gr_optim *opt, int nitems)
{
    for (int j = 0; j < nitems; j++) {
        double count = opt->partials[(size_t)j * GR_OPTIM_NSUMS + GR_SUM_NONFINITE];
        if (count > 0) {
            int i = 0;
            while (opt->params[i].p != opt->items[j].p) i++;
            return gr_fail(GR_ENONFINITE, "%s: non-finite gradient of parameter %d (%.0f of %lld elements); "
                           "nothing was changed (nonfinite = \"error\")", gr_optim_kind_name(opt->kind), i + 1, count,
                           (long long)opt->items[j].p->numel);
        }
    }
    return gr_fail(GR_ENONFINITE, "%s: non-finite gradient; nothing was changed (nonfinite = \"error\")",
                   gr_optim_kind_name(opt->kind));
}

static void append_histories(gr_optim *opt, unsigned flags, const gr_optim_scalars *s)
{
    if (flags & GR_STEP_LR_ADAPTED) gr_optim_series_push(&opt->hist[GR_HIST_LR], s->lr);
    if (flags & GR_STEP_BETA1_ADAPTED) gr_optim_series_push(&opt->hist[GR_HIST_BETA1], s->beta1);
    if (flags & GR_STEP_SURPRISE_UPDATED) {
        gr_optim_series_push(&opt->hist[GR_HIST_SURPRISE], s->S);
        gr_optim_series_push(&opt->hist[GR_HIST_S_BAR], s->Sbar);
    }
}

gr_status gr_optim_sync(gr_optim *opt)
{
    return opt->resident ? opt->ops->resident->sync(opt) : GR_OK;
}

/* A step on a resident device; knowing whether it was skipped is a sync point. */
static gr_status resident_step(gr_optim *opt, gr_tensor *const *grads, int *skipped)
{
    int64_t before = 0;
    if (skipped) {
        GR_TRY(gr_optim_sync(opt));
        before = opt->s.skipped_steps;
    }
    GR_TRY(opt->ops->resident->step(opt, grads));
    if (skipped) {
        GR_TRY(gr_optim_sync(opt));
        *skipped = opt->s.skipped_steps > before;
    }
    return GR_OK;
}

gr_status gr_optim_step(gr_optim *opt, gr_tensor *const *grads, int *skipped)
{
    if (skipped) *skipped = 0;
    GR_TRY(check_grads(opt, grads));
    if (opt->resident) return resident_step(opt, grads, skipped);
    for (int h = 0; h < GR_OPTIM_NHIST; h++) GR_TRY(gr_optim_series_reserve(&opt->hist[h], opt->hist[h].len + 1));

    gr_optim_reduce_coeffs rc;
    gr_optim_reduce_coeffs_make(opt->kind, &opt->o, &opt->s, &rc);
    GR_TRY(create_state(opt, grads, rc.surprise));

    /* Pass 1 over the parameters with a gradient. */
    int nitems = 0;
    for (int i = 0; i < opt->n; i++)
        if (grads[i]) opt->items[nitems++] = item_of(opt, i, grads[i], 1);
    double sums[GR_OPTIM_NSUMS] = {0};
    if (needs_reduce(opt, &rc)) {
        gr_status s = opt->ops->reduce(opt->items, nitems, &rc, opt->partials);
        if (s == GR_OK) s = gr_optim_reduce_global(opt->comm, opt->partials, nitems, GR_OPTIM_NSUMS, sums);
        if (s != GR_OK) { gr_optim_drop_created(opt); return s; }
    }

    gr_optim_scalars next;
    unsigned flags = gr_optim_scalar_rules(opt->kind, &opt->o, &opt->s, sums, &next);
    if (flags & GR_STEP_SKIPPED) {
        gr_status s = opt->o.nonfinite == GR_NONFINITE_ERROR ? nonfinite_error(opt, nitems) : GR_OK;
        gr_optim_drop_created(opt);
        opt->s.skipped_steps = next.skipped_steps;
        if (skipped) *skipped = 1;
        return s;
    }

    /* Pass 2: updates, plus the unchanged directions of parameters without a
     * gradient when the normaliser needs their d². */
    gr_optim_update_coeffs uc;
    gr_optim_update_coeffs_make(opt->kind, &opt->o, &next, flags, &uc);
    int n2 = 0;
    for (int i = 0; i < opt->n; i++)
        if (grads[i]) opt->items[n2++] = item_of(opt, i, grads[i], 0);
    if (uc.dnorm)
        for (int i = 0; i < opt->n; i++)
            if (!grads[i] && opt->params[i].slot[GR_SLOT_M]) opt->items[n2++] = item_of(opt, i, NULL, 0);
    double dnorm = 0;
    gr_status s = opt->ops->update(opt->items, n2, &uc, opt->dnorm);
    if (s == GR_OK && uc.dnorm) s = gr_optim_reduce_global(opt->comm, opt->dnorm, n2, 1, &dnorm);
    /* Past this point the state is written: the new slots stay either way. */
    memset(opt->created, 0, (size_t)opt->n);
    if (s != GR_OK) return s;

    gr_optim_scalar_finish(opt->kind, &opt->o, sums, dnorm, &next);
    append_histories(opt, flags, &next);
    opt->s = next;
    return GR_OK;
}

/* ---- hyperparameters as fields ------------------------------------------ */

int gr_optim_field_in_use(const char *name)
{
    return !strcmp(name, "lr") || !strcmp(name, "beta1") || !strcmp(name, "beta2") || !strcmp(name, "betas");
}

/* The scalars a write of field `name` sets (GR_CHANGED_*). */
static unsigned field_scalars(const char *name)
{
    if (!strcmp(name, "lr")) return GR_CHANGED_LR;
    if (!strcmp(name, "beta1")) return GR_CHANGED_BETA1;
    if (!strcmp(name, "beta2")) return GR_CHANGED_BETA2;
    return GR_CHANGED_BETA1 | GR_CHANGED_BETA2;
}

int gr_optim_get(const gr_optim *opt, const char *name, gr_optim_value *out)
{
    if (!gr_optim_options_get(opt->kind, &opt->o, name, out)) return 0;
    if (gr_optim_field_in_use(name)) {
        if (!strcmp(name, "lr")) out->num[0] = opt->s.lr;
        else if (!strcmp(name, "beta2")) out->num[0] = opt->s.beta2;
        else {
            out->num[0] = opt->s.beta1;
            out->num[1] = opt->s.beta2;
        }
    }
    return 1;
}

gr_status gr_optim_set(gr_optim *opt, const char *name, const gr_optim_value *value)
{
    gr_optim_options next = opt->o;
    int in_use = gr_optim_field_in_use(name);
    if (in_use) {
        /* Validated like the option, applied to the values in use; the
         * construction values stay as they were. Only the named values are
         * written, so a resident device's others need not be read back. */
        next.lr = opt->s.lr;
        next.beta1 = opt->s.beta1;
        next.beta2 = opt->s.beta2;
    }
    GR_TRY(gr_optim_options_apply(opt->kind, &next, &name, value, 1));
    unsigned what = in_use ? field_scalars(name) : GR_CHANGED_OPTIONS;
    if (what & GR_CHANGED_LR) opt->s.lr = next.lr;
    if (what & GR_CHANGED_BETA1) opt->s.beta1 = next.beta1;
    if (what & GR_CHANGED_BETA2) opt->s.beta2 = next.beta2;
    if (what & GR_CHANGED_OPTIONS) opt->o = next;
    if (opt->resident) opt->ops->resident->changed(opt, what);
    return GR_OK;
}

/* ---- directions --------------------------------------------------------- */

gr_status gr_optim_direction(gr_optim *opt, int i, gr_tensor **out)
{
    GR_TRY(gr_optim_sync(opt));
    const gr_optim_entry *pp = &opt->params[i];
    gr_tensor *d;
    GR_TRY(gr_tensor_full(opt->device, pp->p->ndim, pp->p->shape, 0.0f, &d));
    if (pp->slot[GR_SLOT_M] && pp->p->numel) {
        /* The direction of the current m and v under the betas in use now. */
        gr_optim_scalars now = opt->s;
        now.prev_beta1 = now.beta1;
        now.prev_beta2 = now.beta2;
        gr_optim_reduce_coeffs rc;
        gr_optim_reduce_coeffs_make(opt->kind, &opt->o, &now, &rc);
        gr_optim_item it = item_of(opt, i, NULL, 0);
        gr_status s = opt->ops->direction(&it, &rc, d);
        if (s != GR_OK) { gr_tensor_release(d); return s; }
    }
    *out = d;
    return GR_OK;
}
