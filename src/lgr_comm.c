/* The table comm of grilly.core: collectives on tensors over a
 * grilly.Communicator (made by the optional MPI module), and its traffic
 * counters. grilly.distributed (Lua) passes its communicator as the last
 * argument, so argument numbers in messages are the user's. */
#include "lgr.h"
#include "gr_comm_tensor.h"

#include <math.h>
#include <string.h>

gr_comm *lgr_check_comm(lua_State *L, int idx)
{
    lgr_comm_box *box = lgr_testudata(L, idx, LGR_COMM_MT);
    if (!box) luaL_argerror(L, idx, lua_pushfstring(L, "grilly.Communicator expected, got %s", luaL_typename(L, idx)));
    return box->comm;
}

/* The communicator passed last (after nargs user arguments). */
static gr_comm *comm_after(lua_State *L, int nargs)
{
    return lgr_check_comm(L, nargs + 1);
}

static int l_rank(lua_State *L)
{
    lua_pushinteger(L, comm_after(L, 0)->rank);
    return 1;
}

static int l_size(lua_State *L)
{
    lua_pushinteger(L, comm_after(L, 0)->size);
    return 1;
}

static int l_barrier(lua_State *L)
{
    lgr_check(L, gr_comm_barrier(comm_after(L, 0)));
    return 0;
}

/* all_reduce(t [, "sum" | "mean"], comm): in place; returns t. */
static int l_all_reduce(lua_State *L)
{
    gr_comm *c = comm_after(L, 2);
    gr_tensor *t = lgr_check_tensor(L, 1);
    const char *op = lua_isnil(L, 2) ? "sum" : lua_tostring(L, 2);
    if (lua_type(L, 2) != LUA_TSTRING && !lua_isnil(L, 2))
        luaL_argerror(L, 2, lua_pushfstring(L, "expected \"sum\" or \"mean\", got %s", luaL_typename(L, 2)));
    if (strcmp(op, "sum") && strcmp(op, "mean"))
        luaL_argerror(L, 2, lua_pushfstring(L, "expected \"sum\" or \"mean\", got \"%s\"", op));
    lgr_check(L, gr_tensor_all_reduce(c, t, op[0] == 'm'));
    lua_settop(L, 1);
    return 1;
}

/* broadcast(t [, root = 0], comm): in place; returns t. */
static int l_broadcast(lua_State *L)
{
    gr_comm *c = comm_after(L, 2);
    gr_tensor *t = lgr_check_tensor(L, 1);
    lua_Number root = lua_isnil(L, 2) ? 0 : luaL_checknumber(L, 2);
    /* The range first: converting 1e300, inf or NaN to int is undefined. */
    if (!(root >= 0 && root < c->size) || root != floor(root))
        luaL_argerror(L, 2, lua_pushfstring(L, "root must be a rank from 0 to %d, got %s", c->size - 1,
                                            lua_tostring(L, 2)));
    lgr_check(L, gr_tensor_broadcast(c, t, (int)root));
    lua_settop(L, 1);
    return 1;
}

/* all_gather(t, comm): a new tensor, size x t's shape. */
static int l_all_gather(lua_State *L)
{
    gr_comm *c = comm_after(L, 1);
    gr_tensor *out;
    lgr_check(L, gr_tensor_all_gather(c, lgr_check_tensor(L, 1), &out));
    lgr_push_tensor(L, out);
    return 1;
}

/* traffic(comm): {all_reduce = {f32 = {calls = n, bytes = n}, ...}, ...},
 * only the kinds and types used so far. */
static int l_traffic(lua_State *L)
{
    gr_comm *c = comm_after(L, 0);
    lua_newtable(L);
    for (int k = 0; k < GR_COMM_NKINDS; k++) {
        int any = 0;
        for (int ty = 0; ty < GR_COMM_NTYPES; ty++) {
            const gr_comm_traffic *tr = &c->traffic[k][ty];
            if (!tr->calls) continue;
            if (!any) lua_newtable(L);
            any = 1;
            lua_createtable(L, 0, 2);
            lua_pushnumber(L, (lua_Number)tr->calls);
            lua_setfield(L, -2, "calls");
            lua_pushnumber(L, (lua_Number)tr->bytes);
            lua_setfield(L, -2, "bytes");
            lua_setfield(L, -2, gr_comm_type_name((gr_comm_type)ty));
        }
        if (any) lua_setfield(L, -2, gr_comm_kind_name((gr_comm_kind)k));
    }
    return 1;
}

static int l_reset_traffic(lua_State *L)
{
    gr_comm *c = comm_after(L, 0);
    memset(c->traffic, 0, sizeof c->traffic);
    return 0;
}

static const luaL_Reg functions[] = {
    {"rank", l_rank},
    {"size", l_size},
    {"barrier", l_barrier},
    {"all_reduce", l_all_reduce},
    {"broadcast", l_broadcast},
    {"all_gather", l_all_gather},
    {"traffic", l_traffic},
    {"reset_traffic", l_reset_traffic},
    {NULL, NULL},
};

void lgr_comm_open(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, functions);
    lua_setfield(L, -2, "comm");
}
