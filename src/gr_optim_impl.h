/* The optimizer record, shared by the orchestration (gr_optim.c) and the
 * state loader (gr_optim_state.c). */
#ifndef GR_OPTIM_IMPL_H
#define GR_OPTIM_IMPL_H

#include "gr_optim_step.h"

/* A growable array of doubles; capacity doubles, so appends are amortised O(1). */
typedef struct gr_optim_series {
    double *data;
    int64_t len, cap;
} gr_optim_series;

typedef struct gr_optim_entry {
    gr_tensor *p;                         /* retained */
    gr_tensor *slot[GR_OPTIM_NSLOTS];     /* owned; NULL until first used */
} gr_optim_entry;

struct gr_optim {
    gr_optim_kind kind;
    gr_optim_options o;
    gr_optim_scalars s;
    gr_device *device;
    const gr_optim_device_ops *ops;
    void *resident;            /* the state of a resident device's steps, or NULL */
    gr_comm *comm;             /* NULL, or the ranks that share the global sums (a shard's optimizer) */
    int n;
    gr_optim_entry *params;
    gr_optim_series hist[GR_OPTIM_NHIST];
    /* Scratch of one step, sized for n parameters. */
    gr_optim_item *items;
    double *partials;          /* n * GR_OPTIM_NSUMS */
    double *dnorm;             /* n */
    unsigned char *created;    /* bit per slot created by the step in progress */
};

/* Makes room for at least `need` values. */
gr_status gr_optim_series_reserve(gr_optim_series *h, int64_t need);

/* Appends x to a series with room reserved. */
static inline void gr_optim_series_push(gr_optim_series *h, double x) { h->data[h->len++] = x; }

/* Creates parameter i's slot k on the optimizer's device (zeros; ema_g left
 * uninitialised) and marks it as created by the step in progress. */
gr_status gr_optim_slot_create(gr_optim *opt, int i, gr_optim_slot k);

/* Releases the slots the step in progress created: a failed or skipped step
 * leaves no trace. */
void gr_optim_drop_created(gr_optim *opt);
/* Fails, naming parameter i (0-based) of a `kind` optimizer on dev, unless
 * g is NULL or a gradient p can take: same shape, same device, no shared memory. */
gr_status gr_optim_check_grad(gr_optim_kind kind, const gr_device *dev, int i, const gr_tensor *p, const gr_tensor *g);

/* Makes opt add its global sums across comm's ranks. A fused device step
 * finishes its sums on the device, out of the communicator's reach, so such an
 * optimizer leaves it for the staged passes. */
gr_status gr_optim_share_sums(gr_optim *opt, gr_comm *comm);

/* Initial scalar state of a run with options o. */
void gr_optim_scalars_init(const gr_optim_options *o, gr_optim_scalars *s);

#endif
