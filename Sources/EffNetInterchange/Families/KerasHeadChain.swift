import EffNet
import EffNetKeras

/// A Keras model's own top on a keras.applications EfficientNet base: keras.io's fine-tuning
/// tutorial (`GlobalAveragePooling2D -> BatchNormalization -> Dropout -> Dense(softmax)`), or
/// `Sequential([base, GlobalAveragePooling2D(), Dense(256, activation="relu"), Dropout(0.3),
/// Dense(n)])`. Positions in the chain are the layers' order; a Dense with an activation takes
/// two (the Dense, then its activation), so `classifier.k` counts them as `--head` spells them.
///
/// With a model config (full .h5, .keras) the chain is read exactly from the layers after the
/// base's `top_activation`: each layer's class, a Dense's `activation`, a BatchNormalization's
/// `epsilon`. A weights-only file shows only the Dense and BatchNormalization layers (ordered by
/// how their widths chain from the head's features); each may be followed by any activation, so
/// the result is `HeadAlternatives` for `--head` or a reference pair to decide.
struct KerasHeadChain {
    var chain: [EfficientNetConfig.ClassifierLayer]
    /// The Keras layer holding each weighted position's variables.
    var layers: [Int: String]
    /// Set when the file does not say every layer (weights-only).
    var alternatives: HeadAlternatives?
    /// What the reading decided, for the report.
    var decisions: [String]

    var numClasses: Int { chain.last { $0.kind == .linear }?.outFeatures ?? 0 }
    /// The last Dense layer's name.
    var lastDense: String { layers[chain.lastIndex { $0.kind == .linear } ?? 0] ?? "" }

    /// Layers of keras.applications' EfficientNet itself (base or input preprocessing).
    static func isBaseLayer(_ name: String) -> Bool {
        ["stem_", "block", "top_"].contains { name.hasPrefix($0) } || name.hasPrefix("normalization") || name.hasPrefix("rescaling")
    }

    /// The head after the base, or nil when it is the one classifier Dense (`predictions`, or a
    /// single Dense with a softmax or no activation) that `KerasAnalysis` maps by itself.
    /// - Throws: `MappingError.unsupported` naming a layer the chain cannot hold.
    static func read(_ table: KerasLayerTable, config: KerasModelConfig?, headChannels: Int, path: String) throws -> KerasHeadChain? {
        func fail(_ s: String) -> MappingError { .unsupported(path: path, detail: s) }
        if let config { return try fromConfig(config, table, headChannels: headChannels, fail: fail) }
        return try fromWeights(table, headChannels: headChannels, fail: fail)
    }

    private static func fromConfig(_ config: KerasModelConfig, _ table: KerasLayerTable, headChannels: Int,
                                   fail: (String) -> MappingError) throws -> KerasHeadChain? {
        let flat = config.flattenedLayers
        guard let top = flat.lastIndex(where: { $0.name == "top_activation" }) else { return nil }
        var chain: [EfficientNetConfig.ClassifierLayer] = [], layers: [Int: String] = [:]
        var pooled = false, width = headChannels
        func activation(_ name: String?, of layer: String) throws {
            switch name ?? "linear" {
            case "linear": return
            case "relu": chain.append(.init(.relu))
            case "swish", "silu": chain.append(.init(.silu))
            case "gelu": chain.append(.init(.gelu))
            case "sigmoid": chain.append(.init(.sigmoid))
            case "softmax": chain.append(.init(.softmax))
            case let other: throw fail("layer '\(layer)': activation '\(other)' is not supported in a classifier head (relu, swish, gelu, sigmoid, softmax or none)")
            }
        }
        for l in flat[(top + 1)...] {
            let weighted = ["Dense", "BatchNormalization"].contains(l.className)
            if weighted, !pooled { throw fail("layer '\(l.name)' (\(l.className)) runs on the unpooled features; only heads after GlobalAveragePooling2D are supported") }
            switch l.className {
            case "InputLayer": continue
            case "GlobalAveragePooling2D":
                guard !pooled, chain.isEmpty else { throw fail("layer '\(l.name)': a second pooling in the classifier head") }
                pooled = true
            case "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "ActivityRegularization":
                chain.append(.init(.dropout))
            case "Flatten":
                chain.append(.init(.flatten))
            case "BatchNormalization":
                guard let g = table.shape(l.name, ["moving_mean"]), g == [width], table.source(l.name, ["gamma"]) != nil,
                      table.source(l.name, ["beta"]) != nil else {
                    throw fail("layer '\(l.name)' (BatchNormalization on \(width) features): needs gamma, beta, moving_mean and moving_variance of \(width) (center and scale on)")
                }
                layers[chain.count] = l.name
                chain.append(.init(.batchNorm, epsilon: Float(l.epsilon ?? 1e-3)))
            case "Dense":
                guard let k = table.shape(l.name, ["kernel"]), k.count == 2, k[0] == width, k[1] > 0 else {
                    throw fail("layer '\(l.name)' (Dense): kernel \(table.shape(l.name, ["kernel"]) ?? []) does not take \(width) features")
                }
                guard table.source(l.name, ["bias"]) != nil else { throw fail("layer '\(l.name)' (Dense) has no bias (use_bias=False is not supported)") }
                layers[chain.count] = l.name
                chain.append(.linear(k[1]))
                width = k[1]
                try activation(l.activation, of: l.name)
            case "Activation":
                try activation(l.activation, of: l.name)
            case "ReLU":
                chain.append(.init(.relu))
            case "Softmax":
                chain.append(.init(.softmax))
            default:
                throw fail("layer '\(l.name)' (\(l.className)) after the base is not supported in a classifier head (Dense, BatchNormalization, Dropout, Flatten, activations)")
            }
        }
        let weighted = layers.count
        let activations = chain.filter { ![.linear, .batchNorm, .dropout, .flatten].contains($0.kind) }
        // The one classifier Dense (+ softmax) keras.applications itself has: the plain path.
        if weighted == 1, chain[layers.keys.first ?? 0].kind == .linear,
           activations.isEmpty || (activations.count == 1 && chain.last?.kind == .softmax) { return nil }
        guard weighted > 0 else { return nil }
        if chain.last?.kind == .softmax, chain.filter({ $0.kind == .softmax }).count > 1 { throw fail("a classifier head with two softmax layers") }
        return KerasHeadChain(chain: chain, layers: layers, alternatives: nil,
                              decisions: ["classifier chain \(HeadSpelling.describe(chain)) (model config: \(layers.keys.sorted().map { layers[$0]! }.joined(separator: ", ")))"])
    }

