#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zeroed memory for the large buffers of the fast path (packed weights, workspaces), mapped
/// anonymously and, on Linux, marked for transparent huge pages. Why: the first write to fresh
/// memory costs a page fault and a cleared page per 4 KB. On the project's 2-core VM that was
/// about 0.5 ms of CPU per MB (128 ms for B7's 267 MB of packed weights, measured with a C loop),
/// against about 0.1 ms per MB when the kernel hands out 2 MB pages, so it decided load-to-ready
/// (Benchmarks/load.sh). The memory comes zeroed from the kernel, so nothing needs clearing here.
enum HugePageMemory {
    /// Below this, buffers come from malloc (a huge page would mostly be waste).
    static let minimumBytes = 4 << 20
    static let hugePage = 2 << 20

    /// `bytes` (rounded up to whole huge pages) of zeroed memory aligned to a huge page, or nil
    /// when the system refuses (the caller falls back to malloc).
    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let size = (bytes + hugePage - 1) / hugePage * hugePage
        // Map one huge page more, so the start can be aligned; unmap the slack on both sides.
        let total = size + hugePage
        guard let raw = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            return nil
        }
        let address = UInt(bitPattern: raw)
        let aligned = (address + UInt(hugePage) - 1) / UInt(hugePage) * UInt(hugePage)
        let head = Int(aligned - address), tail = total - head - size
        if head > 0 { munmap(raw, head) }
        let start = UnsafeMutableRawPointer(bitPattern: aligned)!
        if tail > 0 { munmap(start + size, tail) }
        #if os(Linux)
        _ = madvise(start, size, 14)  // MADV_HUGEPAGE; advisory, ignored where THP is off
        #endif
        return start
    }

    /// Releases memory from `allocate(bytes)` (the same `bytes`).
    static func free(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        munmap(pointer, (bytes + hugePage - 1) / hugePage * hugePage)
    }
}
