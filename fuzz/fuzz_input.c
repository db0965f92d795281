/* The in-memory input file of the fuzz targets (fuzz_input.h). */
#include "fuzz_input.h"
#include "gr_crc32c.h"
#include "gr_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define END_BYTES 28   /* "END!", reserved, record count, file length, CRC */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

const char *fuzz_input_path(const uint8_t *data, size_t size, int fix)
{
    static int fd = -1;
    static char path[64];
    static uint8_t *buf;
    static size_t cap;
    if (fd < 0) {
        fd = memfd_create("grilly-fuzz-input", 0);
        if (fd < 0) return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (size > cap) {
        uint8_t *b = realloc(buf, size);
        if (!b) return NULL;
        buf = b;
        cap = size;
    }
    if (size) memcpy(buf, data, size);
    if (fix && size >= END_BYTES + 4) {
        if (memcmp(buf + size - END_BYTES, "END!", 4) == 0) put_u64(buf + size - 12, (uint64_t)size);
        put_u32(buf + size - 4, gr_crc32c(0, buf, size - 4));
    }
    if (ftruncate(fd, 0) != 0) return NULL;
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd, buf + done, size - done, (off_t)done);
        if (n <= 0) return NULL;
        done += (size_t)n;
    }
    return path;
}

void fuzz_error_clear(void)
{
    gr_fail(GR_OK, "%s", "");
}

int fuzz_error_left(void)
{
    return strcmp(gr_last_error(), "unknown error") != 0;
}
