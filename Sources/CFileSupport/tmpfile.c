// Unnamed output files (O_TMPFILE), non-blocking opens and the containment child's tie to its
// parent: Linux calls that Swift's Glibc module does not expose (O_TMPFILE is a _GNU_SOURCE
// macro, prctl is variadic).
#define _GNU_SOURCE
#include "CFileSupport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

int effnet_open_unnamed(const char *directory) {
#if defined(O_TMPFILE)
    return open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
#else
    (void)directory;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int effnet_link_unnamed(int fd, const char *path) {
#if defined(__linux__)
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
#else
    (void)fd; (void)path;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int effnet_open_nonblocking(const char *path) {
    return open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

int effnet_die_with_parent(int signal, int expectedParent) {
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, signal);
#else
    (void)signal;
#endif
    return getppid() == expectedParent ? 0 : -1;
}
