import EffNet
import Foundation
import XCTest

/// libhdf5 is dlopened on the first HDF5 read, not linked (Sources/CHDF5/include/CHDF5.h): a
/// PyTorch, ONNX or .effw file never loads it, a Keras file does, and a libhdf5 that cannot be
/// loaded is one `error:` line naming the file, exit 2, and no output.
final class HDF5LazyLoadTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-hdf5lazy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func fixture(_ path: String) -> String { fixtures.appendingPathComponent(path).path }

    func run(_ tool: String, _ arguments: [String], environment extra: [String: String]) throws -> ToolResult {
        try ToolRunner.run(tool, arguments, environment: extra)
    }

    #if os(Linux)
    /// Runs effnet-inspect on `file` with glibc's loader logging every library it loads, into one
    /// file per process (LD_DEBUG_OUTPUT), so a containment child's loads are seen too (its
    /// stderr goes elsewhere). Returns the log lines that mention libhdf5.
    func hdf5Loads(inspecting file: String) throws -> [String] {
        let logs = dir.appendingPathComponent("ld-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let r = try run("effnet-inspect", [file], environment: ["LD_DEBUG": "libs", "LD_DEBUG_OUTPUT": logs.appendingPathComponent("log").path])
        XCTAssertEqual(r.status, 0, "effnet-inspect \(file): \(r.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: logs.path)
        XCTAssertFalse(names.isEmpty, "LD_DEBUG_OUTPUT wrote nothing: the check would prove nothing")
        return try names.flatMap { name in
            try String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n").filter { $0.contains("libhdf5") }.map(String.init)
        }
    }

    func testPyTorchAndONNXNeverLoadLibhdf5() throws {
        for file in ["torch/timm/weights.pth", "torch/seed/weights.pth", "onnx/timm_ts17/model.onnx"] {
            let lines = try hdf5Loads(inspecting: Self.fixture(file))
            XCTAssertEqual(lines, [], "\(file) loaded libhdf5")
        }
    }

    func testKerasLoadsLibhdf5() throws {
        let lines = try hdf5Loads(inspecting: Self.fixture("keras/tfk_plain_weights.h5"))
        XCTAssertFalse(lines.isEmpty, "reading a Keras .h5 should load libhdf5 (is the check blind?)")
    }
    #endif

    func testUnloadableLibhdf5IsOneErrorLineNamingTheFile() throws {
        let source = Self.fixture("keras/tfk_plain_weights.h5")
        let dest = dir.appendingPathComponent("out.effw").path
        let bogus = "/nonexistent/libhdf5_hl.so"
        for containment in ["on", "off"] {
            let r = try run("effnet-convert", [source, dest], environment: ["EFFNET_LIBHDF5_HL": bogus, "EFFNET_CONTAINMENT": containment])
            XCTAssertEqual(r.status, 2, "containment \(containment): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "one error line expected: \(r.stderr)")
            let line = String(lines.first ?? "")
            XCTAssertTrue(line.hasPrefix("error: \(source): cannot load libhdf5"), line)
            XCTAssertTrue(line.contains(bogus), "should say what it tried: \(line)")
            XCTAssertTrue(line.contains("EFFNET_LIBHDF5_HL"), line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "containment \(containment): wrote \(dest)")
        }
        // The override is only consulted for HDF5 files: everything else still works without it.
        let torch = try run("effnet-inspect", [Self.fixture("torch/seed/weights.pth")], environment: ["EFFNET_LIBHDF5_HL": bogus])
        XCTAssertEqual(torch.status, 0, torch.stderr)
    }

    /// The lazily loaded library still converts a Keras file end to end, verified against the
    /// outputs Keras itself computed.
    func testKerasConversionStillVerifiesAgainstKeras() throws {
        let dest = dir.appendingPathComponent("imagenet_style.effw").path
        let r = try run("effnet-convert", [Self.fixture("keras/tfk_imagenet_style.h5"), dest,
                                            "--check-input", Self.fixture("keras/tfk_imagenet_style_input.npy"),
                                            "--check-output", Self.fixture("keras/tfk_imagenet_style_output.npy")], environment: [:])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNoThrow(try EfficientNet(contentsOf: URL(fileURLWithPath: dest)))
    }
}
