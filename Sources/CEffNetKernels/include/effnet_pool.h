#ifndef EFFNET_POOL_H
#define EFFNET_POOL_H

// A persistent worker pool for splitting one layer of the fast forward pass over threads
// (pool.c). Why not DispatchQueue.concurrentPerform: one image takes ~50-100 layer hand-offs,
// and between them Dispatch's workers go to sleep. On a VM an idle vCPU halts, so each hand-off
// pays a wake-up (an inter-processor interrupt through the hypervisor) and the layer then runs on
// a core whose caches may have served another guest meanwhile. These workers spin for a while
// after each job (as ONNX Runtime's and OpenMP's do) and only then sleep, and thread t is handed
// the same parts of every layer (so a layer's rows stay in the cache of the core that wrote them),
// with any part not yet started taken over by an idle thread.
//
// One job at a time: effnet_parallel returns 0 without running anything when another caller's
// job is in progress (or parts is out of range), and the caller then splits the work some other
// way. Workers are created on first use and live as long as the process.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Most parts one job may have.
#define EFFNET_POOL_MAX_PARTS 64
/// Most threads one job may use (the caller and EFFNET_POOL_MAX_THREADS - 1 workers).
#define EFFNET_POOL_MAX_THREADS 64

/// One part of a job; `thread` (< the job's threads) identifies the thread running it, so that
/// parts can use per-thread scratch memory (parts on the same thread run one after another).
typedef void (*effnet_task_fn)(void *context, intptr_t part, intptr_t thread);

/// Runs fn(context, p, t) exactly once for every p in [0, parts), on the calling thread and up to
/// threads - 1 pool workers, and returns 1 when all have finished. Thread t (the caller is 0)
/// first runs parts [t * parts / threads, (t + 1) * parts / threads), then any part nobody has
/// started. Returns 0, having run nothing, when the pool is busy with another job or
/// parts / threads are outside [1, EFFNET_POOL_MAX_PARTS] / [1, EFFNET_POOL_MAX_THREADS].
/// fn must not call effnet_parallel itself (it would get 0).
int effnet_parallel(intptr_t parts, intptr_t threads, effnet_task_fn fn, void *context);

#ifdef __cplusplus
}
#endif

#endif
