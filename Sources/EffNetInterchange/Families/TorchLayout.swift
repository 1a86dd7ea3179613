import EffNet

/// The network a PyTorch state_dict describes, read from tensor shapes only: channels, kernels,
/// SE widths, classes. Strides are not in the weights; families supply them (`withStrides`).
struct TorchShapes {
    struct Block: Equatable {
        var kind: EfficientNetConfig.Block.Kind = .mbconv
        var inChannels: Int
        var expandedChannels: Int
        var outChannels: Int
        var kernel: Int
        var seChannels: Int?
        /// MBConv: has a 1x1 expansion; Fused-MBConv: has a 1x1 projection after its k x k conv.
        var hasExpansion: Bool
    }

    var inputChannels: Int
    var stemChannels: Int
    var stemKernel: Int
    var blocks: [Block]
    var headChannels: Int
    var numClasses: Int

    /// Reads the shapes. Each block's input is the previous block's output (so the Config always
    /// chains); a tensor that disagrees is then reported by the strict load with both shapes.
    /// - Throws: `MappingError.unsupported` naming the tensor when a size cannot be derived.
    init(_ names: TorchModelNames, in index: TorchNames, path: String) throws {
        func fail(_ what: String, _ module: String, _ expected: String) -> MappingError {
            let found = index.shape("\(module).weight").map { "\($0)" } ?? "no such tensor"
            return .unsupported(path: path, detail: "cannot derive \(what): '\(module).weight' should be \(expected) (found \(found))")
        }
        guard let stem = index.weightShape(names.stemConv, rank: 4), stem[0] > 0, stem[1] > 0, stem[2] > 0, stem[2] == stem[3] else {
            throw fail("the stem", names.stemConv, "[out, in, k, k]")
        }
        inputChannels = stem[1]
        stemChannels = stem[0]
        stemKernel = stem[2]
        var channels = stem[0]
        var blocks: [Block] = []
        for (i, b) in names.blocks.enumerated() {
            let block: Block
            switch b.kind {
            case .mbconv: block = try Self.mbconv(b, i, channels: channels, index, fail)
            case .fused: block = try Self.fused(b, i, channels: channels, index, fail)
            }
            blocks.append(block)
            channels = block.outChannels
        }
        guard !blocks.isEmpty else {
            throw MappingError.unsupported(path: path, detail: "no blocks found (no depthwise or fused convolution weights)")
        }
        self.blocks = blocks
        guard let head = index.weightShape(names.headConv, rank: 4), head[0] > 0 else {
            throw fail("the head", names.headConv, "[features, C, 1, 1]")
        }
        headChannels = head[0]
        if let fc = index.shape("\(names.classifier).weight"), fc.count == 2, fc[0] > 0 {
            numClasses = fc[0]
        } else if let bias = index.shape("\(names.classifier).bias"), bias.count == 1, bias[0] > 0 {
            numClasses = bias[0]
        } else {
            let found = index.shape("\(names.classifier).weight").map { "\($0)" } ?? "no such tensor"
            throw MappingError.unsupported(path: path, detail: "cannot find the classifier: '\(names.classifier).weight' should be [classes, \(headChannels)] (found \(found)); headless (feature-extractor) checkpoints are not supported")
        }
    }

    typealias Failure = (_ what: String, _ module: String, _ expected: String) -> MappingError

    /// An MBConv block's sizes: depthwise kernel, optional expansion and SE, projection.
    private static func mbconv(_ b: TorchBlockNames, _ i: Int, channels: Int, _ index: TorchNames, _ fail: Failure) throws -> Block {
        let dwName = b.units[.depthwise]!.conv
        guard let dw = index.weightShape(dwName, rank: 4), dw[0] > 0, dw[1] == 1, dw[2] > 0, dw[2] == dw[3] else {
            throw fail("block \(i)'s depthwise kernel", dwName, "[C, 1, k, k]")
        }
        let hasExpansion = b.units[.expand] != nil
        // Without expansion the depthwise conv runs on the block input itself.
        let expanded = hasExpansion ? dw[0] : channels
        let out = try outputChannels(b, i, index, fail)
        var se: Int?
        if let r = b.units[.seReduce]?.conv {
            if let w = index.weightShape(r, rank: 4), w[0] > 0 {
                se = w[0]
            } else if let bias = index.shape("\(r).bias"), bias.count == 1, bias[0] > 0 {
                se = bias[0]
            } else {
                throw fail("block \(i)'s squeeze-excitation width", r, "[se, C, 1, 1]")
            }
        }
        return Block(kind: .mbconv, inChannels: channels, expandedChannels: expanded, outChannels: out, kernel: dw[2],
                     seChannels: se, hasExpansion: hasExpansion)
    }

    /// A Fused-MBConv block's sizes: the k x k convolution, and the projection when it expands.
    private static func fused(_ b: TorchBlockNames, _ i: Int, channels: Int, _ index: TorchNames, _ fail: Failure) throws -> Block {
        let convName = b.units[.fused]!.conv
        guard let w = index.weightShape(convName, rank: 4), w[0] > 0, w[2] > 0, w[2] == w[3] else {
            throw fail("block \(i)'s fused convolution", convName, "[out, in, k, k]")
        }
        guard b.units[.project] != nil else {
            return Block(kind: .fused, inChannels: channels, expandedChannels: channels, outChannels: w[0], kernel: w[2],
                         seChannels: nil, hasExpansion: false)
        }
        let out = try outputChannels(b, i, index, fail)
        return Block(kind: .fused, inChannels: channels, expandedChannels: w[0], outChannels: out, kernel: w[2],
                     seChannels: nil, hasExpansion: true)
    }

