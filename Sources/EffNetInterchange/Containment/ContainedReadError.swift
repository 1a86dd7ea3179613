/// Why a contained read gave no checkpoint. Each case names the source file first, like every
/// reader error, so the CLI's `error:` line names it.
public enum ContainedReadError: Error, Equatable, CustomStringConvertible {
    /// The reader in the child threw; `message` is its description (it names the file).
    case failed(message: String)
    /// The child died from a signal: the library crashed on this file.
    case crashed(path: String, library: String, signal: Int32)
    /// The child did not finish in time and was killed.
    case timedOut(path: String, library: String, seconds: Double)
    /// The child exited without a result (out of memory, for one).
    case noResult(path: String, library: String, status: Int, detail: String)
    /// The child could not write its result: the temporary folder's filesystem is full.
    case noSpace(path: String, library: String, folder: String)
    /// The child's result file was unusable.
    case badResult(path: String, library: String, detail: String)
    /// The child could not be started.
    case spawnFailed(path: String, library: String, reason: String)
    /// The checkpoint carries closures, which cannot cross a process boundary.
    case notContainable(path: String)

    public var description: String {
        switch self {
        case let .failed(message):
            return message
        case let .crashed(path, library, signal):
            return "\(path): \(library) crashed reading this file (\(Self.signalName(signal))); the file is damaged or hostile"
        case let .timedOut(path, library, seconds):
            return "\(path): \(library) did not finish reading this file within \(Int(seconds)) s; the file is damaged or hostile"
        case let .noResult(path, library, status, detail):
            let tail = detail.split(separator: "\n").suffix(3).joined(separator: "\n")
            if status == Int(ContainedChild.cannotWrite) {
                return "\(path): the contained \(library) reader could not pass its result back (exit status \(status))" + (tail.isEmpty ? "" : "\n" + tail)
            }
            return "\(path): \(library) failed reading this file (reader exited with status \(status), probably out of memory)" + (tail.isEmpty ? "" : "\n" + tail)
        case let .noSpace(path, library, folder):
            return "\(path): the contained \(library) reader ran out of room for its temporary files: no space left on device in \(folder) (set TMPDIR to a folder with room)"
        case let .badResult(path, library, detail):
            return "\(path): the contained \(library) reader returned an unusable result: \(detail)"
        case let .spawnFailed(path, library, reason):
            return "\(path): cannot start the contained \(library) reader: \(reason)"
        case let .notContainable(path):
            return "\(path): this reader's result cannot be passed between processes"
        }
    }

    static func signalName(_ s: Int32) -> String {
        let names: [Int32: String] = [4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
                                      11: "SIGSEGV", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS"]
        return "signal \(s)" + (names[s].map { ", \($0)" } ?? "")
    }
}
