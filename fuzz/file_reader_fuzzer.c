/* libFuzzer target: the grilly file reader (src/gr_file.c). A file that opens
 * must give every record back through its typed getter; one that does not
 * must fail with a message. Run by `make fuzz` (docs/reliability.md). */
#include "fuzz_input.h"
#include "gr_file.h"

#include <stdlib.h>
#include <string.h>

static void read_records(gr_file_reader *r)
{
    for (size_t i = 0; i < gr_file_reader_count(r); i++) {
        const gr_file_record *rec = gr_file_reader_record(r, i);
        if (gr_file_reader_find(r, rec->name) != rec) abort();   /* names are unique */
        gr_tensor *t = NULL;
        void *buf = NULL;
        gr_status s = GR_OK;
        switch (rec->type) {
        case GR_FILE_TENSOR_F32:
            s = gr_file_read_tensor(r, rec->name, gr_device_cpu(), &t);
            if (s == GR_OK && t->numel != (rec->count ? rec->count : (rec->ndim ? 0 : 1))) abort();
            gr_tensor_release(t);
            break;
        case GR_FILE_ARRAY_F64:
        case GR_FILE_ARRAY_I64:
            buf = malloc((size_t)rec->count * 8 + 1);
            if (buf) s = rec->type == GR_FILE_ARRAY_F64 ? gr_file_read_f64(r, rec->name, buf, rec->count)
                                                        : gr_file_read_i64(r, rec->name, buf, rec->count);
            break;
        case GR_FILE_BYTES:
            buf = malloc((size_t)rec->count + 1);
            if (buf) s = gr_file_read_string(r, rec->name, buf, (size_t)rec->count);
            break;
        }
        free(buf);
        /* The whole file was verified at open: reading it cannot fail. */
        if (s != GR_OK && s != GR_ENOMEM) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int fix = 0; fix < 2; fix++) {
        const char *path = fuzz_input_path(data, size, fix);
        gr_file_reader *r;
        if (!path) continue;
        fuzz_error_clear();
        if (gr_file_reader_open(path, &r) != GR_OK) {
            if (!fuzz_error_left()) abort();   /* a failure says why */
            continue;
        }
        read_records(r);
        gr_file_reader_close(r);
    }
    return 0;
}
