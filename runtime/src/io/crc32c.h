/* crc32c.h — CRC32C (Castagnoli) for checkpoint checksums. Internal; the public entry point is
 * vt_crc32c in volt/ckpt.h.
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), init 0xFFFFFFFF, final xor 0xFFFFFFFF — the CRC
 * of iSCSI, ext4 and Google's crc32c library: vt_crc32c(0, "123456789", 9) == 0xE3069283.
 * Continuation: vt_crc32c(vt_crc32c(0, a, na), b, nb) == CRC of a followed by b.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The readable reference: one table lookup per byte. */
uint32_t vt_crc32c_ref(uint32_t crc, const void* data, size_t n);
/* CRC of A||B from crc(A), crc(B) and len(B). */
uint32_t vt_crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b);
