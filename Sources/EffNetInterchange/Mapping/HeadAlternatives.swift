import EffNet

/// A classifier chain as far as a file shows it. Layers with weights (Linear, BatchNorm) are in
/// the weights with their positions (`classifier.1.weight`); layers without (ReLU, SiLU, GELU,
/// Sigmoid, Dropout, Flatten) leave no trace in a PyTorch state dict, so between two weighted
/// layers any activation, or none, is possible. The tool never picks one silently: `--head`
/// spells the chain, or a reference pair decides among `candidates`.
public struct HeadAlternatives: Sendable {
    typealias Layer = EfficientNetConfig.ClassifierLayer

    /// Where the head sits in the source, for messages ("classifier", "_fc", "head.6", ...).
    public var source: String
    /// The weighted layers by position in the chain, with their widths (and BN epsilon).
    public var known: [Int: EfficientNetConfig.ClassifierLayer]
    /// Positions before the first weighted layer, taken as Dropout (as torchvision's own
    /// `classifier.0`); `--head` may spell them otherwise.
    public var leading: Int
    /// Positions between weighted layers whose kinds the file does not say.
    public var unknown: [Int]
    /// The plausible chains, most common first: one when nothing is unknown; empty when too many
    /// combinations are possible to try (then only `--head` can say).
    public var candidates: [[EfficientNetConfig.ClassifierLayer]]
    /// What a reader assumed (e.g. BatchNorm1d's epsilon), for the report.
    public var assumptions: [String] = []
    /// True when the file's names give each layer's position (`classifier.4.weight`); false when
    /// only their order is known (a Keras weights-only file), so `--head` may place them anywhere.
    public var positional = true

    /// Activations tried at each unknown gap; nil stands for none (Dropout or Identity there).
    static let gapActivations: [Layer.Kind?] = [.relu, .silu, .gelu, .sigmoid, nil]
    /// More unknown gaps than this: too many chains to try, `--head` must say.
    static let maxUnknownGaps = 2

    /// Builds the alternatives from the weighted layers by position: leading positions are
    /// Dropout, each run of positions between two weighted layers (a gap) holds one activation
    /// from `gapActivations` at its first position, or none, and Dropout elsewhere. Layers after
    /// the last weighted one leave no trace at all: only `trailing` is tried (`--head` can add
    /// any).
    /// - Parameter trailing: what may follow the last weighted layer, unseen (nil: nothing); a
    ///   Keras weights-only file's last Dense often carries a softmax.
    init(source: String, known: [Int: EfficientNetConfig.ClassifierLayer], assumptions: [String] = [],
         trailing: [EfficientNetConfig.ClassifierLayer.Kind?] = [nil]) {
        self.source = source
        self.known = known
        self.assumptions = assumptions
        let positions = known.keys.sorted()
        let first = positions.first ?? 0, last = positions.last ?? 0
        leading = first
        var gaps: [[Int]] = []
        for (a, b) in zip(positions, positions.dropFirst()) where b > a + 1 { gaps.append(Array(a + 1 ..< b)) }
        unknown = gaps.flatMap { $0 }
        var base: [Layer] = (0 ... last).map { known[$0] ?? .init(.dropout) }
        if gaps.count > Self.maxUnknownGaps {
            candidates = []
            return
        }
        var out: [[Layer]] = []
        func fill(_ g: Int) {
            guard g < gaps.count else {
                for t in trailing { out.append(t.map { base + [.init($0)] } ?? base) }
                return
            }
            for a in Self.gapActivations {
                base[gaps[g][0]] = .init(a ?? .dropout)
                fill(g + 1)
            }
            base[gaps[g][0]] = .init(.dropout)
        }
        fill(0)
        candidates = out
    }

    /// A chain to build the mapping with before the choice: the first candidate, else Dropout at
    /// every unknown position (the weighted layers, and so the assignments, are the same).
    var placeholder: [EfficientNetConfig.ClassifierLayer] {
        if let c = candidates.first { return c }
        let last = known.keys.max() ?? 0
        return (0 ... last).map { known[$0] ?? .init(.dropout) }
    }

    /// The weighted layers as the file shows them: "1 linear(32), 4 linear(10); 2-3 without weights".
    public var shape: String {
        let layers = known.keys.sorted().map { "\($0) \(HeadSpelling.describe([known[$0]!]))" }.joined(separator: ", ")
        let open = unknown.isEmpty ? "" : "; \(unknown.map(String.init).joined(separator: ", ")) without weights"
        return "\(source): \(layers)\(open)"
    }

