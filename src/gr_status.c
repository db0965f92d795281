#include "gr_status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

gr_status gr_fail(gr_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *gr_last_error(void)
{
    return last_error[0] ? last_error : "unknown error";
}
