import EffNet
import Foundation

/// The spelling of a classifier chain on the command line (`--head`) and in reports: the layers'
/// kinds in execution order, separated by commas, as the source's `nn.Sequential` or Keras layers
/// list them: `dropout,linear,relu,dropout,linear`. Widths are not spelled: they come from the
/// weights.
public enum HeadSpelling {
    typealias Kind = EfficientNetConfig.ClassifierLayer.Kind

    /// Accepted words and what they mean (PyTorch and Keras names of the same layer).
    static let words: [String: Kind] = [
        "linear": .linear, "dense": .linear,
        "batchnorm": .batchNorm, "batchnorm1d": .batchNorm, "bn": .batchNorm, "batchnormalization": .batchNorm,
        "relu": .relu, "silu": .silu, "swish": .silu, "gelu": .gelu, "sigmoid": .sigmoid, "softmax": .softmax,
        "dropout": .dropout, "flatten": .flatten,
    ]

    /// The canonical word of each kind (what `spell` writes).
    static func word(_ kind: Kind) -> String {
        switch kind {
        case .linear: return "linear"
        case .batchNorm: return "batchnorm"
        case .relu: return "relu"
        case .silu: return "silu"
        case .gelu: return "gelu"
        case .sigmoid: return "sigmoid"
        case .softmax: return "softmax"
        case .dropout: return "dropout"
        case .flatten: return "flatten"
        }
    }

    /// The longest chain the command line may spell (`EfficientNetConfig.validate` allows 64).
    public static let maxLayers = 64

    /// "linear,relu,dropout,linear" -> the layers (widths and epsilons unset).
    /// - Throws: `ConversionError.usage` naming the word that is not a layer kind.
    public static func parse(_ text: String) throws -> [EfficientNetConfig.ClassifierLayer] {
        guard text.utf8.count <= 4096 else { throw ConversionError.usage("--head: longer than 4096 characters") }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.count <= maxLayers else { throw ConversionError.usage("--head: \(parts.count) layers; at most \(maxLayers)") }
        var chain: [EfficientNetConfig.ClassifierLayer] = []
        for (i, p) in parts.enumerated() {
            guard let kind = words[p] else {
                let known = "linear, batchnorm, relu, silu, gelu, sigmoid, softmax, dropout, flatten"
                throw ConversionError.usage("--head: layer \(i) '\(p.prefix(40))' is not one of \(known)")
            }
            chain.append(.init(kind))
        }
        guard chain.contains(where: { $0.kind == .linear }) else { throw ConversionError.usage("--head: the chain has no linear layer") }
        return chain
    }

    /// The chain as `parse` reads it.
    public static func spell(_ chain: [EfficientNetConfig.ClassifierLayer]) -> String {
        chain.map { word($0.kind) }.joined(separator: ",")
    }

    /// The chain with widths, for reports: "dropout,linear(32),relu,dropout,linear(10)".
    public static func describe(_ chain: [EfficientNetConfig.ClassifierLayer]) -> String {
        chain.map { l in l.kind == .linear ? "linear(\(l.outFeatures ?? 0))" : word(l.kind) }.joined(separator: ",")
    }
}
