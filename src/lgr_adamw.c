/* grilly.AdamW: Adam with decoupled weight decay. Everything it does is
 * shared with the hypergradient classes (lgr_optim.c); this file names the class. */
#include "lgr_optim.h"

static const lgr_optim_class adamw_class = {
    GR_OPTIM_ADAMW, "grilly.AdamW", 1u << GR_HIST_LR, NULL,
};

static int l_adamw(lua_State *L) { return lgr_optim_new(L, &adamw_class); }

void lgr_adamw_open(lua_State *L) { lgr_optim_register(L, &adamw_class, l_adamw); }
