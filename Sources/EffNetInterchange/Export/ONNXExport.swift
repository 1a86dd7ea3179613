import EffNet
import EffNetONNX

/// An `EfficientNet` as an ONNX model (opset 17, dynamic batch axis), the graph spelled out unit by
/// unit as the reference forward pass computes it (EfficientNet+Reference.swift):
///
///     [Mul, Add: preprocessing]  [Mul, Add: the model's input transform]
///     stem       Conv [BatchNormalization] activation
///     block i    [expand] depthwise|fused [SE: GlobalAveragePool Conv act Conv Sigmoid Mul] [project] [Add]
///     head       Conv [BatchNormalization] activation
///     GlobalAveragePool  Flatten  Gemm (or the classifier chain)  [Softmax]
///
/// SiLU is Sigmoid + Mul, ReLU6 is Clip(0, 6). Initializers carry the canonical parameter names
/// (`blocks.3.depthwise.conv.weight`, `blocks.3.depthwise.bn.running_var`, ...), nodes the unit
/// paths (`blocks.3.depthwise.conv`, `blocks.3.depthwise.bn`, `blocks.3.depthwise.act`). docs/ONNX_EXPORT.md
/// describes the graph, the padding choices and the preprocessing nodes.
///
///     let bytes = try ONNXExport.modelBytes(model, options: ONNXExportOptions(foldBatchNorm: true))
public enum ONNXExport {
    public static let opsetVersion: Int64 = 17
    /// The graph's data input: NCHW float32 with a symbolic batch dimension.
    public static let inputName = "input"

    /// The serialised ModelProto.
    /// - Throws: `ONNXExportError` when an option is unusable, the model's padding needs an input
    ///   size, or the graph is too large for one protobuf file.
    public static func modelBytes(_ model: EfficientNet, options: ONNXExportOptions = .init()) throws -> [UInt8] {
        let g = try graph(model, options: options)
        do { return try g.writer.serializedBytes() } catch let e as ONNXWriteError { throw ONNXExportError.write(e) }
    }

    /// The graph before serialisation, with the value that holds each stage's output ("stem",
    /// "blocks.i", "head"), as the reference pass's `observe` names them.
    /// - Throws: `ONNXExportError`.
    public static func graph(_ model: EfficientNet, options: ONNXExportOptions = .init()) throws
        -> (writer: ONNXModelWriter, stages: [(stage: String, value: String)]) {
        var b = try ONNXGraphBuilder(model: model, options: options)
        b.build()
        return (b.writer, b.stages)
    }

    /// The name of the graph's output: "probabilities" when it ends in a softmax, else "logits".
    public static func outputName(_ config: EfficientNetConfig, options: ONNXExportOptions) -> String {
        let chainSoftmax = config.classifierChain?.last?.kind == .softmax
        return options.softmax && (config.finalSoftmax || chainSoftmax) ? "probabilities" : "logits"
    }

    /// What the exported graph takes, in words (the report's and the metadata's input convention).
    public static func inputConvention(_ config: EfficientNetConfig, options: ONNXExportOptions) -> String {
        let p = config.imagePreprocessing
        func list(_ v: [Float]) -> String { "[" + v.map { "\($0)" }.joined(separator: ", ") + "]" }
        if options.includePreprocessing {
            return "RGB pixel values 0...255 (NCHW float32); the graph computes (x * \(p.pixelScale) - mean \(list(p.mean))) / std \(list(p.std))"
                + (config.inputTransform != nil ? ", then the model's own input transform" : "")
        }
        let scaled = p.pixelScale == 1 ? "pixel values 0...255" : "pixels * \(p.pixelScale)"
        let normalised = p.mean.allSatisfy { $0 == 0 } && p.std.allSatisfy { $0 == 1 } ? scaled : "(\(scaled) - mean \(list(p.mean))) / std \(list(p.std))"
        return "NCHW float32 \(normalised), as the source model takes it"
            + (config.inputTransform != nil ? " (the graph applies the model's own input transform)" : "")
    }
}
