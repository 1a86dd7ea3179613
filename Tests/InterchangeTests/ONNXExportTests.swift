import EffNet
import EffNetInterchange
import EffNetONNX
import Foundation
import XCTest

/// EfficientNets exported to ONNX (ONNXExport), read back with the project's own reader and run by
/// its reference interpreter, against the model's own float64 forward pass (relative 1e-4, the
/// toolkit's measure max|a - b| / max(1, max|ref|)): V1, Lite (ReLU6, static SAME), V2 (fused
/// blocks, with and without projection), TF SAME fixed and by shape arithmetic, classifier chains,
/// preprocessing nodes, BN as nodes or folded, a model whose BN is already folded. Exports of the
/// converted framework fixtures are checked against the framework's own numbers. With
/// EFFNET_ONNX_EXPORT_OUT set, every case is also written for ONNX Runtime
/// (scripts/check-onnx-export.py, run by scripts/test.sh).
final class ONNXExportTests: XCTestCase {
    static let tolerance: Float = 1e-4

    /// A V1 at width/depth 0.25 (B0 stages), 7 classes.
    static func v1(padding: EfficientNetConfig.Padding = .symmetric, activation: EfficientNetConfig.Activation = .silu,
                   se: EfficientNetConfig.SEWidthRule = .quarterOfBlockInput, eps: Float = 1e-5) -> EfficientNetConfig {
        var c = EfficientNetConfig.scaled(name: "v1_small", width: 0.25, depth: 0.25, numClasses: 7, bnEpsilon: eps,
                                          padding: padding, activation: activation, seRule: se)
        c.headChannels = 48
        return c
    }

    /// Exports `model`, runs the graph on each input and compares with `reference(input)`; hands
    /// the first input's case to ONNX Runtime. Returns the read-back model.
    @discardableResult
    func check(_ name: String, _ model: EfficientNet, _ options: ONNXExportOptions, inputs: [Tensor],
               reference: ((Tensor) throws -> Tensor)? = nil, line: UInt = #line) throws -> ONNXModel {
        let bytes = try ONNXExport.modelBytes(model, options: options)
        let onnx = try ONNXExportSupport.read(bytes, name: name)
        XCTAssertEqual(onnx.opsetVersion(), 17, line: line)
        let input = try XCTUnwrap(onnx.graph.dataInputs.first, line: line)
        XCTAssertEqual(input.shape?.first, .param("batch"), line: line)
        XCTAssertEqual(onnx.graph.outputs.first?.shape, [.param("batch"), .value(model.config.numClasses)], line: line)
        for (k, x) in inputs.enumerated() {
            let expected = try reference?(x) ?? model.float64Forward(x)
            let y = try ONNXExportSupport.run(onnx, x)
            XCTAssertEqual(y.shape, expected.shape, name, line: line)
            guard y.shape == expected.shape else { continue }
            let c = Comparison(actual: y, reference: expected)
            XCTAssertLessThanOrEqual(c.relativeError, Self.tolerance, "\(name) on \(x.shape): \(c)", line: line)
            XCTAssertGreaterThan(c.maxAbsReference, 0, line: line)
            if k == 0 {
                try ONNXExportSupport.handToONNXRuntime(name, bytes: bytes, input: x, expected: expected, reference: "Swift float64 forward pass",
                                                        convention: ONNXExport.inputConvention(model.config, options: options))
            }
        }
        return onnx
    }

    private func ops(_ m: ONNXModel) -> Set<String> { Set(m.graph.nodes.map(\.opType)) }

