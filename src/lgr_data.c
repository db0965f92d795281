/* grilly.core.data: the file readers and generators of gr_data.h for
 * lua/grilly/data.lua. A file that cannot be read gives nil, message. */
#include "lgr.h"
#include "gr_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pushes nil and the core's message for a file failure; raises otherwise. */
static int push_file_failure(lua_State *L, gr_status s)
{
    if (s != GR_EIO && s != GR_ECORRUPT) lgr_check(L, s);
    lua_pushnil(L);
    lua_pushstring(L, gr_last_error());
    return 2;
}

static int64_t check_int(lua_State *L, int arg, const char *what)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a number, got %s", what, luaL_typename(L, arg)));
    double d = lua_tonumber(L, arg);
    if (d != floor(d) || fabs(d) >= 9.007199254740992e15)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer, got %s", what, lua_tostring(L, arg)));
    return (int64_t)d;
}

static uint64_t check_seed(lua_State *L, int arg)
{
    int64_t s = check_int(L, arg, "seed");
    if (s < 0) luaL_argerror(L, arg, "seed must be an integer in [0, 2^53)");
    return (uint64_t)s;
}

static float check_float(lua_State *L, int arg, const char *what)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a number, got %s", what, luaL_typename(L, arg)));
    return (float)lua_tonumber(L, arg);
}

/* read_idx(path[, {device}]) -> tensor, or nil, message */
static int l_read_idx(lua_State *L)
{
    const char *path = lgr_check_path(L, 1);
    gr_device *dev = lgr_opt_device(L, 2);
    gr_tensor *t = NULL;
    gr_status s = gr_data_read_idx(path, dev, &t);
    if (s != GR_OK) return push_file_failure(L, s);
    lgr_push_tensor(L, t);
    return 1;
}

/* read_csv(path[, {delimiter = ",", header = false, device}]) -> tensor[, header line], or nil, message */
static int l_read_csv(lua_State *L)
{
    const char *path = lgr_check_path(L, 1);
    char delim = ',';
    int header = 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "delimiter");
        if (!lua_isnil(L, -1)) {
            size_t dl;
            const char *d = lua_tolstring(L, -1, &dl);
            if (lua_type(L, -1) != LUA_TSTRING || dl != 1)
                luaL_argerror(L, 2, "option 'delimiter' must be a one-character string");
            delim = d[0];
        }
        lua_getfield(L, 2, "header");
        header = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    gr_device *dev = lgr_opt_device(L, 2);
    gr_tensor *t = NULL;
    char *head = NULL;
    gr_status s = gr_data_read_csv(path, delim, header, dev, &t, &head);
    if (s == GR_EINVAL) lgr_check_arg(L, s, 2);
    if (s != GR_OK) return push_file_failure(L, s);
    lgr_push_tensor(L, t);
    if (!head) return 1;
    lua_pushstring(L, head);
    free(head);
    return 2;
}

/* permutation(n, seed[, stream = 0[, {device}]]) -> 1-based indices */
static int l_permutation(lua_State *L)
{
    int64_t n = check_int(L, 1, "n");
    uint64_t seed = check_seed(L, 2);
    int64_t stream = lua_isnoneornil(L, 3) ? 0 : check_int(L, 3, "stream");
    if (stream < 0 || stream > 0xffffffffLL) luaL_argerror(L, 3, "stream must be an integer in [0, 2^32)");
    gr_device *dev = lgr_opt_device(L, 4);
    gr_tensor *t = NULL;
    lgr_check(L, gr_data_permutation(dev, n, seed, (uint32_t)stream, &t));
    lgr_push_tensor(L, t);
    return 1;
}

/* spirals(classes, per_class, noise, seed[, {device}]) -> x, y */
static int l_spirals(lua_State *L)
{
    int64_t classes = check_int(L, 1, "classes"), per = check_int(L, 2, "points per class");
    float noise = check_float(L, 3, "noise");
    uint64_t seed = check_seed(L, 4);
    gr_device *dev = lgr_opt_device(L, 5);
    gr_tensor *x = NULL, *y = NULL;
    lgr_check(L, gr_data_spirals(dev, classes, per, noise, seed, &x, &y));
    lgr_push_tensor(L, x);
    lgr_push_tensor(L, y);
    return 2;
}

/* blobs(classes, per_class, dim, box, spread, seed[, {device}]) -> x, y */
static int l_blobs(lua_State *L)
{
    int64_t classes = check_int(L, 1, "classes"), per = check_int(L, 2, "points per class");
    int64_t dim = check_int(L, 3, "dim");
    float box = check_float(L, 4, "box"), spread = check_float(L, 5, "spread");
    uint64_t seed = check_seed(L, 6);
    gr_device *dev = lgr_opt_device(L, 7);
    gr_tensor *x = NULL, *y = NULL;
    lgr_check(L, gr_data_blobs(dev, classes, per, dim, box, spread, seed, &x, &y));
    lgr_push_tensor(L, x);
    lgr_push_tensor(L, y);
    return 2;
}

static const luaL_Reg data_functions[] = {
    {"read_idx", l_read_idx},
    {"read_csv", l_read_csv},
    {"permutation", l_permutation},
    {"spirals", l_spirals},
    {"blobs", l_blobs},
    {NULL, NULL},
};

void lgr_data_open(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, data_functions);
    lua_setfield(L, -2, "data");
}
