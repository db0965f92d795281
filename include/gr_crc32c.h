/* CRC-32C (Castagnoli): the checksum of grilly files. Reflected polynomial
 * 0x82F63B78, initial value and final xor 0xFFFFFFFF; the CRC of the ASCII
 * bytes "123456789" is 0xE3069283. */
#ifndef GR_CRC32C_H
#define GR_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (the CRC of the bytes before, 0 for none) over n more bytes:
 * gr_crc32c(gr_crc32c(0, a, na), b, nb) is the CRC of a followed by b. */
uint32_t gr_crc32c(uint32_t crc, const void *data, size_t n);

#endif
