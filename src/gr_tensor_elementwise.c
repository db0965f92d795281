/* Element-wise ops: broadcasting binary ops, scalar and unary maps. */
#include "gr_ops_common.h"

#include <math.h>
#include <string.h>

/* Works out the broadcast output shape of a and b and the plan the backend
 * runs: size-1 output dimensions dropped and neighbouring dimensions merged
 * wherever both inputs step through them uniformly, so that same-shape and
 * scalar operands reduce to one dimension. */
static gr_status broadcast_plan(const gr_tensor *a, const gr_tensor *b,
                                int *ndim, int64_t *shape, gr_bcast *plan)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t as[GR_MAX_DIMS], bs[GR_MAX_DIMS], astr[GR_MAX_DIMS], bstr[GR_MAX_DIMS];
    gr_contiguous_strides(a->ndim, a->shape, as);
    gr_contiguous_strides(b->ndim, b->shape, bs);
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return gr_fail_shapes(a, b);
        shape[i] = da == 1 ? db : da;
        astr[i] = da == 1 ? 0 : as[ia];
        bstr[i] = db == 1 ? 0 : bs[ib];
    }
    *ndim = nd;

    int pd = 0;
    for (int i = 0; i < nd; i++) {
        if (shape[i] == 1) continue;
        if (pd > 0 && plan->astride[pd - 1] == astr[i] * shape[i] && plan->bstride[pd - 1] == bstr[i] * shape[i]) {
            plan->shape[pd - 1] *= shape[i];
            plan->astride[pd - 1] = astr[i];
            plan->bstride[pd - 1] = bstr[i];
            continue;
        }
        plan->shape[pd] = shape[i];
        plan->astride[pd] = astr[i];
        plan->bstride[pd] = bstr[i];
        pd++;
    }
    if (pd == 0) {
        plan->shape[0] = 1;
        plan->astride[0] = 0;
        plan->bstride[0] = 0;
        pd = 1;
    }
    plan->ndim = pd;
    return GR_OK;
}

gr_status gr_tensor_binary(gr_binop op, const gr_tensor *a, const gr_tensor *b, gr_tensor **out)
{
    GR_TRY(gr_check_same_device(a, b));
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    gr_bcast plan;
    GR_TRY(broadcast_plan(a, b, &ndim, shape, &plan));
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(a), ndim, shape, &r));
    if (r->numel > 0) {
        gr_status s = gr_tensor_backend(a)->binary(op, r, a, b, &plan);
        if (s != GR_OK) { gr_tensor_release(r); return s; }
    }
    *out = r;
    return GR_OK;
}

static int storage_overlaps(const gr_tensor *a, const gr_tensor *b)
{
    return a->storage == b->storage && a->offset < b->offset + b->numel && b->offset < a->offset + a->numel;
}

gr_status gr_tensor_binary_(gr_binop op, gr_tensor *a, const gr_tensor *b)
{
    GR_TRY(gr_check_same_device(a, b));
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    gr_bcast plan;
    GR_TRY(broadcast_plan(a, b, &ndim, shape, &plan));
    if (ndim != a->ndim || memcmp(shape, a->shape, (size_t)ndim * sizeof *shape) != 0) {
        char sa[96], sr[96];
        return gr_fail(GR_ESHAPE, "shape mismatch: %s vs %s (an in-place result must keep the shape %s)",
                       gr_shape_str(a->ndim, a->shape, sa, sizeof sa),
                       gr_shape_str(b->ndim, b->shape, sr, sizeof sr), sa);
    }
    if (a->numel == 0) return GR_OK;
    /* The backend may only write over its first input: an operand sharing
     * memory with a (a row view of a, or a itself) is read from a copy. */
    if (storage_overlaps(a, b)) {
        gr_tensor *bc;
        GR_TRY(gr_tensor_clone(b, &bc));
        gr_status s = gr_tensor_backend(a)->binary(op, a, a, bc, &plan);
        gr_tensor_release(bc);
        return s;
    }
    return gr_tensor_backend(a)->binary(op, a, a, b, &plan);
}

static gr_status check_unary_params(gr_unop op, float p, float q)
{
    if (op == GR_UN_CLAMP) {
        if (isnan(p) || isnan(q)) return gr_fail(GR_EINVAL, "clamp bounds must not be NaN");
        if (p > q) return gr_fail(GR_EINVAL, "clamp needs min <= max (got %g > %g)", (double)p, (double)q);
    }
    return GR_OK;
}

gr_status gr_tensor_unary(gr_unop op, const gr_tensor *x, float p, float q, gr_tensor **out)
{
    GR_TRY(check_unary_params(op, p, q));
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(x), x->ndim, x->shape, &r));
    if (r->numel > 0) {
        gr_status s = gr_tensor_backend(x)->unary(op, r, x, p, q);
        if (s != GR_OK) { gr_tensor_release(r); return s; }
    }
    *out = r;
    return GR_OK;
}

gr_status gr_tensor_unary_(gr_unop op, gr_tensor *x, float p, float q)
{
    GR_TRY(check_unary_params(op, p, q));
    if (x->numel == 0) return GR_OK;
    return gr_tensor_backend(x)->unary(op, x, x, p, q);
}
