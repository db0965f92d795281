/* Restoring an optimizer's complete state: everything is validated and
 * copied before anything of the optimizer changes. */
#include "gr_optim_impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct scalar_field {
    const char *name;
    size_t offset;
    int is_count;   /* an int64_t, else a double */
} scalar_field;

#define SCALAR(name, is_count) {#name, offsetof(gr_optim_scalars, name), is_count}

static const scalar_field scalar_fields[] = {
    SCALAR(t, 1), SCALAR(skipped_steps, 1),
    SCALAR(lr, 0), SCALAR(beta1, 0), SCALAR(beta2, 0), SCALAR(prev_beta1, 0), SCALAR(prev_beta2, 0),
    SCALAR(P, 0), SCALAR(G_lr, 0), SCALAR(G_beta, 0), SCALAR(prev_norm, 0), SCALAR(var_ema, 0),
    SCALAR(S, 0), SCALAR(Sbar, 0), SCALAR(gain, 0),
};

#define NSCALARS ((int)(sizeof scalar_fields / sizeof scalar_fields[0]))

const char *gr_optim_scalar_name(int i, int *is_count)
{
    if (i < 0 || i >= NSCALARS) return NULL;
    if (is_count) *is_count = scalar_fields[i].is_count;
    return scalar_fields[i].name;
}

double gr_optim_scalar_get(const gr_optim_scalars *s, int i)
{
    const char *at = (const char *)s + scalar_fields[i].offset;
    return scalar_fields[i].is_count ? (double)*(const int64_t *)at : *(const double *)at;
}

gr_status gr_optim_scalar_set(gr_optim_scalars *s, int i, double x)
{
    char *at = (char *)s + scalar_fields[i].offset;
    if (!scalar_fields[i].is_count) {
        *(double *)at = x;
        return GR_OK;
    }
    if (!(x >= 0 && x < 9.007199254740992e15 && x == (double)(int64_t)x))
        return gr_fail(GR_EINVAL, "'%s' must be an integer >= 0", scalar_fields[i].name);
    *(int64_t *)at = (int64_t)x;
    return GR_OK;
}

static gr_status check_slots(const gr_optim *opt, const gr_optim_state *st)
{
    const char *cls = gr_optim_kind_name(opt->kind);
    for (int i = 0; i < opt->n; i++) {
        gr_tensor *const *sl = st->slots + (size_t)i * GR_OPTIM_NSLOTS;
        const gr_tensor *p = opt->params[i].p;
        int has_m = sl[GR_SLOT_M] != NULL;
        if (has_m != (sl[GR_SLOT_V] != NULL))
            return gr_fail(GR_EINVAL, "%s: state of parameter %d has %s without %s", cls, i + 1,
                           has_m ? "m" : "v", has_m ? "v" : "m");
        if (has_m && st->scalars.t == 0)
            return gr_fail(GR_EINVAL, "%s: state of parameter %d has moments at step 0", cls, i + 1);
        for (int k = GR_SLOT_VMAX; k < GR_OPTIM_NSLOTS; k++)
            if (sl[k] && !has_m)
                return gr_fail(GR_EINVAL, "%s: state of parameter %d has %s without m and v", cls, i + 1,
                               gr_optim_slot_name((gr_optim_slot)k));
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++) {
            if (!sl[k] || gr_shape_equal(sl[k], p)) continue;
            char a[96], b[96];
            return gr_fail(GR_ESHAPE, "%s: state of parameter %d: %s has shape %s, the parameter %s", cls, i + 1,
                           gr_optim_slot_name((gr_optim_slot)k), gr_shape_str(sl[k]->ndim, sl[k]->shape, a, sizeof a),
                           gr_shape_str(p->ndim, p->shape, b, sizeof b));
        }
    }
    return GR_OK;
}

static gr_status check_state(const gr_optim *opt, const gr_optim_state *st)
{
    const char *cls = gr_optim_kind_name(opt->kind);
    if (st->nparams != opt->n)
        return gr_fail(GR_EINVAL, "%s: state holds %d parameter%s, the optimizer has %d", cls, st->nparams,
                       st->nparams == 1 ? "" : "s", opt->n);
    if (st->history_len[GR_HIST_LR] < 1 || st->history_len[GR_HIST_BETA1] < 1)
        return gr_fail(GR_EINVAL, "%s: state has an empty lr_history or beta1_history", cls);
    if (st->history_len[GR_HIST_SURPRISE] != st->history_len[GR_HIST_S_BAR])
        return gr_fail(GR_EINVAL, "%s: state has surprise_history and s_bar_history of different lengths", cls);
    for (int h = 0; h < GR_OPTIM_NHIST; h++)
        if (st->history_len[h] < 0 || (st->history_len[h] > 0 && !st->history[h]))
            return gr_fail(GR_EINVAL, "%s: state has a malformed %s history", cls,
                           gr_optim_history_name((gr_optim_history_id)h));
    return check_slots(opt, st);
}

gr_status gr_optim_load_state(gr_optim *opt, const gr_optim_state *st)
{
    GR_TRY(check_state(opt, st));
    size_t nslots = (size_t)opt->n * GR_OPTIM_NSLOTS;
    gr_tensor **copies = calloc(nslots, sizeof *copies);
    gr_optim_series hist[GR_OPTIM_NHIST] = {{0}};
    gr_status s = copies ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory");
    for (size_t j = 0; j < nslots && s == GR_OK; j++)
        if (st->slots[j]) s = gr_tensor_to(st->slots[j], opt->device, &copies[j]);
    for (int h = 0; h < GR_OPTIM_NHIST && s == GR_OK; h++) {
        s = gr_optim_series_reserve(&hist[h], st->history_len[h] > 16 ? st->history_len[h] : 16);
        if (s != GR_OK) break;
        if (st->history_len[h])
            memcpy(hist[h].data, st->history[h], (size_t)st->history_len[h] * sizeof(double));
        hist[h].len = st->history_len[h];
    }
    if (s != GR_OK) {
        for (size_t j = 0; copies && j < nslots; j++) gr_tensor_release(copies[j]);
        for (int h = 0; h < GR_OPTIM_NHIST; h++) free(hist[h].data);
        free(copies);
        return s;
    }
    for (int i = 0; i < opt->n; i++)
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++) {
            gr_tensor_release(opt->params[i].slot[k]);
            opt->params[i].slot[k] = copies[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k];
        }
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        free(opt->hist[h].data);
        opt->hist[h] = hist[h];
    }
    free(copies);
    opt->o = st->options;
    opt->s = st->scalars;
    if (opt->resident) opt->ops->resident->changed(opt, GR_CHANGED_ALL);
    return GR_OK;
}
