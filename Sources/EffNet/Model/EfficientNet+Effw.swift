import Foundation

extension EfficientNet {
    /// Loads a model from an .effw file: config from the metadata, every tensor strictly checked,
    /// CRC32s verified, F16/BF16 widened to F32.
    /// - Throws: `EffwError` (damaged or inconsistent file), `WeightCheckError` (tensors that do
    ///   not fit the stored config), `FileError` (unreadable).
    public convenience init(contentsOf url: URL, allowNonFinite: Bool = false) throws {
        let file = try EffwFile(path: url.path)
        guard file.isEffw else { throw EffwError(url.path, "no \(EffwKeys.version) in __metadata__: a safetensors file, not an .effw model") }
        guard file.metadata[EffwKeys.version] == EffwKeys.currentVersion else {
            throw EffwError(url.path, "format version \(file.metadata[EffwKeys.version] ?? "?") is not supported (this build reads \(EffwKeys.currentVersion))")
        }
        try self.init(config: try file.config())
        var tensors: [String: Tensor] = [:]
        for e in file.entries {
            guard e.dtype.isFloatingPoint else { throw EffwError(url.path, "tensor '\(e.name)' is \(e.dtype.rawValue), weights must be F32, F16 or BF16") }
            tensors[e.name] = try file.tensor(e.name)
        }
        do {
            try load(tensors, allowNonFinite: allowNonFinite)
        } catch let e as WeightCheckError {
            throw EffwError(url.path, e.description)
        }
        provenance = file.provenance()
    }

    /// The .effw metadata this model writes: version, config JSON, provenance.
    public func effwMetadata() throws -> [String: String] {
        try Self.effwMetadata(config: config, provenance: provenance)
    }

    /// The .effw metadata for a config and provenance (see Schemas/effw.md).
    public static func effwMetadata(config: EfficientNetConfig, provenance: Provenance?) throws -> [String: String] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var meta = [EffwKeys.version: EffwKeys.currentVersion,
                    EffwKeys.config: String(decoding: try enc.encode(config), as: UTF8.self),
                    "format": "pt"]
        if let provenance { meta[EffwKeys.provenance] = String(decoding: try enc.encode(provenance), as: UTF8.self) }
        return meta
    }

    /// Writes the model as .effw, atomically.
    /// - Parameters:
    ///   - dtype: storage type, F32 (default), F16 or BF16.
    ///   - overwrite: replace an existing file.
    /// - Throws: `FileError.exists` without `overwrite`, `FileError.cannotWrite`.
    ///   - extraMetadata: more `__metadata__` entries (class names, a fine-tuning record).
    public func write(to url: URL, dtype: DType = .f32, overwrite: Bool = false, extraMetadata: [String: String] = [:]) throws {
        precondition([.f32, .f16, .bf16].contains(dtype), "weights are stored as F32, F16 or BF16")
        var entries: [EffwWriter.Entry] = []
        for (slot, tensor) in zip(layout.slots, weights) {
            entries.append(EffwWriter.Entry(name: slot.name, dtype: dtype, shape: tensor.shape) { body in
                if dtype == .f32 {
                    try tensor.scalars.withUnsafeBytes(body)   // little-endian hosts: no copy
                } else {
                    try EffwWriter.encode(tensor.scalars, as: dtype).withUnsafeBytes(body)
                }
            })
        }
        var metadata = try effwMetadata()
        for (k, v) in extraMetadata { metadata[k] = v }
        try EffwWriter.write(entries: entries, metadata: metadata, to: url.path, overwrite: overwrite)
    }
}
