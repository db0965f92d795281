/* grilly.Tensor: the tensor userdata, its lifetime, fields and host access. */
#include "lgr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lgr_tensor_box { gr_tensor *t; } lgr_tensor_box;

/* Registry key of the shared empty environment: a tensor gets a table of its
 * own (holding .grad) only once a grad is assigned. */
static char shared_env_key;

gr_tensor *lgr_test_tensor(lua_State *L, int idx)
{
    lgr_tensor_box *box = lgr_testudata(L, idx, LGR_TENSOR_MT);
    return box ? box->t : NULL;
}

gr_tensor *lgr_check_tensor(lua_State *L, int idx)
{
    lgr_tensor_box *box = lgr_testudata(L, idx, LGR_TENSOR_MT);
    if (!box) {
        const char *got = luaL_typename(L, idx);
        luaL_argerror(L, idx, lua_pushfstring(L, "grilly.Tensor expected, got %s", got));
    }
    if (!box->t) luaL_error(L, "use of freed grilly.Tensor");
    return box->t;
}

void lgr_push_tensor(lua_State *L, gr_tensor *t)
{
    lgr_tensor_box *box = lua_newuserdata(L, sizeof *box);
    box->t = t;
    luaL_getmetatable(L, LGR_TENSOR_MT);
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, &shared_env_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_setfenv(L, -2);
    lgr_gc_pace(L, t->storage->device);
}

/* ---- lifetime ---------------------------------------------------------- */

static int t_free(lua_State *L)
{
    lgr_tensor_box *box = luaL_checkudata(L, 1, LGR_TENSOR_MT);
    gr_tensor_release(box->t);
    box->t = NULL;
    return 0;
}

/* ---- fields ------------------------------------------------------------ */

static void push_grad(lua_State *L, int idx)
{
    lua_getfenv(L, idx);
    lua_getfield(L, -1, "grad");
    lua_remove(L, -2);
}

static void set_grad(lua_State *L, int idx, int value_idx)
{
    gr_tensor *t = lgr_check_tensor(L, idx);
    if (!lua_isnil(L, value_idx)) {
        gr_tensor *g = lgr_test_tensor(L, value_idx);
        if (!g) {
            if (lgr_testudata(L, value_idx, LGR_TENSOR_MT)) luaL_error(L, "use of freed grilly.Tensor");
            luaL_error(L, "bad value for field 'grad' (grilly.Tensor or nil expected, got %s)",
                       luaL_typename(L, value_idx));
        }
        if (!gr_shape_equal(t, g)) {
            char a[96], b[96];
            luaL_error(L, "bad value for field 'grad' (shape mismatch: %s vs %s)",
                       gr_shape_str(g->ndim, g->shape, a, sizeof a), gr_shape_str(t->ndim, t->shape, b, sizeof b));
        }
        if (g->storage->device != t->storage->device)
            luaL_error(L, "bad value for field 'grad' (device mismatch: %s vs %s)",
                       g->storage->device->name, t->storage->device->name);
    }
    lua_getfenv(L, idx);
    lua_pushlightuserdata(L, &shared_env_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_rawequal(L, -1, -2)) {
        lua_pop(L, 2);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfenv(L, idx);
    } else {
        lua_pop(L, 1);
    }
    lua_pushvalue(L, value_idx);
    lua_setfield(L, -2, "grad");
    lua_pop(L, 1);
}

static int t_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING) {
        /* Methods resolve even on a freed tensor, so that free() stays idempotent;
         * each method then checks for itself. */
        const char *key = lua_tostring(L, 2);
        lua_getmetatable(L, 1);
        lua_getfield(L, -1, "methods");
        lua_getfield(L, -1, key);
        if (!lua_isnil(L, -1)) return 1;
        lua_pop(L, 3);
        gr_tensor *t = lgr_check_tensor(L, 1);
        if (strcmp(key, "grad") == 0) { push_grad(L, 1); return 1; }
        if (strcmp(key, "device") == 0) { lua_pushstring(L, t->storage->device->name); return 1; }
        if (strcmp(key, "dtype") == 0) { lua_pushliteral(L, "float32"); return 1; }
        lua_pushnil(L);
        return 1;
    }
    lgr_check_tensor(L, 1);
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "index_number");
    if (lua_isnil(L, -1)) return 1;
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

