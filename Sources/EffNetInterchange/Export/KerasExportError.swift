/// Why a model cannot be written as a keras.applications EfficientNet: the convention the
/// target cannot hold, what the model has, and where it can go instead.
public struct KerasExportError: Error, Equatable, CustomStringConvertible {
    /// The convention that does not fit.
    public enum Convention: String, Sendable {
        /// Symmetric padding, or a static SAME padding built for a size whose halvings differ.
        case padding
        case batchNormEpsilon = "batch norm epsilon"
        case activation
        /// A classifier other than one Dense layer.
        case classifier
        /// Channels, kernels, strides, SE widths or block kinds that no keras.applications
        /// builder produces.
        case structure
        /// Residual connections other than keras' (every stride-1 block with equal widths).
        case residual
        /// An input convention the target's Rescaling/Normalization cannot express.
        case preprocessing
    }

    public var convention: Convention
    /// What the model has and what the Keras target needs.
    public var detail: String
    /// The targets that can hold the model instead.
    public var alternatives: String

    public init(_ convention: Convention, _ detail: String, alternatives: String) {
        self.convention = convention; self.detail = detail; self.alternatives = alternatives
    }

    public var description: String {
        "cannot write a keras.applications EfficientNet (\(convention.rawValue)): \(detail); \(alternatives)"
    }
}