    func testV1SymmetricBatchNormNodesAndFolded() throws {
        let model = try ONNXExportSupport.randomModel(Self.v1(), seed: 1)
        let xs = [ONNXExportSupport.input([2, 3, 64, 64], seed: 2), ONNXExportSupport.input([1, 3, 67, 71], seed: 3)]
        let plain = try check("v1_symmetric_bn", model, .init(), inputs: xs)
        XCTAssertEqual(ops(plain), ["Conv", "BatchNormalization", "Sigmoid", "Mul", "GlobalAveragePool", "Add", "Flatten", "Gemm"])
        // Input height and width are symbolic without an input size.
        XCTAssertEqual(plain.graph.dataInputs.first?.shape, [.param("batch"), .value(3), .param("height"), .param("width")])
        // Initializers under the canonical parameter names, each parameter exactly once.
        let names = Set(plain.graph.initializers.map(\.name))
        XCTAssertTrue(Set(model.parameterShapes.map(\.name)).isSubset(of: names))
        XCTAssertEqual(plain.graph.initializer("blocks.1.depthwise.bn.running_var")?.raw.floats(),
                       model.parameter(named: "blocks.1.depthwise.bn.running_var")?.scalars)
        XCTAssertEqual(plain.graph.nodes.first { $0.name == "blocks.1.depthwise.conv" }?.opType, "Conv")

        let folded = try check("v1_symmetric_folded", model, .init(foldBatchNorm: true), inputs: xs)
        XCTAssertFalse(ops(folded).contains("BatchNormalization"))
        XCTAssertNotNil(folded.graph.initializer("stem.conv.bias"))
        XCTAssertNil(folded.graph.initializer("stem.bn.running_var"))
    }

    func testLiteReLU6StaticSame() throws {
        // Lite conventions: ReLU6, no SE, eps 1e-3, SAME fixed from the nominal size (64) and
        // used unchanged at 67x67.
        let model = try ONNXExportSupport.randomModel(Self.v1(padding: .sameStatic(64), activation: .relu6, se: .none, eps: 1e-3), seed: 4)
        let onnx = try check("lite_relu6_static_same", model, .init(), inputs: [ONNXExportSupport.input([2, 3, 64, 64], seed: 5),
                                                                               ONNXExportSupport.input([1, 3, 67, 67], seed: 6)])
        XCTAssertTrue(ops(onnx).contains("Clip"))
        XCTAssertFalse(ops(onnx).contains("Sigmoid"))
        // The stem's SAME pads at 64: total 1, all of it after.
        guard case let .ints(pads)? = onnx.graph.nodes.first(where: { $0.name == "stem.conv" })?.attribute("pads") else { return XCTFail("stem pads") }
        XCTAssertEqual(pads, [0, 0, 1, 1])
    }

    func testV2FusedBlocks() throws {
        for (arch, name) in [(EfficientNetConfig.V2Architecture.s, "v2_s_small"), (.rw, "v2_rw_small")] {
            var c = EfficientNetConfig.v2(arch, name: name, width: 0.25, depth: [0.25], numClasses: 7)
            c.headChannels = 64
            XCTAssertTrue(c.blocks.contains { $0.kind == .fused && $0.hasProjection })
            let model = try ONNXExportSupport.randomModel(c, seed: 7)
            try check(name, model, .init(foldBatchNorm: name.hasPrefix("v2_rw")), inputs: [ONNXExportSupport.input([2, 3, 64, 64], seed: 8)])
        }
    }

    func testTFSameFixedInputSize() throws {
        let model = try ONNXExportSupport.randomModel(Self.v1(padding: .sameDynamic, eps: 1e-3), seed: 9)
        for size in [64, 67] {
            let onnx = try check("tf_same_fixed_\(size)", model, .init(inputSize: size), inputs: [ONNXExportSupport.input([2, 3, size, size], seed: 10)])
            XCTAssertEqual(onnx.graph.dataInputs.first?.shape, [.param("batch"), .value(3), .value(size), .value(size)])
            XCTAssertFalse(ops(onnx).contains("Pad"))
        }
    }

    func testTFSameByShapeArithmetic() throws {
        let model = try ONNXExportSupport.randomModel(Self.v1(padding: .sameDynamic, eps: 1e-3), seed: 11)
        let onnx = try check("tf_same_dynamic", model, .init(samePadding: .shapeArithmetic),
                             inputs: [ONNXExportSupport.input([2, 3, 67, 67], seed: 12), ONNXExportSupport.input([1, 3, 64, 70], seed: 13),
                                      ONNXExportSupport.input([1, 3, 33, 45], seed: 14)])
        XCTAssertTrue(ops(onnx).isSuperset(of: ["Shape", "Pad", "Concat", "Max", "Div"]))
        XCTAssertEqual(onnx.graph.nodes.filter { $0.opType == "Pad" }.count, 1 + model.config.blocks.count)
    }

