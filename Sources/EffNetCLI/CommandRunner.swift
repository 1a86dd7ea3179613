import ArgumentParser
import CFileSupport
import EffNet
import EffNetInterchange
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a command with the exit statuses of CONTRACT.md: 0 success, 1 verification failed,
/// 2 unusable input or command line. Errors are one `error:` line on stderr naming the file and
/// the problem, then details. swift-argument-parser's own usage errors (64 by default) become 2.
/// A `JSONReportingCommand` given --json also prints its error document on stdout.
public enum CommandRunner {
    public static func main<C: ParsableCommand>(_ type: C.Type) -> Never {
        // A re-executed containment child does its read here and exits (docs/HOSTILE_INPUT.md).
        ContainedRead.bootstrap()
        // SIGINT/SIGTERM/SIGHUP: remove any temporary file and contained child, say so, exit 128+n.
        effnet_interrupt_install()
        var command: ParsableCommand
        do {
            command = try type.parseAsRoot()
        } catch {
            let code = type.exitCode(for: error)
            if code == .success {
                print(type.fullMessage(for: error))
                exit(0)
            }
            let message = type.fullMessage(for: error).replacingOccurrences(of: "Error: ", with: "")
            if let reporting = type as? any JSONReportingCommand.Type, CommandLine.arguments.dropFirst().contains("--json") {
                print(reporting.errorDocument(message))
            }
            writeError(message)
            exit(2)
        }
        do {
            try command.run()
            // A read that faulted (a file shrank while mapped) read zeros: the output is void.
            // (A conversion never gets here then: its commit checks first.)
            if MappedFile.firstChangedFile(faultsOnly: true) != nil { exitChanged() }
            exit(0)
        } catch let e as ExitCode {
            if e.rawValue != 0, MappedFile.firstChangedFile() != nil { exitChanged() }
            exit(e.rawValue)
        } catch {
            if MappedFile.firstChangedFile() != nil { exitChanged() }
            if type.exitCode(for: error) == .success {
                print(type.fullMessage(for: error))
                exit(0)
            }
            let message = error is ValidationError || String(reflecting: Swift.type(of: error)).hasPrefix("ArgumentParser.")
                ? type.fullMessage(for: error).replacingOccurrences(of: "Error: ", with: "")
                : namingAFile(describe(error))
            if let reporting = command as? any JSONReportingCommand, reporting.json {
                print(reporting.errorDocument(message))
            }
            writeError(message)
            exit(2)
        }
    }

    /// Reports the first input that changed while it was read (it explains any other failure:
    /// the bytes read were not the file's) and exits 2.
    static func exitChanged() -> Never {
        if let path = MappedFile.firstChangedFile() { writeError(FileError.changedWhileReading(path: path).description) }
        exit(2)
    }

    /// Prints `error: <first line>` and the remaining lines indented, on stderr. When an input
    /// changed while it was read, that is reported instead (and only once).
    public static func writeError(_ message: String) {
        if let path = MappedFile.firstChangedFile() {
            guard !reportedChange else { return }
            reportedChange = true
            return writeLines(FileError.changedWhileReading(path: path).description)
        }
        writeLines(message)
    }

    nonisolated(unsafe) private static var reportedChange = false

    private static func writeLines(_ message: String) {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { return }
        var out = "error: \(first)\n"
        for l in lines.dropFirst() { out += "\(l)\n" }
        writeStderr(out)
    }

    public static func writeStderr(_ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { return }
            off += n
        }
    }

    /// The files a tool works on, the first being the one an error is most likely about (the
    /// source). Set by each tool's `run()`; `namingAFile` uses them.
    nonisolated(unsafe) public static var files: [String] = []

    /// `message` with `files[0]: ` put in front when its first line names none of `files`:
    /// every error line names a file (CONTRACT.md), also for errors raised deep inside a
    /// library that does not know the path (an ONNX subgraph's operator, for one).
    static func namingAFile(_ message: String) -> String {
        guard let subject = files.first else { return message }
        let first = message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if files.contains(where: { !$0.isEmpty && first.contains($0) }) { return message }
        return "\(subject): \(message)"
    }

    /// A person-readable description of any error the toolkit throws (each names its file).
    public static func describe(_ error: Error) -> String {
        String(describing: error)
    }

    /// Prefixes `path: ` to errors whose own description does not name a file.
    public static func describe(_ error: Error, file path: String) -> String {
        let d = describe(error)
        return d.hasPrefix(path) ? d : "\(path): \(d)"
    }
}
