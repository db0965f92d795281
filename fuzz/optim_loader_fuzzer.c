/* libFuzzer target: the optimizer state loader (src/gr_optim_file.c) behind
 * the file reader. Each input is loaded over one parameter of 3 elements and
 * over three parameters (3, 3x2 and 2x2, as in fuzz/corpus); an optimizer
 * that loads must take a step. Run by `make fuzz` (docs/reliability.md). */
#include "fuzz_input.h"
#include "gr_optim.h"

#include <stdlib.h>

#define NPARAMS 3

static gr_tensor *params[NPARAMS], *grads[NPARAMS];

static void make_params(void)
{
    static const int64_t shapes[NPARAMS][2] = {{3, 0}, {3, 2}, {2, 2}};
    static const int ndims[NPARAMS] = {1, 2, 2};
    for (int i = 0; i < NPARAMS; i++) {
        if (gr_tensor_full(gr_device_cpu(), ndims[i], shapes[i], 0.5f, &params[i]) != GR_OK ||
            gr_tensor_full(gr_device_cpu(), ndims[i], shapes[i], 0.25f, &grads[i]) != GR_OK)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!params[0]) make_params();
    for (int fix = 0; fix < 2; fix++) {
        const char *path = fuzz_input_path(data, size, fix);
        if (!path) continue;
        for (int n = 1; n <= NPARAMS; n += NPARAMS - 1) {
            gr_optim *opt;
            fuzz_error_clear();
            if (gr_optim_load(path, params, n, &opt) != GR_OK) {
                if (!fuzz_error_left()) abort();   /* a failure says why */
                continue;
            }
            int skipped;
            gr_status s = gr_optim_step(opt, grads, &skipped);
            if (s != GR_OK && s != GR_ENONFINITE) abort();
            gr_optim_free(opt);
            /* The step wrote into the parameters: put them back for the next input. */
            for (int i = 0; i < n; i++) gr_tensor_fill_(params[i], 0.5f);
        }
    }
    return 0;
}
