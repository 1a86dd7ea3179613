import EffNet
import Foundation
import XCTest

/// CONTRACT.md, end to end through the built binaries: spellings, exit statuses, error lines,
/// and that a failure leaves no DEST behind and an existing DEST untouched.
final class ToolContractTests: XCTestCase {
    var dir: URL!
    var modelPath: String!
    var model: EfficientNet!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        model = try CLIFixtures.tinyModel()
        model.provenance = Provenance(sourceFile: "tiny.pth", sourceFormat: "test", family: "test")
        modelPath = path("tiny.effw")
        try model.write(to: URL(fileURLWithPath: modelPath))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func assertError(_ r: ToolResult, status: Int32 = 2, mentions fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), "stderr must start with 'error: ': \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.split(separator: "\n").first.map { $0.contains(fragment) } ?? false,
                      "first error line should mention '\(fragment)': \(r.stderr)", file: file, line: line)
    }

    // MARK: --help and usage

    func testHelpExitsZeroForEveryTool() throws {
        for tool in ["effnet-convert", "effnet-inspect", "effnet-predict", "effnet-finetune"] {
            let r = try ToolRunner.run(tool, ["--help"])
            XCTAssertEqual(r.status, 0, tool)
            XCTAssertTrue(r.stdout.contains("USAGE: \(tool)"), r.stdout)
        }
    }

    func testUsageErrorsExitTwo() throws {
        assertError(try ToolRunner.run("effnet-convert", [modelPath]), mentions: "Missing expected argument")
        assertError(try ToolRunner.run("effnet-convert", [modelPath, path("o.effw"), "--family", "resnet"]), mentions: "unknown --family 'resnet'")
        assertError(try ToolRunner.run("effnet-convert", [modelPath, path("o.effw"), "--check-input", "x.npy"]), mentions: "go together")
        for bad in ["0", "66x", "x66", "12x34x56", "big"] {
            assertError(try ToolRunner.run("effnet-convert", [modelPath, path("o.effw"), "--image-size", bad]), mentions: "--image-size '\(bad)'")
        }
        assertError(try ToolRunner.run("effnet-convert", [modelPath, path("o.effw"), "--image-size", "224"]), mentions: "applies to Keras files")
        assertError(try ToolRunner.run("effnet-predict", [modelPath]), mentions: "give --input")
        assertError(try ToolRunner.run("effnet-inspect", []), mentions: "Missing expected argument")
    }

    // MARK: effnet-convert

    func testConvertRefusesMissingAndUnrecognisedSources() throws {
        assertError(try ToolRunner.run("effnet-convert", [path("nope.pth"), path("o.effw")]), mentions: "nope.pth: cannot open")
        try Data("definitely not a checkpoint".utf8).write(to: URL(fileURLWithPath: path("junk.pth")))
        assertError(try ToolRunner.run("effnet-convert", [path("junk.pth"), path("o.effw")]), mentions: "junk.pth: not a PyTorch, Keras, ONNX")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.effw")))
    }

    func testConvertNeverOverwritesWithoutForceNorTheSource() throws {
        let dest = path("dest.effw")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: dest))
        assertError(try ToolRunner.run("effnet-convert", [modelPath, dest]), mentions: "already exists")
        XCTAssertEqual(try String(contentsOfFile: dest, encoding: .utf8), "precious")
        assertError(try ToolRunner.run("effnet-convert", [modelPath, modelPath, "--force"]), mentions: "DEST is the SOURCE")
        XCTAssertNoThrow(try EfficientNet(contentsOf: URL(fileURLWithPath: modelPath)))
        let r = try ToolRunner.run("effnet-convert", [modelPath, dest, "--force"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try EfficientNet(contentsOf: URL(fileURLWithPath: dest)).parameters, model.parameters)
    }

    func testConvertVerifiesAgainstAReferencePair() throws {
        let x = CLIFixtures.input([2, 3, 48, 40])
        let y = try model(x)
        try NPY.write(x, to: path("x.npy"))
        try NPY.write(y, to: path("y.npy"))
        let ok = try ToolRunner.run("effnet-convert", [modelPath, path("ok.effw"), "--check-input", path("x.npy"), "--check-output", path("y.npy")])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("PASS"), ok.stdout)
        let written = try EffwFile(path: path("ok.effw"))
        XCTAssertEqual(written.provenance()?.verification?.passed, true)
        XCTAssertEqual(written.provenance()?.verification?.method, "reference-pair")

        // A reference that differs by more than the tolerance: exit 1, the report, no DEST.
        var wrong = y
        wrong.scalars[3] += 0.01
        try NPY.write(wrong, to: path("wrong.npy"))
        let bad = try ToolRunner.run("effnet-convert", [modelPath, path("bad.effw"), "--check-input", path("x.npy"), "--check-output", path("wrong.npy")])
        assertError(bad, status: 1, mentions: "verification failed")
        XCTAssertTrue(bad.stdout.contains("FAIL"), bad.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.effw")))
        // ... but within a looser tolerance it passes.
        let loose = try ToolRunner.run("effnet-convert", [modelPath, path("loose.effw"), "--check-input", path("x.npy"), "--check-output", path("wrong.npy"), "--tolerance", "0.02"])
        XCTAssertEqual(loose.status, 0, loose.stderr)
    }

    func testConvertReportsAReferencePairOfTheWrongShape() throws {
        try NPY.write(CLIFixtures.input([2, 3, 48, 40]), to: path("x.npy"))
        try NPY.write(Tensor(zeros: [2, 9]), to: path("y.npy"))
        let r = try ToolRunner.run("effnet-convert", [modelPath, path("o.effw"), "--check-input", path("x.npy"), "--check-output", path("y.npy")])
        assertError(r, mentions: "[2, 9]")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.effw")))
    }

    func testConvertKeepsHalfPrecisionOnRequest() throws {
        let r = try ToolRunner.run("effnet-convert", [modelPath, path("h.effw"), "--dtype", "f16", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(try EffwFile(path: path("h.effw")).entries.allSatisfy { $0.dtype == .f16 })
    }

    // MARK: effnet-inspect

    /// A Keras weights-only file leaves the input size open: inspect says what it assumed.
    func testInspectNamesTheConventionsItHadToAssume() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/keras/k3_legacy_odd.weights.h5").path
        let r = try ToolRunner.run("effnet-inspect", [file])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("decided:     padding: Keras' even-size rule"), r.stdout)
    }

    func testInspectEffwTextAndJSON() throws {
        let text = try ToolRunner.run("effnet-inspect", [modelPath])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("format:      effw 1"), text.stdout)
        XCTAssertTrue(text.stdout.contains("\(model.parameterCount) parameters"), text.stdout)
        XCTAssertTrue(text.stdout.contains("stem.conv.weight  F32 [8, 3, 3, 3]"), text.stdout)
        XCTAssertTrue(text.stdout.contains("provenance:  tiny.pth"), text.stdout)
        let json = try ToolRunner.run("effnet-inspect", [modelPath, "--json"])
        XCTAssertEqual(json.status, 0)
        let obj = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["parameterCount"] as? Int, model.parameterCount)
        XCTAssertEqual((obj?["tensors"] as? [Any])?.count, model.parameterShapes.count)
        XCTAssertEqual(((obj?["config"] as? [String: Any])?["numClasses"] as? Int), 5)
    }

    // MARK: effnet-predict

    func testPredictWritesTheModelsOutput() throws {
        let x = CLIFixtures.input([3, 3, 33, 37])
        try NPY.write(x, to: path("x.npy"))
        let r = try ToolRunner.run("effnet-predict", [modelPath, "--input", path("x.npy"), "--output", path("y.npy")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let y = try NPY.read(path: path("y.npy"))
        XCTAssertEqual(y.dtype, .f32)
        XCTAssertEqual(y.shape, [3, 5])
        XCTAssertEqual(y.tensor, try model(x))
    }

    func testPredictRefusesUnusableInputs() throws {
        try NPY.write(Tensor(zeros: [1, 4, 40, 40]), to: path("x4.npy"))
        let r = try ToolRunner.run("effnet-predict", [modelPath, "--input", path("x4.npy"), "--output", path("y.npy")])
        assertError(r, mentions: "x4.npy")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.npy")))
        try NPY.write(Tensor(zeros: [1, 3, 8, 8]), to: path("small.npy"))
        assertError(try ToolRunner.run("effnet-predict", [modelPath, "--input", path("small.npy"), "--output", path("y.npy")]), mentions: "between 32")
    }

    func testDamagedModelsGiveOneErrorLineNamingTheFile() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: modelPath)))
        var flipped = bytes
        flipped[bytes.count - 100] ^= 0x01
        try Data(flipped).write(to: URL(fileURLWithPath: path("flipped.effw")))
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: path("half.effw")))
        try NPY.write(CLIFixtures.input([1, 3, 40, 40]), to: path("x.npy"))
        for name in ["flipped.effw", "half.effw"] {
            for args in [[path(name)], [path(name), "--input", path("x.npy"), "--output", path("y.npy")]] {
                let tool = args.count == 1 ? "effnet-inspect" : "effnet-predict"
                let r = try ToolRunner.run(tool, args)
                assertError(r, mentions: path(name))
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            }
            assertError(try ToolRunner.run("effnet-convert", [path(name), path("o.effw")]), mentions: path(name))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.npy")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.effw")))
    }
    /// Images run in batches give what they give one at a time; a bad image among them is one
    /// error naming it, with nothing on stdout (no partial output).
    func testPredictBatchesImagesAndRefusesABadOneWholly() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/images")
        let images = ["photo_320x240.jpg", "alpha_71x53.png", "gray_100x75.jpg", "cmyk_64x48.jpg", "progressive_150x200.jpg"]
            .map { fixtures.appendingPathComponent($0).path }
        let one = try ToolRunner.run("effnet-predict", [modelPath] + images + ["--batch", "1", "--threads", "1", "--json", "--top", "3"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let batched = try ToolRunner.run("effnet-predict", [modelPath] + images + ["--batch", "3", "--threads", "1", "--json", "--top", "3"])
        XCTAssertEqual(batched.status, 0, batched.stderr)
        XCTAssertEqual(one.stdout, batched.stdout)
        XCTAssertEqual(one.stdout.components(separatedBy: "\"input\"").count - 1, images.count)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 1, 2, 3]).write(to: URL(fileURLWithPath: path("bad.jpg")))
        for args in [["--batch", "2"], ["--batch", "2", "--json"]] {
            let r = try ToolRunner.run("effnet-predict", [modelPath, images[0], images[1], path("bad.jpg"), images[2]] + args)
            assertError(r, mentions: "bad.jpg")
            if !args.contains("--json") { XCTAssertEqual(r.stdout, "") }
            XCTAssertFalse(r.stdout.contains("photo_320x240"), r.stdout)
        }
        assertError(try ToolRunner.run("effnet-predict", [modelPath, images[0], "--batch", "0"]), mentions: "--batch")
    }
}
