import EffNet

extension Converter {
    /// The candidate mappings of `candidateMappings(_:family:imageSize:)`, with the user's names
    /// map applied first (`--names`) and each classifier chain the file leaves open made a
    /// candidate of its own, unless `head` (`--head`) says which it is.
    /// - Throws: `NameMapError`, `MappingError` (`.ambiguousHead` when a chain has more unknown
    ///   layers than can be tried and no `head` is given).
    public static func candidateMappings(_ checkpoint: SourceCheckpoint, family: FamilyName?, imageSize: [Int]?,
                                         names: NameMap?, head: [EfficientNetConfig.ClassifierLayer]?) throws -> [WeightMapping] {
        var mappings: [WeightMapping]
        if let names {
            let (renamed, outcome) = try names.apply(to: checkpoint)
            do {
                mappings = try candidateMappings(renamed, family: family ?? names.family, imageSize: imageSize)
            } catch let MappingError.unknownFamily(path, detail) {
                throw MappingError.unknownFamily(path: path, detail: "\(detail) (after renaming by \(names.path))")
            }
            mappings = mappings.map { $0.restoringSourceNames(outcome.original, notes: outcome.notes(names.path)) }
        } else {
            mappings = try candidateMappings(checkpoint, family: family, imageSize: imageSize)
        }
        var out: [WeightMapping] = []
        for m in mappings {
            if let head {
                out.append(try m.withHead(head, path: checkpoint.path))
                continue
            }
            guard let alternatives = m.head, alternatives.candidates.count != 1 else { out.append(m); continue }
            guard !alternatives.candidates.isEmpty else {
                throw MappingError.ambiguousHead(
                    path: checkpoint.path, source: alternatives.source, candidates: [],
                    detail: "\(alternatives.shape): too many combinations to try; pass --head CHAIN (e.g. --head \(HeadSpelling.spell(alternatives.placeholder)) with each layer's kind)")
            }
            for chain in alternatives.candidates {
                var c = m
                c.config.classifierChain = chain
                out.append(c)
            }
        }
        return out
    }

    /// Why several candidates remain when nothing can decide between them: the families differ
    /// (timm and timm-tf), or the classifier chains do, or both.
    /// - Parameter decide: how the user can decide besides naming it ("a reference pair ...").
    static func ambiguity(_ candidates: [WeightMapping], path: String, decide: String) -> MappingError {
        var families: [String] = []
        for c in candidates where !families.contains(c.family) { families.append(c.family) }
        var chains: [String] = []
        for c in candidates {
            let s = c.config.classifierChain.map(HeadSpelling.spell) ?? "linear"
            if !chains.contains(s) { chains.append(s) }
        }
        if families.count > 1 {
            let head = chains.count > 1 ? "; the classifier's activations are not stored either (--head \(chains.joined(separator: "|")))" : ""
            return .ambiguousFamily(path: path, candidates: families,
                                    detail: "names cannot tell them apart (padding and BN epsilon differ)\(head): pass --family \(families.joined(separator: "|")), or \(decide)")
        }
        let alternatives = candidates.first?.head
        let shape = alternatives.map { "\($0.shape)" } ?? "the classifier"
        return .ambiguousHead(path: path, source: alternatives?.source ?? "classifier", candidates: chains,
                              detail: "\(shape): pass --head CHAIN (one of those, or any chain with these weighted layers), or \(decide)")
    }

    /// A short label for one candidate in the report: its classifier chain when candidates
    /// differ in it.
    static func headLabel(_ m: WeightMapping, among all: [WeightMapping]) -> String? {
        let spelled = all.map { $0.config.classifierChain.map(HeadSpelling.spell) ?? "linear" }
        guard Set(spelled).count > 1 else { return nil }
        return m.config.classifierChain.map(HeadSpelling.spell) ?? "linear"
    }
}
