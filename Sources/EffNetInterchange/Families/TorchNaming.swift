import EffNet

/// Reading PyTorch module paths ("features.3.1.block.0.0.weight") the way the PyTorch families
/// need: lookups by name, shapes, and the integer indices `nn.Sequential`/`nn.ModuleList` put
/// into names. Never traps on odd names: anything that does not parse is simply not matched.
struct TorchNames {
    let byName: [String: SourceTensor]
    let names: [String]

    init(_ checkpoint: SourceCheckpoint) {
        var d: [String: SourceTensor] = [:]
        for t in checkpoint.tensors where d[t.name] == nil { d[t.name] = t }
        byName = d
        names = checkpoint.names
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func shape(_ name: String) -> [Int]? { byName[name]?.shape }

    /// The shape of `<module>.weight`, if the tensor exists and has `rank` dimensions.
    func weightShape(_ module: String, rank: Int) -> [Int]? {
        guard let s = shape("\(module).weight"), s.count == rank else { return nil }
        return s
    }

    /// True when any tensor name contains `fragment`.
    func anyName(contains fragment: String) -> Bool { names.contains { $0.contains(fragment) } }

    /// Distinct N for names "<prefix>N.<rest>" where the component after N satisfies `next`
    /// (when given), sorted.
    func indices(after prefix: String, next: ((Substring) -> Bool)? = nil) -> [Int] {
        var found = Set<Int>()
        for n in names where n.hasPrefix(prefix) {
            guard let (i, rest) = Self.leadingIndex(n.utf8.dropFirst(prefix.utf8.count)) else { continue }
            if let next {
                let component = rest.firstIndex(of: UInt8(ascii: ".")).map { rest[..<$0] } ?? rest
                if !next(Substring(component)) { continue }
            }
            found.insert(i)
        }
        return found.sorted()
    }

    /// Distinct (S, I) for names "<prefix>S.I.<infix><rest>", sorted.
    func indexPairs(after prefix: String, infix: String = "") -> [(Int, Int)] {
        struct Pair: Hashable { var s: Int, i: Int }
        var found = Set<Pair>()
        for n in names where n.hasPrefix(prefix) {
            guard let (s, afterS) = Self.leadingIndex(n.utf8.dropFirst(prefix.utf8.count)),
                  let (i, rest) = Self.leadingIndex(afterS) else { continue }
            if !infix.isEmpty, !rest.starts(with: infix.utf8) { continue }
            found.insert(Pair(s: s, i: i))
        }
        return found.sorted { $0.s != $1.s ? $0.s < $1.s : $0.i < $1.i }.map { ($0.s, $0.i) }
    }

    /// "N.<rest>" -> (N, rest): a module index and what follows its dot. Works on UTF-8 bytes
    /// (splitting every name into Substrings cost ~3 ms per B4 state dict).
    static func leadingIndex(_ text: Substring.UTF8View) -> (Int, Substring.UTF8View)? {
        guard let dot = text.firstIndex(of: UInt8(ascii: ".")),
              let i = index(Substring(text[..<dot])) else { return nil }
        return (i, text[text.index(after: dot)...])
    }

    /// The linear classifier inside a container: `<container>.weight` when the container is the
    /// Linear itself, else the highest-indexed `<container>.K` with a 2-D weight (torchvision's
    /// `classifier.1`, the seed's `head.6`, or a replaced `nn.Sequential(Dropout, Linear)`);
    /// `fallback` when there is none (so the error names what was expected).
    func linear(in container: String, fallback: String) -> String {
        if let s = shape("\(container).weight"), s.count == 2 { return container }
        let k = indices(after: "\(container).").filter { i in shape("\(container).\(i).weight").map { $0.count == 2 } ?? false }
        return k.last.map { "\(container).\($0)" } ?? fallback
    }

    /// A module index as written in a name: decimal digits only, bounded.
    static func index(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.utf8.count <= 6 else { return nil }
        var v = 0
        for b in s.utf8 {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(b - UInt8(ascii: "0"))
        }
        return v
    }
}

/// Which units a block has: all a torch family's module names for the block depend on. Readers
/// find it among the names present (`TorchNames.block(among:)`), writers take it from the Config
/// (`init(_:)`); each family spells the names in one place, a function of this and the block's
/// position.
struct TorchBlockStructure: Equatable, CaseIterable {
    var kind: EfficientNetConfig.Block.Kind
    /// MBConv: the 1x1 expansion before the depthwise conv; Fused-MBConv: the 1x1 projection
    /// after the k x k conv.
    var hasPointwise: Bool
    var hasSE: Bool

    init(kind: EfficientNetConfig.Block.Kind, hasPointwise: Bool, hasSE: Bool) {
        self.kind = kind; self.hasPointwise = hasPointwise; self.hasSE = hasSE
    }

    init(_ block: EfficientNetConfig.Block) {
        kind = block.kind
        hasPointwise = block.kind == .mbconv ? block.hasExpansion : block.hasProjection
        hasSE = block.seChannels != nil
    }