static int t_newindex(lua_State *L)
{
    lgr_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "grad") == 0) {
        set_grad(L, 1, 3);
        return 0;
    }
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_getmetatable(L, 1);
        lua_getfield(L, -1, "newindex_number");
        if (!lua_isnil(L, -1)) {
            lua_pushvalue(L, 1); lua_pushvalue(L, 2); lua_pushvalue(L, 3);
            lua_call(L, 3, 0);
            return 0;
        }
    }
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "cannot set field '%s' of grilly.Tensor", lua_tostring(L, 2));
    return luaL_error(L, "cannot set a %s key of grilly.Tensor", luaL_typename(L, 2));
}

/* ---- shape and host access ---------------------------------------------- */

static int t_dim(lua_State *L) { lua_pushinteger(L, lgr_check_tensor(L, 1)->ndim); return 1; }
static int t_numel(lua_State *L) { lua_pushnumber(L, (lua_Number)lgr_check_tensor(L, 1)->numel); return 1; }

static int t_size(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        lua_pushnumber(L, (lua_Number)t->shape[lgr_check_dim(L, 2, t->ndim)]);
        return 1;
    }
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushnumber(L, (lua_Number)t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static float *read_all(lua_State *L, const gr_tensor *t)
{
    float *buf = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
    if (!buf) luaL_error(L, "out of host memory reading %lld elements", (long long)t->numel);
    gr_status s = gr_tensor_read(t, buf);
    if (s != GR_OK) { free(buf); lgr_check(L, s); }
    return buf;
}

static void push_nested(lua_State *L, const gr_tensor *t, const float *data, int dim, int64_t *pos)
{
    if (dim == t->ndim) { lua_pushnumber(L, data[(*pos)++]); return; }
    luaL_checkstack(L, 4, "tensor too deep");
    lua_createtable(L, (int)t->shape[dim], 0);
    for (int64_t i = 0; i < t->shape[dim]; i++) {
        push_nested(L, t, data, dim + 1, pos);
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

static int t_totable(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    float *data = read_all(L, t);
    int64_t pos = 0;
    push_nested(L, t, data, 0, &pos);
    free(data);
    return 1;
}

static int t_item(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    if (t->numel != 1)
        luaL_error(L, "item() needs a tensor of one element (got %lld)", (long long)t->numel);
    float v;
    lgr_check(L, gr_tensor_read(t, &v));
    lua_pushnumber(L, v);
    return 1;
}

static int t_tostring(lua_State *L)
{
    lgr_tensor_box *box = luaL_checkudata(L, 1, LGR_TENSOR_MT);
    if (!box->t) { lua_pushliteral(L, "grilly.Tensor(freed)"); return 1; }
    gr_tensor *t = box->t;
    char shape[96];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "grilly.Tensor(%s, float32, %s)",
                    gr_shape_str(t->ndim, t->shape, shape, sizeof shape), t->storage->device->name);
    luaL_addvalue(&b);
    /* Values: all of a small tensor, one row of the last dimension a line;
     * only the first and last few of a big one (read alone, so printing a big
     * device tensor does not copy all of it to the host). */
    const int64_t small = 64, edge = 3;
    int64_t n = t->numel;
    if (n > 0) {
        float head[64], tail[3];
        int64_t shown = n > small ? edge : n;
        int64_t row = t->ndim >= 2 ? t->shape[t->ndim - 1] : n;
        lgr_check(L, gr_tensor_read_range(t, 0, shown, head));
        if (n > small) lgr_check(L, gr_tensor_read_range(t, n - edge, edge, tail));
        luaL_addstring(&b, "\n[");
        for (int64_t i = 0; i < shown + (n > small ? edge : 0); i++) {
            char num[40];
            const char *sep = i == 0 ? "" : (n <= small && row > 0 && i % row == 0) ? "\n " : " ";
            float v = i < shown ? head[i] : tail[i - shown];
            snprintf(num, sizeof num, "%s%.6g", sep, (double)v);
            if (n > small && i == shown) luaL_addstring(&b, " ...");
            luaL_addstring(&b, num);
        }
        luaL_addstring(&b, "]");
    }
    luaL_pushresult(&b);
    return 1;
}

/* ---- creation ----------------------------------------------------------- */

/* The size at stack index idx: a non-negative integer, or -1 when allow_infer
 * is set. item numbers the size within a table (0: a separate argument). */
static int64_t check_size(lua_State *L, int arg, int idx, int item, int allow_infer)
{
    double d = lua_tonumber(L, idx);
    if (!(d == floor(d) && d < 9.007199254740992e15 && (d >= 0 || (allow_infer && d == -1)))) {
        const char *which = item ? lua_pushfstring(L, "size %d", item) : "size";
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a non-negative integer%s, got %s", which,
                                              allow_infer ? " or -1" : "", lua_tostring(L, idx)));
    }
    return (int64_t)d;
}

