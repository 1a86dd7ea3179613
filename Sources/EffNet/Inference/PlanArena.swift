import Foundation

/// A bump allocator for one plan's packed weights: many buffers of a few KB to tens of MB carved
/// from huge-page chunks (`HugePageMemory`), so that B7's 267 MB fill whole 2 MB pages instead
/// of leaving a partly used huge page after each buffer. Thread-safe: the plan is built on
/// several threads. Freed as a whole when the plan (every buffer holds the arena) goes.
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
        return lock.withLock {
            if need > left {
                let size = max(Self.chunkBytes, need)
                guard let p = HugePageMemory.allocate(size) else { return nil }
                chunks.append((p, size))
                cursor = p
                left = (size + HugePageMemory.hugePage - 1) / HugePageMemory.hugePage * HugePageMemory.hugePage
            }
            let p = cursor!
            cursor = p + need
            left -= need
            return p
        }
    }

    deinit { for c in chunks { HugePageMemory.free(c.pointer, bytes: c.bytes) } }
}
