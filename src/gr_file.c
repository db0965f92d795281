/* grilly files: the atomic writer and the verifying reader.
 * The byte layout is specified in docs/file-format.md; every multi-byte field
 * is little-endian and is assembled byte by byte, so host order never leaks. */
#include "gr_file.h"
#include "gr_crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- layout ------------------------------------------------------------- */

static const unsigned char MAGIC[8] = {0x89, 'G', 'R', 'L', '\r', '\n', 0x1A, '\n'};

#define HEADER_BYTES 16        /* magic, version, reserved */
#define RECORD_FIXED_BYTES 12  /* tag, name length, ndim; then shape and name */
#define END_BYTES 28           /* tag, reserved, record count, file length, CRC */
#define CHUNK_BYTES ((size_t)1 << 20)

#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_END TAG('E', 'N', 'D', '!')

static const struct type_info {
    uint32_t tag;
    size_t elsize;
    const char *name;
} TYPES[] = {
    [GR_FILE_TENSOR_F32] = {TAG('F', '3', '2', 'T'), 4, "float32 tensor"},
    [GR_FILE_ARRAY_F64]  = {TAG('F', '6', '4', 'A'), 8, "float64 array"},
    [GR_FILE_ARRAY_I64]  = {TAG('I', '6', '4', 'A'), 8, "int64 array"},
    [GR_FILE_BYTES]      = {TAG('B', 'Y', 'T', 'S'), 1, "byte string"},
};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

static gr_file_type type_of_tag(uint32_t tag)
{
    for (int t = 1; t < NTYPES; t++)
        if (TYPES[t].tag == tag) return (gr_file_type)t;
    return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Converts n elements between host order and little-endian, in place
 * (the same swap serves both directions). */
static void host_le_swap(void *buf, size_t n, size_t elsize)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++, p += elsize)
        for (size_t a = 0, b = elsize - 1; a < b; a++, b--) {
            unsigned char c = p[a];
            p[a] = p[b];
            p[b] = c;
        }
#else
    (void)buf; (void)n; (void)elsize;
#endif
}

/* ---- names: insertion order plus an open-addressing hash index ---------- */

typedef struct name_table {
    char **names;      /* in insertion order, each allocated */
    size_t count, cap;
    size_t *slots;     /* 1 + index into names; 0 marks an empty slot */
    size_t nslots;     /* a power of two, more than twice count */
} name_table;

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;     /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t *names_slot(const name_table *t, const char *name, size_t len)
{
    size_t mask = t->nslots - 1;
    for (size_t i = (size_t)hash_name(name, len) & mask;; i = (i + 1) & mask) {
        size_t *slot = &t->slots[i];
        if (*slot == 0) return slot;
        const char *have = t->names[*slot - 1];
        if (strncmp(have, name, len) == 0 && have[len] == 0) return slot;
    }
}

static int names_has(const name_table *t, const char *name, size_t len)
{
    return t->nslots && *names_slot(t, name, len) != 0;
}

static ptrdiff_t names_find(const name_table *t, const char *name)
{
    if (!t->nslots) return -1;
    size_t slot = *names_slot(t, name, strlen(name));
    return slot ? (ptrdiff_t)slot - 1 : -1;
}

/* Makes room for one more name, so that names_add cannot fail. */
static gr_status names_reserve(name_table *t)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **names = realloc(t->names, cap * sizeof *names);
        if (!names) return gr_fail(GR_ENOMEM, "out of host memory for %zu record names", cap);
        t->names = names;
        t->cap = cap;
    }
    if (2 * (t->count + 1) >= t->nslots) {
        size_t nslots = t->nslots ? 2 * t->nslots : 64;
        size_t *slots = calloc(nslots, sizeof *slots);
        if (!slots) return gr_fail(GR_ENOMEM, "out of host memory for %zu record names", nslots);
        size_t *old = t->slots;
        t->slots = slots;
        t->nslots = nslots;
        for (size_t i = 0; i < t->count; i++)
            *names_slot(t, t->names[i], strlen(t->names[i])) = i + 1;
        free(old);
    }
    return GR_OK;
}

/* Adds a name known to be absent, after names_reserve; returns its copy. */
static const char *names_add(name_table *t, char *copy)
{
    t->names[t->count] = copy;
    *names_slot(t, copy, strlen(copy)) = t->count + 1;
    t->count++;
    return copy;
}

