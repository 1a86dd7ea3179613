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

    /// One `blocks_K` scope read as canonical units: (canonical block part, TF conv scope, TF BN scope).
    struct Block {
        var scope: String
        /// Convolution-with-norm units in execution order: `.expand`, `.depthwise` (MBConv) or
        /// `.fused`, then `.project` (absent in a fused block without expansion).
        var units: [(part: ParameterLayout.BlockPart, conv: String, bn: String)]
        var se: Bool
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

    /// Both repositories number a block's layers in creation order (`conv2d`, `conv2d_1`, ...;
    /// `tpu_batch_normalization`, `_1`, `_2`), so which is which depends on the block's kind and
    /// whether it expands: a block with `depthwise_conv2d` is an MBConv, one without is
    /// google/automl's Fused-MBConv, and a second `conv2d_1` means an expansion.
    func blocks(stemChannels: Int) throws -> [Block] {
        var channels = stemChannels
        var out: [Block] = []
        for k in try blockIndices() {
            let p = "blocks_\(k)"
            let block = has("\(p)/depthwise_conv2d/depthwise_kernel") ? try mbconv(p, channels) : try fused(p, channels)
            out.append(block)
            channels = block.shape.outChannels
        }
        return out
    }

    /// An MBConv block (both repositories' MBConvBlock): [conv2d expansion], depthwise, [SE], projection.
    private func mbconv(_ p: String, _ channels: Int) throws -> Block {
        let dw = try kernel("\(p)/depthwise_conv2d/depthwise_kernel", "[k, k, C, 1]") { $0[0] == $0[1] && $0[3] == 1 }
        let c = dw[2]
        var units: [(ParameterLayout.BlockPart, String, String)] = []
        let out1: Int
        if has("\(p)/conv2d_1/kernel") {
            // Expansion conv2d then projection conv2d_1: the shapes must say so.
            _ = try kernel("\(p)/conv2d/kernel", "[1, 1, \(channels), \(c)] (expansion into the depthwise conv's \(c) channels)") {
                $0[0] == 1 && $0[1] == 1 && $0[2] == channels && $0[3] == c
            }
            let pw = try kernel("\(p)/conv2d_1/kernel", "[1, 1, \(c), out] (projection from the depthwise conv's \(c) channels)") {
                $0[0] == 1 && $0[1] == 1 && $0[2] == c
            }
            units = [(.expand, "\(p)/conv2d", bn(p, "")), (.depthwise, "\(p)/depthwise_conv2d", bn(p, "_1")),
                     (.project, "\(p)/conv2d_1", bn(p, "_2"))]
            out1 = pw[3]
        } else {
            guard c == channels else {
                throw fail("'\(root)/\(p)' has no expansion, but its depthwise conv has \(c) channels and its input \(channels)")
            }
            let pw = try kernel("\(p)/conv2d/kernel", "[1, 1, \(c), out] (projection from the depthwise conv's \(c) channels)") {
                $0[0] == 1 && $0[1] == 1 && $0[2] == c
            }
            units = [(.depthwise, "\(p)/depthwise_conv2d", bn(p, "")), (.project, "\(p)/conv2d", bn(p, "_1"))]
            out1 = pw[3]
        }
        var seWidth: Int?
        if has("\(p)/se/conv2d/kernel") {
            let r = try kernel("\(p)/se/conv2d/kernel", "[1, 1, \(c), se]") { $0[0] == 1 && $0[1] == 1 && $0[2] == c }
            seWidth = r[3]
        }
        let shape = TorchShapes.Block(inChannels: channels, expandedChannels: c, outChannels: out1, kernel: dw[0],
                                      seChannels: seWidth, hasExpansion: units.count == 3)
        return Block(scope: p, units: units, se: seWidth != nil, shape: shape)
    }

    /// google/automl's FusedMBConvBlock: a k x k `conv2d` (strided) expanding to `conv2d_1`'s 1x1
    /// projection, or at expand ratio 1 the k x k `conv2d` straight to the output.
    private func fused(_ p: String, _ channels: Int) throws -> Block {
        let conv = try kernel("\(p)/conv2d/kernel", "[k, k, \(channels), C] (a fused block's k x k convolution on its \(channels) input channels; there is no depthwise_conv2d)") {
            $0[0] == $0[1] && $0[2] == channels
        }
        if has("\(p)/se/conv2d/kernel") {
            throw fail("'\(root)/\(p)' is a fused block with squeeze-and-excitation, which no EfficientNetV2 table has and the canonical model does not support")
        }
        guard has("\(p)/conv2d_1/kernel") else {
            let shape = TorchShapes.Block(kind: .fused, inChannels: channels, expandedChannels: channels, outChannels: conv[3],
                                          kernel: conv[0], seChannels: nil, hasExpansion: false)
            return Block(scope: p, units: [(.fused, "\(p)/conv2d", bn(p, ""))], se: false, shape: shape)
        }
        let pw = try kernel("\(p)/conv2d_1/kernel", "[1, 1, \(conv[3]), out] (projection from the fused conv's \(conv[3]) channels)") {
            $0[0] == 1 && $0[1] == 1 && $0[2] == conv[3]
        }
        let shape = TorchShapes.Block(kind: .fused, inChannels: channels, expandedChannels: conv[3], outChannels: pw[3],
                                      kernel: conv[0], seChannels: nil, hasExpansion: true)
        return Block(scope: p, units: [(.fused, "\(p)/conv2d", bn(p, "")), (.project, "\(p)/conv2d_1", bn(p, "_1"))],
                     se: false, shape: shape)
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
        // Fused blocks make it google/automl's EfficientNetV2 (which has SE on its MBConv blocks).
        let v2 = blocks.contains { $0.shape.kind == .fused }
        let lite = !v2 && (root.contains("lite") || blocks.allSatisfy { !$0.se })
        let (strides, stages) = v2 ? try TorchStages.strides(v2Flat: blocks.map(\.shape), path: checkpoint.path)
                                   : try TorchStages.strides(flat: blocks.map(\.shape), fixedEndStages: lite, path: checkpoint.path)

        func config(name: String, size: Int, v2Style: Bool = false) -> EfficientNetConfig {
            let bs = zip(blocks, zip(strides, stages)).map { b, ss in
                let s = b.shape
                var ratio = s.hasExpansion ? max(2, Int((Double(s.expandedChannels) / Double(max(s.inChannels, 1))).rounded())) : 1
                // A fused block whose 1x1 projection follows a k x k conv that does not widen.
                var fusedProjection: Bool?
                if s.kind == .fused, s.hasExpansion, s.expandedChannels == s.inChannels { ratio = 1; fusedProjection = true }
                return EfficientNetConfig.Block(kind: s.kind, expandRatio: ratio, kernel: s.kernel, stride: ss.0, inChannels: s.inChannels,
                                                outChannels: s.outChannels, expandedChannels: s.expandedChannels,
                                                seChannels: s.seChannels, stage: ss.1, fusedProjection: fusedProjection)
            }
            let pre = v2 ? Self.v2Preprocessing(v1Style: !v2Style, size: size, channels: stem[2])
                         : Self.preprocessing(lite: lite, size: size, channels: stem[2])
            return EfficientNetConfig(
                name: name, inputChannels: stem[2], stem: .init(outChannels: stem[3], kernel: stem[0], stride: 2),
                blocks: bs, headChannels: head[3], numClasses: dense[1], bnEpsilon: 1e-3, padding: .sameDynamic,
                activation: lite ? .relu6 : .silu, imagePreprocessing: pre)
        }
        let cfg: EfficientNetConfig
        let described: String
        var preprocessingNote = lite ? "image preprocessing: (x - 127) / 128 on 0-255 pixels (official Lite); tensor input is the normalised NCHW batch"
                                     : "image preprocessing: ImageNet mean and std in 0-255 units (official V1); tensor input is the normalised NCHW batch"
        if v2 {
            let presets = Self.v2Presets
            if let p = TorchVariant.matchV2(config(name: "", size: 224, v2Style: true), presets: presets) {
                // B0-B3 were trained with V1's preprocessing (effnetv2_configs.py: 'effnetv1_autoaug').
                let v1Style = p.name.contains("-b")
                cfg = config(name: p.name, size: p.resolution, v2Style: !v1Style)
                described = "\(p.name) (google/automl EfficientNetV2, \(p.resolution) px)"
            } else {
                cfg = config(name: "efficientnetv2-custom", size: 224, v2Style: true)
                described = "custom EfficientNetV2: stem \(stem[3]), \(blocks.count) blocks (\(blocks.filter { $0.shape.kind == .fused }.count) fused) in stages \(TorchShapes.repeats(stages: stages)), head \(head[3])"
            }
            preprocessingNote = cfg.name.contains("-b")
                ? "image preprocessing: ImageNet mean and std in 0-255 units, as V1 (google/automl B0-B3); tensor input is the normalised NCHW batch"
                : "image preprocessing: (x - 128) / 128 on 0-255 pixels (google/automl V2); tensor input is the normalised NCHW batch"
        } else {
            let presets = lite ? TorchVariant.litePresets { "efficientnet-lite\($0)" }
                               : TorchVariant.bPresets(beyondB7: true) { $0 == 9 ? "efficientnet-l2" : "efficientnet-b\($0)" }
            let match = TorchVariant.match(config(name: "", size: 224), stages: stages, presets: presets, fixedStemHead: lite)
            cfg = match.index.map { config(name: presets[$0].name, size: presets[$0].resolution) }
                ?? config(name: lite ? "efficientnet-lite-custom" : "efficientnet-custom", size: 224)
            described = match.description
        }

        var (assignments, skipped, notes) = assign(blocks)
        let origin = v2 ? "google/automl EfficientNetV2 names" : "tensorflow/tpu names"
        notes.insert("\(origin) under '\(root)/'; TF 'SAME' padding from the actual input, BN eps 1e-3"
                     + (lite ? ", ReLU6, no SE (EfficientNet-Lite)" : ", swish"), at: 0)
        notes.append(preprocessingNote)
        let variant = described + ", \(dense[1]) classes; TF 'SAME' padding, BN eps 1e-3"
            + (lite ? ", no SE, ReLU6 (Lite)" : "") + (hasEMA ? (useEMA ? "; EMA copies" : "; raw variables (EMA copies present)") : "; no EMA copies")
        assignments.sort { $0.canonical < $1.canonical }
        return (WeightMapping(family: FamilyName.tfOfficial.rawValue, config: cfg, assignments: assignments, skipped: skipped, notes: notes), variant)
    }

    /// google/automl's V2 structures (effnetv2_configs.py) under its model names: S, M, L, XL
    /// and B0-B3 (timm's rw variants are not automl's).
    static let v2Presets: [TorchVariant.Preset] = {
        let automl = TorchVariant.v2Presets { $0.name.replacingOccurrences(of: "efficientnet_v2_", with: "efficientnetv2-") }
            .filter { $0.name.hasPrefix("efficientnetv2-") }
        let xl = EfficientNetConfig.v2(.xl, name: "efficientnetv2-xl")
        return automl + [TorchVariant.Preset(name: "efficientnetv2-xl", width: 1, depth: 1, resolution: 512, config: xl)]
    }()

    /// google/automl's evaluation preprocessing (preprocessing.py) at `size`: S/M/L/XL take
    /// (x - 128) / 128, with a centre crop of size / (size + 32) only below 320 px (above it the
    /// image is resized whole; approximated here by resizing the shorter side and cropping the
    /// centre). B0-B3 (`v1Style`) use V1's (preprocess_legacy.py): see `preprocessing`.
    static func v2Preprocessing(v1Style: Bool, size: Int, channels: Int) -> EfficientNetConfig.ImagePreprocessing {
        if v1Style { return preprocessing(lite: false, size: size, channels: channels) }
        let v: [Float] = Array(repeating: 128, count: channels)
        return .init(resizeShorterTo: size < 320 ? size + 32 : size, cropSize: size, pixelScale: 1, mean: v, std: v)
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
            for u in b.units {
                let canonical = ParameterLayout.Module.block(i, u.part).path
                if u.part == .depthwise {
                    add("\(canonical).conv.weight", "\(u.conv)/depthwise_kernel", .depthwiseHWC1ToC1HW)
                } else {
                    conv("\(canonical).conv", u.conv)
                }
                norm("\(canonical).bn", u.bn)
                // SE sits between the depthwise conv and the projection.
                if u.part == .depthwise && b.se {
                    conv("blocks.\(i).se.reduce", "\(b.scope)/se/conv2d")
                    add("blocks.\(i).se.reduce.bias", "\(b.scope)/se/conv2d/bias")
                    conv("blocks.\(i).se.expand", "\(b.scope)/se/conv2d_1")
                    add("blocks.\(i).se.expand.bias", "\(b.scope)/se/conv2d_1/bias")
                }
            }
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
