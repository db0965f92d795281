/* grilly files: a sequence of named, typed records closed by a CRC-32C
 * (byte layout in docs/file-format.md). A writer replaces its file
 * atomically; a reader verifies the whole file before it hands out any
 * record. Messages name the path and the problem. */
#ifndef GR_FILE_H
#define GR_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "gr_tensor.h"

#define GR_FILE_VERSION 1          /* the newest format version this build reads and writes */
#define GR_FILE_MAX_NAME 4096      /* bytes in a record name */

typedef enum gr_file_type {
    GR_FILE_TENSOR_F32 = 1,        /* float32 tensor, 0 to 8 dimensions */
    GR_FILE_ARRAY_F64,             /* float64 array */
    GR_FILE_ARRAY_I64,             /* int64 array */
    GR_FILE_BYTES                  /* byte string (UTF-8 text or anything else) */
} gr_file_type;

typedef struct gr_file_record {
    const char *name;              /* owned by the reader */
    gr_file_type type;
    int ndim;                      /* 0 to 8 for tensors, 1 for the other types */
    int64_t shape[GR_MAX_DIMS];
    int64_t count;                 /* elements; bytes for GR_FILE_BYTES */
} gr_file_record;

/* ---- writing ------------------------------------------------------------
 * Records go to a temporary file next to `path` ("<path>.tmp-<pid>-<n>").
 * commit() flushes and fsyncs it, renames it over `path` and fsyncs the
 * directory; abort() removes it. Until commit succeeds, the file under `path`
 * is untouched. A write call that fails on a bad argument (name too long or
 * used twice, negative count) writes nothing and the writer stays usable; one
 * that fails part-way through I/O leaves the writer failed: later writes and
 * commit() report it, and the temporary file is removed at commit or abort.
 * commit() and abort() both free the writer. */
typedef struct gr_file_writer gr_file_writer;

gr_status gr_file_writer_open(const char *path, gr_file_writer **out);
/* Reads t from its device (gr_tensor_read_range: a sync point). */
gr_status gr_file_write_tensor(gr_file_writer *w, const char *name, const gr_tensor *t);
gr_status gr_file_write_f64(gr_file_writer *w, const char *name, const double *data, int64_t n);
gr_status gr_file_write_i64(gr_file_writer *w, const char *name, const int64_t *data, int64_t n);
gr_status gr_file_write_string(gr_file_writer *w, const char *name, const char *data, size_t len);
gr_status gr_file_writer_commit(gr_file_writer *w);
void gr_file_writer_abort(gr_file_writer *w);      /* NULL is fine */

/* ---- reading ------------------------------------------------------------
 * open() checks the header, every record's layout against the file size and
 * the checksum, and fails with a message that says whether the file is
 * missing, not a grilly file, truncated, corrupted or from a newer grilly.
 * Record data is read on demand by the typed getters. */
typedef struct gr_file_reader gr_file_reader;

gr_status gr_file_reader_open(const char *path, gr_file_reader **out);
const char *gr_file_reader_path(const gr_file_reader *r);
size_t gr_file_reader_count(const gr_file_reader *r);
/* The i-th record in file order (i < count), or NULL. */
const gr_file_record *gr_file_reader_record(const gr_file_reader *r, size_t i);
/* The record called name, or NULL. */
const gr_file_record *gr_file_reader_find(const gr_file_reader *r, const char *name);

/* Getters fail when the record is missing or of another type. The array
 * getters need n equal to the record's count (see gr_file_reader_find). */
gr_status gr_file_read_tensor(gr_file_reader *r, const char *name, gr_device *dev, gr_tensor **out);
gr_status gr_file_read_f64(gr_file_reader *r, const char *name, double *dst, int64_t n);
gr_status gr_file_read_i64(gr_file_reader *r, const char *name, int64_t *dst, int64_t n);
gr_status gr_file_read_string(gr_file_reader *r, const char *name, char *dst, size_t len);  /* no NUL added */
void gr_file_reader_close(gr_file_reader *r);      /* NULL is fine */

#endif
