import EffNet

extension Converter {
    /// Where one canonical tensor's values come from, after the strict check.
    public enum ResolvedTensor: @unchecked Sendable {
        /// A source tensor (a view into the file) and the layout change it needs.
        case source(RawTensor, LayoutTransform, sourceName: String)
        /// A tensor computed by the mapping (e.g. ONNX batch norm folded into a convolution).
        case synthesized(Tensor)

        /// The dense float32 values in the canonical layout (one copy for views).
        public func tensor() throws -> Tensor {
            switch self {
            case let .source(raw, transform, name): return try transform.apply(raw, name: name)
            case let .synthesized(t): return t
            }
        }
    }

    /// The one strict check of a mapping against its config, done before anything is computed or
    /// written: every canonical tensor the config needs (`EfficientNet.parameterShapes(for:)`)
    /// has exactly one floating-point source whose shape after its layout transform is the
    /// expected one, every source tensor is either mapped or skipped with a reason, and (unless
    /// allowed) no value is NaN or Inf. Every problem is collected and thrown at once.
    /// - Returns: the canonical tensors in `parameterShapes` order.
    /// - Throws: `WeightCheckError`; `ConfigError` for an inconsistent config.
    public static func resolve(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping,
                               allowNonFinite: Bool = false) throws -> [(name: String, shape: [Int], tensor: ResolvedTensor)] {
        let (resolved, scan) = try resolveDeferringScan(checkpoint, mapping, allowNonFinite: allowNonFinite, parallelScan: true)
        try scan()
        return resolved
    }

    /// `resolve`, with the NaN/Inf scan (which reads every byte) handed back to run later, e.g.
    /// while the output is written. When the names and shapes already have problems, the scan
    /// runs at once so that the error lists everything.
    /// - Parameter parallelScan: scan on all cores (when nothing else runs) rather than on the
    ///   calling thread (when the scan runs beside the writer, which needs the other core).
    /// - Returns: the canonical tensors, and the scan (throws `WeightCheckError` with
    ///   `nonFinite` filled).
    public static func resolveDeferringScan(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping, allowNonFinite: Bool = false,
                                            parallelScan: Bool = false)
        throws -> (resolved: [(name: String, shape: [Int], tensor: ResolvedTensor)], scan: @Sendable () throws -> Void) {
        try mapping.config.validate()
        var problems = WeightCheckError()
        var byName: [String: SourceTensor] = [:]
        for t in checkpoint.tensors { byName[t.name] = t }
        var assigned: [String: (WeightMapping.Assignment, SourceTensor)] = [:]
        var usedSources = Set<String>()
        for a in mapping.assignments {
            guard let src = byName[a.source] else {
                problems.missing.append("\(a.canonical) (source '\(a.source)' is not in the file)")
                continue
            }
            usedSources.insert(a.source)
            guard src.dtype.isFloatingPoint else {
                problems.mismatched.append(.init(name: "\(a.canonical) <- \(a.source) (\(src.dtype.rawValue), not floating point)",
                                                 expected: [], actual: src.shape))
                continue
            }
            if assigned[a.canonical] != nil || mapping.synthesized[a.canonical] != nil {
                problems.unused.append("\(a.source) (a second source for \(a.canonical))")
                continue
            }
            assigned[a.canonical] = (a, src)
        }
        let skippedSources = Set(mapping.skipped.map(\.source))
        problems.unused += checkpoint.tensors.map(\.name)
            .filter { !usedSources.contains($0) && !skippedSources.contains($0) }
            .map { "\($0) (matches no parameter of the model)" }

        let expected = EfficientNet.parameterShapes(for: mapping.config)
        let expectedNames = Set(expected.map(\.name))
        problems.unused += assigned.keys.filter { !expectedNames.contains($0) }.sorted()
            .map { "\(assigned[$0]!.0.source) (mapped to \($0), which this model does not have)" }
        problems.unused += mapping.synthesized.keys.filter { !expectedNames.contains($0) }.sorted()

        var resolved: [(name: String, shape: [Int], tensor: ResolvedTensor)] = []
        var scans: [(name: String, source: String, tensor: RawTensor)] = []
        let mentioned = Set(mapping.assignments.filter { byName[$0.source] == nil }.map(\.canonical))
        for (name, shape) in expected {
            if let t = mapping.synthesized[name] {
                guard t.shape == shape else { problems.mismatched.append(.init(name: name, expected: shape, actual: t.shape)); continue }
                if !allowNonFinite && !t.isFinite { problems.nonFinite.append(name) }
                resolved.append((name, shape, .synthesized(t)))
                continue
            }
            guard let (a, src) = assigned[name] else {
                if !mentioned.contains(name) { problems.missing.append(name) }
                continue
            }
            let out = a.transform.outputShape(src.shape)
            guard out == shape else {
                let how = a.transform == .identity ? "" : " [\(a.transform)]"
                problems.mismatched.append(.init(name: "\(name) <- \(a.source)\(how)", expected: shape, actual: out ?? src.shape))
                continue
            }
            if !allowNonFinite { scans.append((name, a.source, src.raw)) }
            resolved.append((name, shape, .source(src.raw, a.transform, sourceName: a.source)))
        }
        // The NaN/Inf scan reads every byte: done once, on all cores.
        let toScan = scans
        let scan: @Sendable () throws -> Void = {
            let finite = RawTensor.allFinite(toScan.map(\.tensor), parallel: parallelScan)
            let bad = zip(toScan, finite).filter { !$1 }.map { "\($0.0.name) <- \($0.0.source)" }
            guard bad.isEmpty else { var e = WeightCheckError(); e.nonFinite = bad; throw e }
        }
        guard problems.isEmpty else {
            do { try scan() } catch let e as WeightCheckError { problems.nonFinite += e.nonFinite }
            throw problems
        }
        return (resolved, scan)
    }
}
