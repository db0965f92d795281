/* Data sets: IDX and CSV files into tensors, seeded permutations for
 * shuffling, and small synthetic classification sets. Everything here is
 * made on the host and uploaded to the named device. */
#ifndef GR_DATA_H
#define GR_DATA_H

#include "gr_tensor.h"

/* An IDX file (the MNIST format: big-endian header, u8/i8/i16/i32/f32/f64
 * elements), plain or gzip-compressed, as a float32 tensor of its shape. */
gr_status gr_data_read_idx(const char *path, gr_device *dev, gr_tensor **out);

/* A CSV file of numbers (no quoting; empty lines skipped) as a rows x
 * columns tensor. With has_header the first line is skipped and returned
 * in *header (malloc'd, without its line end; free it), else *header is NULL. */
gr_status gr_data_read_csv(const char *path, char delimiter, int has_header, gr_device *dev, gr_tensor **out,
                           char **header);

/* The 1-based indices 1..n in an order shuffled by (seed, stream), as
 * floats; n <= 2^24. Fisher-Yates on the Philox draws at counters
 * stream * 2^32 + i, so each stream (an epoch, say) is its own shuffle. */
gr_status gr_data_permutation(gr_device *dev, int64_t n, uint64_t seed, uint32_t stream, gr_tensor **out);

/* Interleaved spirals: per_class points of each of `classes` arms, x
 * (classes*per_class, 2) and 1-based labels y. noise is the standard
 * deviation of the normal jitter added to each arm's angle. */
gr_status gr_data_spirals(gr_device *dev, int64_t classes, int64_t per_class, float noise, uint64_t seed,
                          gr_tensor **x, gr_tensor **y);

/* Gaussian blobs: class centres uniform in [-box, box]^dim, per_class
 * points around each with standard deviation spread. */
gr_status gr_data_blobs(gr_device *dev, int64_t classes, int64_t per_class, int64_t dim, float box, float spread,
                        uint64_t seed, gr_tensor **x, gr_tensor **y);

#endif