static void names_free(name_table *t)
{
    for (size_t i = 0; i < t->count; i++) free(t->names[i]);
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static char *copy_name(const char *name, size_t len)
{
    char *c = malloc(len + 1);
    if (c) { memcpy(c, name, len); c[len] = 0; }
    return c;
}

/* ---- writer ------------------------------------------------------------- */

struct gr_file_writer {
    char *path;          /* the file being replaced (a symlink resolved to its target) */
    char *tmp_path;      /* the new content until commit */
    FILE *f;
    uint32_t crc;        /* of every byte written so far */
    uint64_t length;     /* bytes written so far */
    int failed;          /* an I/O failure part-way through a record */
    name_table names;
    unsigned char *chunk; /* CHUNK_BYTES of staging for little-endian data */
};

static atomic_uint tmp_counter;

/* A temporary file that no writer holds a lock on and that is at least this
 * old was left by a writer that died; the age covers the moment between a
 * writer creating its file and locking it. */
#define STALE_TEMP_SECONDS 60

static void writer_free(gr_file_writer *w)
{
    if (w->f) fclose(w->f);
    if (w->tmp_path) unlink(w->tmp_path);
    names_free(&w->names);
    free(w->chunk);
    free(w->tmp_path);
    free(w->path);
    free(w);
}

/* The file to replace: path, or the end of the chain of symbolic links that
 * starts at path (whether or not that file exists yet), so that saving
 * through a link updates what the link points to and keeps the link. */
static gr_status resolve_target(const char *path, char **out)
{
    char *cur = copy_name(path, strlen(path));
    if (!cur) return gr_fail(GR_ENOMEM, "out of host memory");
    struct stat st;
    for (int hops = 0; lstat(cur, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link);
        int err = hops >= 40 ? ELOOP : n < 0 ? errno : n == (ssize_t)sizeof link ? ENAMETOOLONG : 0;
        if (err) {
            free(cur);
            return gr_fail(GR_EIO, "cannot open '%s' for writing: %s", path, strerror(err));
        }
        /* A relative link is relative to the directory that holds it. */
        const char *slash = strrchr(cur, '/');
        size_t dirlen = link[0] != '/' && slash ? (size_t)(slash - cur) + 1 : 0;
        char *next = malloc(dirlen + (size_t)n + 1);
        if (!next) { free(cur); return gr_fail(GR_ENOMEM, "out of host memory"); }
        memcpy(next, cur, dirlen);
        memcpy(next + dirlen, link, (size_t)n);
        next[dirlen + (size_t)n] = 0;
        free(cur);
        cur = next;
    }
    if (stat(cur, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(cur);
        return gr_fail(GR_EIO, "cannot open '%s' for writing: %s", path,
                       S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
    }
    *out = cur;
    return GR_OK;
}

static gr_status emit(gr_file_writer *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->f) != n) {
        w->failed = 1;
        return gr_fail(GR_EIO, "cannot write '%s': %s", w->path, strerror(errno));
    }
    w->crc = gr_crc32c(w->crc, p, n);
    w->length += n;
    return GR_OK;
}

gr_status gr_file_writer_open(const char *path, gr_file_writer **out)
{
    if (!path || !*path) return gr_fail(GR_EINVAL, "a file name is needed");
    gr_file_writer *w = calloc(1, sizeof *w);
    if (!w) return gr_fail(GR_ENOMEM, "out of host memory");
    gr_status s = resolve_target(path, &w->path);
    if (s != GR_OK) { free(w); return s; }
    size_t cap = strlen(w->path) + 48;
    w->tmp_path = malloc(cap);
    w->chunk = malloc(CHUNK_BYTES);
    if (!w->tmp_path || !w->chunk) {
        free(w->tmp_path);
        w->tmp_path = NULL;
        writer_free(w);
        return gr_fail(GR_ENOMEM, "out of host memory");
    }
    /* O_EXCL: never reuse a name some other writer holds; retry with the next number. */
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(w->tmp_path, cap, "%s.tmp-%ld-%u", w->path, (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
        fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    /* Held until the file is renamed or removed: it tells a live writer's
     * temporary file from one a killed writer left (remove_stale_temps). */
    if (fd >= 0) (void)flock(fd, LOCK_EX | LOCK_NB);
    if (fd < 0) {
        int err = errno;
        free(w->tmp_path);
        w->tmp_path = NULL;   /* nothing was created */
        writer_free(w);
        return gr_fail(GR_EIO, "cannot open '%s' for writing: %s", path, strerror(err));
    }
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        int err = errno;
        close(fd);
        writer_free(w);
        return gr_fail(GR_EIO, "cannot open '%s' for writing: %s", path, strerror(err));
    }
    unsigned char head[HEADER_BYTES];
    memcpy(head, MAGIC, sizeof MAGIC);
    put_u32(head + 8, GR_FILE_VERSION);
    put_u32(head + 12, 0);
    s = emit(w, head, sizeof head);
    if (s != GR_OK) { writer_free(w); return s; }
    *out = w;
    return GR_OK;
}

static gr_status writer_usable(const gr_file_writer *w)
{
    if (!w) return gr_fail(GR_EINVAL, "no file writer");
    if (w->failed) return gr_fail(GR_EIO, "cannot write '%s': an earlier write to it failed", w->path);
    return GR_OK;
}

/* Checks the name, then writes the record header. Nothing is written when
 * the name is bad; an I/O failure marks the writer failed. */
static gr_status begin_record(gr_file_writer *w, const char *name, gr_file_type type,
                              int ndim, const int64_t *shape)
{
    GR_TRY(writer_usable(w));
    if (!name) return gr_fail(GR_EINVAL, "a record name is needed");
    size_t len = strlen(name);
    if (len > GR_FILE_MAX_NAME)
        return gr_fail(GR_EINVAL, "record name '%.40s...' is too long (%zu bytes, at most %d)", name, len, GR_FILE_MAX_NAME);
    if (names_has(&w->names, name, len))
        return gr_fail(GR_EINVAL, "record name '%s' is used twice in '%s'", name, w->path);
    GR_TRY(names_reserve(&w->names));
    char *copy = copy_name(name, len);
    if (!copy) return gr_fail(GR_ENOMEM, "out of host memory");

    unsigned char head[RECORD_FIXED_BYTES + 8 * GR_MAX_DIMS];
    put_u32(head, TYPES[type].tag);
    put_u32(head + 4, (uint32_t)len);
    put_u32(head + 8, (uint32_t)ndim);
    for (int i = 0; i < ndim; i++) put_u64(head + RECORD_FIXED_BYTES + 8 * i, (uint64_t)shape[i]);
    gr_status s = emit(w, head, RECORD_FIXED_BYTES + 8 * (size_t)ndim);
    if (s == GR_OK) s = emit(w, name, len);
    if (s != GR_OK) { free(copy); return s; }
    names_add(&w->names, copy);
    return GR_OK;
}

/* Writes n host-order elements as little-endian, through the staging chunk. */
static gr_status emit_array(gr_file_writer *w, const void *data, int64_t n, size_t elsize)
{
    const unsigned char *p = data;
    size_t per_chunk = CHUNK_BYTES / elsize;
    for (int64_t done = 0; done < n;) {
        size_t k = (size_t)(n - done) < per_chunk ? (size_t)(n - done) : per_chunk;
        memcpy(w->chunk, p + (size_t)done * elsize, k * elsize);
        host_le_swap(w->chunk, k, elsize);
        GR_TRY(emit(w, w->chunk, k * elsize));
        done += (int64_t)k;
    }
    return GR_OK;
}

gr_status gr_file_write_tensor(gr_file_writer *w, const char *name, const gr_tensor *t)
{
    if (!t) return gr_fail(GR_EINVAL, "no tensor to write as '%s'", name ? name : "");
    GR_TRY(begin_record(w, name, GR_FILE_TENSOR_F32, t->ndim, t->shape));
    const int64_t per_chunk = (int64_t)(CHUNK_BYTES / sizeof(float));
    for (int64_t done = 0; done < t->numel;) {
        int64_t k = t->numel - done < per_chunk ? t->numel - done : per_chunk;
        gr_status s = gr_tensor_read_range(t, done, k, (float *)(void *)w->chunk);
        if (s != GR_OK) { w->failed = 1; return s; }
        host_le_swap(w->chunk, (size_t)k, sizeof(float));
        GR_TRY(emit(w, w->chunk, (size_t)k * sizeof(float)));
        done += k;
    }
    return GR_OK;
}

static gr_status write_array(gr_file_writer *w, const char *name, gr_file_type type, const void *data, int64_t n)
{
    if (n < 0) return gr_fail(GR_EINVAL, "element count of record '%s' must be >= 0 (got %lld)", name ? name : "", (long long)n);
    if ((uint64_t)n > (uint64_t)INT64_MAX / TYPES[type].elsize)
        return gr_fail(GR_EINVAL, "record '%s' is too large (%lld elements)", name ? name : "", (long long)n);
    if (n > 0 && !data) return gr_fail(GR_EINVAL, "no data for record '%s'", name ? name : "");
    GR_TRY(begin_record(w, name, type, 1, &n));
    return emit_array(w, data, n, TYPES[type].elsize);
}

gr_status gr_file_write_f64(gr_file_writer *w, const char *name, const double *data, int64_t n)
{
    return write_array(w, name, GR_FILE_ARRAY_F64, data, n);
}

gr_status gr_file_write_i64(gr_file_writer *w, const char *name, const int64_t *data, int64_t n)
{
    return write_array(w, name, GR_FILE_ARRAY_I64, data, n);
}

gr_status gr_file_write_string(gr_file_writer *w, const char *name, const char *data, size_t len)
{
    if (len > (size_t)INT64_MAX) return gr_fail(GR_EINVAL, "string record '%s' is too large", name ? name : "");
    return write_array(w, name, GR_FILE_BYTES, data, (int64_t)len);
}

/* Flushes the directory entry of the rename. Filesystems that cannot sync a
 * directory (EINVAL) give no stronger guarantee than the rename itself. */
static gr_status sync_directory(const char *path)
{
    char *copy = copy_name(path, strlen(path));
    if (!copy) return gr_fail(GR_ENOMEM, "out of host memory");
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = fd < 0 ? errno : (fsync(fd) == 0 ? 0 : errno);
    if (fd >= 0) close(fd);
    free(copy);
    if (err && err != EINVAL)
        return gr_fail(GR_EIO, "'%s' was written, but its directory could not be synced (%s): "
                       "the new file may not survive a power loss", path, strerror(err));
    return GR_OK;
}

/* Whether name is "<base>.tmp-<pid>-<n>", a temporary file of base's writers. */
static int is_temp_of(const char *name, const char *base)
{
    size_t len = strlen(base);
    if (strncmp(name, base, len) != 0 || strncmp(name + len, ".tmp-", 5) != 0) return 0;
    const char *p = name + len + 5;
    for (int part = 0; part < 2; part++) {
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
        if (*p != (part == 0 ? '-' : '\0')) return 0;
        p++;
    }
    return 1;
}

/* Removes the temporary files of path that writers killed mid-write left
 * behind: those no live writer holds a lock on, once STALE_TEMP_SECONDS
 * old. Best effort: what cannot be removed stays, and is never read. */
static void remove_stale_temps(const char *path)
{
    char *dir_copy = copy_name(path, strlen(path)), *base_copy = copy_name(path, strlen(path));
    int dfd = dir_copy && base_copy ? open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d && dfd >= 0) close(dfd);
    const char *base = base_copy ? basename(base_copy) : NULL;
    time_t now = time(NULL);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (!is_temp_of(e->d_name, base)) continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st, now_named;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime + STALE_TEMP_SECONDS <= now &&
            flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dfd, e->d_name, &now_named, AT_SYMLINK_NOFOLLOW) == 0 &&
            now_named.st_ino == st.st_ino && now_named.st_dev == st.st_dev)
            unlinkat(dfd, e->d_name, 0);
        close(fd);
    }
    if (d) closedir(d);
    free(dir_copy);
    free(base_copy);
}

