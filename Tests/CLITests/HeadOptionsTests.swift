import EffNet
import Foundation
import XCTest

/// effnet-convert's --head and --names, end to end on Fixtures/heads (docs/CLI.md).
final class HeadOptionsTests: XCTestCase {
    static let heads = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/heads")

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-head-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func fixture(_ name: String) -> String { Self.heads.appendingPathComponent(name).path }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func assertError(_ r: ToolResult, mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("error: "), r.stderr, file: file, line: line)
        for f in fragments { XCTAssertTrue(first.contains(f), "'\(f)' not in: \(first)", file: file, line: line) }
    }

    func testAmbiguousHeadAsksForHeadOrPair() throws {
        let r = try ToolRunner.run("effnet-convert", [fixture("tv_mlp/weights.pth"), path("o.effw")])
        assertError(r, mentions: ["tv_mlp/weights.pth", "activations are unknown", "pass --head CHAIN", "--check-input"])
        XCTAssertTrue(r.stderr.contains("\n  weights: classifier: 1 linear(32), 4 linear(10); 2, 3 without weights\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\n  plausible chains: dropout,linear,relu,dropout,linear | dropout,linear,silu,dropout,linear"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.effw")))
    }

    func testHeadOptionConvertsAndPredictMatches() throws {
        let r = try ToolRunner.run("effnet-convert", [fixture("tv_mlp/weights.pth"), path("o.effw"), "--head", "dropout,linear,relu,dropout,linear",
                                                      "--check-input", fixture("tv_mlp/input.npy"), "--check-output", fixture("tv_mlp/expected.npy")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("classifier dropout,linear(32),relu,dropout,linear(10)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("PASS"), r.stdout)
        let p = try ToolRunner.run("effnet-predict", [path("o.effw"), "--input", fixture("tv_mlp/input.npy"), "--output", path("y.npy")])
        XCTAssertEqual(p.status, 0, p.stderr)
        let y = try NPY.readTensor(path: path("y.npy")), expected = try NPY.readTensor(path: fixture("tv_mlp/expected.npy"))
        XCTAssertEqual(y.shape, expected.shape)
        // The fast float32 path: within 1e-4 of PyTorch.
        XCTAssertLessThanOrEqual(zip(y.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 1, 1e-4)
    }

    func testBadHeadOptions() throws {
        assertError(try ToolRunner.run("effnet-convert", [fixture("tv_mlp/weights.pth"), path("o.effw"), "--head", "linear,tanh"]),
                    mentions: ["--head: layer 1 'tanh' is not one of"])
        assertError(try ToolRunner.run("effnet-convert", [fixture("tv_mlp/weights.pth"), path("o.effw"), "--head", "linear,relu,linear"]),
                    mentions: ["--head linear,relu,linear does not fit the weights"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.effw")))
    }

    func testNamesMap() throws {
        let weights = fixture("renamed/weights.pth")
        assertError(try ToolRunner.run("effnet-convert", [weights, path("o.effw")]),
                    mentions: ["renamed/weights.pth", "no family recognises names such as net.stem.0.weight", "--names MAP.json"])
        let r = try ToolRunner.run("effnet-convert", [weights, path("o.effw"), "--names", fixture("renamed/names.json"),
                                                      "--check-input", fixture("renamed/input.npy"), "--check-output", fixture("renamed/expected.npy")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("net.stem.0.weight -> stem.conv.weight"), r.stdout)
        XCTAssertTrue(r.stdout.contains("note:        --names names.json: renamed"), r.stdout)
        XCTAssertTrue(r.stdout.contains("classifier chain decided by the reference: dropout,linear,relu,dropout,linear"), r.stdout)
        assertError(try ToolRunner.run("effnet-convert", [weights, path("p.effw"), "--names", path("missing.json")]), mentions: ["missing.json"])
        try Data("{\"names\": 7}".utf8).write(to: URL(fileURLWithPath: path("bad.json")))
        assertError(try ToolRunner.run("effnet-convert", [weights, path("p.effw"), "--names", path("bad.json")]),
                    mentions: ["bad.json: not a usable names map", "\"names\" must be an object of strings"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p.effw")))
    }
}
