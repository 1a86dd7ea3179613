import EffNet
import Foundation
import XCTest

/// effnet-convert, effnet-predict and effnet-diff --json: every document (results and errors)
/// is checked against its schema in Schemas/ (docs/JSON.md), then its values against the run.
final class JSONOutputTests: XCTestCase {
    var dir: URL!

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func fixture(_ path: String) -> String { root.appendingPathComponent("Fixtures").appendingPathComponent(path).path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Parses stdout and checks it against Schemas/<name>.schema.json; fails with every violation.
    func document(_ r: ToolResult, schema name: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let schemaText = try String(contentsOf: Self.root.appendingPathComponent("Schemas/\(name).schema.json"), encoding: .utf8)
        let doc: JSONValue
        do { doc = try JSONValue.parse(r.stdout) } catch {
            XCTFail("stdout is not one JSON document (\(error)): \(r.stdout)\nstderr: \(r.stderr)", file: file, line: line)
            throw error
        }
        let problems = try JSONSchemaChecker(schemaText: schemaText).violations(of: doc)
        XCTAssertEqual(problems, [], "\(name) document does not match its schema:\n\(r.stdout)", file: file, line: line)
        return doc
    }

    // MARK: the checker itself

    func testCheckerRejectsWhatTheSchemaForbids() throws {
        let schema = try JSONSchemaChecker(schemaText: """
            {"type": "object", "additionalProperties": false, "required": ["a", "b"],
             "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"enum": ["x", "y"]}, "c": {"type": ["string", "null"]}}}
            """)
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": 2, "b": "x", "c": null}"#)), [])
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": 2.5, "b": "x"}"#)).count, 1)      // not an integer
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": 0, "b": "x"}"#)).count, 1)        // below minimum
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": 1}"#)).count, 1)                  // b missing
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": 1, "b": "z"}"#)).count, 1)        // not in enum
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": 1, "b": "x", "d": 1}"#)).count, 1) // extra key
        XCTAssertEqual(schema.violations(of: try JSONValue.parse(#"{"a": true, "b": "x"}"#)).count, 1)     // bool is no integer
        XCTAssertThrowsError(try JSONValue.parse(#"{"a": 1, "a": 2}"#))
        XCTAssertThrowsError(try JSONValue.parse("{} {}"))
        let unknown = try JSONSchemaChecker(schemaText: #"{"type": "object", "pattern": "x"}"#)
        XCTAssertEqual(unknown.violations(of: .object([])).count, 1)
    }

    // MARK: effnet-convert

    func testConvertJSONReportsTheWholeConversion() throws {
        let out = path("seed.effw")
        let r = try ToolRunner.run("effnet-convert", [Self.fixture("torch/seed/weights.pth"), out, "--json",
                                                      "--check-input", Self.fixture("torch/input_64.npy"),
                                                      "--check-output", Self.fixture("torch/seed/expected_64.npy")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try document(r, schema: "convert")
        XCTAssertEqual(doc["format"]?.stringValue, "pytorch-zip")
        XCTAssertEqual(doc["family"]?.stringValue, "seed")
        XCTAssertEqual(doc["written"]?.stringValue, out)
        XCTAssertEqual(doc["exitStatus"], .number(0, isInteger: true))
        XCTAssertEqual(doc["verification"]?["status"]?.stringValue, "passed")
        XCTAssertEqual(doc["verification"]?["checks"]?.arrayValue?.first?["method"]?.stringValue, "reference-pair")
        XCTAssertEqual(doc["model"]?["numClasses"], .number(10, isInteger: true))
        // Every one of the state_dict's 360 tensors has its fate.
        let tensors = doc["tensors"]?.arrayValue ?? []
        XCTAssertEqual(tensors.count, 360)
        XCTAssertTrue(tensors.contains { $0["fate"]?.stringValue == "mapped" })
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
    }

    func testConvertJSONNamesSafetensorsSources() throws {
        let r = try ToolRunner.run("effnet-convert", [Self.fixture("torch/seed/weights.safetensors"), path("st.effw"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try document(r, schema: "convert")
        XCTAssertEqual(doc["format"]?.stringValue, "safetensors")
        XCTAssertEqual(doc["verification"]?["status"]?.stringValue, "unverified")
    }

    func testConvertErrorsAreJSONToo() throws {
        // A missing source: the document carries the error, stderr its error line, exit 2.
        let missing = path("missing.pth")
        let r = try ToolRunner.run("effnet-convert", [missing, path("x.effw"), "--json"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
        let doc = try document(r, schema: "convert")
        XCTAssertTrue(doc["error"]?.stringValue?.contains(missing) ?? false, r.stdout)
        XCTAssertEqual(doc["exitStatus"], .number(2, isInteger: true))
        XCTAssertTrue(doc["written"]?.isNull ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.effw")))

        // A command line that does not parse.
        let usage = try ToolRunner.run("effnet-convert", ["--json"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertNotNil(try document(usage, schema: "convert")["error"]?.stringValue)

        // Verification that fails: exit 1, the report with the error, nothing written.
        let wrong = try ToolRunner.run("effnet-convert", [Self.fixture("torch/seed/weights.pth"), path("bad.effw"), "--json",
                                                          "--check-input", Self.fixture("torch/input_64.npy"),
                                                          "--check-output", Self.fixture("torch/seed/expected_67.npy")])
        XCTAssertNotEqual(wrong.status, 0)
        let bad = try document(wrong, schema: "convert")
        XCTAssertNotNil(bad["error"]?.stringValue)
        XCTAssertTrue(bad["written"]?.isNull ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.effw")))
    }

    // MARK: effnet-predict

    func testPredictJSONGivesTopKPerBatchRow() throws {
        let model = try CLIFixtures.tinyModel()
        let modelPath = path("tiny.effw")
        try model.write(to: URL(fileURLWithPath: modelPath))
        let input = Tensor(shape: [3, 3, 32, 32], scalars: (0 ..< 3 * 3 * 32 * 32).map { Float(($0 * 7919) % 255) / 255 - 0.5 })
        let inputPath = path("x.npy")
        try NPY.write(input, to: inputPath)
        let r = try ToolRunner.run("effnet-predict", [modelPath, "--input", inputPath, "--json", "--top", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try document(r, schema: "predict")
        let results = doc["results"]?.arrayValue ?? []
        XCTAssertEqual(results.count, 3)
        XCTAssertEqual(doc["classes"], .number(5, isInteger: true))
        XCTAssertEqual(doc["format"]?.stringValue, "effw")
        // The JSON's top 3 are the model's own top 3, highest first.
        let logits = try model(input)
        for (row, result) in results.enumerated() {
            XCTAssertEqual(result["row"], .number(Double(row), isInteger: true))
            let top = result["top"]?.arrayValue ?? []
            XCTAssertEqual(top.count, 3)
            let scores = Array(logits.scalars[row * 5 ..< row * 5 + 5])
            XCTAssertEqual(top.compactMap { $0["index"]?.numberValue.map(Int.init) }, Comparison.topK(scores, 3))
            let p = top.compactMap { $0["probability"]?.numberValue }
            XCTAssertEqual(p, p.sorted(by: >))
        }
    }

    func testPredictRunsAnySourceAndReportsErrorsAsJSON() throws {
        // A PyTorch source, converted in memory.
        let r = try ToolRunner.run("effnet-predict", [Self.fixture("torch/seed/weights.pth"), "--input",
                                                      Self.fixture("torch/input_64.npy"), "--json", "--top", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try document(r, schema: "predict")
        XCTAssertEqual(doc["format"]?.stringValue, "pytorch-zip")
        XCTAssertEqual(doc["family"]?.stringValue, "seed")
        // Its outputs are PyTorch's (the committed expected_64.npy): same top-1 per row.
        let expected = try NPY.readTensor(path: Self.fixture("torch/seed/expected_64.npy"))
        let classes = expected.shape[1]
        for (row, result) in (doc["results"]?.arrayValue ?? []).enumerated() {
            let best = Comparison.topK(Array(expected.scalars[row * classes ..< (row + 1) * classes]), 1)[0]
            XCTAssertEqual(result["top"]?.arrayValue?.first?["index"]?.numberValue.map(Int.init), best)
        }

        // Not a model: JSON error naming the file.
        let junk = path("junk.pth")
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: junk))
        let e = try ToolRunner.run("effnet-predict", [junk, "--input", Self.fixture("torch/input_64.npy"), "--json"])
        XCTAssertEqual(e.status, 2)
        XCTAssertTrue(try document(e, schema: "predict")["error"]?.stringValue?.contains(junk) ?? false, e.stdout)
    }

    // MARK: --version

    func testEveryToolHasTheOneVersion() throws {
        for tool in ["effnet-convert", "effnet-inspect", "effnet-predict", "effnet-diff"] {
            let r = try ToolRunner.run(tool, ["--version"])
            XCTAssertEqual(r.status, 0, tool)
            XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), EffNetKitVersion.string, tool)
        }
    }
}