gr_status gr_file_writer_commit(gr_file_writer *w)
{
    gr_status s = writer_usable(w);
    if (s != GR_OK) { if (w) writer_free(w); return s; }
    unsigned char end[END_BYTES];
    put_u32(end, TAG_END);
    put_u32(end + 4, 0);
    put_u64(end + 8, (uint64_t)w->names.count);
    put_u64(end + 16, w->length + END_BYTES);
    put_u32(end + 24, gr_crc32c(w->crc, end, END_BYTES - 4));
    s = emit(w, end, END_BYTES);
    if (s == GR_OK && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0))
        s = gr_fail(GR_EIO, "cannot write '%s': %s", w->path, strerror(errno));
    if (s == GR_OK) {
        FILE *f = w->f;
        w->f = NULL;
        if (fclose(f) != 0) s = gr_fail(GR_EIO, "cannot write '%s': %s", w->path, strerror(errno));
    }
    if (s == GR_OK && rename(w->tmp_path, w->path) != 0)
        s = gr_fail(GR_EIO, "cannot replace '%s': %s", w->path, strerror(errno));
    if (s != GR_OK) { writer_free(w); return s; }
    free(w->tmp_path);       /* renamed: nothing left to remove */
    w->tmp_path = NULL;
    s = sync_directory(w->path);
    remove_stale_temps(w->path);
    writer_free(w);
    return s;
}

