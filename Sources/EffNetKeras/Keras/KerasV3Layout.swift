/// Keras 3's `.weights.h5` layout (also `model.weights.h5` inside a `.keras` archive):
///
///     /vars                              the model's own variables (usually none)
///     /layers/<class>[_n]/vars/<i>       a layer's variables, i = 0 ..< count
///     /layers/<class>[_n]/layers/...     a nested model's layers
///     /optimizer/vars/<i>                optimizer state (skipped)
///
/// Group names are the layer's class in snake_case with a per-class counter, not the layer
/// name. Newer Keras writes the layer name as a `name` attribute on each `vars` group; older
/// files only have the counters, and then the model config (when there is one) tells which
/// layer is which: the n-th layer of a class in config order is `<class>_n`.
enum KerasV3Layout {
    /// Nesting followed below /layers (a model inside a model inside ...).
    static let maxDepth = 16

    /// Variable names of the classes whose order is fixed (trainable variables first, then the
    /// others, each in creation order: Keras 3's `save_own_variables`).
    static let variableNames: [String: [String]] = [
        "batch_normalization": ["gamma", "beta", "moving_mean", "moving_variance"],
        "conv1d": ["kernel", "bias"], "conv2d": ["kernel", "bias"], "conv3d": ["kernel", "bias"],
        "depthwise_conv2d": ["kernel", "bias"], "dense": ["kernel", "bias"],
        "normalization": ["mean", "variance", "count"],
    ]

    /// Reads every variable in the file.
    /// - Throws: `HDF5Error` from reading; `KerasFormatError.inconsistent` for `vars` entries
    ///   that are not 0..<n or nesting deeper than `maxDepth`.
    static func read(_ root: HDF5Group, config: KerasModelConfig?, into result: inout KerasWeightsFile) throws {
        var groupToLayer: [String: (name: String, snakeClass: String)] = [:]
        if let config {
            var counters: [String: Int] = [:]
            for layer in config.layers {
                let cls = layer.snakeClassName
                let n = counters[cls, default: 0]
                counters[cls] = n + 1
                groupToLayer[n == 0 ? cls : "\(cls)_\(n)"] = (layer.name, cls)
            }
            result.layerNames = config.layers.map(\.name)
        }
        var entries: [(group: HDF5Group, key: String, order: (Int, String, Int))] = []
        if try root.kind(of: "vars") == .group { entries.append((try root.group("vars"), "", (-1, "", 0))) }
        if try root.kind(of: "layers") == .group {
            try collect(try root.group("layers"), prefix: "", depth: 0, orderIndex: { groupName in
                if let config, let mapped = groupToLayer[groupName],
                   let i = config.layers.firstIndex(where: { $0.name == mapped.name }) { return (i, "", 0) }
                let (cls, counter) = splitCounter(groupName)
                return (Int.max, cls, counter)
            }, into: &entries)
        }
        for name in try root.childNames() where name != "vars" && name != "layers" {
            result.skipped.append((name: name, reason: name == "optimizer" ? "optimizer state" : "not model weights"))
        }
        // Model order when the config gives it, else class name then creation counter.
        entries.sort { a, b in a.order.0 != b.order.0 ? a.order.0 < b.order.0 : a.order.1 != b.order.1 ? a.order.1 < b.order.1 : a.order.2 < b.order.2 }
        var seen = Set<String>()
        var layersFound: [String] = []
        for (vars, key, _) in entries {
            let lastGroup = key.split(separator: "/").last.map(String.init) ?? key
            let (counterClass, _) = splitCounter(lastGroup)
            let mapped = key.contains("/") ? nil : groupToLayer[key]
            let layerClass: String? = key.isEmpty ? nil : (mapped?.snakeClass ?? counterClass)
            let nameAttribute = try KerasAttributes.string("name", on: vars)
            let layer = nameAttribute.flatMap { $0.isEmpty ? nil : $0 } ?? mapped?.name ?? (key.isEmpty ? "model" : key)
            let count = try vars.childNames().count
            let known = layerClass.flatMap { variableNames[$0] }
            // BatchNormalization without center or scale stores fewer variables: then the fixed
            // names would lie, so fall back to indices.
            let names: [String]? = known.flatMap { k in
                (count == k.count || (count < k.count && layerClass != "batch_normalization")) ? Array(k.prefix(count)) : nil
            }
            if !layersFound.contains(layer) { layersFound.append(layer) }
            for i in 0 ..< count {
                guard try vars.kind(of: "\(i)") == .dataset else {
                    throw KerasFormatError.inconsistent(file: root.file.name, object: vars.path,
                                                        detail: "expected datasets named 0..<\(count), '\(i)' is missing")
                }
                let dataset = try vars.dataset("\(i)")
                let variable = names?[i] ?? "\(i)"
                let name = KerasLegacyLayout.unique("\(layer)/\(variable)", &seen)
                result.weights.append(KerasWeight(name: name, layer: layer, variable: variable, layerClass: layerClass,
                                                  location: dataset.path, tensor: try dataset.read()))
            }
        }
        if config == nil { result.layerNames = layersFound }
    }

    /// Collects every `vars` group below `layers`, keyed by the path of class-name groups
    /// ("conv2d_3", or "functional/conv2d_3" for a nested model's layer).
    private static func collect(_ layers: HDF5Group, prefix: String, depth: Int,
                                orderIndex: (String) -> (Int, String, Int),
                                into entries: inout [(group: HDF5Group, key: String, order: (Int, String, Int))]) throws {
        guard depth < maxDepth else {
            throw KerasFormatError.inconsistent(file: layers.file.name, object: layers.path, detail: "layers nested deeper than \(maxDepth) levels")
        }
        for name in try layers.childNames() {
            guard try layers.kind(of: name) == .group else { continue }
            let layerGroup = try layers.group(name)
            let key = prefix.isEmpty ? name : prefix + "/" + name
            if try layerGroup.kind(of: "vars") == .group {
                let order = prefix.isEmpty ? orderIndex(name) : (Int.max, key, 0)
                entries.append((try layerGroup.group("vars"), key, order))
            }
            if try layerGroup.kind(of: "layers") == .group {
                try collect(try layerGroup.group("layers"), prefix: key, depth: depth + 1, orderIndex: orderIndex, into: &entries)
            }
        }
    }

    /// "batch_normalization_12" -> ("batch_normalization", 12); "conv2d" -> ("conv2d", 0).
    static func splitCounter(_ groupName: String) -> (String, Int) {
        guard let underscore = groupName.lastIndex(of: "_") else { return (groupName, 0) }
        let digits = groupName[groupName.index(after: underscore)...]
        guard !digits.isEmpty, digits.count < 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else {
            return (groupName, 0)
        }
        return (String(groupName[..<underscore]), n)
    }
}
