import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Files that are not regular files, wherever a tool opens one (issue 16): a FIFO used to block
/// forever in open(2); now every open is O_NONBLOCK and fstat-checked, and the tool says which
/// kind of file it met. Each run is a real process with the usual time limit: a hang fails.
final class FileKindTests: HostileTestCase {
    func fifo(_ name: String) throws -> String {
        let p = scratch.path(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard mkfifo(p, 0o600) == 0 else { throw XCTSkip("mkfifo failed: \(String(cString: strerror(errno)))") }
        return p
    }

    /// Runs `tool` and checks the contract for a refusal naming `named` (no DEST may appear).
    func assertRefusal(_ tool: String, _ arguments: [String], names named: String, mentions: [String], dest: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try HostileRunner.run(tool, arguments, limit: 20)
        assertUnusable(r, source: named, mentions: mentions, what: "\(tool) \(arguments.joined(separator: " "))", file: file, line: line)
        if let dest { XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "DEST appeared", file: file, line: line) }
        XCTAssertEqual(scratch.contents().filter { $0.hasPrefix(".") }, [], "temporary files left", file: file, line: line)
    }

    func testFIFOAsSourceIsRefused() throws {
        let source = try fifo("weights.pt")
        let dest = scratch.path("out.effw")
        try assertRefusal("effnet-convert", [source, dest], names: source, mentions: ["FIFO"], dest: dest)
        try assertRefusal("effnet-inspect", [source], names: source, mentions: ["FIFO"])
    }

    func testDeviceAndFolderAsSourceAreRefused() throws {
        let dest = scratch.path("out.effw")
        try assertRefusal("effnet-convert", ["/dev/zero", dest], names: "/dev/zero", mentions: ["character device"], dest: dest)
        try assertRefusal("effnet-inspect", ["/dev/null"], names: "/dev/null", mentions: ["character device"])
        try assertRefusal("effnet-inspect", [scratch.url.path], names: scratch.url.path, mentions: ["directory"])
    }

    func testFIFOAsONNXExternalDataIsRefused() throws {
        let model = try scratch.copy(HostileFixtures.fixture("onnx/torchvision_dynamo18/model.onnx"), as: "m/model.onnx")
        let data = try fifo("m/model.onnx.data")
        let dest = scratch.path("out.effw")
        try assertRefusal("effnet-convert", [model, dest], names: model, mentions: ["FIFO", "model.onnx.data"], dest: dest)
        _ = data
    }

    func testFIFOAsReferencePairIsRefused() throws {
        let source = HostileFixtures.fixture("core/tv_b0_w050_d050.effw")
        let input = try fifo("x.npy")
        let output = HostileFixtures.fixture("core/tv_b0_w050_d050.output_2x3x64x64.npy")
        let dest = scratch.path("out.effw")
        try assertRefusal("effnet-convert", [source, dest, "--check-input", input, "--check-output", output],
                          names: input, mentions: ["FIFO"], dest: dest)
        let output2 = try fifo("y.npy")
        try assertRefusal("effnet-convert", [source, dest, "--check-input", HostileFixtures.fixture("core/input_2x3x64x64.npy"),
                                             "--check-output", output2], names: output2, mentions: ["FIFO"], dest: dest)
    }

    func testFIFOAsImageOrInputIsRefused() throws {
        let model = HostileFixtures.fixture("core/tv_b0_w050_d050.effw")
        let image = try fifo("cat.jpg")
        try assertRefusal("effnet-predict", [model, image], names: image, mentions: ["FIFO"])
        let input = try fifo("batch.npy")
        try assertRefusal("effnet-predict", [model, "--input", input, "--output", scratch.path("y.npy")], names: input, mentions: ["FIFO"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("y.npy")))
    }
}