void gr_file_writer_abort(gr_file_writer *w)
{
    if (w) writer_free(w);
}

/* ---- reader ------------------------------------------------------------- */

struct gr_file_reader {
    char *path;
    int fd;
    uint64_t size;
    gr_file_record *records;   /* file order; names point into `names` */
    uint64_t *offsets;         /* where each record's data starts */
    size_t count, cap;
    name_table names;
};

static gr_status not_grilly(const gr_file_reader *r, const char *why)
{
    return gr_fail(GR_ECORRUPT, "'%s' is not a grilly file%s", r->path, why);
}

static gr_status corrupted(const gr_file_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static gr_status corrupted(const gr_file_reader *r, const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return gr_fail(GR_ECORRUPT, "'%s' is corrupted (%s)", r->path, why);
}

/* Reads exactly n bytes at off; a short read means the file shrank under us. */
static gr_status read_at(const gr_file_reader *r, uint64_t off, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = pread(r->fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return gr_fail(GR_EIO, "cannot read '%s': %s", r->path, strerror(errno));
        if (got == 0) return gr_fail(GR_EIO, "cannot read '%s': it was shortened while being read", r->path);
        p += got;
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    return GR_OK;
}

/* Compares the CRC of every byte before the last four with the last four. */
static gr_status verify_checksum(const gr_file_reader *r, int *match)
{
    unsigned char *buf = malloc(CHUNK_BYTES);
    if (!buf) return gr_fail(GR_ENOMEM, "out of host memory");
    uint32_t crc = 0;
    uint64_t end = r->size - 4;
    gr_status s = GR_OK;
    for (uint64_t off = 0; off < end && s == GR_OK;) {
        size_t n = end - off < CHUNK_BYTES ? (size_t)(end - off) : CHUNK_BYTES;
        s = read_at(r, off, buf, n);
        crc = gr_crc32c(crc, buf, n);
        off += n;
    }
    unsigned char stored[4];
    if (s == GR_OK) s = read_at(r, end, stored, 4);
    free(buf);
    *match = s == GR_OK && get_u32(stored) == crc;
    return s;
}

/* Running out of bytes: in a file whose checksum failed to be found, the
 * file was cut short; in a checksummed one, its lengths lie. */
static gr_status short_of(const gr_file_reader *r, int trusted, const char *what, uint64_t need, uint64_t left)
{
    if (trusted)
        return corrupted(r, "%s needs %llu bytes, %llu left before the end marker",
                         what, (unsigned long long)need, (unsigned long long)left);
    return gr_fail(GR_ECORRUPT, "'%s' is truncated (expected %llu bytes of %s, %llu left)",
                   r->path, (unsigned long long)need, what, (unsigned long long)left);
}

static gr_status add_record(gr_file_reader *r, const gr_file_record *rec, const char *name, size_t len, uint64_t offset)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        gr_file_record *records = realloc(r->records, cap * sizeof *records);
        if (!records) return gr_fail(GR_ENOMEM, "out of host memory");
        r->records = records;
        uint64_t *offsets = realloc(r->offsets, cap * sizeof *offsets);
        if (!offsets) return gr_fail(GR_ENOMEM, "out of host memory");
        r->offsets = offsets;
        r->cap = cap;
    }
    GR_TRY(names_reserve(&r->names));
    char *copy = copy_name(name, len);
    if (!copy) return gr_fail(GR_ENOMEM, "out of host memory");
    r->records[r->count] = *rec;
    r->records[r->count].name = names_add(&r->names, copy);
    r->offsets[r->count] = offset;
    r->count++;
    return GR_OK;
}

