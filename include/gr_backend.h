/* The kernels a device provides. The device-independent op layer
 * (gr_tensor*.c) validates arguments, works out shapes, allocates outputs
 * and then calls exactly one backend entry; backends trust their inputs.
 * Outputs never alias inputs unless the entry says so. */
#ifndef GR_BACKEND_H
#define GR_BACKEND_H

#include "gr_tensor.h"

typedef enum gr_binop { GR_BIN_ADD, GR_BIN_SUB, GR_BIN_MUL, GR_BIN_DIV } gr_binop;

/* Element-wise maps y = f(x; a, b). */
typedef enum gr_unop {
    GR_UN_NEG, GR_UN_EXP, GR_UN_LOG, GR_UN_SQRT, GR_UN_ABS, GR_UN_TANH,
    GR_UN_SIGMOID, GR_UN_RELU,
    GR_UN_POW,       /* x^a */
    GR_UN_CLAMP,     /* min(max(x, a), b); a = -inf or b = +inf for one side */
    GR_UN_ADD_S,     /* x + a */
    GR_UN_SUB_S,     /* x - a */
    GR_UN_RSUB_S,    /* a - x */
    GR_UN_MUL_S,     /* x * a */
    GR_UN_DIV_S,     /* x / a */
    GR_UN_RDIV_S     /* a / x */
} gr_unop;

typedef enum gr_redop {
    GR_RED_SUM, GR_RED_MEAN, GR_RED_MAX, GR_RED_MIN,
    GR_RED_ARGMAX,   /* index along the reduced extent, stored as float */
    GR_RED_NORM      /* Euclidean norm */
} gr_redop;

typedef enum gr_randkind { GR_RAND_UNIFORM, GR_RAND_NORMAL } gr_randkind;

/* Element strides of both inputs in the output's index space; a stride is 0
 * along a broadcast dimension. ndim >= 1 (a 0-d output uses ndim 1, shape 1). */
typedef struct gr_bcast {
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    int64_t astride[GR_MAX_DIMS];
    int64_t bstride[GR_MAX_DIMS];
} gr_bcast;

/* A strided window onto a storage, for copies that reorder elements. */
typedef struct gr_strided {
    gr_storage *storage;
    int64_t offset;                 /* in elements */
    int64_t stride[GR_MAX_DIMS];    /* in elements */
} gr_strided;

struct gr_backend {
    /* Memory */
    gr_status (*alloc)(gr_device *dev, size_t nbytes, gr_storage *st);  /* fills host/impl */
    void (*free)(gr_storage *st);
    gr_status (*upload)(gr_storage *st, size_t byte_offset, const void *src, size_t nbytes);
    gr_status (*download)(gr_storage *st, size_t byte_offset, void *dst, size_t nbytes);  /* sync point */
    gr_status (*synchronize)(gr_device *dev);
    /* Device time of the work recorded between the two calls (gr_device_timer_*). */
    gr_status (*timer_start)(gr_device *dev);
    gr_status (*timer_stop)(gr_device *dev, double *seconds);  /* sync point */

    /* Element-wise */
    gr_status (*fill)(gr_tensor *t, float value);
    gr_status (*copy)(gr_tensor *dst, const gr_tensor *src);             /* same numel, same device */
    gr_status (*binary)(gr_binop op, gr_tensor *out, const gr_tensor *a, const gr_tensor *b,
                        const gr_bcast *plan);                            /* out may alias a */
    gr_status (*unary)(gr_unop op, gr_tensor *out, const gr_tensor *x, float a, float b); /* out may alias x */

    /* Reductions over the middle extent of x viewed as (outer, len, inner);
     * out holds outer*inner values. len >= 1. Sums accumulate in double. */
    gr_status (*reduce)(gr_redop op, gr_tensor *out, const gr_tensor *x,
                        int64_t outer, int64_t len, int64_t inner);
    gr_status (*dot)(const gr_tensor *a, const gr_tensor *b, double *result);  /* sync point */

    /* out[b] = a[b] (m x k) * b[b] (k x n), for b < batch; a/b batch stride 0 broadcasts. */
    gr_status (*matmul)(gr_tensor *out, const gr_tensor *a, const gr_tensor *b,
                        int64_t batch, int64_t m, int64_t n, int64_t k,
                        int64_t a_batch_stride, int64_t b_batch_stride);

    /* Data movement */
    gr_status (*copy_strided)(const gr_strided *dst, const gr_strided *src,
                              int ndim, const int64_t *shape);
    /* out (outer, nidx, inner) = x (outer, len, inner) gathered along the middle
     * extent; idx holds nidx host indices already checked to lie in [0, len). */
    gr_status (*index_select)(gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len,
                              int64_t inner, const int64_t *idx, int64_t nidx);

    /* Random numbers: element i takes counter value `counter + i` of the
     * Philox4x32-10 stream keyed by `seed` (see gr_random.h). */
    gr_status (*random)(gr_tensor *t, gr_randkind kind, uint64_t seed, uint64_t counter,
                        float a, float b);
};

extern const gr_backend gr_cpu_backend;

#endif
