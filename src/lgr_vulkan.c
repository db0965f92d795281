/* Vulkan-specific functions of the module: validation-layer diagnostics and
 * the command stream's counters. */
#include "lgr.h"
#include "gr_vulkan.h"

/* grilly.validation_messages(): warnings and errors the Vulkan validation
 * layer has reported in this process (always 0 without GRILLY_VALIDATION=1). */
static int l_validation_messages(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)gr_vk_validation_messages());
    return 1;
}

/* grilly.stream_stats([device]): {submits = n, waits = n, dispatches = n},
 * the batches the Vulkan device's command stream has submitted, the host's
 * fence waits on it and the compute dispatches recorded into it so far (the
 * default device when none is named). */
static int l_stream_stats(lua_State *L)
{
    gr_device *dev;
    if (lua_isnoneornil(L, 1)) lgr_check(L, gr_device_default(&dev));
    else dev = lgr_check_device(L, 1);
    uint64_t submits, waits, dispatches;
    lgr_check_arg(L, gr_vk_stream_stats(dev, &submits, &waits, &dispatches), 1);
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, (lua_Number)submits);
    lua_setfield(L, -2, "submits");
    lua_pushnumber(L, (lua_Number)waits);
    lua_setfield(L, -2, "waits");
    lua_pushnumber(L, (lua_Number)dispatches);
    lua_setfield(L, -2, "dispatches");
    return 1;
}

static const luaL_Reg vulkan_functions[] = {
    {"validation_messages", l_validation_messages},
    {"stream_stats", l_stream_stats},
    {NULL, NULL},
};

void lgr_vulkan_open(lua_State *L)
{
    luaL_register(L, NULL, vulkan_functions);
}
