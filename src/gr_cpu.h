/* CPU kernels, one group per file, gathered into gr_cpu_backend. */
#ifndef GR_CPU_H
#define GR_CPU_H

#include "gr_backend.h"

/* Pointer to the first element of t in host memory. */
static inline float *gr_cpu_data(const gr_tensor *t) { return t->storage->host + t->offset; }

gr_status gr_cpu_fill(gr_tensor *t, float value);
gr_status gr_cpu_copy(gr_tensor *dst, const gr_tensor *src);

#endif
