#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-level failures of opening, mapping and writing. Each names the file first.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    /// A FIFO, device, directory or socket where a file's bytes were expected; `kind` says which.
    case notARegularFile(path: String, kind: String)
    case cannotWrite(path: String, reason: String)
    case exists(path: String)
    /// The file shrank or was rewritten while the tool was reading it (a training job still
    /// writing a checkpoint, for one): what was read is void (`MappedFile.checkUnchanged`).
    case changedWhileReading(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .notARegularFile(path, kind): return "\(path): not a regular file (\(kind)); only regular files are read"
        case let .cannotWrite(path, reason): return "\(path): cannot write: \(reason)"
        case let .exists(path): return "\(path): already exists (use --force to overwrite)"
        case let .changedWhileReading(path):
            return "\(path): changed while being read (it shrank or was rewritten); nothing was written: read it again once it is complete"
        }
    }

    /// `strerror(code)`, with "no space left on device" spelled out plainly.
    public static func reason(_ code: Int32) -> String {
        code == ENOSPC ? "no space left on device" : String(cString: strerror(code))
    }

    /// What a `stat` mode is, for `notARegularFile`.
    static func kind(ofMode mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }
}
