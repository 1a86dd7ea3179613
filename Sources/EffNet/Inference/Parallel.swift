import CEffNetKernels
import Dispatch

/// Splitting one layer's work across threads. A layer is cut into parts (row ranges or column
/// panels) only when it is big enough to repay the hand-off; the parts run on the caller and the
/// persistent workers of CEffNetKernels' pool (`effnet_parallel`), which keeps every thread on the
/// same share of every layer and lets an idle thread take over parts another has not started.
enum Parallel {
    /// Multiply-accumulates below which a layer runs on one thread.
    static let minimumWork = 400_000

    /// Runs body(0..<parts), concurrently (through Dispatch) when parts > 1: for work outside the
    /// forward pass (checks and conversions over many tensors), whose parts vary widely in size.
    static func forEach(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            body(0)
        } else {
            // The parts write disjoint memory through raw pointers; Dispatch cannot see that.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: parts) { work($0) }
        }
    }

    /// Runs body(part, thread) once for every part in 0..<parts, on up to `threads` threads.
    /// `thread` (< threads) names the thread's scratch memory: parts with the same thread run
    /// one after another.
    static func forEach(_ parts: Int, threads: Int, _ body: (_ part: Int, _ thread: Int) -> Void) {
        let threads = min(threads, parts)
        if threads <= 1 {
            for p in 0 ..< parts { body(p, 0) }
            return
        }
        let done = withoutActuallyEscaping(body) { escaping -> Bool in
            var task = escaping
            return withUnsafeMutablePointer(to: &task) { context in
                effnet_parallel(parts, threads, { context, part, thread in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(part, thread)
                }, context) != 0
            }
        }
        if !done {
            // The pool is busy with another caller's layer (or parts exceed its limit): Dispatch,
            // each thread taking its share of the parts in order.
            // The parts write disjoint memory through raw pointers; Dispatch cannot see that.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for p in slice(parts, t, of: threads) { work(p, t) }
            }
        }
    }

    /// The part-th of `parts` nearly equal slices of 0..<n.
    @inline(__always)
    static func slice(_ n: Int, _ part: Int, of parts: Int) -> Range<Int> {
        (n * part / parts) ..< (n * (part + 1) / parts)
    }

    /// Parts per thread a layer is cut into by default: more parts than threads let a thread
    /// that finishes early (its core was faster, or its share lighter) take over the rest of
    /// another's share instead of waiting for it.
    static let partsPerThread = 4

    /// How many parts to cut `work` multiply-accumulates over `units` independent units into:
    /// 1 for one thread or less than `minimum` work, else up to `perThread` per thread.
    static func parts(threads: Int, work: Int, units: Int, perThread: Int = partsPerThread, minimum: Int = minimumWork) -> Int {
        guard threads > 1, work >= minimum else { return 1 }
        return max(1, min(threads * perThread, units, Int(EFFNET_POOL_MAX_PARTS)))
    }
}
