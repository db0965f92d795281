/* The op methods of grilly.Tensor (arithmetic, maps, reductions, shape and
 * movement, random fills, matmul), its numeric indexing, and the module
 * functions arange, linspace, rand, randn, manual_seed, parameter and cat.
 * Dimensions and indices are 1-based here and 0-based in the core. */
#include "lgr.h"
#include "gr_ops.h"
#include "gr_random.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- argument helpers ------------------------------------------------------ */

static double check_number(lua_State *L, int arg, const char *what)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a number, got %s", what, luaL_typename(L, arg)));
    return lua_tonumber(L, arg);
}

static double opt_number(lua_State *L, int arg, const char *what, double dflt)
{
    return lua_isnoneornil(L, arg) ? dflt : check_number(L, arg, what);
}

/* An integral number whose magnitude Lua numbers hold exactly. */
static int is_integer(double d) { return d == floor(d) && fabs(d) < 9.007199254740992e15; }

static int64_t check_integer(lua_State *L, int arg, const char *what)
{
    double d = check_number(L, arg, what);
    if (!is_integer(d))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer, got %s", what, lua_tostring(L, arg)));
    return (int64_t)d;
}

/* A 1-based index into an extent of `size` as a 0-based one. */
static int64_t check_index(lua_State *L, int arg, int64_t size)
{
    int64_t i = check_integer(L, arg, "index");
    if (i < 1 || i > size) {
        char msg[128];
        snprintf(msg, sizeof msg, "index %lld out of range (expected 1 to %lld)", (long long)i, (long long)size);
        luaL_argerror(L, arg, msg);
    }
    return i - 1;
}

static int opt_keepdim(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg)) return 0;
    if (lua_type(L, arg) != LUA_TBOOLEAN)
        luaL_argerror(L, arg, lua_pushfstring(L, "keepdim must be a boolean, got %s", luaL_typename(L, arg)));
    return lua_toboolean(L, arg);
}

/* The argument as a tensor, or NULL with the number in *num. */
static gr_tensor *check_operand(lua_State *L, int arg, float *num)
{
    if (lua_type(L, arg) == LUA_TNUMBER) {
        *num = (float)lua_tonumber(L, arg);
        return NULL;
    }
    if (lgr_testudata(L, arg, LGR_TENSOR_MT)) return lgr_check_tensor(L, arg);
    luaL_argerror(L, arg, lua_pushfstring(L, "grilly.Tensor or number expected, got %s", luaL_typename(L, arg)));
    return NULL;
}

/* Pushes the tensor an op made into *t, or raises its error against arg.
 * (t is read after the op ran: argument evaluation order is unspecified.) */
static int push_new(lua_State *L, gr_status s, gr_tensor **t, int arg)
{
    lgr_check_arg(L, s, arg);
    lgr_push_tensor(L, *t);
    return 1;
}

/* Pushes an index tensor after turning its 0-based indices 1-based. */
static void push_indices(lua_State *L, gr_tensor *idx)
{
    lgr_push_tensor(L, idx);   /* owned by Lua from here, even if the shift fails */
    lgr_check(L, gr_tensor_unary_(GR_UN_ADD_S, idx, 1.0f, 0.0f));
}

/* ---- arithmetic ------------------------------------------------------------ */

/* tensor op number, and number op tensor. */
static const gr_unop scalar_right[] = {
    [GR_BIN_ADD] = GR_UN_ADD_S, [GR_BIN_SUB] = GR_UN_SUB_S, [GR_BIN_MUL] = GR_UN_MUL_S, [GR_BIN_DIV] = GR_UN_DIV_S,
};
static const gr_unop scalar_left[] = {
    [GR_BIN_ADD] = GR_UN_ADD_S, [GR_BIN_SUB] = GR_UN_RSUB_S, [GR_BIN_MUL] = GR_UN_MUL_S, [GR_BIN_DIV] = GR_UN_RDIV_S,
};

