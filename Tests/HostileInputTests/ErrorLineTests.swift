import Foundation
import XCTest

/// Every error line names a file (CONTRACT.md; issue 16 found an ONNX `If` error that named
/// none). Sweeps every committed hostile file through effnet-convert and effnet-inspect: a run
/// that fails must fail with exactly one `error:` line whose text names the file.
final class ErrorLineTests: HostileTestCase {
    /// Kinds that are not refused (seeds, helpers) or cost seconds each (libhdf5 hangs; they
    /// have their own test).
    static let skippedKinds: Set<String> = ["seed", "hdf5-helper", "hdf5-hang"]

    func testEveryRefusalOfAHostileFixtureNamesTheFile() throws {
        let files = HostileFixtures.manifest.filter { !Self.skippedKinds.contains(($0.value["kind"] as? String) ?? "") }.keys.sorted()
        XCTAssertGreaterThan(files.count, 50, "manifest.json not found or nearly empty")
        var refused = 0
        for rel in files {
            let source = HostileFixtures.path(rel)
            guard FileManager.default.fileExists(atPath: source) else { continue }
            let dest = scratch.path("out.effw")
            for (tool, arguments) in [("effnet-convert", [source, dest]), ("effnet-inspect", [source])] {
                let r = try HostileRunner.run(tool, arguments)
                XCTAssertNil(r.signal, "\(tool) \(rel): signal \(r.signal ?? 0)")
                XCTAssertFalse(r.timedOut, "\(tool) \(rel): timed out")
                guard r.status != 0 else { continue }
                refused += 1
                XCTAssertTrue(r.firstErrorLine.hasPrefix("error: ") && r.firstErrorLine.contains(source),
                              "\(tool) \(rel): the error line must name the file: \(r.firstErrorLine)")
                XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1,
                               "\(tool) \(rel): one error line: \(r.stderr.prefix(600))")
            }
            try? FileManager.default.removeItem(atPath: dest)
        }
        XCTAssertGreaterThan(refused, 80)
    }
}