    func testTFSameWithoutInputSizeIsRefusedNamingTheOption() throws {
        let model = try ONNXExportSupport.randomModel(Self.v1(padding: .sameDynamic), seed: 15)
        XCTAssertThrowsError(try ONNXExport.modelBytes(model, options: .init())) { e in
            XCTAssertEqual(e as? ONNXExportError, .inputSizeRequired(model: "v1_small"))
            XCTAssertTrue("\(e)".contains("ONNXExportOptions.inputSize"), "\(e)")
            XCTAssertTrue("\(e)".contains("shapeArithmetic"), "\(e)")
        }
        XCTAssertThrowsError(try ONNXExport.modelBytes(model, options: .init(inputSize: 16))) { e in
            guard case let .invalidOption(_, option, _)? = e as? ONNXExportError else { return XCTFail("\(e)") }
            XCTAssertEqual(option, "inputSize")
        }
    }

    func testClassifierChainsAndSoftmax() throws {
        var c = Self.v1()
        c.classifierChain = [.linear(16), .init(.batchNorm, epsilon: 1e-3), .init(.relu), .init(.dropout), .linear(12), .init(.gelu),
                             .init(.silu), .linear(9), .init(.sigmoid), .init(.flatten), .linear(7), .init(.softmax)]
        let model = try ONNXExportSupport.randomModel(c, seed: 16)
        let x = ONNXExportSupport.input([3, 3, 64, 64], seed: 17)
        let onnx = try check("classifier_chain_softmax", model, .init(), inputs: [x])
        XCTAssertTrue(ops(onnx).isSuperset(of: ["Relu", "Erf", "Softmax", "Gemm", "BatchNormalization"]))
        XCTAssertEqual(onnx.graph.outputs.first?.name, "probabilities")
        XCTAssertEqual(onnx.graph.nodes.filter { $0.opType == "Gemm" }.map(\.name), ["classifier.0", "classifier.4", "classifier.7", "classifier.10"])

        // softmax: false ends at the logits: the same network without its last layer.
        var logitsConfig = c
        logitsConfig.classifierChain?.removeLast()
        let logitsModel = try EfficientNet(config: logitsConfig)
        try logitsModel.load(model.parameters)
        let bare = try check("classifier_chain_logits", model, .init(softmax: false), inputs: [x], reference: { try logitsModel.float64Forward($0) })
        XCTAssertFalse(ops(bare).contains("Softmax"))
        XCTAssertEqual(bare.graph.outputs.first?.name, "logits")
    }

    /// A Keras-like model: its input transform (Rescaling/Normalization) inside, a final softmax,
    /// raw 0-255 pixels.
    func testInputTransformAndFinalSoftmax() throws {
        var c = Self.v1(padding: .sameStatic(64), eps: 1e-3)
        c.inputTransform = .init(scale: [1 / 58.4, 1 / 57.1, 1 / 57.4], offset: [-2.1, -2.0, -1.8])
        c.finalSoftmax = true
        c.imagePreprocessing = .raw(size: 64)
        let model = try ONNXExportSupport.randomModel(c, seed: 18)
        let pixels = ONNXExportSupport.input([2, 3, 64, 64], seed: 19, range: 127.5).scalars.map { $0 + 127.5 }
        let onnx = try check("input_transform_softmax", model, .init(), inputs: [Tensor(shape: [2, 3, 64, 64], scalars: pixels)])
        XCTAssertEqual(onnx.graph.nodes.prefix(2).map(\.name), ["input_transform.mul", "input_transform.add"])
        XCTAssertEqual(onnx.graph.nodes.last?.opType, "Softmax")
    }

