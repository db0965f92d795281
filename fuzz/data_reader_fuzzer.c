/* libFuzzer target: the data set readers (src/gr_data_idx.c,
 * src/gr_data_csv.c), plain and gzip-compressed. Every input must read or
 * fail with a message. Run by `make fuzz` (docs/reliability.md). */
#include "fuzz_input.h"
#include "gr_data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size, 0);
    if (!path) return 0;
    gr_tensor *t = NULL;
    fuzz_error_clear();
    if (gr_data_read_idx(path, gr_device_cpu(), &t) == GR_OK) gr_tensor_release(t);
    else if (!fuzz_error_left()) abort();   /* a failure says why */
    for (int header = 0; header < 2; header++) {
        char *head = NULL;
        fuzz_error_clear();
        if (gr_data_read_csv(path, header ? ';' : ',', header, gr_device_cpu(), &t, &head) == GR_OK) {
            gr_tensor_release(t);
            free(head);
        } else if (!fuzz_error_left()) {
            abort();
        }
    }
    return 0;
}
