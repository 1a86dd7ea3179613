import EffNet

/// Reads a Keras weights file in any of its layouts.
public enum KerasWeightsReader {
    /// Reads the HDF5 file at `path`: a full-model .h5, a weights-only .h5, or a `.weights.h5`.
    /// - Throws: `HDF5Error` (libhdf5's own diagnosis of a damaged file, limits), or
    ///   `KerasFormatError` when the file is HDF5 but not a Keras layout or contradicts itself.
    public static func read(path: String) throws -> KerasWeightsFile {
        try read(HDF5File(path: path), config: nil)
    }

    /// Reads an opened HDF5 file. `config` is the model config from outside the HDF5 file (a
    /// .keras archive's config.json); it orders and names Keras 3 weights whose groups carry
    /// only class-name counters.
    /// - Throws: as `read(path:)`.
    public static func read(_ file: HDF5File, config: String?) throws -> KerasWeightsFile {
        let root = try file.root()
        let modelConfigText = try KerasAttributes.string("model_config", on: root)
        // The config travels on (notes, the contained reader's result): bounded like a .keras config.json.
        if let text = modelConfigText, text.utf8.count > KerasArchive.maxConfigBytes {
            throw KerasFormatError.unsupported(file: file.name, object: "/", detail: "the model_config attribute is \(text.utf8.count) bytes, over the \(KerasArchive.maxConfigBytes >> 20) MiB limit (an EfficientNet config is a few hundred KB)")
        }
        if let modelConfigText, try root.kind(of: "model_weights") == .group {
            var result = KerasWeightsFile(path: file.name, layout: .fullModelH5, modelConfig: modelConfigText)
            result.kerasVersion = try KerasAttributes.string("keras_version", on: root)
            result.backend = try KerasAttributes.string("backend", on: root)
            try KerasLegacyLayout.read(try root.group("model_weights"), into: &result)
            if try root.kind(of: "optimizer_weights") == .group { result.skipped.append((name: "optimizer_weights", reason: "optimizer state")) }
            return result
        }
        if try root.hasAttribute("layer_names") || root.hasAttribute("layer_names0") {
            var result = KerasWeightsFile(path: file.name, layout: .weightsH5)
            try KerasLegacyLayout.read(root, into: &result)
            return result
        }
        if try root.kind(of: "layers") == .group || root.kind(of: "vars") == .group {
            var parsed: KerasModelConfig? = nil
            if let config { parsed = try KerasModelConfig(json: config, source: file.name) }
            var result = KerasWeightsFile(path: file.name, layout: .weightsV3, modelConfig: config)
            try KerasV3Layout.read(root, config: parsed, into: &result)
            return result
        }
        if try root.kind(of: "_layer_checkpoint_dependencies") == .group {
            throw KerasFormatError.unrecognisedLayout(file: file.name, detail: "a Keras 2.13 '_layer_checkpoint_dependencies' weights file (not supported; re-save it with Keras 3)")
        }
        let children = (try? root.childNames().prefix(5).joined(separator: ", ")) ?? ""
        throw KerasFormatError.unrecognisedLayout(
            file: file.name, detail: "no model_weights group, no layer_names attribute and no layers group (top level holds: \(children.isEmpty ? "nothing" : children))")
    }
}
