/* Tensor operations, independent of the device.
 *
 * Each op checks its arguments (shapes, dimensions, devices), works out the
 * output shape, allocates the output on the inputs' device and runs the
 * device's backend kernels (gr_backend.h). Dimensions and indices are
 * 0-based here; the Lua binding translates from 1-based. Tensors are
 * contiguous, so every output is a new contiguous tensor unless the function
 * says it is a view. A failing call changes nothing. */
#ifndef GR_OPS_H
#define GR_OPS_H

#include "gr_backend.h"

/* ---- creation (gr_tensor_create.c) ---------------------------------------- */

/* start, start+step, ... while before stop (stop excluded); step != 0;
 * empty when step points away from stop. Arguments must be finite. */
gr_status gr_tensor_arange(gr_device *dev, double start, double stop, double step, gr_tensor **out);
/* n evenly spaced values from a to b, both included (n = 1 gives a). */
gr_status gr_tensor_linspace(gr_device *dev, double a, double b, int64_t n, gr_tensor **out);

/* ---- random numbers (gr_tensor_random.c) ---------------------------------- */

/* Fill from the process-wide generator (gr_random.h) and advance it by numel. */
gr_status gr_tensor_uniform_(gr_tensor *t, float a, float b);       /* [a, b), a <= b */
gr_status gr_tensor_normal_(gr_tensor *t, float mean, float std);   /* std >= 0 */
gr_status gr_tensor_rand(gr_device *dev, int ndim, const int64_t *shape, gr_tensor **out);
gr_status gr_tensor_randn(gr_device *dev, int ndim, const int64_t *shape, gr_tensor **out);

/* ---- element-wise (gr_tensor_elementwise.c) ------------------------------- */

/* a op b with numpy broadcasting: shapes align at the last dimension and
 * each pair of sizes is equal or one of them is 1 (a missing size counts as 1). */
gr_status gr_tensor_binary(gr_binop op, const gr_tensor *a, const gr_tensor *b, gr_tensor **out);
/* a = a op b; the broadcast result must have a's shape. */
gr_status gr_tensor_binary_(gr_binop op, gr_tensor *a, const gr_tensor *b);
/* y = f(x; p, q) for the maps of gr_unop. CLAMP needs p <= q, neither NaN. */
gr_status gr_tensor_unary(gr_unop op, const gr_tensor *x, float p, float q, gr_tensor **out);
gr_status gr_tensor_unary_(gr_unop op, gr_tensor *x, float p, float q);

/* ---- reductions (gr_tensor_reduce.c) -------------------------------------- */

/* Over all elements. ARGMAX gives the flat 0-based index of the first
 * maximum. SUM and NORM of no elements are 0; the others fail. */
gr_status gr_tensor_reduce_all(gr_redop op, const gr_tensor *x, double *result);
/* Along dimension dim, which is removed unless keepdim keeps it as size 1.
 * ARGMAX gives 0-based indices stored as floats. */
gr_status gr_tensor_reduce_dim(gr_redop op, const gr_tensor *x, int dim, int keepdim, gr_tensor **out);
/* Maximum (or minimum when is_max is 0) along dim with the 0-based index of
 * its first occurrence. */
gr_status gr_tensor_extreme_dim(int is_max, const gr_tensor *x, int dim, int keepdim,
                                gr_tensor **values, gr_tensor **indices);
/* Sum of a[i] * b[i] over two tensors of the same shape, accumulated in double. */
gr_status gr_tensor_dot(const gr_tensor *a, const gr_tensor *b, double *result);

/* ---- shape and data movement (gr_tensor_shape.c) -------------------------- */

/* A view over t's storage; at most one size may be -1, inferred from numel. */
gr_status gr_tensor_view(const gr_tensor *t, int ndim, const int64_t *shape, gr_tensor **out);
/* A view of t[index] along the first dimension (ndim - 1 dimensions). */
gr_status gr_tensor_row(const gr_tensor *t, int64_t index, gr_tensor **out);
/* Copies: */
gr_status gr_tensor_transpose(const gr_tensor *t, int d1, int d2, gr_tensor **out);
gr_status gr_tensor_narrow(const gr_tensor *t, int dim, int64_t start, int64_t length, gr_tensor **out);
gr_status gr_tensor_select(const gr_tensor *t, int dim, int64_t index, gr_tensor **out);
gr_status gr_tensor_index_select(const gr_tensor *t, int dim, const int64_t *idx, int64_t nidx, gr_tensor **out);
gr_status gr_tensor_cat(gr_tensor *const *parts, int nparts, int dim, gr_tensor **out);

/* ---- matrix products (gr_tensor_matmul.c) --------------------------------- */

/* (m,k)x(k,n) -> (m,n); (b,m,k)x(b,k,n) -> (b,m,n); a 2-D operand against a
 * 3-D one is used for every batch entry. */
gr_status gr_tensor_matmul(const gr_tensor *a, const gr_tensor *b, gr_tensor **out);

#endif
