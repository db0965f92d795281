/* grilly.AutoHypergradientAdamW: the self-tuning hypergradient AdamW with
 * optional momentum adaptation and surprise tracking. Beyond the shared
 * fields (lgr_optim.c) it exposes the surprise terms and all four histories. */
#include "lgr_optim.h"

static void push_surprise(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, gr_optim_get_scalars(opt)->S); }
static void push_s_bar(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, gr_optim_get_scalars(opt)->Sbar); }
static void push_gain(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, gr_optim_get_scalars(opt)->gain); }

static const lgr_optim_property auto_properties[] = {
    {"current_surprise", push_surprise},
    {"accumulated_surprise", push_s_bar},
    {"current_surprise_gain", push_gain},
    {NULL, NULL},
};

static const lgr_optim_class auto_class = {
    GR_OPTIM_AUTO, "grilly.AutoHypergradientAdamW",
    1u << GR_HIST_LR | 1u << GR_HIST_BETA1 | 1u << GR_HIST_SURPRISE | 1u << GR_HIST_S_BAR,
    auto_properties,
};

static int l_auto_hypergradient_adamw(lua_State *L) { return lgr_optim_new(L, &auto_class); }

void lgr_auto_hypergradient_adamw_open(lua_State *L)
{
    lgr_optim_register(L, &auto_class, l_auto_hypergradient_adamw);
}
