import EffNet
import Foundation
import XCTest

/// effnet-diff on pairs that differ in one known tensor (made here from a committed fixture),
/// across formats, and on models of different shapes.
final class EffnetDiffTests: XCTestCase {
    var dir: URL!
    static let fixtureModel = JSONOutputTests.fixture("core/tv_b0_w050_d050.effw")

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func schemaChecked(_ r: ToolResult) throws -> JSONValue {
        let doc = try JSONValue.parse(r.stdout)
        let schema = try JSONSchemaChecker(schemaText: String(contentsOf: JSONOutputTests.root.appendingPathComponent("Schemas/diff.schema.json"), encoding: .utf8))
        XCTAssertEqual(schema.violations(of: doc), [], r.stdout)
        return doc
    }

    /// A copy of the fixture model with `delta` added to element `index` of tensor `name`.
    func changedCopy(_ name: String, index: Int, delta: Float) throws -> String {
        let model = try EfficientNet(contentsOf: URL(fileURLWithPath: Self.fixtureModel))
        var tensors = model.parameters
        var t = try XCTUnwrap(tensors[name], "no tensor \(name)")
        t.scalars[index] += delta
        tensors[name] = t
        try model.load(tensors)
        let out = path("changed.effw")
        try model.write(to: URL(fileURLWithPath: out))
        return out
    }

    func testOneChangedTensorIsTheOnlyDifference() throws {
        let name = "blocks.2.project.conv.weight"
        let changed = try changedCopy(name, index: 5, delta: 0.25)
        let r = try ToolRunner.run("effnet-diff", [Self.fixtureModel, changed, "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let doc = try schemaChecked(r)
        let differing = (doc["tensors"]?.arrayValue ?? []).filter { $0["status"]?.stringValue != "same" }
        XCTAssertEqual(differing.count, 1, r.stdout)
        XCTAssertEqual(differing.first?["name"]?.stringValue, name)
        XCTAssertEqual(differing.first?["maxAbsDifference"]?.numberValue ?? 0, 0.25, accuracy: 1e-6)
        XCTAssertEqual(doc["identical"], .bool(false))
        XCTAssertEqual(doc["summary"]?["differ"], .number(1, isInteger: true))

        // The text form names it too, with its shape.
        let text = try ToolRunner.run("effnet-diff", [Self.fixtureModel, changed])
        XCTAssertEqual(text.status, 1)
        XCTAssertTrue(text.stdout.contains("  \(name) ["), text.stdout)
        XCTAssertTrue(text.stdout.contains("1 differ"), text.stdout)

        // A file against itself: identical, exit 0.
        let same = try ToolRunner.run("effnet-diff", [Self.fixtureModel, Self.fixtureModel, "--json"])
        XCTAssertEqual(same.status, 0, same.stdout)
        XCTAssertEqual(try schemaChecked(same)["identical"], .bool(true))
        // Within --tolerance it counts as the same.
        XCTAssertEqual(try ToolRunner.run("effnet-diff", [Self.fixtureModel, changed, "--tolerance", "0.3"]).status, 0)
    }

    func testInputFindsTheFirstStageWhereTheModelsPart() throws {
        let changed = try changedCopy("blocks.2.project.conv.weight", index: 5, delta: 0.5)
        let input = JSONOutputTests.fixture("core/input_1x3x57x71.npy")
        let r = try ToolRunner.run("effnet-diff", [Self.fixtureModel, changed, "--input", input, "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let outputs = try XCTUnwrap(try schemaChecked(r)["outputs"])
        XCTAssertEqual(outputs["firstDivergentStage"]?.stringValue, "blocks.2", r.stdout)
        let stages = outputs["stages"]?.arrayValue ?? []
        // Before block 2 the activations are the same to the bit.
        for s in stages.prefix(while: { $0["stage"]?.stringValue != "blocks.2" }) {
            XCTAssertEqual(s["maxAbsDifference"]?.numberValue, 0, "\(s)")
        }
        XCTAssertGreaterThan(outputs["maxAbsDifference"]?.numberValue ?? 0, 0)

        let same = try ToolRunner.run("effnet-diff", [Self.fixtureModel, Self.fixtureModel, "--input", input])
        XCTAssertEqual(same.status, 0, same.stdout)
        XCTAssertTrue(same.stdout.contains("parts at: nowhere"), same.stdout)
    }

    func testAcrossFormatsAndFamilies() throws {
        // The seed family's PyTorch checkpoint and its safetensors export hold the same weights.
        let pth = JSONOutputTests.fixture("torch/seed/weights.pth")
        let st = JSONOutputTests.fixture("torch/seed/weights.safetensors")
        let r = try ToolRunner.run("effnet-diff", [pth, st, "--json"])
        let doc = try schemaChecked(r)
        XCTAssertEqual(doc["a"]?["format"]?.stringValue, "pytorch-zip")
        XCTAssertEqual(doc["b"]?["format"]?.stringValue, "safetensors")
        XCTAssertEqual(r.status, 0, r.stdout)

        // Models of different sizes: tensors one side lacks, and shapes that differ.
        let tiny = try CLIFixtures.tinyModel()
        let tinyPath = path("tiny.effw")
        try tiny.write(to: URL(fileURLWithPath: tinyPath))
        let other = try ToolRunner.run("effnet-diff", [Self.fixtureModel, tinyPath, "--json"])
        XCTAssertEqual(other.status, 1)
        let summary = try XCTUnwrap(try schemaChecked(other)["summary"])
        XCTAssertGreaterThan((summary["onlyA"]?.numberValue ?? 0) + (summary["onlyB"]?.numberValue ?? 0), 0, other.stdout)
        XCTAssertGreaterThan(summary["shape"]?.numberValue ?? 0, 0, other.stdout)
    }

    func testErrorsNameTheFile() throws {
        let missing = path("nope.effw")
        let r = try ToolRunner.run("effnet-diff", [Self.fixtureModel, missing, "--json"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(missing), r.stderr)
        XCTAssertTrue(try schemaChecked(r)["error"]?.stringValue?.contains(missing) ?? false)
    }
}
