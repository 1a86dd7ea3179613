// Swift's Glibc module does not export sync_file_range (it is a _GNU_SOURCE extension).
#define _GNU_SOURCE
#include "CFileSupport.h"

#if defined(__linux__)
#include <fcntl.h>

int effnet_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, SYNC_FILE_RANGE_WRITE);
}
#else
int effnet_start_writeback(int fd, int64_t offset, int64_t count) {
    (void)fd; (void)offset; (void)count;
    return 0;
}
#endif
