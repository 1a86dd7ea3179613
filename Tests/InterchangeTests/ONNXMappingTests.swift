import EffNet
import EffNetInterchange
import Foundation
import EffNetONNX
import XCTest

/// The graph walk on real exports (TorchScript and dynamo exporters, timm tf_ shape arithmetic,
/// lukemelas static SAME, tf2onnx NHWC): the Swift model built from the walk's mapping matches
/// what the source framework computed (relative 1e-4), and the reference adapter matches ONNX
/// Runtime. Fixtures: Fixtures/generate_onnx.py and generate_onnx_tf.py.
final class ONNXMappingTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/onnx").standardized.path
    static let cases = ["torchvision_ts13", "torchvision_dynamo18", "timm_ts17", "timm_tf_ts13", "timm_tf_dynamo18",
                        "lite_ts17", "lukemelas_ts13", "seed_unfolded_ts13", "seed_surgery_ts13", "seed_softmax_ts17", "keras_tf2onnx13",
                        "hf_ts17", "hf_dynamo18"]

    struct Case {
        let name: String
        let facts: [String: Any]
        let checkpoint: SourceCheckpoint
        let mapping: WeightMapping
        let input: Tensor
        let sourceOutput: Tensor
        let ortOutput: Tensor
    }

    static func load(_ name: String) throws -> Case {
        let dir = root + "/" + name
        let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/case.json"))) as? [String: Any] ?? [:]
        let checkpoint = try SourceReader.read(path: dir + "/model.onnx")
        let mappings = try Converter.candidateMappings(checkpoint, family: nil)
        XCTAssertEqual(mappings.count, 1, name)
        return Case(name: name, facts: facts, checkpoint: checkpoint, mapping: mappings[0],
                    input: try NPY.readTensor(path: dir + "/input.npy"),
                    sourceOutput: try NPY.readTensor(path: dir + "/source_output.npy"),
                    ortOutput: try NPY.readTensor(path: dir + "/ort_output.npy"))
    }

    /// Per export: the Swift model built from the walk's mapping matches the source framework, the
    /// reference adapter matches ONNX Runtime, and the config states the family's conventions.
    func testEveryExportConvertsAndVerifies() throws {
        for name in Self.cases {
            let c = try Self.load(name)
            XCTAssertEqual(c.checkpoint.format, .onnx)
            let model = try Converter.buildModel(c.checkpoint, c.mapping)
            let out = try model(c.input)
            XCTAssertEqual(out.shape, c.sourceOutput.shape, name)
            let vsSource = Comparison(actual: out, reference: c.sourceOutput)
            XCTAssertLessThanOrEqual(vsSource.relativeError, 1e-4, "\(name): Swift model vs source framework")
            XCTAssertEqual(vsSource.top1Agreement, 1, name)

            let reference = try XCTUnwrap(c.checkpoint.reference, name)
            let vsORT = Comparison(actual: try reference.run(c.input), reference: c.ortOutput)
            XCTAssertLessThanOrEqual(vsORT.relativeError, 1e-4, "\(name): reference interpreter vs ONNX Runtime")
            try checkConventions(c)
        }
    }

    func checkConventions(_ c: Case) throws {
        let name = c.name, config = c.mapping.config
        XCTAssertNoThrow(try config.validate(), name)
        if let padding = c.facts["padding"] as? String {
            XCTAssertEqual(config.padding.mode.rawValue, padding, name)
        }
        if let size = c.facts["image_size"] as? [Int], config.padding.mode == .sameStatic, let found = config.padding.imageSize {
            // Any size whose SAME arithmetic gives the same pads at every conv is the same model.
            XCTAssertEqual(Self.staticPads(config, size), Self.staticPads(config, found), "\(name): \(found) vs \(size)")
        }
        XCTAssertEqual(config.activation.rawValue, c.facts["activation"] as? String ?? "silu", name)
        XCTAssertEqual(config.finalSoftmax, c.facts["final_softmax"] as? Bool ?? false, name)
        XCTAssertEqual(config.inputTransform != nil, c.facts["input_transform"] as? Bool ?? false, name)
        XCTAssertEqual(config.batchNormFolded, c.facts["bn_folded"] as? Bool ?? true, name)
        if !config.batchNormFolded { XCTAssertEqual(Double(config.bnEpsilon), c.facts["bn_eps"] as? Double ?? 0, accuracy: 1e-9, name) }
        XCTAssertEqual(config.numClasses, c.sourceOutput.shape[1], name)
        // Every source tensor is accounted for.
        for (source, fate) in c.mapping.fates(for: c.checkpoint) {
            if case let .unused(reason) = fate { XCTFail("\(name): \(source) unused: \(reason)") }
        }
    }

    /// The (top, bottom, left, right) pads of the stem and every depthwise conv under static SAME at `size`.
    static func staticPads(_ config: EfficientNetConfig, _ size: [Int]) -> [[Int]] {
        var h = size[0], w = size[1], out: [[Int]] = []
        for (k, s) in [(config.stem.kernel, config.stem.stride)] + config.blocks.map({ ($0.kernel, $0.stride) }) {
            let p = ConvPadding.same(height: h, width: w, kernel: k, stride: s)
            out.append([p.top, p.bottom, p.left, p.right])
            h = (h + s - 1) / s; w = (w + s - 1) / s
        }
        return out
    }

    func testNoStageDivergesOnCorrectConversions() throws {
        for name in ["keras_tf2onnx13"] {  // NHWC graph: its stages need the layout handling
            let c = try Self.load(name)
            let model = try Converter.buildModel(c.checkpoint, c.mapping)
            guard let reference = c.checkpoint.reference as? ONNXReference else { return XCTFail("\(name): not an ONNXReference") }
            let stages = try reference.compareStages(of: model, input: c.input)
            XCTAssertEqual(stages.count, c.mapping.config.blocks.count + 3, name)
            XCTAssertNil(try reference.firstDivergence(from: model, input: c.input, tolerance: 1e-4), "\(name): \(stages)")
        }
    }

    /// A wrong tensor in one block is reported at that block, not only at the logits.
    func testFirstDivergingBlockIsNamed() throws {
        let c = try Self.load("torchvision_ts13")
        var mapping = c.mapping
        guard let i = mapping.assignments.firstIndex(where: { $0.canonical == "blocks.2.project.conv.weight" }) else {
            return XCTFail("no assignment for blocks.2.project.conv.weight")
        }
        let a = mapping.assignments.remove(at: i)
        var w = try XCTUnwrap(c.checkpoint.tensor(a.source)).raw.tensor()
        w.scalars[0] += 0.5
        mapping.synthesized[a.canonical] = w
        mapping.skipped.append((a.source, "replaced by a corrupted copy for this test"))
        let model = try Converter.buildModel(c.checkpoint, mapping)
        let reference = try XCTUnwrap(c.checkpoint.reference as? ONNXReference)
        let d = try XCTUnwrap(try reference.firstDivergence(from: model, input: c.input, tolerance: 1e-4))
        XCTAssertEqual(d.stage, "blocks.2", "\(d)")
    }

    func testSummaryForInspect() throws {
        let path = Self.root + "/torchvision_dynamo18/model.onnx"
        let model = try ONNXModel(path: path)
        let summary = ONNXSummary(model: model, mapping: Result { try ONNXGraphMapping(model: model) })
        XCTAssertTrue(summary.producer.hasPrefix("pytorch"))
        XCTAssertEqual(summary.opsets, ["ai.onnx 18"])
        XCTAssertEqual(summary.externalFiles, ["model.onnx.data"])
        XCTAssertEqual(summary.operators["Conv"], 36)
        XCTAssertNil(summary.mappingProblem)
        let text = summary.text
        XCTAssertTrue(text.contains("stem.conv.weight <- features.0.0.weight"), text)
        XCTAssertTrue(text.contains("classifier.weight <- classifier.1.weight"), text)
        let notes = try SourceReader.read(path: path).notes
        XCTAssertEqual(notes["onnx_opsets"], "ai.onnx 18")
        XCTAssertEqual(notes["onnx_input_layout"], "nchw")
        XCTAssertNotNil(notes["onnx_operators"])
    }

    /// An operator the interpreter refuses (If, in front of a real export): the conversion's error
    /// names the file, then the node.
    func testInterpreterRefusalNamesTheFile() throws {
        let source = Self.root + "/reader/dead_if.onnx"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dead-if-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try Converter.convert(source: source, destination: dir + "/out.effw", options: .init())) { error in
            XCTAssertTrue("\(error)".hasPrefix(source + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("operator If"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.effw"))
    }

    /// A graph that is not an EfficientNet: the walk names the node where it stops.
    func testNonEfficientNetGraphIsRefusedWithTheNode() throws {
        let checkpoint = try SourceReader.read(path: Self.root + "/reader/float_data.onnx")
        XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: nil)) { error in
            XCTAssertTrue("\(error)".contains("ONNX graph"), "\(error)")
        }
        // The reference still runs the graph.
        let x = try NPY.readTensor(path: Self.root + "/reader/x.npy")
        let y = try XCTUnwrap(checkpoint.reference).run(x)
        XCTAssertEqual(y.shape, [1, 48])
    }
}
