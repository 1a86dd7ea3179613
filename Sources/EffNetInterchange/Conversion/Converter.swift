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
        /// Keras files only: the [height, width] the model was built for. A weights-only file
        /// does not record it, and it fixes the static SAME padding of every stride-2 conv
        /// (`KerasFamily.mapping(for:imageSize:)`); without it the variant's default size is
        /// assumed, or Keras' even-size rule.
        public var imageSize: [Int]?
        /// The family whose files DEST is written as (`--to`); nil for .effw and ONNX, and for
        /// the Keras files, whose container decides.
        public var target: FamilyName?
        /// `--names`: the user's renaming of the file's tensor names onto a family's.
        public var names: NameMap?
        /// `--head`: the classifier chain, where the file does not show every layer.
        public var head: [EfficientNetConfig.ClassifierLayer]?
        public init() {}
    }

    /// How weights are stored in the written .effw (they are always computed in f32).
    public enum StoragePolicy: String, Sendable, CaseIterable {
        case f32, f16, bf16
        /// Keep the source's half type when every mapped tensor has it, else f32.
        case source
    }

    /// Builds the Swift model a mapping describes from the checkpoint's tensors, after the
    /// strict check of `resolve`.
    /// - Throws: `WeightCheckError` with every missing, unused, mismatched or non-finite tensor;
    ///   `MappingError` when a layout transform does not apply.
    public static func buildModel(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping,
                                  allowNonFinite: Bool = false) throws -> EfficientNet {
        let resolved = try resolve(checkpoint, mapping, allowNonFinite: allowNonFinite)
        let model = try EfficientNet(config: mapping.config)
        var tensors: [String: Tensor] = [:]
        for r in resolved { tensors[r.name] = try r.tensor.tensor() }
        // Non-finite values were checked on the source views already.
        try model.load(tensors, allowNonFinite: true)
        return model
    }

    /// Chooses the mapping: the source's own (ONNX), the requested family, or detection.
    /// - Throws: `MappingError.unknownFamily` / `.ambiguousFamily`.
    public static func candidateMappings(_ checkpoint: SourceCheckpoint, family: FamilyName?,
                                         imageSize: [Int]? = nil) throws -> [WeightMapping] {
        if let imageSize {
            let keras: Set<SourceFormat> = [.kerasH5, .kerasWeightsH5, .kerasArchive]
            guard keras.contains(checkpoint.format), family == nil || family == .keras else {
                throw MappingError.unsupported(
                    path: checkpoint.path,
                    detail: "an image size applies to Keras files (it fixes their SAME padding); this is \(checkpoint.format.rawValue)")
            }
            return [try KerasFamily.mapping(for: checkpoint, imageSize: imageSize)]
        }
        if let own = checkpoint.selfMapping { return [try own()] }
        // A wrapper's attribute prefix on every name ("model."): when the names fit no family
        // with it and one without, map them without it.
        func withoutSharedPrefix() throws -> [WeightMapping]? {
            guard let prefix = checkpoint.sharedNamePrefix else { return nil }
            let inner = checkpoint.removingNamePrefix(prefix)
            guard !FamilyRegistry.detect(inner).isEmpty else { return nil }
            return try candidateMappings(inner, family: family).map { $0.prefixingSources(prefix) }
        }
        if let family {
            guard let f = FamilyRegistry.family(named: family) else {
                throw MappingError.unsupported(path: checkpoint.path, detail: "family '\(family.rawValue)' does not apply to this file")
            }
            do {
                return [try f.mapping(for: checkpoint)]
            } catch {
                if let m = try? withoutSharedPrefix() { return m }
                throw error
            }
        }
        let found = FamilyRegistry.detect(checkpoint)
        if found.isEmpty, let m = try withoutSharedPrefix() { return m }
        guard let best = found.first else {
            let sample = checkpoint.names.prefix(4).joined(separator: ", ")
            throw MappingError.unknownFamily(path: checkpoint.path, detail: "no family recognises names such as \(sample) (weights of your own module: map their names with --names MAP.json)")
        }
        let tied = found.filter { $0.score == best.score }
        return try tied.compactMap { FamilyRegistry.family(named: $0.family) }.map { try $0.mapping(for: checkpoint) }
    }
}
