import EffNet

/// Reads tensorflow/tpu EfficientNet variable names (see `TFOfficialFamily`): which copy of each
/// variable to take (EMA or raw), the network's shapes, and the canonical assignments.
struct TFOfficialNames {
    static let emaSuffix = "/ExponentialMovingAverage"
    static let bnKeys = [("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                         ("moving_variance", "running_var")]

    let checkpoint: SourceCheckpoint
    /// "efficientnet-b0": the first component of the stem kernel's key.
    let root: String
    let shapes: [String: [Int]]
    let useEMA: Bool
    let hasEMA: Bool

    /// nil when no variable is named like tensorflow/tpu's stem kernel.
    init?(_ checkpoint: SourceCheckpoint) {
        var shapes: [String: [Int]] = [:]
        var root: String?
        var hasEMA = false
        for t in checkpoint.tensors {
            shapes[t.name] = t.shape
            if t.name.hasSuffix(Self.emaSuffix) { hasEMA = true }
            if root == nil, t.name.hasSuffix("/stem/conv2d/kernel") || t.name.hasSuffix("/stem/conv2d/kernel" + Self.emaSuffix) {
                let r = t.name.components(separatedBy: "/stem/conv2d/kernel")[0]
                if !r.isEmpty { root = r }
            }
        }
        guard let root else { return nil }
        self.checkpoint = checkpoint
        self.root = root
        self.shapes = shapes
        self.hasEMA = hasEMA
        useEMA = checkpoint.notes[SourceReader.TFNotes.variables] != SourceReader.TFVariables.raw.rawValue
    }

    /// The key to read for variable `relative` (under the root): its EMA copy when wanted and
    /// present, else the variable itself; nil when neither exists.
    func key(_ relative: String) -> String? {
        let raw = "\(root)/\(relative)"
        if useEMA, shapes[raw + Self.emaSuffix] != nil { return raw + Self.emaSuffix }
        if shapes[raw] != nil { return raw }
        return nil
    }

    func shape(_ relative: String) -> [Int]? { key(relative).flatMap { shapes[$0] } }

    func has(_ relative: String) -> Bool { key(relative) != nil }

    func fail(_ detail: String) -> MappingError { .unsupported(path: checkpoint.path, detail: detail) }

    /// A rank-4 kernel's shape, or an error naming the variable and what was expected.
    func kernel(_ relative: String, _ expected: String, where valid: ([Int]) -> Bool) throws -> [Int] {
        guard let s = shape(relative), s.count == 4, s.allSatisfy({ $0 > 0 }), valid(s) else {
            let found = shape(relative).map { "\($0)" } ?? "no such variable"
            throw fail("'\(root)/\(relative)' should be \(expected) (found \(found))")
        }
        return s
    }

    /// The BN prefix a module uses: `tpu_batch_normalization` (TPU training) or `batch_normalization`.
    func bn(_ scope: String, _ suffix: String) -> String {
        let tpu = "\(scope)/tpu_batch_normalization\(suffix)"
        return has("\(tpu)/gamma") || !has("\(scope)/batch_normalization\(suffix)/gamma") ? tpu : "\(scope)/batch_normalization\(suffix)"
    }

    struct Block {
        var scope: String
        var expand: (conv: String, bn: String)?
        var depthwiseBN: String
        var se: Bool
        var project: (conv: String, bn: String)
        var shape: TorchShapes.Block
    }

    /// Block indices K of `ROOT/blocks_K/...`, which must run 0..<n.
    func blockIndices() throws -> [Int] {
        var found = Set<Int>()
        let prefix = "\(root)/blocks_"
        for name in shapes.keys where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
            if let k = Int(digits), digits.count <= 6 { found.insert(k) }
        }
        let sorted = found.sorted()
        guard !sorted.isEmpty else { throw fail("no '\(root)/blocks_K' variables") }
        guard sorted == Array(0 ..< sorted.count) else { throw fail("block numbers \(sorted) do not run from 0 without gaps") }
        return sorted
    }

    func blocks(stemChannels: Int) throws -> [Block] {
        var channels = stemChannels
        var out: [Block] = []
        for k in try blockIndices() {
            let p = "blocks_\(k)"
            let dw = try kernel("\(p)/depthwise_conv2d/depthwise_kernel", "[k, k, C, 1]") { $0[0] == $0[1] && $0[3] == 1 }
            let c = dw[2]
            var expand: (String, String)?
            let project: (String, String)
            let out1: Int
            if has("\(p)/conv2d_1/kernel") {
                // Expansion conv2d then projection conv2d_1: the shapes must say so.
                _ = try kernel("\(p)/conv2d/kernel", "[1, 1, \(channels), \(c)] (expansion into the depthwise conv's \(c) channels)") {
                    $0[0] == 1 && $0[1] == 1 && $0[2] == channels && $0[3] == c
                }
                let pw = try kernel("\(p)/conv2d_1/kernel", "[1, 1, \(c), out] (projection from the depthwise conv's \(c) channels)") {
                    $0[0] == 1 && $0[1] == 1 && $0[2] == c
                }
                expand = ("\(p)/conv2d", bn(p, ""))
                project = ("\(p)/conv2d_1", bn(p, "_2"))
                out1 = pw[3]
            } else {
                guard c == channels else {
                    throw fail("'\(root)/\(p)' has no expansion, but its depthwise conv has \(c) channels and its input \(channels)")
                }
                let pw = try kernel("\(p)/conv2d/kernel", "[1, 1, \(c), out] (projection from the depthwise conv's \(c) channels)") {
                    $0[0] == 1 && $0[1] == 1 && $0[2] == c
                }
                project = ("\(p)/conv2d", bn(p, "_1"))
                out1 = pw[3]
            }
            var seWidth: Int?
            if has("\(p)/se/conv2d/kernel") {
                let r = try kernel("\(p)/se/conv2d/kernel", "[1, 1, \(c), se]") { $0[0] == 1 && $0[1] == 1 && $0[2] == c }
                seWidth = r[3]
            }
            let shape = TorchShapes.Block(inChannels: channels, expandedChannels: c, outChannels: out1, kernel: dw[0],
                                          seChannels: seWidth, hasExpansion: expand != nil)
            out.append(Block(scope: p, expand: expand, depthwiseBN: bn(p, expand == nil ? "" : "_1"), se: seWidth != nil,
                             project: project, shape: shape))
            channels = out1
        }
        return out
    }

    func analyse() throws -> (mapping: WeightMapping, variant: String) {
        let stem = try kernel("stem/conv2d/kernel", "[k, k, in, out]") { $0[0] == $0[1] }
        let blocks = try self.blocks(stemChannels: stem[3])
        let last = blocks.last?.shape.outChannels ?? stem[3]
        let head = try kernel("head/conv2d/kernel", "[1, 1, \(last), features]") { $0[0] == 1 && $0[1] == 1 && $0[2] == last }
        guard let dense = shape("head/dense/kernel"), dense.count == 2, dense[0] == head[3], dense[1] > 0 else {
            let found = shape("head/dense/kernel").map { "\($0)" } ?? "no such variable"
            throw fail("'\(root)/head/dense/kernel' should be [\(head[3]), classes] (found \(found)); headless checkpoints are not supported")
        }
        let lite = root.contains("lite") || blocks.allSatisfy { !$0.se }
        let (strides, stages) = try TorchStages.strides(flat: blocks.map(\.shape), fixedEndStages: lite, path: checkpoint.path)

        func config(name: String, size: Int) -> EfficientNetConfig {
            let bs = zip(blocks, zip(strides, stages)).map { b, ss in
                let s = b.shape
                let ratio = s.hasExpansion ? max(2, Int((Double(s.expandedChannels) / Double(max(s.inChannels, 1))).rounded())) : 1
                return EfficientNetConfig.Block(expandRatio: ratio, kernel: s.kernel, stride: ss.0, inChannels: s.inChannels,
                                                outChannels: s.outChannels, expandedChannels: s.expandedChannels,
                                                seChannels: s.seChannels, stage: ss.1)
            }
            return EfficientNetConfig(
                name: name, inputChannels: stem[2], stem: .init(outChannels: stem[3], kernel: stem[0], stride: 2),
                blocks: bs, headChannels: head[3], numClasses: dense[1], bnEpsilon: 1e-3, padding: .sameDynamic,
                activation: lite ? .relu6 : .silu, imagePreprocessing: Self.preprocessing(lite: lite, size: size, channels: stem[2]))
        }
        let presets = lite ? TorchVariant.litePresets { "efficientnet-lite\($0)" }
                           : TorchVariant.bPresets(beyondB7: true) { $0 == 9 ? "efficientnet-l2" : "efficientnet-b\($0)" }
        let match = TorchVariant.match(config(name: "", size: 224), stages: stages, presets: presets, fixedStemHead: lite)
        let cfg = match.index.map { config(name: presets[$0].name, size: presets[$0].resolution) }
            ?? config(name: lite ? "efficientnet-lite-custom" : "efficientnet-custom", size: 224)

        var (assignments, skipped, notes) = assign(blocks)
        notes.insert("tensorflow/tpu names under '\(root)/'; TF 'SAME' padding from the actual input, BN eps 1e-3"
                     + (lite ? ", ReLU6, no SE (EfficientNet-Lite)" : ", swish"), at: 0)
        notes.append(lite ? "image preprocessing: (x - 127) / 128 on 0-255 pixels (official Lite); tensor input is the normalised NCHW batch"
                          : "image preprocessing: ImageNet mean and std in 0-255 units (official V1); tensor input is the normalised NCHW batch")
        let variant = match.description + ", \(dense[1]) classes; TF 'SAME' padding, BN eps 1e-3"
            + (lite ? ", no SE, ReLU6 (Lite)" : "") + (hasEMA ? (useEMA ? "; EMA copies" : "; raw variables (EMA copies present)") : "; no EMA copies")
        assignments.sort { $0.canonical < $1.canonical }
        return (WeightMapping(family: FamilyName.tfOfficial.rawValue, config: cfg, assignments: assignments, skipped: skipped, notes: notes), variant)
    }

    /// The official evaluation's preprocessing at `size`: centre crop of size / (size + 32) of the
    /// shorter side, then normalisation of 0-255 pixels.
    static func preprocessing(lite: Bool, size: Int, channels: Int) -> EfficientNetConfig.ImagePreprocessing {
        let mean: [Float] = lite ? [127, 127, 127] : [0.485 * 255, 0.456 * 255, 0.406 * 255]
        let std: [Float] = lite ? [128, 128, 128] : [0.229 * 255, 0.224 * 255, 0.225 * 255]
        func fit(_ v: [Float]) -> [Float] { channels == 3 ? v : Array(repeating: v[0], count: channels) }
        return .init(resizeShorterTo: size + 32, cropSize: size, pixelScale: 1, mean: fit(mean), std: fit(std))
    }

    /// Canonical assignments from the chosen copies; the other copies skipped with the reason.
    func assign(_ blocks: [Block]) -> ([WeightMapping.Assignment], [(source: String, reason: String)], [String]) {
        var a: [WeightMapping.Assignment] = []
        var rawFallbacks: [String] = []
        func add(_ canonical: String, _ relative: String, _ transform: LayoutTransform = .identity) {
            guard let k = key(relative) else {
                // Missing: assigned by its raw name so that the strict load reports it as missing.
                a.append(.init(canonical: canonical, source: "\(root)/\(relative)", transform: transform))
                return
            }
            if useEMA && hasEMA && !k.hasSuffix(Self.emaSuffix) { rawFallbacks.append(k) }
            a.append(.init(canonical: canonical, source: k, transform: transform))
        }
        func conv(_ canonical: String, _ scope: String) { add("\(canonical).weight", "\(scope)/kernel", .hwioToOIHW) }
        func norm(_ canonical: String, _ scope: String) {
            for (tf, torch) in Self.bnKeys { add("\(canonical).\(torch)", "\(scope)/\(tf)") }
        }
        conv("stem.conv", "stem/conv2d")
        norm("stem.bn", bn("stem", ""))
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)"
            if let e = b.expand {
                conv("\(p).expand.conv", e.conv)
                norm("\(p).expand.bn", e.bn)
            }
            add("\(p).depthwise.conv.weight", "\(b.scope)/depthwise_conv2d/depthwise_kernel", .depthwiseHWC1ToC1HW)
            norm("\(p).depthwise.bn", b.depthwiseBN)
            if b.se {
                conv("\(p).se.reduce", "\(b.scope)/se/conv2d")
                add("\(p).se.reduce.bias", "\(b.scope)/se/conv2d/bias")
                conv("\(p).se.expand", "\(b.scope)/se/conv2d_1")
                add("\(p).se.expand.bias", "\(b.scope)/se/conv2d_1/bias")
            }
            conv("\(p).project.conv", b.project.conv)
            norm("\(p).project.bn", b.project.bn)
        }
        conv("head.conv", "head/conv2d")
        norm("head.bn", bn("head", ""))
        add("classifier.weight", "head/dense/kernel", .transpose2D)
        add("classifier.bias", "head/dense/bias")