/* Upvalues: the gr_binop, and whether the op writes into self. */
static int t_binary(lua_State *L)
{
    gr_binop op = (gr_binop)lua_tointeger(L, lua_upvalueindex(1));
    int inplace = lua_toboolean(L, lua_upvalueindex(2));
    gr_tensor *a = lgr_check_tensor(L, 1);
    float s = 0.0f;
    gr_tensor *b = check_operand(L, 2, &s);
    if (inplace) {
        lgr_check_arg(L, b ? gr_tensor_binary_(op, a, b) : gr_tensor_unary_(scalar_right[op], a, s, 0.0f), 2);
        lua_settop(L, 1);
        return 1;
    }
    gr_tensor *r = NULL;
    return push_new(L, b ? gr_tensor_binary(op, a, b, &r) : gr_tensor_unary(scalar_right[op], a, s, 0.0f, &r), &r, 2);
}

/* __add and friends: like t_binary, and a number may come first. */
static int t_binary_meta(lua_State *L)
{
    float s = 0.0f;
    if (check_operand(L, 1, &s)) return t_binary(L);
    gr_binop op = (gr_binop)lua_tointeger(L, lua_upvalueindex(1));
    gr_tensor *x = lgr_check_tensor(L, 2), *r = NULL;
    return push_new(L, gr_tensor_unary(scalar_left[op], x, s, 0.0f, &r), &r, 2);
}

/* Upvalues: the gr_unop, and whether the op writes into self. */
static int t_unary(lua_State *L)
{
    gr_unop op = (gr_unop)lua_tointeger(L, lua_upvalueindex(1));
    int inplace = lua_toboolean(L, lua_upvalueindex(2));
    gr_tensor *x = lgr_check_tensor(L, 1);
    float p = 0.0f, q = 0.0f;
    if (op == GR_UN_POW) {
        p = (float)check_number(L, 2, "exponent");
    } else if (op == GR_UN_CLAMP) {
        if (lua_isnoneornil(L, 2) && lua_isnoneornil(L, 3))
            luaL_error(L, "clamp needs a min or a max (both are nil)");
        p = (float)opt_number(L, 2, "min", -INFINITY);
        q = (float)opt_number(L, 3, "max", INFINITY);
    }
    if (inplace) {
        lgr_check(L, gr_tensor_unary_(op, x, p, q));
        lua_settop(L, 1);
        return 1;
    }
    gr_tensor *r = NULL;
    lgr_check(L, gr_tensor_unary(op, x, p, q, &r));
    lgr_push_tensor(L, r);
    return 1;
}

static int t_fill_(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    lgr_check(L, gr_tensor_fill_(t, (float)check_number(L, 2, "fill value")));
    lua_settop(L, 1);
    return 1;
}

static int t_copy_(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    lgr_check_arg(L, gr_tensor_copy_(t, lgr_check_tensor(L, 2)), 2);
    lua_settop(L, 1);
    return 1;
}

/* ---- reductions -------------------------------------------------------------- */

/* Upvalue: the gr_redop. No dimension: a Lua number over all elements.
 * A dimension: a tensor without it (kept as size 1 with keepdim); max and
 * min also return the indices. */
static int t_reduce(lua_State *L)
{
    gr_redop op = (gr_redop)lua_tointeger(L, lua_upvalueindex(1));
    gr_tensor *x = lgr_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        double r;
        lgr_check(L, gr_tensor_reduce_all(op, x, &r));
        lua_pushnumber(L, op == GR_RED_ARGMAX ? r + 1 : r);
        return 1;
    }
    int dim = lgr_check_dim(L, 2, x->ndim);
    int keepdim = opt_keepdim(L, 3);
    if (op == GR_RED_MAX || op == GR_RED_MIN) {
        gr_tensor *v, *i;
        lgr_check(L, gr_tensor_extreme_dim(op == GR_RED_MAX, x, dim, keepdim, &v, &i));
        lgr_push_tensor(L, v);
        push_indices(L, i);
        return 2;
    }
    gr_tensor *r;
    lgr_check(L, gr_tensor_reduce_dim(op, x, dim, keepdim, &r));
    if (op == GR_RED_ARGMAX) push_indices(L, r);
    else lgr_push_tensor(L, r);
    return 1;
}

static int t_dot(lua_State *L)
{
    gr_tensor *a = lgr_check_tensor(L, 1), *b = lgr_check_tensor(L, 2);
    double r;
    lgr_check_arg(L, gr_tensor_dot(a, b, &r), 2);
    lua_pushnumber(L, r);
    return 1;
}

