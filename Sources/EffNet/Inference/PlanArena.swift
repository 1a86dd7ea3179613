import Foundation

/// A bump allocator for one plan's packed weights: many buffers of a few KB to tens of MB carved
/// from 32 MB chunks of `LargeMemory` (mapped, not populated), each buffer's pages populated by
/// the thread that carves it, outside the lock (`LargeMemory.populate`), so that both cores
/// fault in their own parts. Thread-safe: the plan is built on several threads. Freed as a
/// whole when the plan (every buffer holds the arena) goes.
final class PlanArena: @unchecked Sendable {
    private static let chunkBytes = 32 << 20
    private let lock = NSLock()
    private var chunks: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private var cursor: UnsafeMutableRawPointer?
    private var left = 0

    init() {}

    /// `bytes` of zeroed memory aligned to 64 bytes, valid while the arena lives; nil when the
    /// system refuses memory (the caller falls back to its own allocation).
    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let need = (bytes + 63) / 64 * 64
        let carved: UnsafeMutableRawPointer? = lock.withLock {
            if need > left {
                let size = max(Self.chunkBytes, need)
                guard let p = LargeMemory.allocate(size, populate: false) else { return nil }
                chunks.append((p, size))
                cursor = p
                left = size
            }
            let p = cursor!
            cursor = p + need
            left -= need
            return p
        }
        if let carved, need >= 64 << 10 { LargeMemory.populate(carved, bytes: need) }
        return carved
    }

    deinit { for c in chunks { LargeMemory.free(c.pointer, bytes: c.bytes) } }
}
