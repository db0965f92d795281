/* IDX files, plain or gzip-compressed (zlib reads both). */
#include "gr_data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Bytes per element of an IDX type code, 0 for an unknown code. */
static int idx_type_size(unsigned code)
{
    switch (code) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

/* Reads exactly n bytes; fails as truncated otherwise. */
static gr_status read_exact(gzFile f, const char *path, void *buf, size_t n, const char *what)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            return gr_fail(GR_ECORRUPT, "%s: cannot read the %s: %s", path, what, msg);
        }
        if (got == 0) return gr_fail(GR_ECORRUPT, "%s: file ends inside the %s", path, what);
        p += got;
        n -= (size_t)got;
    }
    return GR_OK;
}

static uint64_t be_uint(const unsigned char *p, int size)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v = (v << 8) | p[i];
    return v;
}

/* Element i of type code as a float. */
static float idx_value(const unsigned char *p, unsigned code)
{
    switch (code) {
    case 0x08: return (float)p[0];
    case 0x09: return (float)(int8_t)p[0];
    case 0x0B: return (float)(int16_t)(uint16_t)be_uint(p, 2);
    case 0x0C: return (float)(int32_t)(uint32_t)be_uint(p, 4);
    case 0x0D: { uint32_t u = (uint32_t)be_uint(p, 4); float f; memcpy(&f, &u, 4); return f; }
    default:   { uint64_t u = be_uint(p, 8); double d; memcpy(&d, &u, 8); return (float)d; }
    }
}

/* The n data bytes, read into a buffer that grows (doubling from 1 MiB) only
 * as they arrive: the size a header claims is never allocated before the
 * file has shown that much, and a compressed file's length is not known
 * up front. */
static gr_status read_data(gzFile f, const char *path, size_t n, unsigned char **out)
{
    size_t cap = n < ((size_t)1 << 20) ? n : ((size_t)1 << 20), have = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf) return gr_fail(GR_ENOMEM, "out of host memory reading %s", path);
    while (have < n) {
        if (have == cap) {
            size_t next = cap < n - cap ? 2 * cap : n;
            unsigned char *grown = realloc(buf, next);
            if (!grown) {
                free(buf);
                return gr_fail(GR_ENOMEM, "out of host memory reading %s", path);
            }
            buf = grown;
            cap = next;
        }
        gr_status s = read_exact(f, path, buf + have, cap - have, "data");
        if (s != GR_OK) {
            free(buf);
            return s;
        }
        have = cap;
    }
    *out = buf;
    return GR_OK;
}

static gr_status read_body(gzFile f, const char *path, gr_device *dev, gr_tensor **out)
{
    unsigned char magic[4];
    GR_TRY(read_exact(f, path, magic, 4, "header"));
    int size = idx_type_size(magic[2]);
    if (magic[0] != 0 || magic[1] != 0 || size == 0 || magic[3] > GR_MAX_DIMS)
        return gr_fail(GR_ECORRUPT, "%s: not an IDX file (magic %02x %02x %02x %02x)", path, magic[0], magic[1],
                       magic[2], magic[3]);
    int ndim = magic[3];
    unsigned char dims[4 * GR_MAX_DIMS];
    int64_t shape[GR_MAX_DIMS], numel;
    GR_TRY(read_exact(f, path, dims, (size_t)ndim * 4, "header"));
    for (int i = 0; i < ndim; i++) shape[i] = (int64_t)be_uint(dims + 4 * i, 4);
    GR_TRY(gr_shape_check(ndim, shape, &numel));

    unsigned char *raw = NULL;
    GR_TRY(read_data(f, path, (size_t)numel * (size_t)size, &raw));
    float *vals = malloc((size_t)(numel ? numel : 1) * sizeof *vals);
    gr_status s = vals ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory reading %s", path);
    if (s == GR_OK) {
        unsigned char extra;
        if (gzread(f, &extra, 1) != 0)
            s = gr_fail(GR_ECORRUPT, "%s: more data than the header's %lld elements", path, (long long)numel);
    }
    if (s == GR_OK) {
        for (int64_t i = 0; i < numel; i++) vals[i] = idx_value(raw + (size_t)i * (size_t)size, magic[2]);
        s = gr_tensor_from_host(dev, ndim, shape, vals, out);
    }
    free(raw);
    free(vals);
    return s;
}

gr_status gr_data_read_idx(const char *path, gr_device *dev, gr_tensor **out)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return gr_fail(GR_EIO, "cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1 << 20);
    gr_status s = read_body(f, path, dev, out);
    gzclose(f);
    return s;
}