int lgr_check_shape(lua_State *L, int first, int allow_infer, int *ndim, int64_t *shape)
{
    int n = 0;
    if (lua_istable(L, first)) {
        n = (int)lua_objlen(L, first);
        if (n > GR_MAX_DIMS) luaL_argerror(L, first, "too many dimensions (at most 8)");
        for (int i = 0; i < n; i++) {
            lua_rawgeti(L, first, i + 1);
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_argerror(L, first, lua_pushfstring(L, "size %d must be a number, got %s", i + 1, luaL_typename(L, -1)));
            shape[i] = check_size(L, first, lua_gettop(L), i + 1, allow_infer);
            lua_pop(L, 1);
        }
        *ndim = n;
        return first + 1;
    }
    while (lua_type(L, first + n) == LUA_TNUMBER) {
        if (n == GR_MAX_DIMS) luaL_argerror(L, first + n, "too many dimensions (at most 8)");
        shape[n] = check_size(L, first + n, first + n, 0, allow_infer);
        n++;
    }
    if (n == 0 && !lua_isnoneornil(L, first) && !lua_istable(L, first))
        luaL_argerror(L, first, lua_pushfstring(L, "sizes expected, got %s", luaL_typename(L, first)));
    *ndim = n;
    return first + n;
}

int lgr_check_dim(lua_State *L, int arg, int ndim)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "dimension expected, got %s", luaL_typename(L, arg)));
    double d = lua_tonumber(L, arg);
    if (d != floor(d))
        luaL_argerror(L, arg, lua_pushfstring(L, "dimension must be an integer, got %s", lua_tostring(L, arg)));
    if (ndim == 0)
        luaL_argerror(L, arg, "dimension out of range (the tensor is 0-d)");
    if (d < 0) d += ndim + 1;
    if (!(d >= 1 && d <= ndim))
        luaL_argerror(L, arg, lua_pushfstring(L, "dimension out of range (expected 1 to %d or -%d to -1, got %s)",
                                              ndim, ndim, lua_tostring(L, arg)));
    return (int)d - 1;
}

static int make_full(lua_State *L, int first, int has_value, float value)
{
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    int next = lgr_check_shape(L, first, 0, &ndim, shape);
    if (has_value) {
        if (lua_type(L, next) != LUA_TNUMBER)
            luaL_argerror(L, next, lua_pushfstring(L, "fill value must be a number, got %s", luaL_typename(L, next)));
        value = (float)lua_tonumber(L, next);
        next++;
    }
    gr_device *dev = lgr_opt_device(L, next);
    gr_tensor *t;
    lgr_check(L, gr_tensor_full(dev, ndim, shape, value, &t));
    lgr_push_tensor(L, t);
    return 1;
}

static int l_zeros(lua_State *L) { return make_full(L, 1, 0, 0.0f); }
static int l_ones(lua_State *L) { return make_full(L, 1, 0, 1.0f); }
static int l_full(lua_State *L) { return make_full(L, 1, 1, 0.0f); }

static int l_empty(lua_State *L)
{
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    int next = lgr_check_shape(L, 1, 0, &ndim, shape);
    gr_device *dev = lgr_opt_device(L, next);
    gr_tensor *t;
    lgr_check(L, gr_tensor_empty(dev, ndim, shape, &t));
    lgr_push_tensor(L, t);
    return 1;
}

