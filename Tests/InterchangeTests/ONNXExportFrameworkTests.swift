import EffNet
import EffNetInterchange
import EffNetONNX
import Foundation
import XCTest

/// Framework models (the committed fixtures: PyTorch families, EfficientNetV2, Keras) converted by
/// the project's readers, exported to ONNX, and run by the reference interpreter: the graph must
/// reproduce the source framework's own output (relative 1e-4; Keras' probabilities compared as log
/// probabilities, as KerasEndToEndTests does). With EFFNET_ONNX_EXPORT_OUT set, each export and the
/// framework's output go to ONNX Runtime too (scripts/check-onnx-export.py): the issue's
/// framework -> ONNX pairs, checked against the framework's numbers.
final class ONNXExportFrameworkTests: XCTestCase {
    static let tolerance: Float = 1e-4

    private func check(_ name: String, weights: String, family: FamilyName, inputs: [(input: String, expected: String)],
                       options: (Int) -> ONNXExportOptions, compareLog: Bool = false, line: UInt = #line) throws {
        let checkpoint = try SourceReader.read(path: weights)
        let mapping = try TorchFixtures.mapping(checkpoint, family, line: line)
        let model = try Converter.buildModel(checkpoint, mapping)
        try check(name, model: model, source: family.rawValue, inputs: inputs, options: options, compareLog: compareLog, line: line)
    }

    private func check(_ name: String, model: EfficientNet, source: String, inputs: [(input: String, expected: String)],
                       options: (Int) -> ONNXExportOptions, compareLog: Bool = false, line: UInt = #line) throws {
        for (inputPath, expectedPath) in inputs {
            let x = try NPY.readTensor(path: inputPath), expected = try NPY.readTensor(path: expectedPath)
            let opts = options(x.shape[2])
            let bytes = try ONNXExport.modelBytes(model, options: opts)
            let y = try ONNXExportSupport.run(try ONNXExportSupport.read(bytes, name: name), x)
            XCTAssertEqual(y.shape, expected.shape, name, line: line)
            guard y.shape == expected.shape else { continue }
            let c = compareLog
                ? Comparison(actual: ONNXExportSupport.logProbabilities(y), reference: ONNXExportSupport.logProbabilities(expected))
                : Comparison(actual: y, reference: expected)
            XCTAssertLessThanOrEqual(c.relativeError, Self.tolerance, "\(name) on \(x.shape) vs \(source): \(c)", line: line)
            XCTAssertEqual(c.top1Agreement, 1, name, line: line)
            let fixture = URL(fileURLWithPath: expectedPath).pathComponents.suffix(3).joined(separator: "/")
            try ONNXExportSupport.handToONNXRuntime("\(name)_\(x.shape[2])", bytes: bytes, input: x, expected: expected,
                                                    reference: "\(source)'s own output (\(fixture))",
                                                    convention: ONNXExport.inputConvention(model.config, options: opts),
                                                    compare: compareLog ? "log" : "values")
        }
    }

    private static func torch(_ folder: String) -> [(input: String, expected: String)] {
        ["64", "67"].map { (TorchFixtures.root.appendingPathComponent("input_\($0).npy").path, TorchFixtures.path(folder, "expected_\($0).npy")) }
    }

    private static func v2(_ folder: String, sizes: [String]) -> [(input: String, expected: String)] {
        let dir = ONNXExportSupport.repo.appendingPathComponent("Fixtures/v2/\(folder)")
        return sizes.map { (dir.appendingPathComponent("input_\($0).npy").path, dir.appendingPathComponent("expected_\($0).npy").path) }
    }

    func testTorchvisionToONNX() throws {
        try check("torchvision", weights: TorchFixtures.path("torchvision", "weights.pth"), family: .torchvision,
                  inputs: Self.torch("torchvision"), options: { _ in .init() })
        try check("torchvision_folded", weights: TorchFixtures.path("torchvision", "weights.pth"), family: .torchvision,
                  inputs: Self.torch("torchvision"), options: { _ in .init(foldBatchNorm: true) })
    }

    /// timm's tf_ ports pad like TF "SAME" from the actual input: both ONNX forms.
    func testTimmTFToONNX() throws {
        let weights = TorchFixtures.path("timm-tf", "weights.pth")
        try check("timm_tf_fixed", weights: weights, family: .timmTF, inputs: Self.torch("timm-tf"), options: { .init(inputSize: $0) })
        try check("timm_tf_dynamic", weights: weights, family: .timmTF, inputs: Self.torch("timm-tf"), options: { _ in .init(samePadding: .shapeArithmetic) })
    }

    func testLiteAndLukemelasToONNX() throws {
        try check("lite", weights: TorchFixtures.path("lite", "weights.pth"), family: .lite, inputs: Self.torch("lite"), options: { _ in .init() })
        try check("lukemelas", weights: TorchFixtures.path("lukemelas", "weights.pth"), family: .lukemelas,
                  inputs: Self.torch("lukemelas"), options: { _ in .init() })
    }

    func testEfficientNetV2ToONNX() throws {
        let tv = ONNXExportSupport.repo.appendingPathComponent("Fixtures/v2/tv_s_like/weights.pth").path
        try check("torchvision_v2", weights: tv, family: .torchvision, inputs: Self.v2("tv_s_like", sizes: ["64", "67"]), options: { _ in .init() })
        let tf = ONNXExportSupport.repo.appendingPathComponent("Fixtures/v2/timm_tf_s_like/weights.pth").path
        try check("timm_tf_v2", weights: tf, family: .timmTF, inputs: Self.v2("timm_tf_s_like", sizes: ["64", "67"]),
                  options: { _ in .init(samePadding: .shapeArithmetic) })
    }

    /// A Keras 3 model: 0-255 pixels in, its Rescaling/Normalization inside, softmax out.
    func testKerasToONNX() throws {
        let checkpoint = try KerasFixtures.read("k3_plain64.keras")
        let mapping = try XCTUnwrap(try Converter.candidateMappings(checkpoint, family: nil).first)
        let model = try Converter.buildModel(checkpoint, mapping)
        XCTAssertNotNil(model.config.inputTransform)
        try check("keras", model: model, source: "keras", inputs: [(KerasFixtures.path("k3_plain64_input.npy"), KerasFixtures.path("k3_plain64_output.npy"))],
                  options: { _ in .init() }, compareLog: true)
    }
}
