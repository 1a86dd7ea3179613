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

    /// What the child limits itself to, passed as one argument ("cpu=65,as=4294967296").
    struct Limits {
        var cpuSeconds: Int
        /// Bytes of address space; 0 for no limit.
        var addressSpace: Int

        init(cpuSeconds: Int, addressSpace: Int) {
            self.cpuSeconds = cpuSeconds
            self.addressSpace = addressSpace
        }

        init(argument: String) {
            var cpu = 0, address = 0
            for part in argument.split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let v = Int(kv[1]) else { continue }
                if kv[0] == "cpu" { cpu = v } else if kv[0] == "as" { address = v }
            }
            self.init(cpuSeconds: cpu, addressSpace: address)
        }

        var argument: String { "cpu=\(cpuSeconds),as=\(addressSpace)" }
    }

    static func main(path: String, directory: String, limits: Limits) -> Never {
        apply(limits)
        let checkpoint: SourceCheckpoint
        do {
            checkpoint = try SourceReader.read(path: path)
        } catch {
            store(String(describing: error), to: directory + "/error.txt")
            exit(readFailed)
        }
        do {
            try ContainedResult.encode(checkpoint, to: directory + "/result.effw")
        } catch {
            store("\(path): the contained reader could not pass its result back: \(error)", to: directory + "/stderr.txt")
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
