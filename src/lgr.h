/* Shared helpers of the Lua binding. */
#ifndef LGR_H
#define LGR_H

#include <lua.h>
#include <lauxlib.h>
#include "gr_tensor.h"
#include "gr_comm.h"

#define LGR_TENSOR_MT "grilly.Tensor"

/* Raises a Lua error carrying the core's message when s != GR_OK.
 * The one place where a C status becomes a Lua error. */
void lgr_check(lua_State *L, gr_status s);

/* Raises "bad argument #arg to 'fname' (msg)" with the core's last message. */
void lgr_check_arg(lua_State *L, gr_status s, int arg);

/* luaL_testudata, which the Lua 5.1 API lacks: the userdata at idx if its
 * metatable is tname's, else NULL. */
void *lgr_testudata(lua_State *L, int idx, const char *tname);

/* Tensors */
gr_tensor *lgr_check_tensor(lua_State *L, int idx);       /* raises on non-tensor or freed */
gr_tensor *lgr_test_tensor(lua_State *L, int idx);        /* NULL if not a live tensor */
void lgr_push_tensor(lua_State *L, gr_tensor *t);         /* takes over the caller's reference */

/* Reads a shape given as numbers (zeros(2, 3)) or one table (zeros({2, 3}))
 * from stack index `first` on; returns the index after it. With allow_infer
 * a size may be -1. */
int lgr_check_shape(lua_State *L, int first, int allow_infer, int *ndim, int64_t *shape);
/* A 1-based (or negative, from the end) dimension argument as a 0-based one. */
int lgr_check_dim(lua_State *L, int arg, int ndim);

/* Runs a full garbage collection when dev's live storage has outgrown its
 * budget (lgr_core.c); called whenever a tensor is handed to Lua. */
void lgr_gc_pace(lua_State *L, const gr_device *dev);

/* Devices: the device named by an options table's `device` field at idx
 * (absent: the default device). */
gr_device *lgr_opt_device(lua_State *L, int idx);
gr_device *lgr_check_device(lua_State *L, int idx);

/* Every userdata type's open function registers its metatable and adds its
 * functions to the module table on top of the stack. */
void lgr_tensor_open(lua_State *L);
void lgr_tensor_ops_open(lua_State *L);   /* the op methods and functions of grilly.Tensor */
void lgr_file_open(lua_State *L);      /* grilly.save, grilly.load */
/* Files: raises "fname: message" when a file operation failed; the path
 * argument at idx (a NUL inside would silently shorten it). */
void lgr_check_file(lua_State *L, gr_status s, const char *fname);
const char *lgr_check_path(lua_State *L, int idx);
void lgr_optim_open(lua_State *L);   /* the table `optim`: the three optimizer classes and helpers */
void lgr_nn_open(lua_State *L);           /* the table nn of neural-network kernels */
void lgr_data_open(lua_State *L);         /* the table data of file readers and generators */
void lgr_vulkan_open(lua_State *L);

/* Communicators: the userdata grilly.Communicator is made by the optional
 * MPI module (build/grilly/mpi.so, src/mpi/lgr_mpi.c) and read by the core's
 * collectives and distributed optimizers. */
#define LGR_COMM_MT "grilly.Communicator"
typedef struct lgr_comm_box {
    gr_comm *comm;
} lgr_comm_box;
gr_comm *lgr_check_comm(lua_State *L, int idx);   /* raises unless a grilly.Communicator */
void lgr_comm_open(lua_State *L);   /* the table comm: collectives over a communicator */

int luaopen_grilly_core(lua_State *L);

#endif
