// Slice-by-8: eight table look-ups per 8 bytes, ~2-3 GB/s; the fallback for CPUs without
// carry-less multiply or CRC instructions, and the head and tail of the vector code.
#include <string.h>
#include "crc32_impl.h"
#include "crc32_tables.h"

uint32_t effnet_crc32_table_update(uint32_t state, const uint8_t *p, size_t n) {
    const uint32_t(*t)[256] = effnet_crc32_table;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= state;
        state = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
                t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
#endif
    for (; n > 0; p++, n--) state = (state >> 8) ^ t[0][(state ^ *p) & 0xff];
    return state;
}
