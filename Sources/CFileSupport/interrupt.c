// SIGINT, SIGTERM and SIGHUP during a tool run: remove what would otherwise be left behind (a
// named temporary file where O_TMPFILE is unavailable, the containment child and its folder),
// say so on stderr and exit 128 + signal. Only async-signal-safe calls; the paths are copied
// into fixed buffers when they are set, so the handler never allocates or reads Swift memory.
#define _GNU_SOURCE
#include "CFileSupport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char context[1024];
static char temp_file[4096];
static char folder[4096];
static atomic_int child;

// Where the output's commit stands, so that a signal never contradicts the file system (any
// thread may take a process-directed signal): NORMAL, COMMITTING (the handler records the signal
// and returns; a failed commit re-raises it), COMMITTED (DEST is complete: the signal is ignored
// and the tool finishes), DYING (the handler has started: no commit may start).
enum { NORMAL, COMMITTING, COMMITTED, DYING };
static atomic_int state;
static atomic_int pending;

static void copy(char *to, size_t size, const char *from) {
    // Cleared first so a handler running meanwhile sees "" rather than a half-copied path.
    to[0] = 0;
    if (from == NULL) return;
    size_t n = strlen(from);
    if (n >= size) return;  // too long to keep: not registered (the caller's own cleanup remains)
    memcpy(to + 1, from + 1, n);
    atomic_signal_fence(memory_order_seq_cst);
    to[0] = from[0];
}

void effnet_interrupt_set_context(const char *text) { copy(context, sizeof context, text); }
void effnet_interrupt_set_temp_file(const char *path) { copy(temp_file, sizeof temp_file, path); }
void effnet_interrupt_set_folder(const char *path) { copy(folder, sizeof folder, path); }
void effnet_interrupt_set_child(int pid) { atomic_store(&child, pid); }

static void put(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) { if (w < 0 && errno == EINTR) continue; return; }
        s += w;
        n -= (size_t)w;
    }
}

void effnet_remove_contained_folder(const char *path) {
    if (path == NULL || path[0] == 0) return;
#if defined(__linux__)
    // Every file in it (the child creates no folders): getdents64 into a stack buffer, since
    // opendir/readdir may allocate.
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        char buffer[4096];
        for (int rounds = 0; rounds < 64; rounds++) {
            long n = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
            if (n <= 0) break;
            for (long at = 0; at < n;) {
                struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *e = (void *)(buffer + at);
                if (strcmp(e->name, ".") != 0 && strcmp(e->name, "..") != 0) unlinkat(fd, e->name, 0);
                at += e->reclen;
            }
        }
        close(fd);
    }
#else
    static const char *names[] = {"result.effw", "error.txt", "stderr.txt"};
    char p[4200];
    for (int i = 0; i < 3; i++) {
        size_t a = strlen(path), b = strlen(names[i]);
        if (a + b + 2 > sizeof p) return;
        memcpy(p, path, a); p[a] = '/'; memcpy(p + a + 1, names[i], b + 1);
        unlink(p);
    }
#endif
    rmdir(path);
}

static void on_signal(int sig) {
    int expected = NORMAL;
    if (!atomic_compare_exchange_strong(&state, &expected, DYING)) {
        if (expected == COMMITTING) atomic_store(&pending, sig);
        return;  // COMMITTING: decided when the commit ends; COMMITTED or DYING: nothing to do
    }
    int pid = atomic_exchange(&child, 0);
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    if (temp_file[0]) unlink(temp_file);
    if (folder[0]) effnet_remove_contained_folder(folder);
    const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
    put("error: ");
    put(context);
    put("interrupted by ");
    put(name);
    put("; nothing was written\n");
    _exit(128 + sig);
}

void effnet_interrupt_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    // One handler at a time: a second signal waits until the first has exited the process.
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    sigaddset(&action.sa_mask, SIGHUP);
    int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        // A signal ignored when the tool started (nohup, a shell's background job) stays ignored.
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(signals[i], &action, NULL);
    }
}

void effnet_interrupt_commit_begin(void) {
    int expected = NORMAL;
    if (atomic_compare_exchange_strong(&state, &expected, COMMITTING)) return;
    if (expected == COMMITTED) { atomic_store(&state, COMMITTING); return; }  // a second output
    // DYING: a handler on another thread is cleaning up and exiting; it must not see DEST appear.
    for (;;) pause();
}

void effnet_interrupt_commit_end(int committed) {
    if (committed) { atomic_store(&state, COMMITTED); return; }
    atomic_store(&state, NORMAL);
    int sig = atomic_exchange(&pending, 0);
    if (sig) raise(sig);
}