    private static func fromWeights(_ table: KerasLayerTable, headChannels: Int, fail: (String) -> MappingError) throws -> KerasHeadChain? {
        let own = table.layerOrder.filter { !isBaseLayer($0) }
        var dense = own.filter { table.shape($0, ["kernel"])?.count == 2 }
        var norms = own.filter { table.source($0, ["moving_mean"]) != nil && table.source($0, ["gamma"]) != nil }
        guard dense.count > 1 || !norms.isEmpty else { return nil }
        var ordered: [(String, EfficientNetConfig.ClassifierLayer)] = []
        var width = headChannels
        while !dense.isEmpty {
            if let n = norms.firstIndex(where: { table.shape($0, ["moving_mean"]) == [width] }) {
                ordered.append((norms.remove(at: n), .init(.batchNorm, epsilon: 1e-3)))
            }
            let next = dense.filter { table.shape($0, ["kernel"])?[0] == width }
            guard next.count == 1, let k = table.shape(next[0], ["kernel"]) else {
                throw fail(next.isEmpty ? "Dense layers \(dense.joined(separator: ", ")): none takes \(width) features, so they do not chain into a classifier"
                                        : "Dense layers \(next.joined(separator: ", ")) all take \(width) features: their order is not in a weights-only file (convert the .keras file, which has it)")
            }
            dense.removeAll { $0 == next[0] }
            ordered.append((next[0], .linear(k[1])))
            width = k[1]
        }
        guard norms.isEmpty else { throw fail("BatchNormalization layers \(norms.joined(separator: ", ")) fit nowhere in the classifier chain") }
        // Every weighted layer but the last may be followed by an activation (a Dense's own, or
        // an Activation layer): one open position after each.
        var known: [Int: EfficientNetConfig.ClassifierLayer] = [:], layers: [Int: String] = [:]
        for (i, (name, layer)) in ordered.enumerated() {
            known[2 * i] = layer
            layers[2 * i] = name
        }
        var assumptions = ["Keras weights-only file: the classifier's activations are not stored (the model config, in a .keras or full .h5 file, has them), nor whether the last Dense ends in a softmax"]
        if ordered.contains(where: { $0.1.kind == .batchNorm }) { assumptions.append("classifier BatchNormalization epsilon 1e-3 assumed (Keras' default)") }
        var alternatives = HeadAlternatives(source: ordered.map(\.0).joined(separator: ", "), known: known, assumptions: assumptions,
                                            trailing: [nil, .softmax])
        alternatives.positional = false
        return KerasHeadChain(chain: alternatives.placeholder, layers: layers, alternatives: alternatives, decisions: assumptions)
    }
}
