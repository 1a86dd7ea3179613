import EffNet
import EffNetONNX

/// The source graph as a `ReferenceModel`: the converter runs it through the reference interpreter
/// on the probe batch and compares the converted Swift model against it.
///
///     let reference = try ONNXReference(model: onnx, stages: mapping.stages, layout: mapping.inputLayout)
///     let expected = try reference.run(probe)                     // NCHW in, [N, classes] out
///     if let d = try reference.firstDivergence(from: net, input: probe, tolerance: 1e-4) { print(d) }
///
/// Inputs are always NCHW; graphs that take NHWC (tf2onnx) get the transposed batch.
public final class ONNXReference: ReferenceModel, @unchecked Sendable {
    public enum Layout: String, Sendable, Codable { case nchw, nhwc }

    public let model: ONNXModel
    public let interpreter: ONNXInterpreter
    public let layout: Layout
    public let inputName: String
    /// (Swift stage, ONNX value) pairs from the graph walk; empty when the walk failed.
    public let stages: [(stage: String, value: String)]

    /// - Throws: `ONNXRuntimeError.graph` when the graph has no single data input or no output.
    public init(model: ONNXModel, stages: [(stage: String, value: String)] = [], layout: Layout? = nil) throws {
        self.model = model
        interpreter = try ONNXInterpreter(model: model)
        guard let input = interpreter.inputs.first, interpreter.inputs.count == 1 else {
            throw ONNXRuntimeError.graph(detail: "expected one data input, found \(interpreter.inputs.map(\.name))")
        }
        inputName = input.name
        self.layout = layout ?? Self.detectLayout(model)
        self.stages = stages
    }

    /// NCHW input shape with 0 for free dimensions.
    public var inputShape: [Int] {
        guard let dims = interpreter.inputs.first?.shape, dims.count == 4 else { return [0, 0, 0, 0] }
        let fixed = dims.map { $0.fixed ?? 0 }
        return layout == .nhwc ? [fixed[0], fixed[3], fixed[1], fixed[2]] : fixed
    }

    /// Runs the graph on an NCHW batch and returns its first output as [N, classes].
    /// - Throws: `ONNXReferenceError` naming the file and the failing node or the input mismatch.
    public func run(_ input: Tensor) throws -> Tensor {
        try run(input, keeping: []).output
    }

    /// Runs the graph and also returns the named intermediate values (as float tensors, in the
    /// graph's own layout).
    /// - Throws: `ONNXReferenceError`.
    public func run(_ input: Tensor, keeping names: Set<String>) throws -> (output: Tensor, values: [String: Tensor]) {
        guard input.rank == 4 else { throw ONNXRuntimeError.input(name: inputName, detail: "expected an NCHW batch, got \(input.shape)") }
        let feed = layout == .nhwc ? LayoutTransform.permute(input, [0, 2, 3, 1]) : input
        let result: ONNXInterpreter.Result
        do {
            result = try interpreter.run([inputName: ONNXArray(feed)], keep: names)
        } catch let e as ONNXRuntimeError {
            throw ONNXReferenceError(path: model.path, underlying: e)
        }
        var out = result.outputs[0].tensor
        if out.rank != 2, out.rank >= 1, out.shape[0] > 0 {
            out = Tensor(shape: [out.shape[0], out.count / out.shape[0]], scalars: out.scalars)
        }
        return (out, result.kept.mapValues(\.tensor))
    }

    /// Stage-by-stage comparison of `swift` with the graph on `input`, in execution order.
    /// - Throws: model or interpreter errors.
    public func compareStages(of swift: EfficientNet, input: Tensor) throws -> [StageComparison] {
        var observed: [String: Tensor] = [:]
        let logits = try swift.forward(input, observe: { observed[$0] = $1 })
        observed["logits"] = logits
        let (output, values) = try run(input, keeping: Set(stages.map(\.value)))
        return stages.map { stage, value in
            let reference = stage == "logits" ? output : values[value]
            guard let actual = observed[stage], var ref = reference else {
                return StageComparison(stage: stage, onnxValue: value, comparison: nil, detail: "not observed")
            }
            if ref.shape != actual.shape, ref.rank == 4, [ref.shape[0], ref.shape[3], ref.shape[1], ref.shape[2]] == actual.shape {
                ref = LayoutTransform.permute(ref, [0, 3, 1, 2])  // an NHWC stage of a tf2onnx graph
            }
            if ref.shape != actual.shape, ref.count == actual.count { ref = Tensor(shape: actual.shape, scalars: ref.scalars) }
            guard ref.shape == actual.shape else {
                return StageComparison(stage: stage, onnxValue: value, comparison: nil,
                                       detail: "shapes differ: Swift \(actual.shape), ONNX \(ref.shape)")
            }
            return StageComparison(stage: stage, onnxValue: value, comparison: Comparison(actual: actual, reference: ref), detail: nil)
        }
    }

    /// The first stage whose activations differ from the graph's by more than `tolerance`
    /// (relative, as `Comparison.relativeError`), or nil when every stage agrees.
    /// - Throws: model or interpreter errors.
    public func firstDivergence(from swift: EfficientNet, input: Tensor, tolerance: Float) throws -> StageComparison? {
        try compareStages(of: swift, input: input).first { !$0.agrees(tolerance: tolerance) }
    }

    /// NHWC when the input reaches a Transpose(perm 0,3,1,2) through elementwise ops only.
    static func detectLayout(_ model: ONNXModel) -> Layout {
        guard var v = model.graph.dataInputs.first?.name else { return .nchw }
        for _ in 0 ..< 16 {
            guard let n = model.graph.nodes.first(where: { $0.inputs.contains(v) && $0.opType != "Shape" }) else { return .nchw }
            if n.opType == "Transpose", case let .ints(p)? = n.attribute("perm") { return p == [0, 3, 1, 2] ? .nhwc : .nchw }
            guard ["Mul", "Add", "Sub", "Div", "Cast", "Identity"].contains(n.opType), let out = n.outputs.first else { return .nchw }
            v = out
        }
        return .nchw
    }
}

/// One stage of a stage-by-stage verification.
public struct StageComparison: Sendable, CustomStringConvertible {
    /// "stem", "blocks.i", "head" or "logits".
    public var stage: String
    public var onnxValue: String
    public var comparison: Comparison?
    /// Why there is no comparison (shapes differ, value not observed).
    public var detail: String?

    public func agrees(tolerance: Float) -> Bool { (comparison?.relativeError ?? .infinity) <= tolerance }

    public var description: String {
        guard let c = comparison else { return "\(stage) (ONNX '\(onnxValue)'): \(detail ?? "not compared")" }
        return "\(stage) (ONNX '\(onnxValue)'): max abs error \(c.maxAbsError), relative \(c.relativeError)"
    }
}
