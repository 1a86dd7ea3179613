// CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum TensorFlow's
// tensor bundles and LevelDB tables use. Chainable like zlib's crc32: seed 0 for a fresh
// checksum, the previous result to continue one.
#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// The CRC32C of `n` bytes at `data`, continuing from `crc`. Uses the CPU's CRC32C instruction
/// (x86 SSE4.2, ARMv8 CRC) when it has one, chosen once at run time, else a table.
uint32_t effnet_crc32c(uint32_t crc, const void *data, size_t n);

/// The table implementation alone (tests compare the two).
uint32_t effnet_crc32c_portable(uint32_t crc, const void *data, size_t n);

/// Which implementation `effnet_crc32c` uses: "sse4.2", "armv8-crc" or "table".
const char *effnet_crc32c_implementation(void);

#endif
