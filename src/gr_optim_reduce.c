/* The global reduction of the optimizer sums (see gr_optim_reduce_global). */
#include "gr_optim_step.h"

gr_status gr_optim_reduce_global(gr_comm *comm, const double *partials, int nitems, int width, double *out)
{
    for (int s = 0; s < width; s++) out[s] = 0;
    for (int i = 0; i < nitems; i++)
        for (int s = 0; s < width; s++) out[s] += partials[(size_t)i * (size_t)width + (size_t)s];
    return comm ? gr_comm_sum_f64(comm, out, width) : GR_OK;
}
