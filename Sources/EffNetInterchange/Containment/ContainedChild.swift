import CFileSupport
import EffNet
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The child side of `ContainedRead.run`: limit itself, read, write the result or the error, exit.
enum ContainedChild {
    /// Exit status for "the reader threw; DIR/error.txt holds its text".
    static let readFailed: Int32 = 2
    /// Exit status for "the result could not be written".
    static let cannotWrite: Int32 = 3
    /// Exit status for "the result could not be written: no space left on device" (TMPDIR full).
    static let noSpace: Int32 = 4
    /// Exit status for "the source changed while it was read" (DIR/error.txt holds the text).
    static let sourceChanged: Int32 = 5

    /// What the child limits itself to, passed as one argument ("cpu=65,as=4294967296,parent=123").
    struct Limits {
        var cpuSeconds: Int
        /// Bytes of address space; 0 for no limit.
        var addressSpace: Int
        /// The parent's process id; 0 when not given (no parent check).
        var parent: Int = 0

        init(cpuSeconds: Int, addressSpace: Int, parent: Int = 0) {
            self.cpuSeconds = cpuSeconds
            self.addressSpace = addressSpace
            self.parent = parent
        }

        init(argument: String) {
            var cpu = 0, address = 0, parent = 0
            for part in argument.split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let v = Int(kv[1]) else { continue }
                switch kv[0] {
                case "cpu": cpu = v
                case "as": address = v
                case "parent": parent = v
                default: break
                }
            }
            self.init(cpuSeconds: cpu, addressSpace: address, parent: parent)
        }

        var argument: String { "cpu=\(cpuSeconds),as=\(addressSpace),parent=\(parent)" }
    }

    static func main(path: String, directory: String, limits: Limits) -> Never {
        // Die with the parent: SIGTERM when it exits (its handler removes this folder), and a
        // check for a parent that died before the request took effect.
        effnet_interrupt_install()
        effnet_interrupt_set_folder(directory)
        if limits.parent > 0, effnet_die_with_parent(SIGTERM, Int32(limits.parent)) != 0 {
            effnet_remove_contained_folder(directory)
            exit(cannotWrite)
        }
        apply(limits)
        // Temporary files the reader makes (a .keras archive's inflated weights, ScratchFile)
        // go into the private folder, which is removed whatever happens to either process.
        setenv("TMPDIR", directory, 1)
        let checkpoint: SourceCheckpoint
        do {
            checkpoint = try SourceReader.read(path: path)
            try MappedFile.checkAllUnchanged()
        } catch {
            if let changed = MappedFile.firstChangedFile() {
                store(FileError.changedWhileReading(path: changed).description, to: directory + "/error.txt")
                exit(sourceChanged)
            }
            store(String(describing: error), to: directory + "/error.txt")
            // A full TMPDIR (the inflated .keras weights go there) may leave no room for
            // error.txt either: the status says it.
            if String(describing: error).contains(FileError.reason(ENOSPC)) { exit(noSpace) }
            exit(readFailed)
        }
        do {
            try ContainedResult.encode(checkpoint, to: directory + "/result.effw")
        } catch {
            store("\(path): the contained reader could not pass its result back: \(error)", to: directory + "/stderr.txt")
            if case FileError.cannotWrite(_, let reason) = error, reason == FileError.reason(ENOSPC) { exit(noSpace) }
            exit(cannotWrite)
        }
        exit(0)
    }

    /// No core file (a crash must leave nothing behind), bounded CPU time and address space.
    static func apply(_ limits: Limits) {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(resourceLimit(RLIMIT_CORE), &none)
        if limits.cpuSeconds > 0 {
            var cpu = rlimit(rlim_cur: rlim_t(limits.cpuSeconds), rlim_max: rlim_t(limits.cpuSeconds + 1))
            _ = setrlimit(resourceLimit(RLIMIT_CPU), &cpu)
        }
        if limits.addressSpace > 0 {
            var address = rlimit(rlim_cur: rlim_t(limits.addressSpace), rlim_max: rlim_t(limits.addressSpace))
            _ = setrlimit(resourceLimit(RLIMIT_AS), &address)
        }
    }

    #if os(Linux)
    private static func resourceLimit(_ r: __rlimit_resource) -> __rlimit_resource_t { __rlimit_resource_t(r.rawValue) }
    #else
    private static func resourceLimit(_ r: Int32) -> Int32 { r }
    #endif

    static func store(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