/* grilly.tensor(nested table or number): infers the shape from the first
 * element at each depth and checks every row against it. */
static void infer_shape(lua_State *L, int idx, int *ndim, int64_t *shape)
{
    int n = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1)) {
        if (n == GR_MAX_DIMS) luaL_argerror(L, 1, "nested too deeply (at most 8 dimensions)");
        shape[n++] = (int64_t)lua_objlen(L, -1);
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
        if (shape[n - 1] == 0) break;
    }
    lua_pop(L, 1);
    *ndim = n;
}

static void flatten_into(lua_State *L, int dim, int ndim, const int64_t *shape, float *out, int64_t *pos, char *path)
{
    if (dim == ndim) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, 1, lua_pushfstring(L, "element%s must be a number, got %s", path, luaL_typename(L, -1)));
        out[(*pos)++] = (float)lua_tonumber(L, -1);
        return;
    }
    if (!lua_istable(L, -1) || (int64_t)lua_objlen(L, -1) != shape[dim])
        luaL_argerror(L, 1, lua_pushfstring(L, "ragged nested table: row%s should have %d elements", path,
                                            (int)shape[dim]));
    size_t plen = strlen(path);
    for (int64_t i = 0; i < shape[dim]; i++) {
        if (plen < 200) snprintf(path + plen, 256 - plen, "[%d]", (int)(i + 1));
        lua_rawgeti(L, -1, (int)(i + 1));
        flatten_into(L, dim + 1, ndim, shape, out, pos, path);
        lua_pop(L, 1);
    }
    path[plen] = 0;
}

static int l_tensor(lua_State *L)
{
    int ndim = 0;
    int64_t shape[GR_MAX_DIMS], numel;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        float v = (float)lua_tonumber(L, 1);
        gr_device *dev = lgr_opt_device(L, 2);
        gr_tensor *t;
        lgr_check(L, gr_tensor_from_host(dev, 0, shape, &v, &t));
        lgr_push_tensor(L, t);
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    infer_shape(L, 1, &ndim, shape);
    lgr_check_arg(L, gr_shape_check(ndim, shape, &numel), 1);
    gr_device *dev = lgr_opt_device(L, 2);
    float *buf = lua_newuserdata(L, (size_t)(numel ? numel : 1) * sizeof(float)); /* freed by the GC, even on error */
    int64_t pos = 0;
    char path[256] = "";
    lua_pushvalue(L, 1);
    flatten_into(L, 0, ndim, shape, buf, &pos, path);
    lua_pop(L, 1);
    gr_tensor *t;
    lgr_check(L, gr_tensor_from_host(dev, ndim, shape, buf, &t));
    lgr_push_tensor(L, t);
    return 1;
}

static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, lgr_testudata(L, 1, LGR_TENSOR_MT) != NULL);
    return 1;
}

static const luaL_Reg tensor_methods[] = {
    {"free", t_free},
    {"dim", t_dim},
    {"numel", t_numel},
    {"size", t_size},
    {"totable", t_totable},
    {"item", t_item},
    {NULL, NULL},
};

static const luaL_Reg tensor_meta[] = {
    {"__gc", t_free},
    {"__index", t_index},
    {"__newindex", t_newindex},
    {"__tostring", t_tostring},
    {NULL, NULL},
};

static const luaL_Reg tensor_functions[] = {
    {"zeros", l_zeros},
    {"ones", l_ones},
    {"full", l_full},
    {"empty", l_empty},
    {"tensor", l_tensor},
    {"is_tensor", l_is_tensor},
    {NULL, NULL},
};

void lgr_tensor_open(lua_State *L)
{
    lua_pushlightuserdata(L, &shared_env_key);
    lua_newtable(L);
    lua_rawset(L, LUA_REGISTRYINDEX);

    luaL_newmetatable(L, LGR_TENSOR_MT);
    luaL_register(L, NULL, tensor_meta);
    lua_pushliteral(L, LGR_TENSOR_MT);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    luaL_register(L, NULL, tensor_methods);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);

    luaL_register(L, NULL, tensor_functions);
}
