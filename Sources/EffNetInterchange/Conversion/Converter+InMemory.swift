import EffNet

extension Converter {
    /// Weights of any supported source on EffNet's canonical names, read and checked as a
    /// conversion would, with nothing written: what effnet-predict runs and effnet-diff compares.
    public struct CanonicalWeights {
        public var path: String
        public var format: SourceFormat
        /// The family whose names the source uses (for an .effw, the one it was converted from).
        public var family: String
        public var config: EfficientNetConfig
        /// Canonical tensors in `EfficientNet.parameterShapes` order.
        public var tensors: [(name: String, tensor: Tensor)]
        /// What the mapping decided (conventions a weights-only file leaves open).
        public var notes: [String]
        /// The classes' names, when the source gives them (a hub config's id2label).
        public var classNames: [String]? = nil

        /// The model these weights make (not verified against the source framework: that is
        /// what effnet-convert does with a reference pair or an ONNX graph).
        public func model() throws -> EfficientNet {
            let model = try EfficientNet(config: config)
            var byName: [String: Tensor] = [:]
            for t in tensors { byName[t.name] = t.tensor }
            try model.load(byName, allowNonFinite: true)  // checked by resolve already
            return model
        }
    }

    /// Reads `source` (any format effnet-convert takes, .effw included) onto canonical names.
    /// - Throws: the readers' errors, `MappingError` (also when several families fit and only a
    ///   reference could decide: the error names `--family`), `WeightCheckError`.
    public static func canonicalWeights(source: String, family: FamilyName? = nil, read: SourceReader.Options = .init(),
                                        imageSize: [Int]? = nil, allowNonFinite: Bool = false, names: NameMap? = nil,
                                        head: [EfficientNetConfig.ClassifierLayer]? = nil) throws -> CanonicalWeights {
        let checkpoint = try SourceReader.read(path: source, options: read)
        let candidates = try candidateMappings(checkpoint, family: family, imageSize: imageSize, names: names, head: head)
        guard let mapping = candidates.first else {
            throw MappingError.unknownFamily(path: source, detail: "no mapping")
        }
        guard candidates.count == 1 else {
            throw ambiguity(candidates, path: source, decide: "convert with effnet-convert and a reference pair to decide", headOption: false)
        }
        let resolved = try resolve(checkpoint, mapping, allowNonFinite: allowNonFinite)
        return CanonicalWeights(path: source, format: checkpoint.format, family: mapping.family, config: mapping.config,
                                tensors: try resolved.map { ($0.name, try $0.tensor.tensor()) }, notes: mapping.notes,
                                classNames: mapping.classNames)
    }
}
