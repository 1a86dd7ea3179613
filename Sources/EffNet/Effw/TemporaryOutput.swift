import CFileSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The not-yet-visible output of `AtomicFileWriter`: an unnamed file, or a named one where the
/// filesystem cannot make unnamed files.
struct TemporaryOutput {
    let fd: Int32
    let destination: String
    let directory: String
    /// The temporary name, nil for an unnamed file.
    private(set) var name: String?
    private var open = true

    init(directory: String, destination: String) throws {
        self.directory = directory
        self.destination = destination
        let unnamed = effnet_open_unnamed(directory)
        if unnamed >= 0 {
            fd = unnamed
            name = nil
            return
        }
        // EOPNOTSUPP (tmpfs before 3.11, some network filesystems), EISDIR/EINVAL (old kernels):
        // fall back to a named file; if the folder itself is the problem, that fails too and says why.
        var template = Array("\(directory)/.effnet-tmp-XXXXXX".utf8CString)
        let named = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard named >= 0 else { throw FileError.cannotWrite(path: destination, reason: FileError.reason(errno)) }
        _ = fcntl(named, F_SETFD, FD_CLOEXEC)  // not into a containment child
        fd = named
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        name = path
        effnet_interrupt_set_temp_file(path)
    }

    /// A path that opens this file before it is committed, in this process or a child it starts:
    /// the temporary name, or the unnamed file's descriptor under /proc.
    var readablePath: String { name ?? "/proc/\(getpid())/fd/\(fd)" }

    /// Makes the file visible at the destination (replacing it only with `overwrite`).
    mutating func commit(overwrite: Bool) throws {
        var committed = false
        effnet_interrupt_commit_begin()
        defer { effnet_interrupt_commit_end(committed ? 1 : 0) }
        if name == nil {
            if !overwrite {
                guard effnet_link_unnamed(fd, destination) == 0 else { throw linkError() }
            } else {
                // linkat cannot replace a name: link under a temporary name, then rename over the
                // destination (a SIGKILL between the two leaves that name behind, nothing else).
                let staged = "\(directory)/.effnet-tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
                guard effnet_link_unnamed(fd, staged) == 0 else { throw linkError() }
                effnet_interrupt_set_temp_file(staged)
                name = staged
            }
        }
        if let name {
            if overwrite {
                guard rename(name, destination) == 0 else {
                    throw FileError.cannotWrite(path: destination, reason: FileError.reason(errno))
                }
            } else {
                guard link(name, destination) == 0 else { throw linkError() }
                unlink(name)
            }
            effnet_interrupt_set_temp_file(nil)
            self.name = nil
        }
        close(fd)
        open = false
        committed = true
    }

    private func linkError() -> FileError {
        errno == EEXIST ? .exists(path: destination) : .cannotWrite(path: destination, reason: FileError.reason(errno))
    }

    /// Removes whatever is not committed (an unnamed file vanishes when closed).
    mutating func discard() {
        guard open else { return }
        if let name {
            unlink(name)
            effnet_interrupt_set_temp_file(nil)
        }
        close(fd)
        open = false
    }
}
