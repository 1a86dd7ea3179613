import Foundation

/// What a Keras model does to its input before the first convolution, reduced to one
/// per-channel affine map y[c] = x[c] * scale[c] + offset[c], computed in double precision.
///
/// Layers understood (their inference-time behaviour, from the Keras sources):
/// - `Rescaling(scale, offset)`: x * scale + offset, scale and offset scalars or per channel.
/// - `Normalization(axis=-1)`: (x - mean) / max(sqrt(variance), 1e-7) (Keras' epsilon), mean and
///   variance from the config when given there, else from the layer's stored weights.
/// - tf.keras 2's `TFOpLambda` `math.multiply` / `math.truediv` by a constant (how
///   keras.applications applies the extra 1/sqrt(std) of tensorflow issue 49930 there).
/// - augmentation layers (`RandomFlip`, `RandomRotation`, ...), identity at inference.
public struct KerasInputPreprocessing: Sendable, Equatable {
    public var scale: [Double]
    public var offset: [Double]
    /// One line per layer folded in, for reports ("rescaling: x * 0.00392157 + 0").
    public var steps: [String]
    /// Names of the layers folded in (their weights need not be mapped anywhere else).
    public var layers: [String]

    /// The identity on `channels` channels.
    public init(channels: Int) {
        scale = Array(repeating: 1, count: channels)
        offset = Array(repeating: 0, count: channels)
        steps = []
        layers = []
    }

    /// Keras' `backend.epsilon()`, the floor on Normalization's standard deviation.
    public static let normalizationEpsilon = 1e-7

    public var isIdentity: Bool { scale.allSatisfy { $0 == 1 } && offset.allSatisfy { $0 == 0 } }

    /// Composes x -> x * s + o after the current map.
    /// - Throws: `KerasFormatError.unsupported` when `s` or `o` has a length other than 1 or the
    ///   channel count.
    public mutating func then(scale s: [Double], offset o: [Double], step: String, file: String, layer: String) throws {
        let s = try broadcast(s, file: file, layer: layer), o = try broadcast(o, file: file, layer: layer)
        for c in scale.indices {
            scale[c] *= s[c]
            offset[c] = offset[c] * s[c] + o[c]
        }
        steps.append(step)
        layers.append(layer)
    }

    /// Composes a Normalization: (x - mean) / max(sqrt(variance), epsilon).
    /// - Throws: as `then(scale:offset:...)`, and for a negative variance.
    public mutating func thenNormalize(mean: [Double], variance: [Double], file: String, layer: String) throws {
        let m = try broadcast(mean, file: file, layer: layer), v = try broadcast(variance, file: file, layer: layer)
        guard v.allSatisfy({ $0 >= 0 && $0.isFinite }), m.allSatisfy(\.isFinite) else {
            throw KerasFormatError.unsupported(file: file, object: layer, detail: "Normalization with mean \(m) and variance \(v)")
        }
        let d = v.map { max($0.squareRoot(), Self.normalizationEpsilon) }
        try then(scale: d.map { 1 / $0 }, offset: zip(m, d).map { -$0 / $1 },
                 step: "\(layer): (x - \(Self.format(m))) / sqrt(\(Self.format(v)))", file: file, layer: layer)
    }

    private func broadcast(_ v: [Double], file: String, layer: String) throws -> [Double] {
        if v.count == scale.count { return v }
        if v.count == 1 { return Array(repeating: v[0], count: scale.count) }
        throw KerasFormatError.unsupported(file: file, object: layer, detail: "\(v.count) values for \(scale.count) input channels")
    }

    static func format(_ v: [Double]) -> String {
        let parts = v.map { String(format: "%.6g", $0) }
        return parts.count == 1 ? parts[0] : "[" + parts.joined(separator: ", ") + "]"
    }

    /// Layers that do nothing at inference time.
    public static let inferenceIdentityClasses: Set<String> = [
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation", "RandomCrop",
        "RandomBrightness", "RandomHeight", "RandomWidth", "Dropout", "GaussianNoise", "GaussianDropout",
        "InputLayer",
    ]

    /// Folds the config's layers (nested models flattened) from the start up to (not including) the first layer for
    /// which `isModelStart` is true.
    /// - Parameters:
    ///   - storedWeights: a layer's stored variable ("normalization", "mean"), when the file has it.
    /// - Throws: `KerasFormatError.unsupported` naming the layer for anything else before the
    ///   model start (a Resizing layer, channels-first normalisation, an unknown TFOpLambda).
    public static func fold(_ config: KerasModelConfig, channels: Int, file: String,
                            isModelStart: (KerasModelConfig.Layer) -> Bool,
                            storedWeights: (String, String) -> [Double]?) throws -> KerasInputPreprocessing {
        var result = KerasInputPreprocessing(channels: channels)
        for layer in config.flattenedLayers {
            if isModelStart(layer) { return result }
            switch layer.className {
            case "Rescaling":
                guard let s = layer.config["scale"]?.flattenedNumbers else {
                    throw KerasFormatError.unsupported(file: file, object: layer.name, detail: "Rescaling without a numeric scale")
                }
                let o = layer.config["offset"]?.flattenedNumbers ?? [0]
                try result.then(scale: s, offset: o, step: "\(layer.name): x * \(format(s)) + \(format(o))", file: file, layer: layer.name)
            case "Normalization":
                if layer.config["invert"]?.bool == true {
                    throw KerasFormatError.unsupported(file: file, object: layer.name, detail: "Normalization(invert=True)")
                }
                if let axis = layer.config["axis"], !axis.isNull, axis.flattenedNumbers != [3], axis.flattenedNumbers != [-1] {
                    throw KerasFormatError.unsupported(file: file, object: layer.name, detail: "Normalization over axis \(axis), not the channels (last) axis")
                }
                let mean = layer.config["mean"]?.flattenedNumbers ?? storedWeights(layer.name, "mean")
                let variance = layer.config["variance"]?.flattenedNumbers ?? storedWeights(layer.name, "variance")
                guard let mean, let variance else {
                    throw KerasFormatError.unsupported(file: file, object: layer.name, detail: "Normalization without mean and variance (neither in the config nor stored)")
                }
                try result.thenNormalize(mean: mean, variance: variance, file: file, layer: layer.name)
            case "TFOpLambda":
                let function = layer.config["function"]?.string ?? "?"
                guard function == "math.multiply" || function == "math.truediv", let y = tfOpConstant(layer) else {
                    throw KerasFormatError.unsupported(file: file, object: layer.name, detail: "TFOpLambda '\(function)' before the first convolution")
                }
                let s = function == "math.multiply" ? y : y.map { 1 / $0 }
                try result.then(scale: s, offset: [0], step: "\(layer.name): x * \(format(s))", file: file, layer: layer.name)
            case let cls where inferenceIdentityClasses.contains(cls):
                continue
            case "Activation" where layer.activation == "linear":
                continue
            default:
                throw KerasFormatError.unsupported(file: file, object: layer.name,
                                                   detail: "\(layer.className) layer before the first convolution is not supported")
            }
        }
        return result
    }

    /// The constant operand of a TFOpLambda: Keras 2 records it in the inbound node's kwargs,
    /// [[["normalization", 0, 0, {"y": [[[[a, b, c]]]]}]]].
    static func tfOpConstant(_ layer: KerasModelConfig.Layer) -> [Double]? {
        guard let node = layer.inboundNodes[0] else { return nil }
        let call = node[0]?.array != nil ? node[0] : node
        guard let kwargs = call?[3] ?? node["kwargs"] else { return nil }
        return kwargs["y"]?.flattenedNumbers
    }
}
