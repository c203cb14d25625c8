/* core/crc32c.h - CRC32C (Castagnoli), the checksum of every record.
 *
 * crc32c(0, p, n) is the standard CRC32C of the bytes; pass an earlier
 * result (or a salt) as seed to continue.
 */
#ifndef CORE_CRC32C_H
#define CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t seed, const void *p, size_t n);

#endif /* CORE_CRC32C_H */
