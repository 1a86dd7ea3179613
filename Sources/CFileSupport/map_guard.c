// The SIGBUS guard for memory maps of files that may shrink while mapped (docs/HOSTILE_INPUT.md,
// "Files that change while being read"). Reading a page of a map past the file's current end
// raises SIGBUS. Swift cannot catch a signal, and jumping out of the handler through Swift frames
// would skip their cleanup. Instead the handler replaces the map from the faulting page to its
// end with anonymous zero pages and returns: the read that faulted re-executes and finds zeros.
// The slot is marked, and the owner (MappedFile) turns the mark into "changed while being read"
// before anything read from the map is trusted or committed. Faults outside registered maps go
// to the handler that was installed before (the Swift runtime's crash reporter, or the default).
#define _GNU_SOURCE
#include "CFileSupport.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 1024

typedef struct {
    _Atomic(uintptr_t) base;    // 0: free
    _Atomic(size_t) length;
    atomic_int faulted;
} slot_t;

static slot_t slots[SLOTS];
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static atomic_int lock;  // spin lock for claiming slots (never taken in the handler)

static void chain(int sig, siginfo_t *info, void *context) {
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) { previous.sa_sigaction(sig, info, context); return; }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    // Default action: restore it; the faulting instruction re-executes and the process dies
    // from SIGBUS as it would have without the guard.
    signal(sig, SIG_DFL);
}

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t base = atomic_load(&slots[i].base);
        if (base == 0) continue;
        size_t length = atomic_load(&slots[i].length);
        if (address < base || address - base >= length) continue;
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t start = address & ~(page - 1);
        size_t rest = (size_t)(base + length - start);
        void *p = mmap((void *)start, rest, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) break;
        atomic_store(&slots[i].faulted, 1);
        return;
    }
    chain(sig, info, context);
}

static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous);
}

int effnet_map_guard_register(void *base, size_t length) {
    if (base == NULL || length == 0) return -1;
    pthread_once(&installed, install);
    while (atomic_exchange(&lock, 1)) {}
    int found = -1;
    for (int i = 0; i < SLOTS; i++) {
        if (atomic_load(&slots[i].base) == 0) { found = i; break; }
    }
    if (found >= 0) {
        atomic_store(&slots[found].faulted, 0);
        atomic_store(&slots[found].length, length);
        atomic_store(&slots[found].base, (uintptr_t)base);
    }
    atomic_store(&lock, 0);
    return found;
}

void effnet_map_guard_unregister(int slot) {
    if (slot < 0 || slot >= SLOTS) return;
    atomic_store(&slots[slot].base, 0);
}

int effnet_map_guard_faulted(int slot) {
    if (slot < 0 || slot >= SLOTS) return 0;
    return atomic_load(&slots[slot].faulted);
}
