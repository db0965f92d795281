/* gr_comm over MPI (see gr_mpi.h). Errors are returned, not fatal: the
 * communicator uses MPI_ERRORS_RETURN, and gr_comm.c turns the codes into
 * messages. */
#include "gr_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MPI_Comm world_comm = MPI_COMM_NULL;
static gr_comm world;
static int exit_hook_set;

static MPI_Datatype mpi_type(gr_comm_type type)
{
    switch (type) {
    case GR_COMM_F32: return MPI_FLOAT;
    case GR_COMM_F64: return MPI_DOUBLE;
    default: return MPI_UNSIGNED_CHAR;
    }
}

static MPI_Op mpi_op(gr_comm_op op) { return op == GR_COMM_MAX ? MPI_MAX : MPI_SUM; }

/* A request handle for a non-blocking call, or NULL for a blocking one. */
static MPI_Request *new_request(gr_comm_req *req, int *rc)
{
    *rc = MPI_SUCCESS;
    if (!req) return NULL;
    req->handle = malloc(sizeof(MPI_Request));
    if (!req->handle) *rc = MPI_ERR_NO_MEM;
    return req->handle;
}

/* After starting a non-blocking call: drop the handle if it failed to start. */
static int started(gr_comm_req *req, int rc)
{
    if (rc != MPI_SUCCESS) {
        free(req->handle);
        req->handle = NULL;
    }
    return rc;
}

static int mpi_all_reduce(gr_comm *c, void *buf, int count, gr_comm_type type, gr_comm_op op, gr_comm_req *req)
{
    (void)c;
    int rc;
    MPI_Request *r = new_request(req, &rc);
    if (rc != MPI_SUCCESS) return rc;
    if (!r) return MPI_Allreduce(MPI_IN_PLACE, buf, count, mpi_type(type), mpi_op(op), world_comm);
    return started(req, MPI_Iallreduce(MPI_IN_PLACE, buf, count, mpi_type(type), mpi_op(op), world_comm, r));
}

static int mpi_reduce_scatter(gr_comm *c, const void *send, void *recv, const int *counts, gr_comm_type type,
                              gr_comm_req *req)
{
    (void)c;
    int rc;
    MPI_Request *r = new_request(req, &rc);
    if (rc != MPI_SUCCESS) return rc;
    if (!r) return MPI_Reduce_scatter(send, recv, counts, mpi_type(type), MPI_SUM, world_comm);
    return started(req, MPI_Ireduce_scatter(send, recv, counts, mpi_type(type), MPI_SUM, world_comm, r));
}

static int mpi_all_gather(gr_comm *c, void *buf, const int *counts, const int *displs, gr_comm_type type,
                          gr_comm_req *req)
{
    (void)c;
    int rc;
    MPI_Request *r = new_request(req, &rc);
    if (rc != MPI_SUCCESS) return rc;
    if (!r) return MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, mpi_type(type), world_comm);
    return started(req, MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, mpi_type(type),
                                        world_comm, r));
}

static int mpi_broadcast(gr_comm *c, void *buf, int count, gr_comm_type type, int root)
{
    (void)c;
    return MPI_Bcast(buf, count, mpi_type(type), root, world_comm);
}

static int mpi_barrier(gr_comm *c)
{
    (void)c;
    return MPI_Barrier(world_comm);
}

static int mpi_wait(gr_comm *c, gr_comm_req *req)
{
    (void)c;
    if (!req->handle) return MPI_SUCCESS;
    int rc = MPI_Wait(req->handle, MPI_STATUS_IGNORE);
    free(req->handle);
    req->handle = NULL;
    return rc;
}

static const char *mpi_error_string(gr_comm *c, int code, char *buf, size_t len)
{
    (void)c;
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, text, &n) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(buf, len, "%s", text);
    return buf;
}

static const gr_comm_ops mpi_ops = {
    .all_reduce = mpi_all_reduce,
    .reduce_scatter = mpi_reduce_scatter,
    .all_gather = mpi_all_gather,
    .broadcast = mpi_broadcast,
    .barrier = mpi_barrier,
    .wait = mpi_wait,
    .error_string = mpi_error_string,
};

static int running(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

void gr_mpi_abort(int code, const char *msg)
{
    if (msg) {
        fprintf(stderr, "%s\n", msg);
        fflush(stderr);
    }
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

void gr_mpi_finalize(void)
{
    if (!running()) return;
    world.closed = 1;
    if (world_comm != MPI_COMM_NULL) MPI_Comm_free(&world_comm);
    MPI_Finalize();
}

/* Runs at process exit with the exit status (the module stays loaded until
 * then: it is linked with -z nodelete). */
static void at_exit(int status, void *arg)
{
    (void)arg;
    if (!running()) return;
    if (status != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "grilly.distributed: rank %d of %d is exiting with status %d; "
                 "ending the other ranks", world.rank, world.size, status);
        gr_mpi_abort(status, msg);
    }
    gr_mpi_finalize();
}

gr_comm *gr_mpi_world(char *err, size_t len)
{
    if (world.ops) {
        if (!world.closed) return &world;
        snprintf(err, len, "MPI has been shut down (distributed.finalize was called); it cannot start again");
        return NULL;
    }
    int init = 0, provided = 0;
    MPI_Initialized(&init);
    if (!init && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        snprintf(err, len, "MPI_Init failed");
        return NULL;
    }
    if (!exit_hook_set) {
        on_exit(at_exit, NULL);
        exit_hook_set = 1;
    }
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &world_comm);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(world_comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(world_comm, &world.rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(world_comm, &world.size);
    if (rc != MPI_SUCCESS) {
        mpi_error_string(&world, rc, err, len);
        return NULL;
    }
    world.ops = &mpi_ops;
    return &world;
}

const char *gr_mpi_host(char *buf, size_t len)
{
    char name[MPI_MAX_PROCESSOR_NAME];
    int n = 0;
    if (!running() || MPI_Get_processor_name(name, &n) != MPI_SUCCESS) snprintf(name, sizeof name, "?");
    snprintf(buf, len, "%s", name);
    return buf;
}
