/* Matrix products: 2-D, batched 3-D, and a 2-D operand shared by every batch. */
#include "gr_ops_common.h"

gr_status gr_tensor_matmul(const gr_tensor *a, const gr_tensor *b, gr_tensor **out)
{
    GR_TRY(gr_check_same_device(a, b));
    if (a->ndim < 2 || a->ndim > 3 || b->ndim < 2 || b->ndim > 3) {
        char sa[96], sb[96];
        return gr_fail(GR_ESHAPE, "matmul needs 2-D or 3-D tensors (got %s vs %s)",
                       gr_shape_str(a->ndim, a->shape, sa, sizeof sa), gr_shape_str(b->ndim, b->shape, sb, sizeof sb));
    }
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1];
    int64_t kb = b->shape[b->ndim - 2], n = b->shape[b->ndim - 1];
    int64_t abatch = a->ndim == 3 ? a->shape[0] : 1, bbatch = b->ndim == 3 ? b->shape[0] : 1;
    if (k != kb || (a->ndim == 3 && b->ndim == 3 && abatch != bbatch)) {
        char sa[96], sb[96];
        return gr_fail(GR_ESHAPE, "shape mismatch: %s vs %s (%s)", gr_shape_str(a->ndim, a->shape, sa, sizeof sa),
                       gr_shape_str(b->ndim, b->shape, sb, sizeof sb),
                       k != kb ? "inner sizes differ" : "batch sizes differ");
    }

    int batched = a->ndim == 3 || b->ndim == 3;
    int64_t batch = a->ndim == 3 ? abatch : bbatch;
    int64_t shape[3] = { batch, m, n };
    gr_tensor *r;
    GR_TRY(gr_tensor_empty(gr_tensor_device(a), batched ? 3 : 2, batched ? shape : shape + 1, &r));
    gr_status s = GR_OK;
    if (r->numel > 0) {
        if (k == 0)
            s = gr_tensor_fill_(r, 0.0f);
        else
            s = gr_tensor_backend(a)->matmul(r, a, b, batch, m, n, k,
                                             a->ndim == 3 ? m * k : 0, b->ndim == 3 ? k * n : 0);
    }
    if (s != GR_OK) { gr_tensor_release(r); return s; }
    *out = r;
    return GR_OK;
}
