#ifndef CFILESUPPORT_H
#define CFILESUPPORT_H

#include <stdint.h>

/// Asks the kernel to start writing `[offset, offset + count)` of `fd` to disk without waiting
/// (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that the fsync at the end of a large
/// write finds most pages already on their way. A hint: returns 0 and does nothing where the
/// call does not exist; errors are ignored because the final fsync reports them.
int effnet_start_writeback(int fd, int64_t offset, int64_t count);

#endif
