/// How `ONNXExport` writes a model's graph.
public struct ONNXExportOptions: Sendable, Equatable {
    /// How TensorFlow "SAME" padding computed from the actual input (`sameDynamic`, timm's tf_
    /// models) becomes ONNX. Static rules (symmetric, `sameStatic`) always get explicit pads.
    public enum SamePadding: Sendable, Equatable {
        /// Explicit Conv pads computed once from `inputSize`; the graph's input height and width
        /// are then fixed to it. Exporting without `inputSize` is refused.
        case fixedInputSize
        /// The pads computed from the actual input inside the graph, as TF-exported graphs do:
        /// Shape -> (ceil(i / s) - 1) * s + k - i -> Max 0 -> halves -> Concat -> Pad before each
        /// padded convolution. Any input size.
        case shapeArithmetic
    }

    /// Fold each batch norm into its convolution (weight * gamma / sqrt(var + eps), bias = beta -
    /// mean * that scale, computed in Double) instead of writing BatchNormalization nodes.
    public var foldBatchNorm = false
    /// Start the graph with the Config's image preprocessing as Mul/Add nodes, so that the graph
    /// takes RGB pixel values 0...255 (as decoded) instead of the normalised tensor:
    /// x * (pixelScale / std) + (-mean / std).
    public var includePreprocessing = false
    /// The input's height and width (square), for `SamePadding.fixedInputSize`; with any rule it
    /// fixes the graph's input height and width (otherwise they are symbolic).
    public var inputSize: Int?
    public var samePadding: SamePadding = .fixedInputSize
    /// Keep the model's final softmax (`finalSoftmax`, or a classifier chain ending in Softmax).
    /// false ends the graph at the logits.
    public var softmax = true

    public init(foldBatchNorm: Bool = false, includePreprocessing: Bool = false, inputSize: Int? = nil,
                samePadding: SamePadding = .fixedInputSize, softmax: Bool = true) {
        self.foldBatchNorm = foldBatchNorm; self.includePreprocessing = includePreprocessing
        self.inputSize = inputSize; self.samePadding = samePadding; self.softmax = softmax
    }
}
