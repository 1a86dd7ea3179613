import EffNet
import EffNetKeras

/// A Keras checkpoint's tensors by layer and variable, under keras.applications' layer names.
///
/// Source names are "<layer>/<variable>" (see `SourceReader+Keras.swift`). A model nested in
/// another ("efficientnetb0/stem_conv/kernel") is unwrapped by dropping the prefix in front of
/// `stem_conv`. Keras 3 `.weights.h5` files that only carry class-name counters ("conv2d_3")
/// are renamed to the application names by walking the variables in creation order and
/// matching shapes (`KerasCounterNaming`).
struct KerasLayerTable {
    /// layer -> variable -> source tensor name.
    private(set) var variables: [String: [String: String]] = [:]
    /// Layers in the order their first tensor appears in the file.
    private(set) var layerOrder: [String] = []
    private var shapes: [String: [Int]] = [:]
    /// What was dropped in front of every layer name (a nesting model's name), if anything.
    private(set) var strippedPrefix = ""
    /// True when the names were rebuilt from class-name counters.
    private(set) var renamedFromCounters = false

    init(_ checkpoint: SourceCheckpoint) {
        var split: [(layer: String, variable: String, source: String, shape: [Int])] = []
        for t in checkpoint.tensors {
            guard let slash = t.name.lastIndex(of: "/") else { continue }
            split.append((String(t.name[..<slash]), String(t.name[t.name.index(after: slash)...]), t.name, t.shape))
        }
        if let stem = split.first(where: { $0.layer.hasSuffix("/stem_conv") }) {
            strippedPrefix = String(stem.layer.dropLast("stem_conv".count))
        }
        for (layer, variable, source, shape) in split {
            let name = !strippedPrefix.isEmpty && layer.hasPrefix(strippedPrefix) ? String(layer.dropFirst(strippedPrefix.count)) : layer
            add(layer: name, variable: variable, source: source, shape: shape)
        }
    }

    private init() {}

    private mutating func add(layer: String, variable: String, source: String, shape: [Int]) {
        if variables[layer] == nil { layerOrder.append(layer) }
        variables[layer, default: [:]][variable] = source
        shapes[source] = shape
    }

    func has(_ layer: String) -> Bool { variables[layer] != nil }

    /// The source name of the first of `names` the layer has.
    func source(_ layer: String, _ names: [String]) -> String? {
        guard let vars = variables[layer] else { return nil }
        return names.lazy.compactMap { vars[$0] }.first
    }

    func shape(_ layer: String, _ names: [String]) -> [Int]? { source(layer, names).flatMap { shapes[$0] } }

    func shape(ofSource source: String) -> [Int]? { shapes[source] }

    /// Which naming the file uses.
    enum Scheme { case applications, counters }

    var scheme: Scheme? {
        if source("stem_conv", ["kernel"]) != nil { return .applications }
        let classes = Set(layerOrder.map { Self.splitCounter($0).0 })
        if classes.contains("conv2d"), classes.contains("depthwise_conv2d") { return .counters }
        return nil
    }

    /// The same tensors under new layer names (layers missing from `names` keep theirs).
    func renamed(_ names: [String: String]) -> KerasLayerTable {
        var t = KerasLayerTable()
        t.strippedPrefix = strippedPrefix
        t.renamedFromCounters = true
        for layer in layerOrder {
            for (variable, source) in (variables[layer] ?? [:]).sorted(by: { $0.key < $1.key }) {
                t.add(layer: names[layer] ?? layer, variable: variable, source: source, shape: shapes[source] ?? [])
            }
        }
        return t
    }

    /// "batch_normalization_12" -> ("batch_normalization", 12); "conv2d" -> ("conv2d", 0).
    static func splitCounter(_ name: String) -> (String, Int) {
        guard let underscore = name.lastIndex(of: "_") else { return (name, 0) }
        let digits = name[name.index(after: underscore)...]
        guard !digits.isEmpty, digits.count < 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else {
            return (name, 0)
        }
        return (String(name[..<underscore]), n)
    }
}