/* The end marker met while walking an unverified file at pos. */
static gr_status diagnose_end(const gr_file_reader *r, uint64_t pos)
{
    uint64_t left = r->size - pos;
    if (left < END_BYTES) return short_of(r, 0, "the end marker", END_BYTES, left);
    unsigned char end[END_BYTES];
    GR_TRY(read_at(r, pos, end, sizeof end));
    if (get_u32(end + 4) != 0 || get_u64(end + 16) != pos + END_BYTES)
        return corrupted(r, "damaged end marker at offset %llu", (unsigned long long)pos);
    if (left > END_BYTES)
        return corrupted(r, "%llu unexpected bytes after the end marker", (unsigned long long)(left - END_BYTES));
    return corrupted(r, "damaged end marker at offset %llu", (unsigned long long)pos);
}

/* Walks the records from the header up to `end`. trusted: the checksum
 * matched and `end` is where the end marker starts, so every inconsistency is
 * corruption. Otherwise the walk only explains why the end marker was not
 * where it belongs, and always fails. */
static gr_status scan(gr_file_reader *r, uint64_t end, int trusted)
{
    uint64_t pos = HEADER_BYTES;
    char what[96];
    for (;;) {
        uint64_t left = end - pos;
        size_t k = r->count + 1;
        if (left == 0) {
            if (trusted) return GR_OK;
            if (r->count == 0)
                return gr_fail(GR_ECORRUPT, "'%s' is truncated (it ends after the header)", r->path);
            return gr_fail(GR_ECORRUPT, "'%s' is truncated (it ends after record '%s', without the end marker)",
                           r->path, r->records[r->count - 1].name);
        }
        if (left < 4) return short_of(r, trusted, "a record or the end marker", 4, left);
        unsigned char head[RECORD_FIXED_BYTES + 8 * GR_MAX_DIMS + GR_FILE_MAX_NAME];
        GR_TRY(read_at(r, pos, head, 4));
        uint32_t tag = get_u32(head);
        if (tag == TAG_END) {
            if (trusted) return corrupted(r, "end marker at offset %llu, before the end of the file", (unsigned long long)pos);
            return diagnose_end(r, pos);
        }
        gr_file_type type = type_of_tag(tag);
        if (!type) return corrupted(r, "unknown record type 0x%08x at offset %llu", tag, (unsigned long long)pos);
        snprintf(what, sizeof what, "the header of record #%zu", k);
        if (left < RECORD_FIXED_BYTES) return short_of(r, trusted, what, RECORD_FIXED_BYTES, left);
        GR_TRY(read_at(r, pos + 4, head + 4, RECORD_FIXED_BYTES - 4));
        uint32_t name_len = get_u32(head + 4), ndim = get_u32(head + 8);
        if (name_len > GR_FILE_MAX_NAME)
            return corrupted(r, "record #%zu has a name of %u bytes, at most %d are allowed", k, name_len, GR_FILE_MAX_NAME);
        if (type == GR_FILE_TENSOR_F32 ? ndim > GR_MAX_DIMS : ndim != 1)
            return corrupted(r, "record #%zu, a %s, has %u dimensions", k, TYPES[type].name, ndim);
        uint64_t head_len = RECORD_FIXED_BYTES + 8 * (uint64_t)ndim + name_len;
        if (left < head_len) return short_of(r, trusted, what, head_len, left);
        GR_TRY(read_at(r, pos + RECORD_FIXED_BYTES, head + RECORD_FIXED_BYTES, (size_t)head_len - RECORD_FIXED_BYTES));

        const char *name = (const char *)head + RECORD_FIXED_BYTES + 8 * ndim;
        if (memchr(name, 0, name_len)) return corrupted(r, "the name of record #%zu holds a NUL byte", k);
        char shown[80];
        snprintf(shown, sizeof shown, "%.*s", (int)(name_len < 60 ? name_len : 60), name);
        if (names_has(&r->names, name, name_len))
            return corrupted(r, "record name '%s' appears twice", shown);

        gr_file_record rec = {.type = type, .ndim = (int)ndim};
        uint64_t count = 1;
        int overflow = 0;
        for (uint32_t i = 0; i < ndim; i++) {
            uint64_t d = get_u64(head + RECORD_FIXED_BYTES + 8 * i);
            if (d > (uint64_t)INT64_MAX) return corrupted(r, "record '%s' has a negative size", shown);
            rec.shape[i] = (int64_t)d;
            if (__builtin_mul_overflow(count, d, &count)) overflow = 1;
        }
        uint64_t bytes;
        if (overflow || __builtin_mul_overflow(count, (uint64_t)TYPES[type].elsize, &bytes)) bytes = UINT64_MAX;
        for (uint32_t i = 0; i < ndim; i++)
            if (rec.shape[i] == 0) bytes = count = 0;
        snprintf(what, sizeof what, "record '%s'", shown);
        if (bytes > left - head_len) return short_of(r, trusted, what, bytes, left - head_len);
        if (type == GR_FILE_TENSOR_F32 && gr_shape_check((int)ndim, rec.shape, NULL) != GR_OK)
            return corrupted(r, "record '%s' has an invalid shape (%s)", shown, gr_last_error());
        rec.count = (int64_t)count;
        GR_TRY(add_record(r, &rec, name, name_len, pos + head_len));
        pos += head_len + bytes;
    }
}

