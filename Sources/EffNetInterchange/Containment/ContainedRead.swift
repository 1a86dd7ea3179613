import EffNet
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a reader that calls into a crash-prone C library (libhdf5) in a child process, so a
/// malformed file that makes the library crash, hang or allocate without bound costs the child,
/// never the caller: the caller gets a `ContainedReadError` naming the file (exit 2 in the CLIs).
///
/// How it works (docs/HOSTILE_INPUT.md):
/// - An executable opts in by calling `bootstrap()` first thing in `main`. Without it (a library
///   user's app) `run` reads in-process: the child is the executable itself, re-executed with a
///   hidden first argument, and only an executable that calls `bootstrap()` understands it.
/// - `run(path:library:_:)` spawns `<this executable> --effnet-contained-read PATH DIR`. The child
///   sets its own limits (no core file, address space, CPU time), calls `SourceReader.read(path:)`
///   (where `run` now executes its body directly) and writes the resulting checkpoint to
///   DIR/result.effw (names, notes and skipped entries in its metadata, every tensor
///   little-endian and contiguous, each with a CRC-32), or the error's text to DIR/error.txt.
/// - The parent waits (bounded by `timeout`), then reads the result with the .effw reader, which
///   validates everything the child wrote before any tensor is handed out. A signal, a timeout,
///   or an exit without a result becomes a `ContainedReadError`.
///
/// Readers whose checkpoint carries closures (`selfMapping`, `reference`) cannot be contained;
/// nothing that calls libhdf5 sets them.
public enum ContainedRead {
    /// The hidden first argument that makes an executable a containment child.
    public static let childFlag = "--effnet-contained-read"

    nonisolated(unsafe) static var isChild = false
    nonisolated(unsafe) static var canSpawn = false

    /// Call first thing in an executable's `main`. When the process is a containment child it
    /// performs the read and exits (never returns); otherwise it records that this executable can
    /// serve as a child, enabling containment for the rest of the process.
    /// Setting EFFNET_CONTAINMENT=off in the environment disables containment (debugging).
    public static func bootstrap(arguments: [String] = CommandLine.arguments) {
        if arguments.count >= 4, arguments[1] == childFlag {
            isChild = true
            ContainedChild.main(path: arguments[2], directory: arguments[3],
                                limits: ContainedChild.Limits(argument: arguments.count > 4 ? arguments[4] : ""))
        }
        canSpawn = ProcessInfo.processInfo.environment["EFFNET_CONTAINMENT"] != "off"
    }

    /// True when `run` will use a child process.
    public static var isEnabled: Bool { canSpawn && !isChild }

    /// Reads `path` with `body` in a child process when containment is enabled, else in-process.
    ///
    /// The child re-reads the file through `SourceReader.read(path:)`, so `body` must be what
    /// that dispatch reaches for this file (a format reader's glue wraps its own body in `run`).
    /// - Parameters:
    ///   - library: what the body relies on, for messages ("libhdf5").
    ///   - timeout: seconds before the child is killed; nil for 8 s + 1 s per 8 MB of file
    ///     (EFFNET_CONTAINMENT_TIMEOUT overrides the default).
    /// - Throws: what `body` throws (in-process), the child's error text as
    ///   `ContainedReadError.failed`, or `.crashed` / `.timedOut` / `.noResult` / `.spawnFailed`.
    public static func run(path: String, library: String, timeout: Double? = nil,
                           _ body: () throws -> SourceCheckpoint) throws -> SourceCheckpoint {
        guard isEnabled else { return try body() }
        return try ContainedParent(path: path, library: library, timeout: timeout).run()
    }
}