static int t_matmul(lua_State *L)
{
    gr_tensor *a = lgr_check_tensor(L, 1), *b = lgr_check_tensor(L, 2), *r = NULL;
    return push_new(L, gr_tensor_matmul(a, b, &r), &r, 2);
}

/* ---- shape and movement -------------------------------------------------------- */

static int t_view(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *v = NULL;
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    int next = lgr_check_shape(L, 2, 1, &ndim, shape);
    if (!lua_isnone(L, next))
        luaL_argerror(L, next, lua_pushfstring(L, "size expected, got %s", luaL_typename(L, next)));
    return push_new(L, gr_tensor_view(t, ndim, shape, &v), &v, 2);
}

static int t_transpose(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    int d1 = lgr_check_dim(L, 2, t->ndim), d2 = lgr_check_dim(L, 3, t->ndim);
    return push_new(L, gr_tensor_transpose(t, d1, d2, &r), &r, 2);
}

static int t_t(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    if (t->ndim != 2)
        luaL_argerror(L, 1, lua_pushfstring(L, "t() needs a 2-D tensor, got %d-D", t->ndim));
    return push_new(L, gr_tensor_transpose(t, 0, 1, &r), &r, 1);
}

static int t_narrow(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    int dim = lgr_check_dim(L, 2, t->ndim);
    int64_t size = t->shape[dim];
    int64_t start = check_integer(L, 3, "start"), length = check_integer(L, 4, "length");
    char msg[128];
    if (start < 1 || start > size + 1) {
        snprintf(msg, sizeof msg, "start %lld out of range (expected 1 to %lld)", (long long)start, (long long)size + 1);
        luaL_argerror(L, 3, msg);
    }
    if (length < 0 || length > size - (start - 1)) {
        snprintf(msg, sizeof msg, "length %lld out of range (expected 0 to %lld)", (long long)length,
                 (long long)(size - (start - 1)));
        luaL_argerror(L, 4, msg);
    }
    return push_new(L, gr_tensor_narrow(t, dim, start - 1, length, &r), &r, 2);
}

static int t_select(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    int dim = lgr_check_dim(L, 2, t->ndim);
    int64_t index = check_index(L, 3, t->shape[dim]);
    return push_new(L, gr_tensor_select(t, dim, index, &r), &r, 2);
}

/* Index number pos of an index list, 1-based and checked against len. */
static int64_t list_index(lua_State *L, int arg, int64_t pos, double d, int64_t len)
{
    if (!is_integer(d))
        luaL_argerror(L, arg, lua_pushfstring(L, "index %f must be an integer, got %f", (lua_Number)pos, d));
    if (d < 1 || d > (double)len)
        luaL_argerror(L, arg, lua_pushfstring(L, "index %f is %f, out of range (expected 1 to %f)",
                                              (lua_Number)pos, d, (lua_Number)len));
    return (int64_t)d - 1;
}

static int t_index_select(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    int dim = lgr_check_dim(L, 2, t->ndim);
    int64_t len = t->shape[dim], n;
    int64_t *idx;
    gr_tensor *it = lgr_testudata(L, 3, LGR_TENSOR_MT) ? lgr_check_tensor(L, 3) : NULL;
    if (it) {
        if (it->ndim != 1)
            luaL_argerror(L, 3, lua_pushfstring(L, "index tensor must be 1-D, got %d-D", it->ndim));
        n = it->numel;
        float *vals = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *vals);   /* freed by the GC */
        idx = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *idx);
        lgr_check(L, gr_tensor_read(it, vals));
        for (int64_t j = 0; j < n; j++) idx[j] = list_index(L, 3, j + 1, vals[j], len);
    } else if (lua_istable(L, 3)) {
        n = (int64_t)lua_objlen(L, 3);
        idx = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *idx);
        for (int64_t j = 0; j < n; j++) {
            lua_rawgeti(L, 3, (int)(j + 1));
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_argerror(L, 3, lua_pushfstring(L, "index %d must be a number, got %s", (int)(j + 1),
                                                    luaL_typename(L, -1)));
            idx[j] = list_index(L, 3, j + 1, lua_tonumber(L, -1), len);
            lua_pop(L, 1);
        }
    } else {
        return luaL_argerror(L, 3, lua_pushfstring(L, "table or grilly.Tensor of indices expected, got %s",
                                                   luaL_typename(L, 3)));
    }
    return push_new(L, gr_tensor_index_select(t, dim, idx, n, &r), &r, 3);
}

