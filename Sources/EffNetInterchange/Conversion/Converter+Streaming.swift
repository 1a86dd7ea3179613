import EffNet

extension Converter {
    /// The .effw entries for a mapping, checked strictly against the config's expected names and
    /// shapes, without building the model: tensors whose stored bytes already are the output
    /// (contiguous, little-endian, same dtype, no layout change) are written straight from the
    /// source's memory map; others are converted one tensor at a time while writing.
    /// - Throws: `WeightCheckError` with every missing, unused, mismatched or non-finite tensor.
    public static func streamingEntries(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping, storage: DType,
                                        allowNonFinite: Bool = false) throws -> [EffwWriter.Entry] {
        try mapping.config.validate()
        var problems = WeightCheckError()
        var byName: [String: SourceTensor] = [:]
        for t in checkpoint.tensors { byName[t.name] = t }
        var assigned: [String: (WeightMapping.Assignment, SourceTensor)] = [:]
        for a in mapping.assignments {
            guard let src = byName[a.source] else {
                problems.missing.append("\(a.canonical) (source '\(a.source)' not in the file)")
                continue
            }
            guard src.dtype.isFloatingPoint else {
                problems.mismatched.append(.init(name: "\(a.canonical) <- \(a.source) (\(src.dtype.rawValue), not floating point)", expected: [], actual: src.shape))
                continue
            }
            if assigned[a.canonical] != nil || mapping.synthesized[a.canonical] != nil {
                problems.unused.append("\(a.source) (a second source for \(a.canonical))")
                continue
            }
            assigned[a.canonical] = (a, src)
        }
        let expected = EfficientNet.parameterShapes(for: mapping.config)
        let expectedNames = Set(expected.map(\.name))
        problems.unused += assigned.keys.filter { !expectedNames.contains($0) }.sorted()
        problems.unused += mapping.synthesized.keys.filter { !expectedNames.contains($0) }.sorted()

        var entries: [EffwWriter.Entry] = []
        for (name, shape) in expected {
            if let t = mapping.synthesized[name] {
                guard t.shape == shape else { problems.mismatched.append(.init(name: name, expected: shape, actual: t.shape)); continue }
                if !allowNonFinite && !t.isFinite { problems.nonFinite.append(name) }
                entries.append(entry(name: name, storage: storage, shape: shape) { t })
                continue
            }
            guard let (a, src) = assigned[name] else { problems.missing.append(name); continue }
            guard let outShape = a.transform.outputShape(src.shape), outShape == shape else {
                problems.mismatched.append(.init(name: "\(name) <- \(a.source)\(a.transform == .identity ? "" : " [\(a.transform)]")", expected: shape,
                                                 actual: a.transform.outputShape(src.shape) ?? src.shape))
                continue
            }
            if !allowNonFinite && !src.raw.allFinite { problems.nonFinite.append("\(name) <- \(a.source)") }
            let raw = src.raw
            let layoutKept = a.transform == .identity || { if case .reshape = a.transform { return true } else { return false } }()
            if layoutKept, raw.dtype == storage, let bytes = raw.contiguousBytes {
                // Zero copy: the stored bytes are the output bytes.
                entries.append(EffwWriter.Entry(name: name, dtype: storage, shape: shape) { body in try body(bytes) })
            } else {
                let transform = a.transform, source = a.source
                entries.append(entry(name: name, storage: storage, shape: shape) { try transform.apply(raw.tensor(), name: source) })
            }
        }
        guard problems.isEmpty else { throw problems }
        return entries
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
