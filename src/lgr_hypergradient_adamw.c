/* grilly.HypergradientAdamW: AdamW whose lr follows the hypergradient
 * g · d_prev (Baydin et al. 2018). Its fields and methods are shared
 * (lgr_optim.c); this file names the class. */
#include "lgr_optim.h"

static const lgr_optim_class hypergradient_class = {
    GR_OPTIM_HYPERGRADIENT, "grilly.HypergradientAdamW", 1u << GR_HIST_LR, NULL,
};

static int l_hypergradient_adamw(lua_State *L) { return lgr_optim_new(L, &hypergradient_class); }

void lgr_hypergradient_adamw_open(lua_State *L)
{
    lgr_optim_register(L, &hypergradient_class, l_hypergradient_adamw);
}
