/* The MPI communicator of the optional module build/grilly/mpi.so: one
 * gr_comm over a duplicate of MPI_COMM_WORLD. */
#ifndef GR_MPI_H
#define GR_MPI_H

#include <stddef.h>
#include "gr_comm.h"

/* Initialises MPI once (a no-op after that) and returns the world
 * communicator; NULL with a message in err when MPI cannot start or has
 * already been shut down. From then on the process shuts MPI down when it
 * exits: MPI_Finalize on exit status 0, MPI_Abort of the whole job on any
 * other status, so that a rank that fails never leaves the others waiting. */
gr_comm *gr_mpi_world(char *err, size_t len);

/* MPI_Finalize now, if MPI was started and is still running; every rank
 * must call it. The communicator is closed afterwards. */
void gr_mpi_finalize(void);

/* Ends every rank of the job with `code`, after printing msg (if any) on stderr. */
void gr_mpi_abort(int code, const char *msg);

/* The name of this host as MPI sees it. */
const char *gr_mpi_host(char *buf, size_t len);

#endif
