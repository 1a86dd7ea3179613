#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zeroed memory for the large buffers of the fast path (packed weights, workspaces), mapped
/// anonymously, with its pages faulted in by one call (`populate`) instead of one page fault per
/// 4 KB on first write. Why: on the project's 2-core VM the first write to 267 MB of fresh
/// memory (B7's packed weights) cost ~135 ms of CPU through page faults and ~92 ms populated in
/// one go (a C loop, alternating runs). Transparent huge pages were tried: 28-37 ms when the
/// kernel had huge pages freed moments before, but 450-600 ms when it had to find new ones
/// (every fresh process after other work met that case in Benchmarks/load.sh), so they are
/// not asked for. The memory comes zeroed from the kernel, so nothing needs clearing here.
enum LargeMemory {
    /// Below this, buffers come from malloc.
    static let minimumBytes = 4 << 20
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// `bytes` of zeroed memory, page-aligned, populated; nil when the system refuses (the
    /// caller falls back to malloc).
    static func allocate(_ bytes: Int, populate: Bool = true) -> UnsafeMutableRawPointer? {
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return nil
        }
        if populate { self.populate(p, bytes: bytes) }
        return p
    }

    /// Faults in the whole pages inside `bytes` at `pointer` in one call (Linux 5.14's
    /// MADV_POPULATE_WRITE); where that is not available the pages fault in on first write, as
    /// usual.
    static func populate(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let start = (Int(bitPattern: pointer) + pageSize - 1) / pageSize * pageSize
        let end = (Int(bitPattern: pointer) + bytes) / pageSize * pageSize
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, 23)  // MADV_POPULATE_WRITE; EINVAL on older kernels: ignored
        #endif
    }

    /// Releases memory from `allocate(bytes)` (the same `bytes`).
    static func free(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        munmap(pointer, bytes)
    }
}
