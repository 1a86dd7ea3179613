#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Readers hand out views into it instead of copying.
/// The mapping lives as long as this object; views keep it alive through `ByteStorage`.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    /// Maps `path`. Throws `FileError` naming the path on any failure. An empty file maps to an
    /// empty buffer.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError.notARegularFile(path: path) }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))") }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    public var count: Int { bytes.count }

    /// A storage handle over `range` of the map, keeping the map alive.
    public func storage(_ range: Range<Int>) throws -> ByteStorage {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw ByteReaderError.outOfRange(offset: range.upperBound, size: bytes.count)
        }
        return ByteStorage(bytes: UnsafeRawBufferPointer(rebasing: bytes[range]), owner: self)
    }

    deinit {
        if let base { munmap(base, bytes.count) }
    }
}

public enum FileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notARegularFile(path: String)
    case cannotWrite(path: String, reason: String)
    case exists(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .notARegularFile(path): return "\(path): not a regular file"
        case let .cannotWrite(path, reason): return "\(path): cannot write: \(reason)"
        case let .exists(path): return "\(path): already exists (use --force to overwrite)"
        }
    }
}
