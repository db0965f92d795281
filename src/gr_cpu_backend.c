/* The CPU device: aligned host memory and the table of CPU kernels. */
#include "gr_cpu.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static gr_status cpu_alloc(gr_device *dev, size_t nbytes, gr_storage *st)
{
    (void)dev;
    /* 64-byte alignment for vector loads; aligned_alloc needs a multiple of it. */
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    st->host = aligned_alloc(64, rounded ? rounded : 64);
    if (!st->host)
        return gr_fail(GR_ENOMEM, "out of host memory allocating %zu bytes", nbytes);
    return GR_OK;
}

static void cpu_free(gr_storage *st) { free(st->host); st->host = NULL; }

static gr_status cpu_upload(gr_storage *st, size_t off, const void *src, size_t n)
{
    memcpy((char *)st->host + off, src, n);
    return GR_OK;
}

static gr_status cpu_download(gr_storage *st, size_t off, void *dst, size_t n)
{
    memcpy(dst, (const char *)st->host + off, n);
    return GR_OK;
}

static gr_status cpu_synchronize(gr_device *dev) { (void)dev; return GR_OK; }

/* The CPU device is one object, so its timer's origin is too. */
static struct timespec cpu_timer_origin;

static gr_status cpu_timer_start(gr_device *dev)
{
    clock_gettime(CLOCK_MONOTONIC, &cpu_timer_origin);
    return GR_OK;
}

static gr_status cpu_timer_stop(gr_device *dev, double *seconds)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    *seconds = (double)(now.tv_sec - cpu_timer_origin.tv_sec) + (double)(now.tv_nsec - cpu_timer_origin.tv_nsec) * 1e-9;
    return GR_OK;
}

gr_status gr_cpu_fill(gr_tensor *t, float value)
{
    float *restrict p = gr_cpu_data(t);
    for (int64_t i = 0; i < t->numel; i++) p[i] = value;
    return GR_OK;
}

gr_status gr_cpu_copy(gr_tensor *dst, const gr_tensor *src)
{
    memmove(gr_cpu_data(dst), gr_cpu_data(src), (size_t)src->numel * sizeof(float));
    return GR_OK;
}

const gr_backend gr_cpu_backend = {
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .synchronize = cpu_synchronize,
    .timer_start = cpu_timer_start,
    .timer_stop = cpu_timer_stop,
    .fill = gr_cpu_fill,
    .copy = gr_cpu_copy,
    .binary = gr_cpu_binary,
    .unary = gr_cpu_unary,
    .reduce = gr_cpu_reduce,
    .dot = gr_cpu_dot,
    .matmul = gr_cpu_matmul,
    .copy_strided = gr_cpu_copy_strided,
    .index_select = gr_cpu_index_select,
    .random = gr_cpu_random,
};
