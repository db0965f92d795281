/* Collectives on tensors over a communicator (gr_comm.h). CPU tensors are
 * communicated in place; tensors on other devices are staged through host
 * memory in chunks, the copy of one chunk overlapping the collective of the
 * previous one. Every rank must pass a tensor of the same shape; each call
 * first checks that (a small collective), so a mismatch fails with the same
 * message on every rank instead of hanging. */
#ifndef GR_COMM_TENSOR_H
#define GR_COMM_TENSOR_H

#include "gr_comm.h"
#include "gr_tensor.h"

/* t = the sum (or, with mean, the mean) of t over the ranks. */
gr_status gr_tensor_all_reduce(gr_comm *c, gr_tensor *t, int mean);

/* t = root's t on every rank. */
gr_status gr_tensor_broadcast(gr_comm *c, gr_tensor *t, int root);

/* A new tensor of shape size x t's shape on t's device: row r is rank r's t. */
gr_status gr_tensor_all_gather(gr_comm *c, const gr_tensor *t, gr_tensor **out);

#endif
