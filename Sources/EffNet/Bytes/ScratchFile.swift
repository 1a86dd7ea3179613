import CFileSupport
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary file with no name (Linux O_TMPFILE; elsewhere created and unlinked at once) in
/// $TMPDIR: it disappears when closed or when the process dies, even from SIGKILL. Libraries
/// that only take paths reopen it through `path` (/proc/self/fd/N). Used to hand a .keras
/// archive's inflated weights to libhdf5 without holding them in memory.
public final class ScratchFile: @unchecked Sendable {
    /// The write descriptor.
    public let fd: Int32
    /// A path that opens this file while it is open (Linux: /proc/self/fd/N).
    public var path: String { "/proc/self/fd/\(fd)" }

    /// - Throws: `FileError.cannotWrite` naming the folder ("no space left on device" spelled out).
    public init(directory: String? = nil) throws {
        let dir = directory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var fd = effnet_open_unnamed(dir)
        if fd < 0 {
            var template = Array("\(dir)/.effnet-scratch-XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw FileError.cannotWrite(path: dir, reason: "cannot create a temporary file: \(FileError.reason(errno))") }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
