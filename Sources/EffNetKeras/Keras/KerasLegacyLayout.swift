/// The legacy HDF5 layout that tf.keras 2 (`model.save`, `save_weights`) and Keras 3's legacy
/// writer share: a group holding `layer_names`, one subgroup per layer holding `weight_names`,
/// and a dataset per weight at `<layer>/<weight name>`. tf.keras names end in ":0"; Keras 3's
/// do not.
enum KerasLegacyLayout {
    /// Reads the weights below `group` (the root, or `/model_weights`), in `layer_names` order.
    /// - Throws: `HDF5Error` from reading, `KerasFormatError.inconsistent` when a listed layer
    ///   or weight is missing.
    static func read(_ group: HDF5Group, into result: inout KerasWeightsFile) throws {
        let fileName = group.file.name
        guard let layerNames = try KerasAttributes.stringList("layer_names", on: group) else {
            throw KerasFormatError.unrecognisedLayout(file: fileName, detail: "'\(group.path)' has no layer_names attribute")
        }
        result.layerNames = layerNames
        result.kerasVersion = try KerasAttributes.string("keras_version", on: group) ?? result.kerasVersion
        result.backend = try KerasAttributes.string("backend", on: group) ?? result.backend
        var layers = layerNames
        // Keras 3 also writes the model's own variables in a group that layer_names leaves out.
        if !layers.contains("top_level_model_weights"), try group.kind(of: "top_level_model_weights") == .group {
            layers.append("top_level_model_weights")
        }
        var seen = Set<String>()
        for layerName in layers {
            guard !layerName.isEmpty, try group.kind(of: layerName) == .group else {
                throw KerasFormatError.inconsistent(file: fileName, object: group.path,
                                                    detail: "layer_names lists '\(layerName)' but there is no such group")
            }
            let layerGroup = try group.group(layerName)
            for weightName in try KerasAttributes.stringList("weight_names", on: layerGroup) ?? [] {
                guard !weightName.isEmpty, try layerGroup.kind(of: weightName) == .dataset else {
                    throw KerasFormatError.inconsistent(file: fileName, object: layerGroup.path,
                                                        detail: "weight_names lists '\(weightName)' but there is no such dataset")
                }
                let dataset = try layerGroup.dataset(weightName)
                var name = stripIndexSuffix(weightName)
                if !name.hasPrefix(layerName + "/") { name = layerName + "/" + name }
                name = unique(name, &seen)
                let variable = String(name.split(separator: "/").last ?? Substring(name))
                result.weights.append(KerasWeight(name: name, layer: layerName, variable: variable, layerClass: nil,
                                                  location: dataset.path, tensor: try dataset.read()))
            }
        }
    }

    /// "kernel:0" -> "kernel" (TensorFlow's output-index suffix).
    static func stripIndexSuffix(_ name: String) -> String {
        guard let colon = name.lastIndex(of: ":") else { return name }
        let digits = name[name.index(after: colon)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return name }
        return String(name[..<colon])
    }

    /// Keeps names unique: a repeated name gets "#2", "#3", ... (old tf.keras could repeat
    /// weight names inside one layer).
    static func unique(_ name: String, _ seen: inout Set<String>) -> String {
        var candidate = name
        var n = 2
        while seen.contains(candidate) { candidate = "\(name)#\(n)"; n += 1 }
        seen.insert(candidate)
        return candidate
    }
}