static int l_cat(lua_State *L)
{
    lua_settop(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_objlen(L, 1);
    if (n < 1) luaL_argerror(L, 1, "at least one tensor expected, got an empty table");
    gr_tensor **parts = lua_newuserdata(L, (size_t)n * sizeof *parts);   /* freed by the GC */
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        if (!lgr_testudata(L, -1, LGR_TENSOR_MT))
            luaL_argerror(L, 1, lua_pushfstring(L, "element %d must be a grilly.Tensor, got %s", i + 1,
                                                luaL_typename(L, -1)));
        parts[i] = lgr_check_tensor(L, -1);
        lua_pop(L, 1);
    }
    int dim = lua_isnoneornil(L, 2) ? 0 : lgr_check_dim(L, 2, parts[0]->ndim);
    if (parts[0]->ndim == 0) luaL_argerror(L, 1, "cannot concatenate 0-d tensors");
    gr_tensor *r = NULL;
    return push_new(L, gr_tensor_cat(parts, n, dim, &r), &r, 1);
}

/* ---- numeric indexing: t[i] ------------------------------------------------------ */

/* The key t[i] as a 0-based index along the first dimension. */
static int64_t check_key(lua_State *L, const gr_tensor *t)
{
    if (t->ndim == 0) luaL_error(L, "cannot index a 0-d grilly.Tensor (use item())");
    double d = lua_tonumber(L, 2);
    if (!is_integer(d)) luaL_error(L, "grilly.Tensor index must be an integer, got %s", lua_tostring(L, 2));
    if (d < 1 || d > (double)t->shape[0]) {
        char msg[128];
        snprintf(msg, sizeof msg, "index %.14g out of range (expected 1 to %lld)", d, (long long)t->shape[0]);
        luaL_error(L, "%s", msg);
    }
    return (int64_t)d - 1;
}

/* t[i]: an element of a 1-D tensor, else a view of row i. */
static int t_index_number(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    int64_t i = check_key(L, t);
    if (t->ndim == 1) {
        float v;
        lgr_check(L, gr_tensor_read_range(t, i, 1, &v));
        lua_pushnumber(L, v);
        return 1;
    }
    gr_tensor *row;
    lgr_check(L, gr_tensor_row(t, i, &row));
    lgr_push_tensor(L, row);
    return 1;
}

/* t[i] = v: an element of a 1-D tensor, else row i filled with a number or
 * copied from a tensor of the row's shape. */
static int t_newindex_number(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    int64_t i = check_key(L, t);
    if (t->ndim == 1) {
        if (lua_type(L, 3) != LUA_TNUMBER)
            luaL_error(L, "cannot assign a %s to an element of a grilly.Tensor (number expected)", luaL_typename(L, 3));
        float v = (float)lua_tonumber(L, 3);
        lgr_check(L, gr_tensor_write_range(t, i, 1, &v));
        return 0;
    }
    gr_tensor *src = NULL;
    if (lua_type(L, 3) != LUA_TNUMBER) {
        if (!lgr_testudata(L, 3, LGR_TENSOR_MT))
            luaL_error(L, "cannot assign a %s to a row of a grilly.Tensor (number or grilly.Tensor expected)",
                       luaL_typename(L, 3));
        src = lgr_check_tensor(L, 3);
        if (src->ndim != t->ndim - 1 || memcmp(src->shape, t->shape + 1, (size_t)src->ndim * sizeof *src->shape) != 0) {
            char a[96], b[96];
            luaL_error(L, "cannot assign a tensor of shape %s to a row of shape %s",
                       gr_shape_str(src->ndim, src->shape, a, sizeof a), gr_shape_str(t->ndim - 1, t->shape + 1, b, sizeof b));
        }
    }
    gr_tensor *row;
    lgr_check(L, gr_tensor_row(t, i, &row));
    lgr_push_tensor(L, row);
    lgr_check(L, src ? gr_tensor_copy_(row, src) : gr_tensor_fill_(row, (float)lua_tonumber(L, 3)));
    return 0;
}

