import CFileSupport
import EffNet
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parent side of `ContainedRead.run`: spawn, wait with a deadline, decode.
struct ContainedParent {
    let path: String
    let library: String
    let timeout: Double

    init(path: String, library: String, timeout: Double?) {
        self.path = path
        self.library = library
        var size = 0
        var st = stat()
        if stat(path, &st) == 0 { size = Int(st.st_size) }
        self.timeout = timeout ?? Self.defaultTimeout(fileSize: size)
    }

    func run() throws -> SourceCheckpoint {
        let directory = try Self.makePrivateDirectory()
        // Whichever side survives removes the folder: this one here or in its signal handler
        // (which also kills the child), the child when this process dies (ContainedChild.main).
        effnet_interrupt_set_folder(directory)
        defer {
            Self.removeTree(directory)
            effnet_interrupt_set_folder(nil)
        }
        let pid = try spawn(directory: directory)
        effnet_interrupt_set_child(pid)
        let outcome = wait(pid)
        effnet_interrupt_set_child(0)
        let errorText = Self.readSmallFile(directory + "/error.txt")
        switch outcome {
        case .exited(0):
            return try ContainedResult.decode(resultPath: directory + "/result.effw", sourcePath: path, library: library)
        case .exited(ContainedChild.readFailed) where errorText != nil:
            throw ContainedReadError.failed(message: errorText ?? "")
        case .exited(ContainedChild.sourceChanged):
            throw FileError.changedWhileReading(path: path)
        case .exited(ContainedChild.noSpace):
            throw ContainedReadError.noSpace(path: path, library: library, folder: (directory as NSString).deletingLastPathComponent)
        case let .exited(status):
            throw ContainedReadError.noResult(path: path, library: library, status: Int(status),
                                              detail: Self.readSmallFile(directory + "/stderr.txt") ?? "")
        case .signalled(SIGXCPU), .timedOut:
            throw ContainedReadError.timedOut(path: path, library: library, seconds: timeout)
        case let .signalled(signal):
            throw ContainedReadError.crashed(path: path, library: library, signal: signal)
        }
    }

    enum Outcome { case exited(Int32), signalled(Int32), timedOut }

    /// `<this executable> --effnet-contained-read PATH DIR LIMITS`, stdout to /dev/null, stderr
    /// to DIR/stderr.txt.
    func spawn(directory: String) throws -> pid_t {
        let executable = Self.executablePath()
        let limits = ContainedChild.Limits(cpuSeconds: Int(timeout.rounded(.up)) + 5,
                                           addressSpace: Self.addressSpaceLimit(fileAt: path), parent: Int(getpid()))
        let arguments = [executable, ContainedRead.childFlag, path, directory, limits.argument]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in cArguments { free(p) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, &cArguments, environ)
        guard status == 0 else {
            throw ContainedReadError.spawnFailed(path: path, library: library, reason: String(cString: strerror(status)))
        }
        return pid
    }

    /// Waits for the child, killing it at the deadline. Polls, because a portable timed wait for
    /// one child does not exist; 1-20 ms steps cost nothing next to reading a weights file.
    func wait(_ pid: pid_t) -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        var sleepMicroseconds: UInt32 = 1000
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let low = status & 0x7f
                if low == 0 { return .exited((status >> 8) & 0xff) }
                return .signalled(low)
            }
            if r < 0, errno != EINTR { return .exited(-1) }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut
            }
            usleep(sleepMicroseconds)
            sleepMicroseconds = min(sleepMicroseconds * 2, 20_000)
        }
    }

    /// 8 s plus 1 s per 8 MB of file. Reading a weights file takes well under a second per
    /// 100 MB here, so this leaves a wide margin for slow disks and loaded machines, while a file
    /// that sends libhdf5 into an endless loop (the fuzzers found such) is refused in seconds.
    /// EFFNET_CONTAINMENT_TIMEOUT (seconds) overrides it.
    static func defaultTimeout(fileSize: Int) -> Double {
        if let s = ProcessInfo.processInfo.environment["EFFNET_CONTAINMENT_TIMEOUT"], let t = Double(s), t > 0 { return t }
        return 8 + Double(fileSize) / Double(8 << 20)
    }

    /// Address space for the child: 4 GiB plus 8 times the file (weights are read into memory
    /// once, possibly widened, then written out). EFFNET_CONTAINMENT_MEMORY_MB overrides it; 0
    /// means no limit (needed under AddressSanitizer, which reserves terabytes of shadow).
    static func addressSpaceLimit(fileAt path: String) -> Int {
        if let s = ProcessInfo.processInfo.environment["EFFNET_CONTAINMENT_MEMORY_MB"], let mb = Int(s) {
            return mb <= 0 ? 0 : mb << 20
        }
        var st = stat()
        let size = stat(path, &st) == 0 ? Int(st.st_size) : 0
        return (4 << 30) + min(size, 1 << 36) * 8
    }

    static func executablePath() -> String {
        #if os(Linux)
        return "/proc/self/exe"
        #else
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
        #endif
    }

    static func makePrivateDirectory() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/effnet-contained-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw FileError.cannotWrite(path: base, reason: "cannot create a private temporary folder: \(FileError.reason(errno))")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes the private folder and what the child left in it (one level: it creates no folders).
    static func removeTree(_ directory: String) {
        if let names = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for n in names { unlink(directory + "/" + n) }
        }
        rmdir(directory)
    }

    /// The file's text, at most 64 KiB of it, or nil when absent or empty.
    static func readSmallFile(_ path: String) -> String? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        let data = (try? h.read(upToCount: 64 << 10)) ?? Data()
        let s = String(decoding: data, as: UTF8.self)
        return s.isEmpty ? nil : s
    }
}