    func testPreprocessingNodesTakePixels() throws {
        let model = try ONNXExportSupport.randomModel(Self.v1(), seed: 20)
        let p = model.config.imagePreprocessing
        let pixels = Tensor(shape: [2, 3, 64, 64], scalars: ONNXExportSupport.input([2, 3, 64, 64], seed: 21, range: 127.5).scalars.map { ($0 + 127.5).rounded() })
        // What effnet-predict's preprocessing would feed the model.
        func normalised(_ x: Tensor) -> Tensor {
            let hw = x.shape[2] * x.shape[3]
            return Tensor(shape: x.shape, scalars: x.scalars.enumerated().map { i, v in
                let ch = (i / hw) % 3
                return Float((Double(v) * Double(p.pixelScale) - Double(p.mean[ch])) / Double(p.std[ch]))
            })
        }
        let onnx = try check("preprocessing_pixels", model, .init(includePreprocessing: true), inputs: [pixels],
                             reference: { try model.float64Forward(normalised($0)) })
        XCTAssertEqual(onnx.graph.nodes.prefix(2).map(\.name), ["preprocess.mul", "preprocess.add"])
        XCTAssertTrue(onnx.metadata.contains { $0.key == "effnetkit.input" && $0.value.hasPrefix("RGB pixel values 0...255") })
    }

    /// A model whose batch norms are already folded (an ONNX source): conv biases, no BN nodes.
    func testAlreadyFoldedModel() throws {
        var c = Self.v1()
        c.batchNormFolded = true
        let model = try ONNXExportSupport.randomModel(c, seed: 22)
        let onnx = try check("bn_already_folded", model, .init(), inputs: [ONNXExportSupport.input([2, 3, 64, 64], seed: 23)])
        XCTAssertFalse(ops(onnx).contains("BatchNormalization"))
    }

    /// The exported graph is one the project's own ONNX import recognises: the graph walk maps it
    /// back onto an EfficientNet that computes what the original does.
    func testGraphWalkReadsTheExportBack() throws {
        let cases: [(String, EfficientNetConfig, ONNXExportOptions)] = [
            ("walk_v1", Self.v1(), .init()),
            ("walk_v1_folded", Self.v1(), .init(foldBatchNorm: true)),
            ("walk_lite", Self.v1(padding: .sameStatic(64), activation: .relu6, se: .none, eps: 1e-3), .init()),
            ("walk_tf_same", Self.v1(padding: .sameDynamic, eps: 1e-3), .init(samePadding: .shapeArithmetic)),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-onnx-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, config, options) in cases {
            let model = try ONNXExportSupport.randomModel(config, seed: 24)
            let path = dir.appendingPathComponent("\(name).onnx").path
            try Data(try ONNXExport.modelBytes(model, options: options)).write(to: URL(fileURLWithPath: path))
            let checkpoint = try SourceReader.read(path: path)
            let mappings = try Converter.candidateMappings(checkpoint, family: nil)
            XCTAssertEqual(mappings.count, 1, name)
            let rebuilt = try Converter.buildModel(checkpoint, try XCTUnwrap(mappings.first, name))
            XCTAssertEqual(rebuilt.config.blocks.count, config.blocks.count, name)
            let x = ONNXExportSupport.input([1, 3, 67, 67], seed: 25)
            let c = Comparison(actual: try rebuilt.float64Forward(x), reference: try model.float64Forward(x))
            XCTAssertLessThanOrEqual(c.relativeError, Self.tolerance, "\(name): \(c)")
        }
    }
}

extension ONNXExportTests {
    /// `ONNXExport.verify`, the check an export runs before it is kept: passes on the model's own
    /// export in every input convention, fails on another model's weights.
    func testVerifyPassesOnTheExportAndFailsOnOtherWeights() throws {
        var c = Self.v1()
        c.finalSoftmax = true
        let model = try ONNXExportSupport.randomModel(c, seed: 26), other = try ONNXExportSupport.randomModel(c, seed: 27)
        let pixels = Tensor(shape: [2, 3, 64, 64], scalars: ONNXExportSupport.input([2, 3, 64, 64], seed: 28, range: 127.5).scalars.map { $0 + 127.5 })
        for options in [ONNXExportOptions(), .init(foldBatchNorm: true, includePreprocessing: true), .init(softmax: false)] {
            let x = options.includePreprocessing ? pixels : ONNXExportSupport.input([2, 3, 64, 64], seed: 29)
            let bytes = try ONNXExport.modelBytes(model, options: options)
            XCTAssertLessThanOrEqual(try ONNXExport.verify(bytes, model: model, input: x, options: options).relativeError, Self.tolerance)
            XCTAssertGreaterThan(try ONNXExport.verify(bytes, model: other, input: x, options: options).maxAbsError, 1e-3)
        }
    }
}
