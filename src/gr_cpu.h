/* CPU kernels, one group per file, gathered into gr_cpu_backend. */
#ifndef GR_CPU_H
#define GR_CPU_H

#include "gr_backend.h"

/* On x86-64, a function marked GR_CPU_CLONES is compiled for AVX2 and for
 * the baseline (SSE2), and the loader picks one for the processor (an ifunc).
 * Both give the same results: no FMA is among the targets, and vector float
 * division and square root round like the scalar ones. The optimizer passes,
 * bound by sqrt and division, run up to 1.6x faster with AVX2. */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define GR_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef GR_CPU_CLONES
#define GR_CPU_CLONES
#endif

/* Pointer to the first element of t in host memory. */
static inline float *gr_cpu_data(const gr_tensor *t) { return t->storage->host + t->offset; }

/* gr_cpu_backend.c */
gr_status gr_cpu_fill(gr_tensor *t, float value);
gr_status gr_cpu_copy(gr_tensor *dst, const gr_tensor *src);

/* gr_cpu_elementwise.c */
gr_status gr_cpu_binary(gr_binop op, gr_tensor *out, const gr_tensor *a, const gr_tensor *b, const gr_bcast *plan);
gr_status gr_cpu_unary(gr_unop op, gr_tensor *out, const gr_tensor *x, float a, float b);

/* gr_cpu_reduce.c */
gr_status gr_cpu_reduce(gr_redop op, gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner);
gr_status gr_cpu_dot(const gr_tensor *a, const gr_tensor *b, double *result);

/* gr_cpu_matmul.c */
gr_status gr_cpu_matmul(gr_tensor *out, const gr_tensor *a, const gr_tensor *b, int64_t batch, int64_t m,
                        int64_t n, int64_t k, int64_t a_batch_stride, int64_t b_batch_stride);

/* gr_cpu_movement.c */
gr_status gr_cpu_copy_strided(const gr_strided *dst, const gr_strided *src, int ndim, const int64_t *shape);
gr_status gr_cpu_index_select(gr_tensor *out, const gr_tensor *x, int64_t outer, int64_t len, int64_t inner,
                              const int64_t *idx, int64_t nidx);

/* gr_cpu_random.c */
gr_status gr_cpu_random(gr_tensor *t, gr_randkind kind, uint64_t seed, uint64_t counter, float a, float b);

#endif
