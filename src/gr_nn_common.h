/* Shared by the device-generic nn files (gr_nn_*.c): the nn kernel table of
 * a tensor's device. */
#ifndef GR_NN_COMMON_H
#define GR_NN_COMMON_H

#include "gr_nn.h"
#include "gr_ops_common.h"

/* The nn kernels of t's device. */
static inline gr_status gr_nn_backend_of(const gr_tensor *t, const gr_nn_backend **out)
{
    gr_device *dev = gr_tensor_device(t);
    *out = dev->kind == GR_DEVICE_CPU ? &gr_cpu_nn_backend : &gr_vk_nn_backend;
    return GR_OK;
}

/* Fails unless t has exactly the given shape; `what` names t in the message. */
static inline gr_status gr_nn_check_shape(const gr_tensor *t, int ndim, const int64_t *shape, const char *what)
{
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (same) return GR_OK;
    char got[96], want[96];
    return gr_fail(GR_ESHAPE, "shape mismatch: %s is %s, expected %s", what,
                   gr_shape_str(t->ndim, t->shape, got, sizeof got), gr_shape_str(ndim, shape, want, sizeof want));
}

#endif