static gr_status verify(gr_file_reader *r)
{
    if (r->size == 0) return not_grilly(r, " (it is empty)");
    unsigned char head[HEADER_BYTES];
    size_t have = r->size < HEADER_BYTES ? (size_t)r->size : HEADER_BYTES;
    GR_TRY(read_at(r, 0, head, have));
    if (memcmp(head, MAGIC, have < sizeof MAGIC ? have : sizeof MAGIC) != 0) return not_grilly(r, "");
    if (have < HEADER_BYTES) return short_of(r, 0, "the header", HEADER_BYTES, have);

    int match = 0;
    uint32_t version = get_u32(head + 8), reserved = get_u32(head + 12);
    if (version != GR_FILE_VERSION || reserved != 0) {
        /* Every version ends in a CRC of all bytes before it: it tells a newer
         * file from a damaged version field. */
        if (r->size >= HEADER_BYTES + 4) GR_TRY(verify_checksum(r, &match));
        if (!match) return corrupted(r, "checksum mismatch");
        if (version > GR_FILE_VERSION)
            return gr_fail(GR_ECORRUPT, "'%s' was written by a newer grilly (file format version %u; "
                           "this grilly reads versions up to %d): upgrade grilly to load it",
                           r->path, version, GR_FILE_VERSION);
        return corrupted(r, "format version %u with reserved field 0x%08x", version, reserved);
    }

    unsigned char end[END_BYTES];
    int end_in_place = 0;
    if (r->size >= HEADER_BYTES + END_BYTES) {
        GR_TRY(read_at(r, r->size - END_BYTES, end, sizeof end));
        end_in_place = get_u32(end) == TAG_END && get_u32(end + 4) == 0 && get_u64(end + 16) == r->size;
    }
    if (!end_in_place) return scan(r, r->size, 0);
    GR_TRY(verify_checksum(r, &match));
    if (!match) return corrupted(r, "checksum mismatch");
    GR_TRY(scan(r, r->size - END_BYTES, 1));
    if (get_u64(end + 8) != r->count)
        return corrupted(r, "the end marker counts %llu records, the file holds %zu",
                         (unsigned long long)get_u64(end + 8), r->count);
    return GR_OK;
}

