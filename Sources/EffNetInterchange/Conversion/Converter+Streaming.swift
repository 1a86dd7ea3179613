import EffNet

extension Converter {
    /// The .effw entries for a mapping, checked strictly against the config's expected names and
    /// shapes, without building the model: tensors whose stored bytes already are the output
    /// (contiguous, little-endian, same dtype, no layout change) are written straight from the
    /// source's memory map; others are converted one tensor at a time while writing.
    /// - Throws: `WeightCheckError` with every missing, unused, mismatched or non-finite tensor.
    public static func streamingEntries(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping, storage: DType,
                                        allowNonFinite: Bool = false) throws -> [EffwWriter.Entry] {
        try checkpoint.runPendingCheck()
        let plan = try streamingPlan(checkpoint, mapping, storage: storage, allowNonFinite: allowNonFinite)
        try plan.scan()
        return plan.entries
    }

    /// `streamingEntries` with the NaN/Inf scan (it reads every byte) handed back instead of run:
    /// start it as a `ConcurrentCheck` and pass it to `EffwWriter.write(..., alongside:)` so it
    /// runs while the bytes are written and the file is committed only if it passes. The
    /// source's own deferred check (`SourceCheckpoint.pendingCheck`) is the caller's to run
    /// the same way.
    /// - Throws: `WeightCheckError` for names and shapes (with the scan's findings when there are
    ///   such problems anyway).
    /// - Parameter built: the model already built from this mapping (after verification), whose
    ///   dense tensors are written where the stored bytes cannot be (instead of converting again).
    public static func streamingPlan(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping, storage: DType,
                                     allowNonFinite: Bool = false, built: EfficientNet? = nil)
        throws -> (entries: [EffwWriter.Entry], scan: @Sendable () throws -> Void) {
        let (resolved, scan) = try resolveDeferringScan(checkpoint, mapping, allowNonFinite: allowNonFinite)
        let entries = resolved.map { name, shape, resolved in
            if case let .source(raw, transform, _) = resolved, raw.dtype == storage, transform.keepsLayout,
               let bytes = raw.contiguousBytes {
                // Zero copy: the stored bytes are the output bytes, and for a whole zip entry its
                // CRC-32 is the output's (checked on read, or by the source's pending check,
                // which must pass before the output is committed).
                return EffwWriter.Entry(name: name, dtype: storage, shape: shape, crc32: raw.contiguousCRC32) { body in
                    try body(bytes)
                }
            }
            if let t = built?.parameter(named: name) { return entry(name: name, storage: storage, shape: shape) { t } }
            return entry(name: name, storage: storage, shape: shape) { try resolved.tensor() }
        }
        return (entries, scan)
    }

    /// An entry that materialises its tensor on demand (once per writer pass).
    private static func entry(name: String, storage: DType, shape: [Int], make: @escaping () throws -> Tensor) -> EffwWriter.Entry {
        EffwWriter.Entry(name: name, dtype: storage, shape: shape) { body in
            let t = try make()
            if storage == .f32 {
                try t.scalars.withUnsafeBytes(body)
            } else {
                try EffwWriter.encode(t.scalars, as: storage).withUnsafeBytes(body)
            }
        }
    }
}

extension LayoutTransform {
    /// True when the element order is unchanged (identity or a reshape).
    public var keepsLayout: Bool {
        switch self {
        case .identity, .reshape: return true
        default: return false
        }
    }

    /// The shape `apply` would produce for `shape`, or nil when the transform does not apply.
    public func outputShape(_ shape: [Int]) -> [Int]? {
        switch self {
        case .identity: return shape
        case let .reshape(s): return s.reduce(1, *) == shape.reduce(1, *) ? s : nil
        case .transpose2D: return shape.count == 2 ? [shape[1], shape[0]] : nil
        case .hwioToOIHW: return shape.count == 4 ? [shape[3], shape[2], shape[0], shape[1]] : nil
        case .depthwiseHWC1ToC1HW: return shape.count == 4 && shape[3] == 1 ? [shape[2], shape[3], shape[0], shape[1]] : nil
        }
    }
}
