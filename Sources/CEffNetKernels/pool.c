// The worker pool of effnet_pool.h.
//
// A job is published with a sequence lock: `seq` is odd while the caller writes the job's fields
// and even (2 * generation) once they are complete, so a worker that reads them takes them only
// if `seq` did not change meanwhile. Part p is claimed by raising claims[p] to the job's
// generation (a compare-and-swap from a smaller value), so it runs exactly once even when a worker
// that read an older job is still looking; every part of a job is claimed before the job ends,
// so such a worker can never claim a part of a later one. `done` counts finished parts; the
// caller returns when it reaches `parts`.
//
// Idle workers spin (checking `seq`) for spin_ns after their last job, then sleep on their own
// condition variable; the caller signals the sleeping workers a job needs. Sleeping and waking are
// ordered Dekker-style (each side stores its flag, then loads the other's, both sequentially
// consistent) and the worker re-checks `seq` under its mutex, so no wake-up is lost.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "include/effnet_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

// How long an idle worker spins before it sleeps: longer than the serial gaps between the layers
// of one image (tens of microseconds) and than the time between images run back to back, short
// enough that a pool nobody uses stops costing CPU almost at once. EFFNET_POOL_SPIN_US overrides it
// (for measurement).
#define DEFAULT_SPIN_NS 2000000

typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    atomic_int sleeping;
} worker;

static struct {
    atomic_int busy;                 // a caller owns the pool
    atomic_uint_fast64_t seq;        // odd while a job is being written
    _Atomic(effnet_task_fn) fn;      // the job (read under the sequence lock)
    _Atomic(void *) context;
    atomic_intptr_t parts, threads;
    atomic_intptr_t done;            // finished parts of the current job
    atomic_uint_fast64_t claims[EFFNET_POOL_MAX_PARTS];
    atomic_int started;              // workers created (indices 1...started)
    worker workers[EFFNET_POOL_MAX_THREADS];
    int64_t spin_ns;
} pool;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int claim(intptr_t p, uint64_t generation) {
    uint_fast64_t old = atomic_load_explicit(&pool.claims[p], memory_order_relaxed);
    while (old < generation)
        if (atomic_compare_exchange_weak_explicit(&pool.claims[p], &old, generation, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return 1;
    return 0;
}

static void run_part(effnet_task_fn fn, void *context, intptr_t p, intptr_t t) {
    fn(context, p, t);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
}

// Thread t's share of a job: its own parts first, then (from the last part down, i.e. from the
// far end of the other threads' shares) whatever nobody has claimed yet.
static void work(intptr_t t, uint64_t generation, effnet_task_fn fn, void *context, intptr_t parts,
                 intptr_t threads) {
    for (intptr_t p = t * parts / threads; p < (t + 1) * parts / threads; p++)
        if (claim(p, generation)) run_part(fn, context, p, t);
    for (intptr_t p = parts - 1; p >= 0; p--)
        if (claim(p, generation)) run_part(fn, context, p, t);
}

static void *worker_main(void *arg) {
    const intptr_t t = (intptr_t)arg;
    worker *self = &pool.workers[t];
    uint64_t seen = 0;  // generation of the last job looked at
    int64_t idle_since = now_ns();
    unsigned spins = 0;
    for (;;) {
        uint_fast64_t s1 = atomic_load_explicit(&pool.seq, memory_order_acquire);
        if (!(s1 & 1) && s1 / 2 != seen) {
            effnet_task_fn fn = atomic_load_explicit(&pool.fn, memory_order_relaxed);
            void *context = atomic_load_explicit(&pool.context, memory_order_relaxed);
            intptr_t parts = atomic_load_explicit(&pool.parts, memory_order_relaxed);
            intptr_t threads = atomic_load_explicit(&pool.threads, memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&pool.seq, memory_order_relaxed) != s1) continue;
            seen = s1 / 2;
            if (t < threads) {
                work(t, seen, fn, context, parts, threads);
                idle_since = now_ns();
            }
            continue;
        }
        CPU_RELAX();
        if (++spins % 64 != 0 || now_ns() - idle_since < pool.spin_ns) continue;
        // Sleep until a job that needs this worker is published.
        pthread_mutex_lock(&self->mutex);
        atomic_store(&self->sleeping, 1);
        while (atomic_load(&pool.seq) / 2 == seen) pthread_cond_wait(&self->cond, &self->mutex);
        atomic_store(&self->sleeping, 0);
        pthread_mutex_unlock(&self->mutex);
        idle_since = now_ns();
    }
    return 0;
}

// Creates workers 1..<threads that do not exist yet; returns the number running. Called only by
// the pool's owner.
static intptr_t start_workers(intptr_t threads) {
    intptr_t started = atomic_load_explicit(&pool.started, memory_order_relaxed);
    if (started == 0 && pool.spin_ns == 0) {
        const char *env = getenv("EFFNET_POOL_SPIN_US");
        pool.spin_ns = env ? (int64_t)atoll(env) * 1000 : DEFAULT_SPIN_NS;
    }
    while (started + 1 < threads) {
        intptr_t t = started + 1;
        worker *w = &pool.workers[t];
        pthread_mutex_init(&w->mutex, 0);
        pthread_cond_init(&w->cond, 0);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        int failed = pthread_create(&thread, &attr, worker_main, (void *)t);
        pthread_attr_destroy(&attr);
        if (failed) break;
        started = t;
        atomic_store_explicit(&pool.started, (int)started, memory_order_relaxed);
    }
    return started + 1;
}

int effnet_parallel(intptr_t parts, intptr_t threads, effnet_task_fn fn, void *context) {
    if (parts < 1 || parts > EFFNET_POOL_MAX_PARTS || threads < 1 || threads > EFFNET_POOL_MAX_THREADS)
        return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&pool.busy, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return 0;
    // Fewer threads than asked only if the system refused to create more; the parts still all run.
    if (threads > parts) threads = parts;
    intptr_t running = start_workers(threads);
    if (threads > running) threads = running;

    uint_fast64_t s = atomic_load_explicit(&pool.seq, memory_order_relaxed);
    atomic_store_explicit(&pool.seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool.context, context, memory_order_relaxed);
    atomic_store_explicit(&pool.parts, parts, memory_order_relaxed);
    atomic_store_explicit(&pool.threads, threads, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store(&pool.seq, s + 2);  // sequentially consistent: ordered before the loads of `sleeping`
    const uint64_t generation = (s + 2) / 2;
    for (intptr_t t = 1; t < threads; t++) {
        worker *w = &pool.workers[t];
        if (atomic_load(&w->sleeping)) {
            pthread_mutex_lock(&w->mutex);
            pthread_cond_signal(&w->cond);
            pthread_mutex_unlock(&w->mutex);
        }
    }

    work(0, generation, fn, context, parts, threads);
    // Parts still running on other threads: spin (they are short), yielding now and then in case
    // a worker lost its core to another process.
    for (unsigned spins = 1; atomic_load_explicit(&pool.done, memory_order_acquire) < parts; spins++) {
        CPU_RELAX();
        if (spins % 4096 == 0) sched_yield();
    }
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
    return 1;
}
