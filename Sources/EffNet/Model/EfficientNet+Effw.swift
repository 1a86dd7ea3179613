import Foundation

extension EfficientNet {
    /// Loads a model from an .effw file: config from the metadata, every tensor strictly checked,
    /// CRC32s verified, F16/BF16 widened to F32.
    ///
    /// A float32 file (what the converter writes) is not copied: the fast path's plan (batch
    /// norm folded, weights packed) is built straight from the file's map on every core, with
    /// the CRC-32 and finite checks running in the same parallel loop, and `weights` become
    /// arrays only when something asks for them. The model keeps the file mapped; the tools
    /// replace files by renaming a new one into place, which leaves the mapped one intact.
    /// - Throws: `EffwError` (damaged or inconsistent file), `WeightCheckError` (tensors that do
    ///   not fit the stored config), `FileError` (unreadable).
    public convenience init(contentsOf url: URL, allowNonFinite: Bool = false) throws {
        let file = try EffwFile(path: url.path, verifyChecksums: false)
        guard file.isEffw else { throw EffwError(url.path, "no \(EffwKeys.version) in __metadata__: a safetensors file, not an .effw model") }
        guard file.metadata[EffwKeys.version] == EffwKeys.currentVersion else {
            throw EffwError(url.path, "format version \(file.metadata[EffwKeys.version] ?? "?") is not supported (this build reads \(EffwKeys.currentVersion))")
        }
        let expected = try file.expectedCRC32() ?? []
        let config = try file.config()
        for e in file.entries where !e.dtype.isFloatingPoint {
            throw EffwError(url.path, "tensor '\(e.name)' is \(e.dtype.rawValue), weights must be F32, F16 or BF16")
        }
        let layout = ParameterLayout(config: config)
        let slotEntries = layout.slots.map { file.entryIndex(named: $0.name) }
        let fits = slotEntries.count == file.entries.count
            && zip(layout.slots, slotEntries).allSatisfy { slot, e in e.map { file.entries[$0].shape == slot.shape } ?? false }
        let mapped = fits ? slotEntries.map { file.floats($0!) } : []
        guard fits, mapped.allSatisfy({ $0 != nil }) else {
            // Names or shapes that do not fit (reported by `load` below, after the CRCs, as
            // always), or F16/BF16 tensors: checked one by one and copied into arrays.
            for i in file.entries.indices { try file.checkCRC32(entry: i, expected: expected[i]) }
            self.init(validatedConfig: config, layout: layout, weights: WeightStore([]))
            var tensors: [String: Tensor] = [:]
            for e in file.entries { tensors[e.name] = try file.tensor(e.name) }
            do {
                try load(tensors, allowNonFinite: allowNonFinite)
            } catch let e as WeightCheckError {
                throw EffwError(url.path, e.description)
            }
            provenance = file.provenance()
            return
        }
        let entries = slotEntries.map { $0! }
        self.init(validatedConfig: config, layout: layout,
                  weights: WeightStore(mapped: .init(file: file, entries: entries, shapes: layout.slots.map(\.shape), crc32: expected)))
        // The checks, in slices of about 8 MB, run beside the plan's jobs.
        let damaged = JobResults<Error>(count: file.entries.count), nonFinite = JobResults<Bool>(count: entries.count)
        var checks: [() -> Void] = []
        var first = 0, bytes = 0
        for s in entries.indices {
            bytes += file.entries[entries[s]].dataRange.count
            if bytes >= 8 << 20 || s == entries.count - 1 {
                let range = first ..< s + 1
                checks.append { [file] in
                    for s in range {
                        let e = entries[s]
                        do { try file.checkCRC32(entry: e, expected: expected[e]) } catch { damaged[e] = error; continue }
                        if !allowNonFinite, let t = try? file.rawTensor(file.entries[e].name), !t.allFinite { nonFinite[s] = true }
                    }
                }
                first = s + 1
                bytes = 0
            }
        }
        let source = PlanSource(config: config, layout: layout, slots: mapped.map { $0! }, owner: file)
        let plan = InferencePlan(source: source, paddingResolver: paddingResolver, version: weightStore.version,
                                 threads: ProcessInfo.processInfo.activeProcessorCount, alongside: checks)
        if let error = file.entries.indices.lazy.compactMap({ damaged[$0] }).first { throw error }
        let bad = entries.indices.filter { nonFinite[$0] == true }.map { layout.slots[$0].name }
        guard bad.isEmpty else {
            throw EffwError(url.path, WeightCheckError(missing: [], unused: [], mismatched: [], nonFinite: bad).description)
        }
        inferenceState.install(plan)
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
