import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private temporary file in $TMPDIR for a library that only opens paths: a .keras archive's
/// inflated weights, handed to libhdf5 without holding them in memory. Call `removeName()` as
/// soon as the library has opened it (the bytes live until the last descriptor closes); the
/// name is also removed when this object goes away.
///
/// Not O_TMPFILE: libhdf5 resolves the path it is given with realpath(3), which fails for
/// /proc/self/fd/N of an unnamed file. The name therefore exists between creation and the
/// library's open; in the tools that happens in the containment child, whose TMPDIR is its
/// private folder, removed by whichever of parent and child survives (even a SIGKILL).
public final class ScratchFile: @unchecked Sendable {
    /// The write descriptor.
    public let fd: Int32
    /// The file's name until `removeName()`.
    public let path: String
    private var named = true

    /// - Throws: `FileError.cannotWrite` naming the folder ("no space left on device" spelled out).
    public init(directory: String? = nil) throws {
        let dir = directory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(dir)/.effnet-scratch-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw FileError.cannotWrite(path: dir, reason: "cannot create a temporary file: \(FileError.reason(errno))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.fd = fd
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Unlinks the name (the open descriptors keep the bytes).
    public func removeName() {
        guard named else { return }
        unlink(path)
        named = false
    }

    deinit {
        removeName()
        close(fd)
    }
}