gr_status gr_file_reader_open(const char *path, gr_file_reader **out)
{
    if (!path || !*path) return gr_fail(GR_EINVAL, "a file name is needed");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);   /* O_NONBLOCK: a FIFO must not hang us */
    if (fd < 0) return gr_fail(GR_EIO, "cannot open '%s' for reading: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return gr_fail(GR_EIO, "cannot open '%s' for reading: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return gr_fail(GR_EIO, "cannot open '%s' for reading: %s", path,
                       S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
    }
    gr_file_reader *r = calloc(1, sizeof *r);
    char *p = copy_name(path, strlen(path));
    if (!r || !p) {
        free(r);
        free(p);
        close(fd);
        return gr_fail(GR_ENOMEM, "out of host memory");
    }
    r->path = p;
    r->fd = fd;
    r->size = (uint64_t)st.st_size;
    gr_status s = verify(r);
    if (s != GR_OK) { gr_file_reader_close(r); return s; }
    *out = r;
    return GR_OK;
}

void gr_file_reader_close(gr_file_reader *r)
{
    if (!r) return;
    close(r->fd);
    names_free(&r->names);
    free(r->records);
    free(r->offsets);
    free(r->path);
    free(r);
}

const char *gr_file_reader_path(const gr_file_reader *r) { return r->path; }
size_t gr_file_reader_count(const gr_file_reader *r) { return r->count; }