/* ---- copies, grads, random fills --------------------------------------------------- */

static int t_clone(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    return push_new(L, gr_tensor_clone(t, &r), &r, 1);
}

static int t_to(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1), *r = NULL;
    gr_device *dev = lgr_check_device(L, 2);
    return push_new(L, gr_tensor_to(t, dev, &r), &r, 2);
}

/* t:requires_grad() and grilly.parameter(t): a zeroed .grad unless t has one. */
static int t_requires_grad(lua_State *L)
{
    gr_tensor *t = lgr_check_tensor(L, 1);
    lua_settop(L, 1);
    lua_getfield(L, 1, "grad");
    if (lua_isnil(L, -1)) {
        gr_tensor *g;
        lgr_check(L, gr_tensor_full(t->storage->device, t->ndim, t->shape, 0.0f, &g));
        lgr_push_tensor(L, g);
        lua_setfield(L, 1, "grad");
    }
    lua_settop(L, 1);
    return 1;
}

/* uniform_([a, b]) and normal_([mean, std]); upvalue: the gr_randkind. */
static int t_random_(lua_State *L)
{
    int normal = lua_tointeger(L, lua_upvalueindex(1)) == GR_RAND_NORMAL;
    gr_tensor *t = lgr_check_tensor(L, 1);
    float p = (float)opt_number(L, 2, normal ? "mean" : "a", 0.0);
    float q = (float)opt_number(L, 3, normal ? "std" : "b", 1.0);
    lgr_check(L, normal ? gr_tensor_normal_(t, p, q) : gr_tensor_uniform_(t, p, q));
    lua_settop(L, 1);
    return 1;
}

/* ---- module functions ------------------------------------------------------------- */

static int random_new(lua_State *L, gr_status (*make)(gr_device *, int, const int64_t *, gr_tensor **))
{
    int ndim;
    int64_t shape[GR_MAX_DIMS];
    int next = lgr_check_shape(L, 1, 0, &ndim, shape);
    gr_device *dev = lgr_opt_device(L, next);
    gr_tensor *t = NULL;
    return push_new(L, make(dev, ndim, shape, &t), &t, 1);
}

static int l_rand(lua_State *L) { return random_new(L, gr_tensor_rand); }
static int l_randn(lua_State *L) { return random_new(L, gr_tensor_randn); }

static int l_manual_seed(lua_State *L)
{
    double d = check_number(L, 1, "seed");
    if (!(d >= 0 && d == floor(d) && d < 9.007199254740992e15))
        luaL_argerror(L, 1, lua_pushfstring(L, "seed must be an integer in [0, 2^53), got %s", lua_tostring(L, 1)));
    lgr_check_arg(L, gr_random_manual_seed((uint64_t)d), 1);
    return 0;
}

/* arange(stop), arange(start, stop[, step]) with an optional options table. */
static int l_arange(lua_State *L)
{
    int nnum = 0;
    while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) nnum++;
    if (nnum == 0) check_number(L, 1, "stop");
    if (!lua_isnoneornil(L, nnum + 1) && !lua_istable(L, nnum + 1))
        luaL_argerror(L, nnum + 1, lua_pushfstring(L, "number or options table expected, got %s",
                                                   luaL_typename(L, nnum + 1)));
    double start = 0.0, stop, step = 1.0;
    if (nnum == 1) {
        stop = lua_tonumber(L, 1);
    } else {
        start = lua_tonumber(L, 1);
        stop = lua_tonumber(L, 2);
        if (nnum == 3) step = lua_tonumber(L, 3);
    }
    gr_device *dev = lgr_opt_device(L, nnum + 1);
    gr_tensor *t = NULL;
    lgr_check(L, gr_tensor_arange(dev, start, stop, step, &t));
    lgr_push_tensor(L, t);
    return 1;
}

static int l_linspace(lua_State *L)
{
    double a = check_number(L, 1, "start"), b = check_number(L, 2, "end");
    int64_t n = check_integer(L, 3, "count");
    gr_device *dev = lgr_opt_device(L, 4);
    gr_tensor *t = NULL;
    lgr_check(L, gr_tensor_linspace(dev, a, b, n, &t));
    lgr_push_tensor(L, t);
    return 1;
}

/* ---- registration ----------------------------------------------------------------- */