        // The copies not taken are skipped on purpose, never reported as unused weights.
        let used = Set(a.map(\.source))
        var skipped: [(source: String, reason: String)] = []
        for t in checkpoint.tensors where !used.contains(t.name) {
            let isEMA = t.name.hasSuffix(Self.emaSuffix)
            let base = isEMA ? String(t.name.dropLast(Self.emaSuffix.count)) : t.name
            if isEMA && used.contains(base) {
                skipped.append((t.name, "ExponentialMovingAverage copy; the raw variable is mapped (--tf-variables raw)"))
            } else if !isEMA && used.contains(base + Self.emaSuffix) {
                skipped.append((t.name, "raw variable; its ExponentialMovingAverage copy is mapped, as the official evaluation does (--tf-variables raw to map this)"))
            }
        }
        var notes: [String] = []
        if hasEMA {
            let taken = a.filter { $0.source.hasSuffix(Self.emaSuffix) }.count
            notes.append(useEMA ? "took the ExponentialMovingAverage copies of \(taken) variables (what the official evaluation restores); --tf-variables raw takes the raw variables"
                                : "took the raw variables (--tf-variables raw); the checkpoint's ExponentialMovingAverage copies are skipped")
        } else {
            notes.append("no ExponentialMovingAverage copies in the checkpoint: the variables themselves are mapped")
        }
        if !rawFallbacks.isEmpty {
            notes.append("\(rawFallbacks.count) variables have no ExponentialMovingAverage copy and were taken raw: \(rawFallbacks.prefix(3).joined(separator: ", "))\(rawFallbacks.count > 3 ? ", ..." : "")")
        }
        return (a, skipped, notes)
    }
}
