/* CSV files of numbers, plain or gzip-compressed. */
#include "gr_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The whole (decompressed) file, NUL-terminated, in *text. */
static gr_status slurp(const char *path, char **text, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return gr_fail(GR_EIO, "cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    gr_status s = buf ? GR_OK : gr_fail(GR_ENOMEM, "out of host memory reading %s", path);
    while (s == GR_OK) {
        if (cap - n < (1 << 15)) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { s = gr_fail(GR_ENOMEM, "out of host memory reading %s", path); break; }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n - 1));
        if (got < 0) {
            int zerr;
            s = gr_fail(GR_ECORRUPT, "%s: cannot read: %s", path, gzerror(f, &zerr));
        } else if (got == 0) {
            break;
        }
        n += got > 0 ? (size_t)got : 0;
    }
    gzclose(f);
    if (s != GR_OK) { free(buf); return s; }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return GR_OK;
}

/* The end of the line starting at p (its '\n' or the final NUL). */
static char *line_end(char *p) { char *e = strchr(p, '\n'); return e ? e : p + strlen(p); }

static int blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
    return 1;
}

/* Parses one line of fields into vals (when not NULL); returns the number
 * of fields, or -1 with a message on a field that is not a number. */
static int64_t parse_line(char *p, char *end, char delim, float *vals, const char *path, int64_t lineno)
{
    int64_t count = 0;
    for (;;) {
        char *field_end = p;
        while (field_end < end && *field_end != delim) field_end++;
        char saved = *field_end;
        *field_end = 0;
        char *num_end;
        errno = 0;
        double v = strtod(p, &num_end);
        int ok = num_end != p;
        for (char *q = num_end; ok && *q; q++) ok = *q == ' ' || *q == '\t' || *q == '\r';
        if (!ok) {
            char shown[40];
            snprintf(shown, sizeof shown, "%.32s", p);
            *field_end = saved;
            gr_fail(GR_ECORRUPT, "%s: line %lld, field %lld: '%s' is not a number", path, (long long)lineno,
                    (long long)(count + 1), shown);
            return -1;
        }
        *field_end = saved;
        if (vals) vals[count] = (float)v;
        count++;
        if (field_end >= end) return count;
        p = field_end + 1;
    }
}

static gr_status parse(char *text, const char *path, char delim, int has_header, gr_device *dev, gr_tensor **out,
                       char **header)
{
    char *p = text;
    int64_t lineno = 1;
    if (has_header) {
        char *e = line_end(p);
        size_t hl = (size_t)(e - p);
        if (hl > 0 && p[hl - 1] == '\r') hl--;
        *header = malloc(hl + 1);
        if (!*header) return gr_fail(GR_ENOMEM, "out of host memory reading %s", path);
        memcpy(*header, p, hl);
        (*header)[hl] = 0;
        p = *e ? e + 1 : e;
        lineno++;
    }
    /* First pass: count rows and check every row has the first row's width. */
    int64_t rows = 0, cols = 0;
    for (char *q = p, *e; *q; q = *e ? e + 1 : e, lineno++) {
        e = line_end(q);
        if (blank(q, e)) continue;
        int64_t n = parse_line(q, e, delim, NULL, path, lineno);
        if (n < 0) return GR_ECORRUPT;
        if (rows > 0 && n != cols)
            return gr_fail(GR_ECORRUPT, "%s: line %lld has %lld fields, expected %lld", path, (long long)lineno,
                           (long long)n, (long long)cols);
        cols = n;
        rows++;
    }
    int64_t shape[2] = { rows, cols }, numel;
    GR_TRY(gr_shape_check(2, shape, &numel));
    float *vals = malloc((size_t)(numel ? numel : 1) * sizeof *vals);
    if (!vals) return gr_fail(GR_ENOMEM, "out of host memory reading %s", path);
    int64_t r = 0;
    for (char *q = p, *e; *q; q = *e ? e + 1 : e) {
        e = line_end(q);
        if (blank(q, e)) continue;
        parse_line(q, e, delim, vals + r * cols, path, 0);
        r++;
    }
    gr_status s = gr_tensor_from_host(dev, 2, shape, vals, out);
    free(vals);
    return s;
}

gr_status gr_data_read_csv(const char *path, char delimiter, int has_header, gr_device *dev, gr_tensor **out,
                           char **header)
{
    if (delimiter == 0 || !strchr(",;\t |:", delimiter))
        return gr_fail(GR_EINVAL, "a CSV delimiter must be one of , ; | : tab or space (got '%c')", delimiter);
    char *text = NULL;
    size_t len = 0;
    GR_TRY(slurp(path, &text, &len));
    *header = NULL;
    gr_status s = parse(text, path, delimiter, has_header, dev, out, header);
    if (s != GR_OK) { free(*header); *header = NULL; }
    free(text);
    return s;
}