static const luaL_Reg plain_methods[] = {
    {"fill_", t_fill_}, {"copy_", t_copy_}, {"dot", t_dot}, {"matmul", t_matmul},
    {"reshape", t_view}, {"view", t_view}, {"transpose", t_transpose}, {"t", t_t},
    {"narrow", t_narrow}, {"select", t_select}, {"index_select", t_index_select},
    {"clone", t_clone}, {"to", t_to}, {"requires_grad", t_requires_grad},
    {NULL, NULL},
};

static const luaL_Reg module_functions[] = {
    {"arange", l_arange}, {"linspace", l_linspace}, {"rand", l_rand}, {"randn", l_randn},
    {"manual_seed", l_manual_seed}, {"parameter", t_requires_grad}, {"cat", l_cat},
    {NULL, NULL},
};

static const struct { const char *name, *meta; gr_binop op; } binary_ops[] = {
    {"add", "__add", GR_BIN_ADD}, {"sub", "__sub", GR_BIN_SUB},
    {"mul", "__mul", GR_BIN_MUL}, {"div", "__div", GR_BIN_DIV},
};

static const struct { const char *name; gr_unop op; } unary_ops[] = {
    {"neg", GR_UN_NEG}, {"exp", GR_UN_EXP}, {"log", GR_UN_LOG}, {"sqrt", GR_UN_SQRT},
    {"abs", GR_UN_ABS}, {"tanh", GR_UN_TANH}, {"sigmoid", GR_UN_SIGMOID}, {"relu", GR_UN_RELU},
    {"pow", GR_UN_POW}, {"clamp", GR_UN_CLAMP},
};

static const struct { const char *name; gr_redop op; } reduce_ops[] = {
    {"sum", GR_RED_SUM}, {"mean", GR_RED_MEAN}, {"max", GR_RED_MAX}, {"min", GR_RED_MIN},
    {"argmax", GR_RED_ARGMAX}, {"norm", GR_RED_NORM},
};

/* Sets table[name] (table at idx) to fn closed over (op, inplace). */
static void set_closure(lua_State *L, int idx, const char *name, lua_CFunction fn, int op, int inplace)
{
    lua_pushinteger(L, op);
    lua_pushboolean(L, inplace);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, idx, name);
}

void lgr_tensor_ops_open(lua_State *L)
{
    luaL_getmetatable(L, LGR_TENSOR_MT);
    int mt = lua_gettop(L);
    lua_getfield(L, mt, "methods");
    int methods = lua_gettop(L);
    luaL_register(L, NULL, plain_methods);
    char name[32];
    for (size_t i = 0; i < sizeof binary_ops / sizeof *binary_ops; i++) {
        set_closure(L, methods, binary_ops[i].name, t_binary, binary_ops[i].op, 0);
        snprintf(name, sizeof name, "%s_", binary_ops[i].name);
        set_closure(L, methods, name, t_binary, binary_ops[i].op, 1);
        set_closure(L, mt, binary_ops[i].meta, t_binary_meta, binary_ops[i].op, 0);
    }
    for (size_t i = 0; i < sizeof unary_ops / sizeof *unary_ops; i++) {
        set_closure(L, methods, unary_ops[i].name, t_unary, unary_ops[i].op, 0);
        snprintf(name, sizeof name, "%s_", unary_ops[i].name);
        set_closure(L, methods, name, t_unary, unary_ops[i].op, 1);
    }
    set_closure(L, mt, "__unm", t_unary, GR_UN_NEG, 0);
    set_closure(L, methods, "uniform_", t_random_, GR_RAND_UNIFORM, 0);
    set_closure(L, methods, "normal_", t_random_, GR_RAND_NORMAL, 0);
    for (size_t i = 0; i < sizeof reduce_ops / sizeof *reduce_ops; i++)
        set_closure(L, methods, reduce_ops[i].name, t_reduce, reduce_ops[i].op, 0);
    lua_pop(L, 1);

    lua_pushcfunction(L, t_index_number);
    lua_setfield(L, mt, "index_number");
    lua_pushcfunction(L, t_newindex_number);
    lua_setfield(L, mt, "newindex_number");
    lua_pop(L, 1);

    luaL_register(L, NULL, module_functions);
}
