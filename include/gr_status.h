/* Status codes and the thread-local error message shared by the whole C core.
 * Every fallible core function returns a gr_status; on failure it has left a
 * readable message behind, retrievable with gr_last_error(). */
#ifndef GR_STATUS_H
#define GR_STATUS_H

typedef enum gr_status {
    GR_OK = 0,
    GR_EINVAL,      /* a bad argument: type, value or range */
    GR_ESHAPE,      /* shapes that do not fit together */
    GR_ERANGE,      /* an index out of bounds */
    GR_ENOMEM,      /* host or device memory exhausted */
    GR_EIO,         /* a file could not be read or written */
    GR_ECORRUPT,    /* a file is truncated, corrupted or of the wrong kind */
    GR_EDEVICE,     /* a device is missing, lost or mismatched */
    GR_ENONFINITE,  /* a non-finite gradient under nonfinite = "error" */
    GR_ECOMM        /* a collective between processes failed or was misused */
} gr_status;

/* Records a printf-style message for the current thread and returns `status`,
 * so that callers can write `return gr_fail(GR_EINVAL, "...", ...)`. */
gr_status gr_fail(gr_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message left by the last failing call on this thread. */
const char *gr_last_error(void);

#define GR_TRY(expr) do { gr_status gr_try_s_ = (expr); if (gr_try_s_ != GR_OK) return gr_try_s_; } while (0)

#endif
