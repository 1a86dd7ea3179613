import EffNet

/// Command-line names of the families (CONTRACT.md: --family).
public enum FamilyName: String, CaseIterable, Codable, Sendable {
    case seed, torchvision, timm, timmTF = "timm-tf", lukemelas, lite, keras
    /// Hugging Face transformers' EfficientNetForImageClassification.
    case hf
    /// tensorflow/tpu's official EfficientNet (V1 and Lite) variable names in a TF checkpoint.
    case tfOfficial = "tf-official"
    /// ONNX graphs are mapped by walking the graph, not by family names.
    case onnxGraph = "onnx-graph"
}

/// A naming scheme and its conventions. One type per family, one file each in Families/.
public protocol ModelFamily {
    static var name: FamilyName { get }
    /// How well the checkpoint's names and shapes fit this family: nil for not at all, else a
    /// score (higher is more specific) and a description of the variant found.
    static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection?
    /// Maps the checkpoint onto canonical names and builds the Config.
    /// - Throws: `MappingError` when the checkpoint cannot be mapped.
    static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping
}

public struct FamilyDetection: Sendable, Equatable {
    public var family: FamilyName
    public var score: Int
    /// E.g. "efficientnet_b3 (width 1.2, depth 1.4), 1000 classes".
    public var variant: String
    public init(family: FamilyName, score: Int, variant: String) {
        self.family = family; self.score = score; self.variant = variant
    }
}
