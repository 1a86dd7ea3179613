import Dispatch

/// Splitting work across threads with `DispatchQueue.concurrentPerform`. A layer is split only
/// when it is big enough to repay the hand-off (a few microseconds per call).
enum Parallel {
    /// Multiply-accumulates below which a layer runs on one thread.
    static let minimumWork = 400_000

    /// Runs body(0..<parts), concurrently when parts > 1.
    static func forEach(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            body(0)
        } else {
            // The parts write disjoint memory through raw pointers; Dispatch cannot see that.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: parts) { work($0) }
        }
    }

    /// The part-th of `parts` nearly equal slices of 0..<n.
    @inline(__always)
    static func slice(_ n: Int, _ part: Int, of parts: Int) -> Range<Int> {
        (n * part / parts) ..< (n * (part + 1) / parts)
    }

    /// How many ways to split `work` multiply-accumulates over at most `units` independent units.
    static func parts(threads: Int, work: Int, units: Int) -> Int {
        guard threads > 1, work >= minimumWork else { return 1 }
        return max(1, min(threads, units))
    }
}
