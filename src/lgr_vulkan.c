/* Vulkan-specific functions of the module: validation-layer diagnostics. */
#include "lgr.h"
#include "gr_vulkan.h"

/* grilly.validation_messages(): warnings and errors the Vulkan validation
 * layer has reported in this process (always 0 without GRILLY_VALIDATION=1). */
static int l_validation_messages(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)gr_vk_validation_messages());
    return 1;
}

static const luaL_Reg vulkan_functions[] = {
    {"validation_messages", l_validation_messages},
    {NULL, NULL},
};

void lgr_vulkan_open(lua_State *L)
{
    luaL_register(L, NULL, vulkan_functions);
}
