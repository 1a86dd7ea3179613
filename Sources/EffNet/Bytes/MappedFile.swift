import CFileSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Readers hand out views into it instead of copying.
/// The mapping lives as long as this object; views keep it alive through `ByteStorage`.
///
/// Every file the tools read goes through here, so here is where hostile *files* (as opposed to
/// hostile bytes) are met (docs/HOSTILE_INPUT.md):
/// - FIFOs, devices, directories and sockets are refused before any read: the path is checked
///   with `stat` (opening some devices has effects), then opened with O_NONBLOCK (a FIFO's open
///   would otherwise wait for a writer forever) and checked again with `fstat`.
/// - A file that shrinks while mapped would kill the process with SIGBUS on the next read past
///   its new end. The map is registered with a SIGBUS guard (CFileSupport map_guard.c) that puts
///   zero pages in place and marks it instead; the descriptor stays open so that size, mtime and
///   modification time can be compared later. `checkUnchanged()` / `checkAllUnchanged()` turn either sign
///   into `FileError.changedWhileReading`: the .effw writer calls it before committing, the
///   command-line tools before reporting anything.
/// - Where no guard slot is free (over 1024 maps at once) the file is read into memory with
///   pread instead, which cannot fault.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    private let isMapped: Bool
    private let slot: Int32

    /// Maps `path`. Throws `FileError` naming the path on any failure. An empty file maps to an
    /// empty buffer.
    public init(path: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            throw FileError.notARegularFile(path: path, kind: FileError.kind(ofMode: st.st_mode))
        }
        let fd = effnet_open_nonblocking(path)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: FileError.reason(errno)) }
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        guard fstat(fd, &st) == 0 else { throw FileError.cannotOpen(path: path, reason: FileError.reason(errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FileError.notARegularFile(path: path, kind: FileError.kind(ofMode: st.st_mode))
        }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            isMapped = false
            slot = -1
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError.cannotOpen(path: path, reason: "mmap failed: \(FileError.reason(errno))") }
        let slot = effnet_map_guard_register(p, size)
        if slot >= 0 {
            base = p
            isMapped = true
            self.slot = slot
            keepOpen = true
        } else {
            munmap(p, size)
            guard let copy = malloc(size) else { throw FileError.cannotOpen(path: path, reason: "out of memory reading \(size) bytes") }
            var done = 0
            while done < size {
                let n = pread(fd, copy + done, size - done, off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    free(copy)
                    if n == 0 { throw FileError.changedWhileReading(path: path) }
                    throw FileError.cannotOpen(path: path, reason: FileError.reason(errno))
                }
                done += n
            }
            base = copy
            isMapped = false
            self.slot = -1
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        if isMapped { FileWatch.shared.add(FileWatch.Entry(path: path, fd: fd, slot: slot, status: st), for: ObjectIdentifier(self)) }
    }

    public var count: Int { bytes.count }

    /// A storage handle over `range` of the map, keeping the map alive.
    public func storage(_ range: Range<Int>) throws -> ByteStorage {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw ByteReaderError.outOfRange(offset: range.upperBound, size: bytes.count)
        }
        return ByteStorage(bytes: UnsafeRawBufferPointer(rebasing: bytes[range]), owner: self)
    }

    /// - Throws: `FileError.changedWhileReading` when a read of this map faulted (the file
    ///   shrank) or the file's size or modification time differ from when it was mapped.
    public func checkUnchanged() throws {
        if let changed = FileWatch.shared.firstChange(only: ObjectIdentifier(self)) { throw FileError.changedWhileReading(path: changed) }
    }

    /// Checks every file mapped now, and every map released after its file changed.
    /// - Throws: `FileError.changedWhileReading` for the first such file.
    public static func checkAllUnchanged() throws {
        if let changed = FileWatch.shared.firstChange(only: nil) { throw FileError.changedWhileReading(path: changed) }
    }

    /// The first file `checkAllUnchanged` would name, or nil. With `faultsOnly`, only maps whose
    /// reads faulted count (size and time changes after the last read do not void what was read).
    public static func firstChangedFile(faultsOnly: Bool = false) -> String? {
        FileWatch.shared.firstChange(only: nil, faultsOnly: faultsOnly)
    }

    /// Forgets maps released after their files changed, for a long-running process (or a
    /// test) that has handled the change: until then every later commit refuses.
    public static func forgetReleasedChanges() { FileWatch.shared.forgetReleased() }

    deinit {
        if isMapped {
            FileWatch.shared.remove(ObjectIdentifier(self))
            munmap(base, bytes.count)
        } else if let base {
            free(base)
        }
    }
}