const gr_file_record *gr_file_reader_record(const gr_file_reader *r, size_t i)
{
    return i < r->count ? &r->records[i] : NULL;
}

const gr_file_record *gr_file_reader_find(const gr_file_reader *r, const char *name)
{
    ptrdiff_t i = name ? names_find(&r->names, name) : -1;
    return i >= 0 ? &r->records[i] : NULL;
}

static gr_status lookup(const gr_file_reader *r, const char *name, gr_file_type type, size_t *index)
{
    const gr_file_record *rec = gr_file_reader_find(r, name);
    if (!rec) return gr_fail(GR_EINVAL, "'%s' has no record '%s'", r->path, name ? name : "");
    if (rec->type != type)
        return gr_fail(GR_EINVAL, "record '%s' of '%s' is a %s, not a %s", name, r->path,
                       TYPES[rec->type].name, TYPES[type].name);
    *index = (size_t)(rec - r->records);
    return GR_OK;
}

gr_status gr_file_read_tensor(gr_file_reader *r, const char *name, gr_device *dev, gr_tensor **out)
{
    size_t i = 0;
    GR_TRY(lookup(r, name, GR_FILE_TENSOR_F32, &i));
    const gr_file_record *rec = &r->records[i];
    gr_tensor *t;
    GR_TRY(gr_tensor_empty(dev, rec->ndim, rec->shape, &t));
    const int64_t per_chunk = (int64_t)(CHUNK_BYTES / sizeof(float));
    float *buf = t->numel ? malloc((size_t)(t->numel < per_chunk ? t->numel : per_chunk) * sizeof(float)) : NULL;
    if (t->numel && !buf) {
        gr_tensor_release(t);
        return gr_fail(GR_ENOMEM, "out of host memory");
    }
    gr_status s = GR_OK;
    for (int64_t done = 0; done < t->numel && s == GR_OK;) {
        int64_t k = t->numel - done < per_chunk ? t->numel - done : per_chunk;
        s = read_at(r, r->offsets[i] + (uint64_t)done * sizeof(float), buf, (size_t)k * sizeof(float));
        if (s != GR_OK) break;
        host_le_swap(buf, (size_t)k, sizeof(float));
        s = gr_tensor_write_range(t, done, k, buf);
        done += k;
    }
    free(buf);
    if (s != GR_OK) { gr_tensor_release(t); return s; }
    *out = t;
    return GR_OK;
}

static gr_status read_array(gr_file_reader *r, const char *name, gr_file_type type, void *dst, int64_t n)
{
    size_t i = 0;
    GR_TRY(lookup(r, name, type, &i));
    const gr_file_record *rec = &r->records[i];
    if (n != rec->count)
        return gr_fail(GR_ESHAPE, "record '%s' of '%s' holds %lld %s, not %lld", name, r->path,
                       (long long)rec->count, type == GR_FILE_BYTES ? "bytes" : "elements", (long long)n);
    if (n == 0) return GR_OK;
    GR_TRY(read_at(r, r->offsets[i], dst, (size_t)n * TYPES[type].elsize));
    host_le_swap(dst, (size_t)n, TYPES[type].elsize);
    return GR_OK;
}

gr_status gr_file_read_f64(gr_file_reader *r, const char *name, double *dst, int64_t n)
{
    return read_array(r, name, GR_FILE_ARRAY_F64, dst, n);
}

gr_status gr_file_read_i64(gr_file_reader *r, const char *name, int64_t *dst, int64_t n)
{
    return read_array(r, name, GR_FILE_ARRAY_I64, dst, n);
}

gr_status gr_file_read_string(gr_file_reader *r, const char *name, char *dst, size_t len)
{
    if (len > (size_t)INT64_MAX) return gr_fail(GR_EINVAL, "string length out of range");
    return read_array(r, name, GR_FILE_BYTES, dst, (int64_t)len);
}
