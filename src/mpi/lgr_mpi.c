/* grilly.mpi (build/grilly/mpi.so), the optional MPI module: starts MPI and
 * hands out the world communicator as a grilly.Communicator userdata, which
 * the core's collectives take. It is built only where MPI is installed and
 * links nothing of the core, so the core never depends on MPI. */
#include "gr_mpi.h"
#include "lgr.h"

#include <string.h>

/* world(): the world communicator, starting MPI on the first call. */
static int l_world(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "grilly.mpi.world");
    if (!lua_isnil(L, -1)) {
        lgr_comm_box *box = lua_touserdata(L, -1);
        if (!box->comm->closed) return 1;
    }
    char err[256] = "";
    gr_comm *comm = gr_mpi_world(err, sizeof err);
    if (!comm) return luaL_error(L, "grilly.distributed: %s", err);
    lgr_comm_box *box = lua_newuserdata(L, sizeof *box);
    box->comm = comm;
    luaL_getmetatable(L, LGR_COMM_MT);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "grilly.mpi.world");
    return 1;
}

static int l_finalize(lua_State *L)
{
    (void)L;
    gr_mpi_finalize();
    return 0;
}

/* abort([code [, message]]): ends every rank of the job. */
static int l_abort(lua_State *L)
{
    int code = (int)luaL_optinteger(L, 1, 1);
    gr_mpi_abort(code, luaL_optstring(L, 2, NULL));
    return 0;
}

static int l_host(lua_State *L)
{
    char buf[256];
    lua_pushstring(L, gr_mpi_host(buf, sizeof buf));
    return 1;
}

static int comm_tostring(lua_State *L)
{
    lgr_comm_box *box = luaL_checkudata(L, 1, LGR_COMM_MT);
    if (box->comm->closed) lua_pushstring(L, "grilly.Communicator(shut down)");
    else lua_pushfstring(L, "grilly.Communicator(rank %d of %d)", box->comm->rank, box->comm->size);
    return 1;
}

static const luaL_Reg functions[] = {
    {"world", l_world},
    {"finalize", l_finalize},
    {"abort", l_abort},
    {"host", l_host},
    {NULL, NULL},
};

int luaopen_grilly_mpi(lua_State *L)
{
    luaL_newmetatable(L, LGR_COMM_MT);
    lua_pushstring(L, LGR_COMM_MT);
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, comm_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_register(L, NULL, functions);
    return 1;
}
