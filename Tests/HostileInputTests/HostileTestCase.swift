import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The contract every hostile file must meet through the command-line tools (CONTRACT.md):
/// exit 2, a first stderr line `error: ` naming the file and the place, exactly one `error:`
/// line, a few seconds, bounded memory, no DEST afterwards, an existing DEST untouched (even
/// with --force), SOURCE unchanged, no temporary files left beside DEST.
class HostileTestCase: XCTestCase {
    enum Tool: String { case convert = "effnet-convert", inspect = "effnet-inspect" }

    /// Wall-clock bound for one run. Generous: several builds share this machine's two cores.
    static let maxSeconds = 15.0
    /// Memory bound for one run (tool plus any contained child).
    static let maxRSS = 512 << 20

    var scratch: Scratch!

    override func setUpWithError() throws { scratch = try Scratch() }
    override func tearDownWithError() throws { scratch = nil }

    /// Checks one run's status, error line, time and memory.
    func assertUnusable(_ r: HostileRun, source: String, mentions fragments: [String], what: String,
                        maxRSS: Int = HostileTestCase.maxRSS, file: StaticString = #filePath, line: UInt = #line) {
        // One failure per broken run: the rest would only repeat it.
        guard r.signal == nil, !r.timedOut, r.status == 2 else {
            let how = r.timedOut ? "did not finish in \(Int(r.seconds)) s" : r.signal.map { "died from signal \($0)" } ?? "exit status \(r.status)"
            return XCTFail("\(what): \(how), expected exit 2; stderr: \(r.stderr.prefix(800))", file: file, line: line)
        }
        let first = r.firstErrorLine
        XCTAssertTrue(first.hasPrefix("error: "), "\(what): first stderr line must start with 'error: ': \(r.stderr.prefix(800))", file: file, line: line)
        XCTAssertTrue(first.contains(source), "\(what): first error line must name \(source): \(first)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(first.contains(f), "\(what): first error line should mention '\(f)': \(first)", file: file, line: line)
        }
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errorLines.count, 1, "\(what): exactly one error: line expected: \(r.stderr.prefix(800))", file: file, line: line)
        XCTAssertLessThan(r.seconds, Self.maxSeconds, "\(what): took \(r.seconds) s", file: file, line: line)
        XCTAssertLessThan(r.maxRSS, maxRSS, "\(what): peak RSS \(r.maxRSS >> 20) MiB", file: file, line: line)
    }

    /// Runs effnet-convert (to an absent DEST, then with --force onto an existing DEST) and
    /// effnet-inspect on `source`, and checks the whole contract for each.
    /// - Returns: the first run (convert to an absent DEST), for further checks.
    @discardableResult
    func assertRefused(_ source: String, mentions fragments: [String] = [], tools: [Tool] = [.convert, .inspect],
                       extraArguments: [String] = [], maxRSS: Int = HostileTestCase.maxRSS,
                       file: StaticString = #filePath, line: UInt = #line) throws -> HostileRun? {
        let before = try FileSnapshot(source)
        let name = (source as NSString).lastPathComponent
        var first: HostileRun?
        if tools.contains(.convert) {
            let dest = scratch.path("out-\(name).effw")
            let r = try HostileRunner.run(Tool.convert.rawValue, [source, dest] + extraArguments)
            assertUnusable(r, source: source, mentions: fragments, what: "effnet-convert \(name)", maxRSS: maxRSS, file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "effnet-convert \(name) left DEST behind", file: file, line: line)
            first = r

            let existing = scratch.path("existing-\(name).effw")
            try Data("precious bytes that must survive".utf8).write(to: URL(fileURLWithPath: existing))
            let old = Date(timeIntervalSince1970: 1_000_000_000)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: existing)
            let kept = try FileSnapshot(existing)
            let f = try HostileRunner.run(Tool.convert.rawValue, [source, existing, "--force"] + extraArguments)
            assertUnusable(f, source: source, mentions: fragments, what: "effnet-convert --force \(name)", maxRSS: maxRSS, file: file, line: line)
            XCTAssertEqual(try FileSnapshot(existing), kept, "effnet-convert --force \(name) touched the existing DEST", file: file, line: line)
            let leftovers = scratch.contents().filter { $0.hasPrefix(".") }
            XCTAssertEqual(leftovers, [], "temporary files left beside DEST", file: file, line: line)
        }
        if tools.contains(.inspect) {
            let r = try HostileRunner.run(Tool.inspect.rawValue, [source])
            assertUnusable(r, source: source, mentions: fragments, what: "effnet-inspect \(name)", maxRSS: maxRSS, file: file, line: line)
            if first == nil { first = r }
        }
        XCTAssertEqual(try FileSnapshot(source), before, "\(name): SOURCE was modified", file: file, line: line)
        return first
    }
}
