import CFileSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that it either appears complete or not at all, even when the process is
/// killed: the data goes to an unnamed file (Linux O_TMPFILE) in the destination's folder, is
/// fsynced, then linked into place, so SIGKILL at any moment leaves nothing visible. Where the
/// filesystem lacks O_TMPFILE, a named temporary file beside the destination is used instead,
/// registered with the interrupt handler (SIGINT/SIGTERM remove it; SIGKILL cannot be caught).
/// Without `overwrite`, an existing destination is never replaced (the move is a hard link,
/// which fails if the name exists). Before committing, every file the process has mapped is
/// checked to be unchanged (`MappedFile.checkAllUnchanged`): a source that shrank or was
/// rewritten while it was read never becomes a destination.
public struct AtomicFileWriter {
    public let destination: String
    public let overwrite: Bool

    public init(destination: String, overwrite: Bool = false) {
        self.destination = destination
        self.overwrite = overwrite
    }

    /// Runs `body` with a descriptor to write to, then commits. On any error the temporary file
    /// is removed and the destination is untouched.
    /// - Throws: `FileError.exists` when the destination exists and `overwrite` is false,
    ///   `FileError.cannotWrite` on I/O failures ("no space left on device" for ENOSPC),
    ///   `FileError.changedWhileReading` when a mapped input changed, or whatever `body` throws.
    /// - Parameter beforeCommit: called after the data is on disk and before it becomes visible,
    ///   with a path that reads the not-yet-committed file (an exporter reads its output back
    ///   with this and commits only if it is right); what it throws aborts the write.
    public func write(_ body: (inout FileSink) throws -> Void, beforeCommit: ((String) throws -> Void)? = nil) throws {
        if !overwrite, access(destination, F_OK) == 0 { throw FileError.exists(path: destination) }
        let dir = Self.directory(of: destination)
        var temp = try TemporaryOutput(directory: dir, destination: destination)
        defer { temp.discard() }
        var sink = FileSink(fd: temp.fd, path: destination)
        try body(&sink)
        try sink.flush()
        guard fchmod(temp.fd, 0o644) == 0, fsync(temp.fd) == 0 else {
            throw FileError.cannotWrite(path: destination, reason: FileError.reason(errno))
        }
        try beforeCommit?(temp.readablePath)
        try MappedFile.checkAllUnchanged()
        try temp.commit(overwrite: overwrite)
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }
}

/// A buffered writer over a file descriptor, with write-behind: every `writeBehindChunk` bytes it
/// asks the kernel to start writing what came before to disk, so the closing fsync waits for the
/// last few megabytes instead of the whole file (78 MB: fsync 35 ms -> ~10 ms here; see
/// Benchmarks/convert_vs_cp.md).
public struct FileSink {
    let fd: Int32
    let path: String
    private var buffer: [UInt8] = []
    public private(set) var bytesWritten: Int = 0
    /// Bytes handed to the descriptor so far, and how many of them writeback was started for.
    private var bytesFlushed: Int = 0
    private var writebackStarted: Int = 0
    static let writeBehindChunk = 8 << 20

    /// Writes of at least this many bytes go straight to the descriptor; smaller ones are gathered
    /// into a buffer of `bufferSize`. Copying a 64 KB tensor costs more than the system call
    /// it would save (B4: ~5 ms of copying with a 1 MB threshold, measured with perf).
    static let directWriteMinimum = 64 << 10
    static let bufferSize = 1 << 20

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(Self.bufferSize)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= Self.directWriteMinimum {
            try flush()
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
            if buffer.count >= Self.bufferSize { try flush() }
        }
        bytesWritten += bytes.count
    }

    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes {
            try Self.writeAll($0, fd: fd, path: path, flushed: &bytesFlushed, writebackStarted: &writebackStarted)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes `bytes` over what was written at `offset` (flushing the buffer first): how a
    /// header whose contents are known only after the data (the .effw CRC-32s) gets its place.
    public mutating func overwrite(at offset: Int, _ bytes: [UInt8]) throws {
        try flush()
        precondition(offset >= 0 && offset + bytes.count <= bytesFlushed, "FileSink.overwrite: range not written yet")
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = pwrite(fd, b.baseAddress! + done, b.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError.cannotWrite(path: path, reason: FileError.reason(errno))
                }
                done += n
            }
        }
    }

    private mutating func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try Self.writeAll(bytes, fd: fd, path: path, flushed: &bytesFlushed, writebackStarted: &writebackStarted)
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, fd: Int32, path: String,
                                 flushed bytesFlushed: inout Int, writebackStarted: inout Int) throws {
        var off = 0
        while off < bytes.count {
            // At most one write-behind chunk per call, so writeback starts while we keep writing.
            let n = systemWrite(fd, bytes.baseAddress! + off, min(bytes.count - off, writeBehindChunk))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.cannotWrite(path: path, reason: FileError.reason(errno))
            }
            off += n
            bytesFlushed += n
            if bytesFlushed - writebackStarted >= writeBehindChunk {
                _ = effnet_start_writeback(fd, Int64(writebackStarted), Int64(bytesFlushed - writebackStarted))
                writebackStarted = bytesFlushed
            }
        }
    }
}

@inline(__always)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
