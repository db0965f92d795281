/* Inputs of the libFuzzer targets in fuzz/: the loaders take a path, so each
 * input is written to an in-memory file. Each target tries an input twice:
 * as it is, and with its end marker's file length and checksum made to fit,
 * so that mutations inside the records get past the checksum and reach the
 * checks behind it. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* Writes data (with the end marker fixed up when fix is set) to the input
 * file and returns its path, or NULL when it could not be written. */
const char *fuzz_input_path(const uint8_t *data, size_t size, int fix);

/* Forgets the core's last error message, and tells whether a call since
 * left one: every failing call must say why. */
void fuzz_error_clear(void);
int fuzz_error_left(void);

#endif
