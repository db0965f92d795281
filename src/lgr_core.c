/* luaopen_grilly_core: the module table, device functions and the error bridge. */
#include "lgr.h"
#include "gr_backend.h"
#include "gr_vulkan.h"

#include <string.h>

void lgr_check(lua_State *L, gr_status s)
{
    if (s != GR_OK) luaL_error(L, "%s", gr_last_error());
}

void lgr_check_arg(lua_State *L, gr_status s, int arg)
{
    if (s != GR_OK) luaL_argerror(L, arg, gr_last_error());
}

void *lgr_testudata(lua_State *L, int idx, const char *tname)
{
    void *p = lua_touserdata(L, idx);
    if (!p || !lua_getmetatable(L, idx)) return NULL;
    luaL_getmetatable(L, tname);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? p : NULL;
}

/* The collector sees a tensor as a small userdata, not as its storage, so a
 * loop that drops big tensors would let them pile up between collections.
 * Past a per-device budget of live storage (twice what was live after the
 * last collection, and at least LGR_GC_MIN_BYTES) a full collection runs.
 * Indexed by device: the CPU, then vulkan:0 to vulkan:63. */
#define LGR_GC_MIN_BYTES ((size_t)64 << 20)
static size_t gc_budget[1 + 64];

void lgr_gc_pace(lua_State *L, const gr_device *dev)
{
    size_t *budget = &gc_budget[dev->kind == GR_DEVICE_CPU ? 0 : 1 + dev->index];
    if (dev->bytes_in_use <= (*budget ? *budget : LGR_GC_MIN_BYTES)) return;
    lua_gc(L, LUA_GCCOLLECT, 0);
    *budget = dev->bytes_in_use > LGR_GC_MIN_BYTES / 2 ? 2 * dev->bytes_in_use : LGR_GC_MIN_BYTES;
}

gr_device *lgr_check_device(lua_State *L, int idx)
{
    const char *name = luaL_checkstring(L, idx);
    gr_device *dev;
    lgr_check_arg(L, gr_device_get(name, &dev), idx);
    return dev;
}

gr_device *lgr_opt_device(lua_State *L, int idx)
{
    gr_device *dev;
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "device");
        if (!lua_isnil(L, -1)) {
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, idx, "option 'device' must be a string such as 'cpu' or 'gpu'");
            gr_status s = gr_device_get(lua_tostring(L, -1), &dev);
            lua_pop(L, 1);
            lgr_check_arg(L, s, idx);
            return dev;
        }
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, idx)) {
        luaL_argerror(L, idx, "options table expected");
    }
    lgr_check(L, gr_device_default(&dev));
    return dev;
}

static int l_set_device(lua_State *L)
{
    lgr_check_arg(L, gr_device_set_default(luaL_checkstring(L, 1)), 1);
    return 0;
}

static int l_get_device(lua_State *L)
{
    gr_device *dev;
    lgr_check(L, gr_device_default(&dev));
    lua_pushstring(L, dev->name);
    return 1;
}

static int l_synchronize(lua_State *L)
{
    gr_device *dev;
    if (lua_isnoneornil(L, 1)) lgr_check(L, gr_device_default(&dev));
    else dev = lgr_check_device(L, 1);
    lgr_check(L, gr_device_synchronize(dev));
    return 0;
}

/* grilly.device_time(fn [, device]): calls fn() and returns the seconds the
 * device (the default one when none is named) spent on the work fn recorded,
 * then fn's results. The device measures it (GPU timestamps on Vulkan), so
 * the host's recording and waiting are left out; it waits for that work. An
 * error in fn ends the timing and is raised again as it was. */
static int l_device_time(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    gr_device *dev;
    /* A named device comes retained, the default one does not. */
    int named = !lua_isnoneornil(L, 2);
    if (named) dev = lgr_check_device(L, 2);
    else lgr_check(L, gr_device_default(&dev));
    lua_settop(L, 1);
    gr_status s = gr_device_timer_start(dev);
    if (s != GR_OK) {
        if (named) gr_device_release(dev);
        lgr_check(L, s);
    }
    int failed = lua_pcall(L, 0, LUA_MULTRET, 0);
    double seconds;
    s = gr_device_timer_stop(dev, &seconds);
    if (named) gr_device_release(dev);
    if (failed) return lua_error(L);
    lgr_check(L, s);
    int results = lua_gettop(L);
    luaL_checkstack(L, 1, "too many results from the timed function");
    lua_pushnumber(L, seconds);
    lua_insert(L, 1);
    return results + 1;
}

static int l_devices(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "cpu"); lua_setfield(L, -2, "name");
    lua_pushstring(L, "cpu"); lua_setfield(L, -2, "device");
    lua_pushstring(L, "cpu"); lua_setfield(L, -2, "type");
    lua_rawseti(L, -2, 1);
    int n = gr_vk_device_count();
    for (int i = 0; i < n; i++) {
        gr_vk_device_info info;
        if (gr_vk_device_info_get(i, &info) != GR_OK) continue;
        lua_newtable(L);
        lua_pushfstring(L, "vulkan:%d", i); lua_setfield(L, -2, "device");
        lua_pushstring(L, info.name); lua_setfield(L, -2, "name");
        lua_pushstring(L, info.type); lua_setfield(L, -2, "type");
        lua_pushnumber(L, (lua_Number)info.memory_bytes); lua_setfield(L, -2, "memory");
        lua_pushinteger(L, (lua_Integer)info.subgroup_size); lua_setfield(L, -2, "subgroup_size");
        lua_pushboolean(L, info.float64); lua_setfield(L, -2, "float64");
        lua_pushboolean(L, info.keeps_inf_nan); lua_setfield(L, -2, "keeps_inf_nan");
        lua_pushboolean(L, info.keeps_denormals); lua_setfield(L, -2, "keeps_denormals");
        lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
    }
    return 1;
}

static int l_device_bytes(lua_State *L)
{
    gr_device *dev;
    if (lua_isnoneornil(L, 1)) lgr_check(L, gr_device_default(&dev));
    else dev = lgr_check_device(L, 1);
    lua_pushnumber(L, (lua_Number)dev->bytes_in_use);
    lua_pushnumber(L, (lua_Number)gr_device_bytes_reserved(dev));
    return 2;
}

static const luaL_Reg core_functions[] = {
    {"set_device", l_set_device},
    {"get_device", l_get_device},
    {"synchronize", l_synchronize},
    {"device_time", l_device_time},
    {"devices", l_devices},
    {"device_bytes", l_device_bytes},
    {NULL, NULL},
};

int luaopen_grilly_core(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, core_functions);
    lgr_tensor_open(L);
    lgr_tensor_ops_open(L);
    lgr_file_open(L);
    lgr_optim_open(L);
    lgr_nn_open(L);
    lgr_data_open(L);
    lgr_vulkan_open(L);
    lgr_comm_open(L);
    return 1;
}