    /// The projection's output channels, from its weight or its batch norm.
    private static func outputChannels(_ b: TorchBlockNames, _ i: Int, _ index: TorchNames, _ fail: Failure) throws -> Int {
        let project = b.units[.project]!
        if let p = index.weightShape(project.conv, rank: 4), p[0] > 0 { return p[0] }
        if let norm = project.norm, let bn = index.shape("\(norm).weight"), bn.count == 1, bn[0] > 0 { return bn[0] }
        throw fail("block \(i)'s output channels", project.conv, "[out, C, 1, 1]")
    }

    /// The explicit Config for these shapes with the given strides (one per block), stage indices
    /// and conventions.
    func config(name: String, strides: [Int], stages: [Int], conventions c: TorchConventions) -> EfficientNetConfig {
        var out: [EfficientNetConfig.Block] = []
        for (i, b) in blocks.enumerated() {
            // The ratio is informational (the channels are explicit); an expansion conv needs one != 1.
            var ratio = b.hasExpansion ? max(2, Int((Double(b.expandedChannels) / Double(max(b.inChannels, 1))).rounded())) : 1
            // A fused block with a projection but no widening (timm's rw `er_..._e1`).
            var fusedProjection: Bool?
            if b.kind == .fused, b.hasExpansion, b.expandedChannels == b.inChannels { ratio = 1; fusedProjection = true }
            out.append(EfficientNetConfig.Block(
                kind: b.kind, expandRatio: ratio, kernel: b.kernel, stride: strides[i], inChannels: b.inChannels,
                outChannels: b.outChannels, expandedChannels: b.expandedChannels, seChannels: b.seChannels, stage: stages[i],
                fusedProjection: fusedProjection))
        }
        var pre = c.imagePreprocessing
        if inputChannels != pre.mean.count {
            pre.mean = Array(repeating: pre.mean[0], count: inputChannels)
            pre.std = Array(repeating: pre.std[0], count: inputChannels)
        }
        return EfficientNetConfig(
            name: name, inputChannels: inputChannels,
            stem: .init(outChannels: stemChannels, kernel: stemKernel, stride: 2),
            blocks: out, headChannels: headChannels, numClasses: numClasses, bnEpsilon: c.bnEpsilon,
            padding: c.padding, activation: c.activation, imagePreprocessing: pre)
    }

    /// Output channels of the last block of each stage, given each block's stage.
    func stageOutputs(stages: [Int]) -> [Int] {
        var outs: [Int] = []
        for (b, s) in zip(blocks, stages) {
            if s < outs.count { outs[s] = b.outChannels } else { outs.append(b.outChannels) }
        }
        return outs
    }

    /// Block count per stage.
    static func repeats(stages: [Int]) -> [Int] {
        var r: [Int] = []
        for s in stages { if s < r.count { r[s] += 1 } else { r.append(1) } }
        return r
    }
}

/// Turns a family's module paths into canonical assignments, through the shared `MappingBuilder`.
enum TorchMapping {
    /// Every canonical tensor's source name by the family's naming, plus the tensors skipped on
    /// purpose. Source tensors that fit no slot are left out: they show up as unused.
    /// A classifier chain (`names.head`) goes into the config as its first plausible form; the
    /// mapping carries the alternatives, which `--head` or a reference pair decide between.
    static func mapping(family: FamilyName, names: TorchModelNames, config: EfficientNetConfig,
                        checkpoint: SourceCheckpoint) -> WeightMapping {
        let skipped = checkpoint.names.filter { $0.hasSuffix(".num_batches_tracked") || $0 == "num_batches_tracked" }
            .map { (source: $0, reason: "BatchNorm update counter (num_batches_tracked): training state, not a weight") }
        var config = config
        if let head = names.head { config.classifierChain = head.placeholder }
        var mapping = MappingBuilder.mapping(family: family.rawValue, config: config, skipped: skipped) { unit, leaf in
            names.unit(unit.module).flatMap { LeafConvention.torch.source($0, leaf, unit: unit) }
        }
        if let head = names.head {
            mapping.head = head
            mapping.notes += head.assumptions
            if head.candidates.count == 1 { mapping.notes.append("classifier chain \(HeadSpelling.describe(head.placeholder)) (\(head.source), from the weights)") }
        }
        return mapping
    }
}

extension EfficientNetConfig {
    /// Marks every block that opens its stage and could add its input (stride 1, same width)
    /// as not adding it: transformers (`id_skip`) and efficientnet_pytorch (its stride kept as
    /// the list [1]) never add a stage's first block's input. Only narrow custom widths have
    /// such blocks; EfficientNet's own channel plan does not.
    /// - Returns: one report note per block changed, ending in `why`.
    mutating func withoutStageFirstResiduals(stages: [Int], why: String) -> [String] {
        var notes: [String] = []
        for i in blocks.indices where blocks[i].canHaveResidual && (i == 0 || stages[i] != stages[i - 1]) {
            blocks[i].residual = false
            notes.append("block \(i): no residual (the first block of its stage: \(why))")
        }
        return notes
    }
}
