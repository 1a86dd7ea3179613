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
            let comps = n.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
            guard comps.count >= 2, let i = Self.index(comps[0]) else { continue }
            if let next, !next(comps[1]) { continue }
            found.insert(i)
        }
        return found.sorted()
    }

    /// Distinct (S, I) for names "<prefix>S.I.<infix><rest>", sorted.
    func indexPairs(after prefix: String, infix: String = "") -> [(Int, Int)] {
        var found = Set<[Int]>()
        for n in names where n.hasPrefix(prefix) {
            let comps = n.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
            guard comps.count >= 3, let s = Self.index(comps[0]), let i = Self.index(comps[1]) else { continue }
            if !infix.isEmpty, !comps[2...].joined(separator: ".").hasPrefix(infix) { continue }
            found.insert([s, i])
        }
        return found.sorted { $0[0] != $1[0] ? $0[0] < $1[0] : $0[1] < $1[1] }.map { ($0[0], $0[1]) }
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
        guard !s.isEmpty, s.count <= 6, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s)
    }
}

/// Where one MBConv block's tensors sit in a state_dict: module paths without `.weight`; nil for
/// parts the block does not have.
struct TorchBlockNames {
    var expandConv: String?
    var expandBN: String?
    var depthwiseConv: String
    var depthwiseBN: String
    var seReduce: String?
    var seExpand: String?
    var projectConv: String
    var projectBN: String
    /// Stage index when the names carry it (torchvision, timm); nil for flat block lists.
    var stage: Int?
    /// Index inside the stage when the names carry it.
    var indexInStage: Int?
}

/// A whole model's module paths in one family's naming scheme.
struct TorchModelNames {
    var stemConv: String
    var stemBN: String
    var blocks: [TorchBlockNames]
    var headConv: String
    var headBN: String
    /// The linear classifier (`<classifier>.weight` (classes, features), `.bias`).
    var classifier: String
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