    static let allCases: [TorchBlockStructure] = [EfficientNetConfig.Block.Kind.mbconv, .fused].flatMap { k in
        [false, true].flatMap { p in [false, true].map { TorchBlockStructure(kind: k, hasPointwise: p, hasSE: $0) } }
    }
}

extension TorchNames {
    /// The block whose names and shapes the checkpoint has, among a family's names for every
    /// structure it can hold at one position (nil where it cannot): every unit's weight present
    /// with the rank and kernel its part implies; the candidate with the most units wins (one
    /// with SE over one without). When none fits, the first candidate, so that the shape reader
    /// names what was expected.
    func block(among candidates: [TorchBlockNames?]) -> TorchBlockNames {
        let found = candidates.compactMap { $0 }
        func fits(_ b: TorchBlockNames) -> Bool {
            b.units.allSatisfy { part, unit in
                guard let s = shape("\(unit.conv).weight") ?? shape("\(unit.conv).bias").map({ [$0[0], 1, 1, 1] }) else { return false }
                switch part {
                case .depthwise: return s.count == 4 && s[1] == 1 && s[2] > 1
                case .fused: return s.count == 4 && s[1] > 1 && s[2] > 1
                case .expand, .project: return s.count == 4 && s[2] == 1 && s[3] == 1
                // SE layers are 1x1 convolutions, or Linear layers in the seed notebook.
                case .seReduce, .seExpand: return s.count == 2 || (s.count == 4 && s[2] == 1 && s[3] == 1)
                }
            }
        }
        return found.filter(fits).max { $0.units.count < $1.units.count } ?? found[0]
    }
}

/// Where one block's units sit in a state_dict: for each part the block has, its module paths
/// (without `.weight`).
struct TorchBlockNames {
    var kind: EfficientNetConfig.Block.Kind
    var units: [ParameterLayout.BlockPart: SourceUnitName]
    /// Stage index when the names carry it (torchvision, timm); nil for flat block lists.
    var stage: Int?
    /// Index inside the stage when the names carry it.
    var indexInStage: Int?

    /// An MBConv block.
    init(expandConv: String?, expandBN: String?, depthwiseConv: String, depthwiseBN: String, seReduce: String?,
         seExpand: String?, projectConv: String, projectBN: String, stage: Int? = nil, indexInStage: Int? = nil) {
        kind = .mbconv
        units = [.depthwise: .init(conv: depthwiseConv, norm: depthwiseBN), .project: .init(conv: projectConv, norm: projectBN)]
        if let expandConv { units[.expand] = .init(conv: expandConv, norm: expandBN) }
        if let seReduce, let seExpand {
            units[.seReduce] = .init(conv: seReduce, norm: nil)
            units[.seExpand] = .init(conv: seExpand, norm: nil)
        }
        self.stage = stage
        self.indexInStage = indexInStage
    }

    /// A Fused-MBConv block: the k x k convolution, and the 1x1 projection when it expands.
    init(fusedConv: String, fusedBN: String, projectConv: String?, projectBN: String?, stage: Int?, indexInStage: Int?) {
        kind = .fused
        units = [.fused: .init(conv: fusedConv, norm: fusedBN)]
        if let projectConv { units[.project] = .init(conv: projectConv, norm: projectBN) }
        self.stage = stage
        self.indexInStage = indexInStage
    }

    /// The k x k convolution's module path (depthwise or fused).
    var spatialConv: String { (units[.depthwise] ?? units[.fused])!.conv }
}

/// A whole model's module paths in one family's naming scheme.
struct TorchModelNames {
    var stemConv: String
    var stemBN: String
    var blocks: [TorchBlockNames]
    var headConv: String
    var headBN: String
    /// The linear classifier (`<classifier>.weight` (classes, features), `.bias`); for a chain,
    /// its last Linear.
    var classifier: String
    /// A classifier replaced by an nn.Sequential of several layers (`TorchHeadChain`), nil for
    /// one Linear layer.
    var head: HeadAlternatives? = nil
    /// Where a classifier chain's layers sit when the names do not say (a writer's): the
    /// family's classifier module, an nn.Sequential in its place.
    var chainContainer = "classifier"

    /// The module paths of one unit of the declared layout.
    func unit(_ module: ParameterLayout.Module) -> SourceUnitName? {
        switch module {
        case .stem: return .init(conv: stemConv, norm: stemBN)
        case .head: return .init(conv: headConv, norm: headBN)
        case .classifier: return .init(conv: classifier, norm: nil)
        // A classifier chain is an nn.Sequential: layer k (Linear or BatchNorm1d) is "<container>.k".
        case let .classifierLayer(k):
            let container = head?.source ?? chainContainer
            return .init(conv: "\(container).\(k)", norm: "\(container).\(k)")
        case let .block(i, part): return blocks.indices.contains(i) ? blocks[i].units[part] : nil
        }
    }
}

/// What a family decides and the weights cannot tell: epsilon, padding, activation, preprocessing.
struct TorchConventions {
    var bnEpsilon: Float
    var padding: EfficientNetConfig.Padding
    var activation: EfficientNetConfig.Activation
    var imagePreprocessing: EfficientNetConfig.ImagePreprocessing = .imagenetTorch
}

extension EfficientNetConfig.ImagePreprocessing {
    /// ImageNet mean/std at a network's nominal resolution, resized in the 256:224 ratio the
    /// seed notebook uses (224 -> 256/224, 300 -> 343/300, ...).
    static func imagenetTorch(nominal size: Int) -> Self {
        guard size != 224 else { return .imagenetTorch }
        var p = Self.imagenetTorch
        p.cropSize = size
        p.resizeShorterTo = (size * 256 + 112) / 224
        return p
    }
}
