import EffNet
import EffNetInterchange
import EffNetONNX
import Foundation
import XCTest

/// Helpers for the ONNX export tests: small random models with non-trivial batch norms, running an
/// exported graph through the project's reader and interpreter, and handing cases to ONNX Runtime
/// (scripts/check-onnx-export.py) when EFFNET_ONNX_EXPORT_OUT names a folder.
enum ONNXExportSupport {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Weights scaled by fan-in; BN weight, bias, mean and variance all random so that a dropped
    /// or mis-ordered batch-norm input, a wrong epsilon or a wrong fold shows far above 1e-4.
    static func randomModel(_ config: EfficientNetConfig, seed: UInt64) throws -> EfficientNet {
        let m = try EfficientNet(config: config)
        var rng = ExportRNG(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in m.parameterShapes {
            let n = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            let scale = 1.5 / Float(fanIn).squareRoot()
            var v = (0 ..< n).map { _ in rng.symmetric() * scale }
            if name.hasSuffix("running_var") { v = (0 ..< n).map { _ in 0.05 + 1.5 * abs(rng.symmetric()) } }
            // (A 1-D classifier weight is a classifier chain's BatchNorm1d.)
            if name.hasSuffix("bn.weight") || (name.hasPrefix("classifier.") && name.hasSuffix(".weight") && shape.count == 1) {
                v = (0 ..< n).map { _ in 0.6 + 0.8 * abs(rng.symmetric()) }
            }
            if name.hasSuffix("running_mean") || name.hasSuffix("bn.bias") { v = (0 ..< n).map { _ in 0.3 * rng.symmetric() } }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try m.load(tensors)
        return m
    }

    static func input(_ shape: [Int], seed: UInt64, range: Float = 2) -> Tensor {
        var rng = ExportRNG(seed: seed)
        return Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { _ in rng.symmetric() * range })
    }

    /// Reads `bytes` with the project's ONNX reader (checking protobuf-c freed everything).
    static func read(_ bytes: [UInt8], name: String) throws -> ONNXModel {
        let m = try bytes.withUnsafeBytes { try ONNXModel(bytes: $0, path: "\(name).onnx", directory: ".") }
        XCTAssertEqual(m.unpackBytesNotFreed, 0, name)
        return m
    }

    /// The graph's output on `input`, by the reference interpreter (Double throughout).
    static func run(_ model: ONNXModel, _ input: Tensor) throws -> Tensor {
        try ONNXInterpreter(model: model).run([ONNXExport.inputName: ONNXArray(input)]).outputs[0].tensor
    }

    /// When EFFNET_ONNX_EXPORT_OUT names a folder, writes <folder>/<name>/ model.onnx, input.npy,
    /// expected.npy and case.json for scripts/check-onnx-export.py (ONNX Runtime). `compare` is
    /// "values" or "log" (log of probabilities, for outputs that end in a softmax).
    static func handToONNXRuntime(_ name: String, bytes: [UInt8], input: Tensor, expected: Tensor, reference: String,
                                  convention: String, compare: String = "values", tolerance: Double = 1e-4) throws {
        guard let out = ProcessInfo.processInfo.environment["EFFNET_ONNX_EXPORT_OUT"], !out.isEmpty else { return }
        let dir = URL(fileURLWithPath: out).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(bytes).write(to: dir.appendingPathComponent("model.onnx"))
        try NPY.write(input, to: dir.appendingPathComponent("input.npy").path)
        try NPY.write(expected, to: dir.appendingPathComponent("expected.npy").path)
        let facts: [String: Any] = ["case": name, "reference": reference, "input": convention, "compare": compare, "tolerance": tolerance]
        try JSONSerialization.data(withJSONObject: facts, options: [.prettyPrinted, .sortedKeys]).write(to: dir.appendingPathComponent("case.json"))
    }

    /// log of probabilities, clamped away from 0 (Keras outputs end in a softmax).
    static func logProbabilities(_ t: Tensor) -> Tensor {
        Tensor(shape: t.shape, scalars: t.scalars.map { Float(Foundation.log(max(Double($0), 1e-30))) })
    }
}

/// SplitMix64, so the test models do not depend on the platform's random generator.
struct ExportRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func symmetric() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