    /// `given` checked against the file: the same kinds at the weighted positions (with the
    /// file's widths filled in), parameter-free layers everywhere else.
    /// - Throws: `MappingError.unsupported` saying where the chain and the weights disagree.
    /// - Returns: the chain, and where each weighted layer moved (old position -> new) when the
    ///   file does not fix positions.
    func fitting(_ given: [EfficientNetConfig.ClassifierLayer], path: String) throws -> (chain: [EfficientNetConfig.ClassifierLayer], moved: [Int: Int]) {
        let spelled = HeadSpelling.spell(given)
        func fail(_ why: String) -> MappingError {
            .unsupported(path: path, detail: "--head \(spelled) does not fit the weights (\(shape)): \(why)")
        }
        if !positional {
            let weightedGiven = given.indices.filter { given[$0].kind == .linear || given[$0].kind == .batchNorm }
            let positions = known.keys.sorted()
            guard weightedGiven.count == positions.count else {
                throw fail("the weights have \(positions.count) weighted layers, the chain \(weightedGiven.count)")
            }
            var chain = given, moved: [Int: Int] = [:]
            for (g, k) in zip(weightedGiven, positions) {
                guard given[g].kind == known[k]!.kind else {
                    throw fail("weighted layer \(moved.count) is \(HeadSpelling.describe([known[k]!])) in the weights, the chain says \(HeadSpelling.word(given[g].kind))")
                }
                chain[g] = known[k]!
                moved[k] = g
            }
            return (chain, moved)
        }
        let last = known.keys.max() ?? 0
        guard given.count > last else { throw fail("the weights have layers up to position \(last), the chain has \(given.count)") }
        var chain = given
        for (p, layer) in given.enumerated() {
            let weighted = layer.kind == .linear || layer.kind == .batchNorm
            if let k = known[p] {
                guard k.kind == layer.kind else {
                    throw fail("layer \(p) is \(HeadSpelling.describe([k])) in the weights, the chain says \(HeadSpelling.word(layer.kind))")
                }
                chain[p] = k
            } else if weighted {
                throw fail("layer \(p) has no weights in the file, so it cannot be \(HeadSpelling.word(layer.kind))")
            }
        }
        return (chain, [:])
    }
}

extension WeightMapping {
    /// The mapping with the classifier chain `given` (`--head`), checked against what the file
    /// shows: a chain read from the weights or the model config, or one Linear layer (then the
    /// chain may add parameter-free layers around it, and a final softmax).
    /// - Throws: `MappingError.unsupported` when the chain does not fit.
    public func withHead(_ given: [EfficientNetConfig.ClassifierLayer], path: String) throws -> WeightMapping {
        var m = self
        let spelled = HeadSpelling.spell(given)
        if let alternatives = head {
            let (chain, moved) = try alternatives.fitting(given, path: path)
            m.config.classifierChain = chain
            m.head = nil
            // "classifier.K.<leaf>" follows its layer to its new position.
            m.assignments = assignments.map { a in
                let parts = a.canonical.split(separator: ".", maxSplits: 2)
                guard parts.count == 3, parts[0] == "classifier", let k = Int(parts[1]), let to = moved[k] else { return a }
                return .init(canonical: "classifier.\(to).\(parts[2])", source: a.source, transform: a.transform)
            }
            m.notes.append("classifier chain \(HeadSpelling.describe(m.config.classifierChain ?? [])) from --head")
            return m
        }
        if let chain = config.classifierChain {
            // Read in full from the file (a Keras model config): --head may only repeat it.
            guard chain.map(\.kind) == given.map(\.kind) else {
                throw MappingError.unsupported(path: path, detail: "--head \(spelled) contradicts the file, whose model config gives the chain \(HeadSpelling.spell(chain))")
            }
            return m
        }
        let weighted = given.filter { $0.kind == .linear || $0.kind == .batchNorm }
        let activations = given.filter { ![.linear, .batchNorm, .dropout, .flatten, .softmax].contains($0.kind) }
        let softmaxLast = given.last?.kind == .softmax && given.filter({ $0.kind == .softmax }).count == 1
        guard weighted.count == 1, weighted[0].kind == .linear, activations.isEmpty,
              softmaxLast || !given.contains(where: { $0.kind == .softmax }) else {
            throw MappingError.unsupported(path: path, detail: "--head \(spelled) does not fit the weights: the classifier is one Linear layer (\(config.numClasses) classes); a chain around it may only add dropout, flatten and a final softmax")
        }
        if softmaxLast {
            m.config.finalSoftmax = true
            m.notes.append("output: softmax probabilities (--head \(spelled))")
        }
        return m
    }
}
