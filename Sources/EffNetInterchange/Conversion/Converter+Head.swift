import EffNet
import Foundation

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
            if names.roles {
                // Roles -> the family's names -> its reader; the way back composes both renamings.
                mappings = try CanonicalRoles.readings(renamed, conventions: family ?? names.conventions,
                                                                  fileNames: outcome.original).map { r in
                    // family name -> role -> the file's name; names the roles left keep the map's renaming.
                    var original: [String: String] = [:]
                    for (familyName, role) in r.roleOf { original[familyName] = outcome.original[role] ?? role }
                    let roles = Set(r.roleOf.values)
                    for (name, file) in outcome.original where !roles.contains(name) { original[name] = file }
                    let note = "--names \((names.path as NSString).lastPathComponent): canonical roles read with \(r.mapping.family)'s conventions"
                        + (family ?? names.conventions == nil ? " (one of the families that hold them; a reference pair decides)" : "")
                    return r.mapping.restoringSourceNames(original, notes: outcome.notes(names.path) + [note])
                }
            } else {
                do {
                    mappings = try candidateMappings(renamed, family: family ?? names.family, imageSize: imageSize)
                } catch let MappingError.unknownFamily(path, detail) {
                    throw MappingError.unknownFamily(path: path, detail: "\(detail) (after renaming by \(names.path))")
                }
                mappings = mappings.map { $0.restoringSourceNames(outcome.original, notes: outcome.notes(names.path)) }
            }
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
                    path: checkpoint.path, source: alternatives.source, weights: alternatives.shape, candidates: [],
                    detail: "too many combinations to try; pass --head CHAIN (e.g. --head \(HeadSpelling.spell(alternatives.placeholder)) with each layer's kind)")
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
    /// - Parameters:
    ///   - decide: how the user can decide besides naming it ("a reference pair ...").
    ///   - headOption: the tool takes `--head` (effnet-convert); else the advice names effnet-convert.
    static func ambiguity(_ candidates: [WeightMapping], path: String, decide: String, headOption: Bool = true) -> MappingError {
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
        return .ambiguousHead(path: path, source: alternatives?.source ?? "classifier", weights: alternatives?.shape ?? "?", candidates: chains,
                              detail: headOption ? "pass --head CHAIN (one of the plausible chains below, or any chain with these weighted layers), or \(decide)"
                                                 : "convert it with effnet-convert --head CHAIN (one of the plausible chains below), or \(decide)")
    }

    /// Keeps, of each family's candidates that differ only in their classifier chain, the one
    /// whose output on the reference input is closest to the reference: the network runs once
    /// (the fast path, to the pooled features) and each chain on those features. The kept
    /// candidate is then verified in full like any other.
    /// - Returns: the candidates left, and per family the report's note on the choice.
    /// - Throws: what building the model throws (`WeightCheckError`, ...).
    static func screenHeads(_ candidates: [WeightMapping], checkpoint: SourceCheckpoint, pair: (Tensor, Tensor),
                            allowNonFinite: Bool) throws -> ([WeightMapping], [String: [String]]) {
        var families: [String] = []
        for c in candidates where !families.contains(c.family) { families.append(c.family) }
        var kept: [WeightMapping] = [], notes: [String: [String]] = [:]
        for family in families {
            let group = candidates.filter { $0.family == family }
            guard group.count > 1, let first = group.first, first.config.classifierChain != nil else { kept += group; continue }
            let model = try buildModel(checkpoint, first, allowNonFinite: allowNonFinite)
            let (input, expected) = pair
            guard (try? model.validateInput(shape: input.shape)) != nil else { kept += group; continue }
            let pooled = try model.pooledFeatures(input)
            var errors: [(Int, Float)] = []
            for (i, c) in group.enumerated() {
                let y = try model.classify(pooledFeatures: pooled, chain: c.config.classifierChain ?? [])
                errors.append((i, y.shape == expected.shape ? Comparison(actual: y, reference: expected).relativeError : .infinity))
            }
            let best = errors.min { $0.1 < $1.1 }?.0 ?? 0
            kept.append(group[best])
            let chain = group[best].config.classifierChain.map(HeadSpelling.spell) ?? "linear"
            let tried = errors.map { "\(HeadSpelling.spell(group[$0.0].config.classifierChain ?? [])): \(String(format: "%.3g", Double($0.1)))" }
            notes[family] = ["classifier chain decided by the reference: \(chain) (relative error of each chain on the pooled features: \(tried.joined(separator: "; ")))"]
        }
        return (kept, notes)
    }
}
