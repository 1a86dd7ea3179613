import EffNet
import Foundation

/// The conversion pipeline: read -> family -> mapping -> strict load -> verify -> write.
public enum Converter {
    public struct Options: Sendable {
        public var family: FamilyName?
        /// How to read the source (e.g. which PyTorch checkpoint key holds the weights).
        public var read = SourceReader.Options()
        public var checkInput: String?
        public var checkOutput: String?
        public var tolerance: Float = 1e-4
        public var overwrite = false
        public var allowNonFinite = false
        /// Storage type of the written .effw.
        public var storage: StoragePolicy = .f32
        public init() {}
    }

    /// How weights are stored in the written .effw (they are always computed in f32).
    public enum StoragePolicy: String, Sendable, CaseIterable {
        case f32, f16, bf16
        /// Keep the source's half type when every mapped tensor has it, else f32.
        case source
    }

    /// Builds the Swift model a mapping describes from the checkpoint's tensors.
    /// - Throws: `WeightCheckError` with every missing, unused, mismatched or non-finite tensor;
    ///   `MappingError` when a layout transform does not apply.
    public static func buildModel(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping,
                                  allowNonFinite: Bool = false) throws -> EfficientNet {
        let model = try EfficientNet(config: mapping.config)
        var tensors = mapping.synthesized
        var problems = WeightCheckError(missing: [], unused: [], mismatched: [], nonFinite: [])
        var byName: [String: SourceTensor] = [:]
        for t in checkpoint.tensors { byName[t.name] = t }
        for a in mapping.assignments {
            guard let src = byName[a.source] else {
                problems.missing.append("\(a.canonical) (source '\(a.source)' not in the file)")
                continue
            }
            guard src.dtype.isFloatingPoint else {
                problems.mismatched.append(.init(name: "\(a.canonical) <- \(a.source) (\(src.dtype.rawValue), not floating point)", expected: [], actual: src.shape))
                continue
            }
            if tensors[a.canonical] != nil {
                problems.unused.append("\(a.source) (a second source for \(a.canonical))")
                continue
            }
            tensors[a.canonical] = try a.transform.apply(src.raw.tensor(), name: a.source)
        }
        do {
            try model.load(tensors, allowNonFinite: allowNonFinite)
        } catch var e as WeightCheckError {
            e.missing = problems.missing + e.missing
            e.unused = problems.unused + e.unused
            e.mismatched = problems.mismatched + e.mismatched
            throw e
        }
        guard problems.isEmpty else { throw problems }
        return model
    }

    /// Chooses the mapping: the source's own (ONNX), the requested family, or detection.
    /// - Throws: `MappingError.unknownFamily` / `.ambiguousFamily`.
    public static func candidateMappings(_ checkpoint: SourceCheckpoint, family: FamilyName?) throws -> [WeightMapping] {
        if let own = checkpoint.selfMapping { return [try own()] }
        if let family {
            guard let f = FamilyRegistry.family(named: family) else {
                throw MappingError.unsupported(path: checkpoint.path, detail: "family '\(family.rawValue)' does not apply to this file")
            }
            return [try f.mapping(for: checkpoint)]
        }
        let found = FamilyRegistry.detect(checkpoint)
        guard let best = found.first else {
            let sample = checkpoint.names.prefix(4).joined(separator: ", ")
            throw MappingError.unknownFamily(path: checkpoint.path, detail: "no family recognises names such as \(sample)")
        }
        let tied = found.filter { $0.score == best.score }
        return try tied.compactMap { FamilyRegistry.family(named: $0.family) }.map { try $0.mapping(for: checkpoint) }
    }
}
