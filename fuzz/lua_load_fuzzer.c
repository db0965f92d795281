/* libFuzzer target: grilly.load and grilly.optim.load as Lua calls them
 * (src/lgr_file.c, src/lgr_optim.c): record names back to nested tables,
 * arrays and strings as Lua values. Every input must load or raise a Lua
 * error with a message. Run by `make fuzz` (docs/reliability.md). */
#include "fuzz_input.h"
#include "lgr.h"

#include <lualib.h>
#include <stdlib.h>

static lua_State *L;

/* grilly.load(path, {device = "cpu"}), then grilly.optim.load(path, {p}). */
static const char SCRIPT[] =
    "local core, path = ...\n"
    "local ok, err = pcall(core.load, path, { device = 'cpu' })\n"
    "if not ok and (type(err) ~= 'string' or err == '') then error('no message') end\n"
    "local p = { core.zeros(3, { device = 'cpu' }) }\n"
    "ok, err = pcall(core.optim.load, path, p)\n"
    "if not ok and (type(err) ~= 'string' or err == '') then error('no message') end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L) {
        L = luaL_newstate();
        if (!L) abort();
        luaL_openlibs(L);
        if (luaL_loadbuffer(L, SCRIPT, sizeof SCRIPT - 1, "lua_load_fuzzer") != 0) abort();
        lua_setfield(L, LUA_REGISTRYINDEX, "lua_load_fuzzer");
        lua_pushcfunction(L, luaopen_grilly_core);
        lua_call(L, 0, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "grilly.core");
    }
    for (int fix = 0; fix < 2; fix++) {
        const char *path = fuzz_input_path(data, size, fix);
        if (!path) continue;
        lua_getfield(L, LUA_REGISTRYINDEX, "lua_load_fuzzer");
        lua_getfield(L, LUA_REGISTRYINDEX, "grilly.core");
        lua_pushstring(L, path);
        if (lua_pcall(L, 2, 0, 0) != 0) abort();
        lua_gc(L, LUA_GCCOLLECT, 0);
    }
    return 0;
}
