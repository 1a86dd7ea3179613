import ArgumentParser

/// A tool with --json, whose errors are JSON documents too (CommandRunner prints them on stdout,
/// besides the `error:` line on stderr).
public protocol JSONReportingCommand: ParsableCommand {
    /// Whether --json was given.
    var json: Bool { get }
    /// The tool's document for a failure before or instead of its result.
    func errorDocument(_ message: String) -> String
    /// The same when the command line itself could not be parsed.
    static func errorDocument(_ message: String) -> String
}

