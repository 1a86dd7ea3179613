import EffNet

/// timm's EfficientNet (`efficientnet_b0`...`b7`, built by `_gen_efficientnet`):
///
///     conv_stem, bn1                        stem
///     blocks.S.I.conv_pw/bn1, conv_dw/bn2,  InvertedResidual (expand, depthwise,
///       se.conv_reduce/se.conv_expand,        SE with bias, project)
///       conv_pwl/bn3
///     blocks.0.I.conv_dw/bn1, se.*,         DepthwiseSeparableConv (first stage: no expansion;
///       conv_pw/bn2                           here conv_pw is the projection)
///     conv_head, bn2, classifier            head, linear
///
/// `efficientnet_*` pads symmetrically with BN eps 1e-5. The `tf_efficientnet_*` ports of the
/// TensorFlow weights use the very same names and shapes but TF "SAME" padding computed from the
/// actual input and eps 1e-3: names cannot tell them apart, so both families detect with the
/// same score and the converter decides with a reference pair or asks for --family.
/// A checkpoint without any SE is timm's EfficientNet-Lite (`efficientnet_lite*`): ReLU6.
public enum TimmFamily: ModelFamily {
    public static let name = FamilyName.timm

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        TimmNaming.detect(checkpoint, family: name)
    }

    /// - Throws: `MappingError.unsupported` when sizes or strides cannot be derived.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try TimmNaming.analyse(checkpoint, TorchNames(checkpoint), family: name).mapping
    }
}

/// timm's `tf_efficientnet_*`: same names as `TimmFamily`, TF "SAME" padding, BN eps 1e-3.
public enum TimmTFFamily: ModelFamily {
    public static let name = FamilyName.timmTF

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        TimmNaming.detect(checkpoint, family: name)
    }

    /// - Throws: `MappingError.unsupported` when sizes or strides cannot be derived.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try TimmNaming.analyse(checkpoint, TorchNames(checkpoint), family: name).mapping
    }
}

/// What `TimmFamily` and `TimmTFFamily` share: everything but the conventions.
enum TimmNaming {
    static func detect(_ checkpoint: SourceCheckpoint, family: FamilyName) -> FamilyDetection? {
        let idx = TorchNames(checkpoint)
        guard idx.has("conv_stem.weight"), idx.has("blocks.0.0.conv_dw.weight") else { return nil }
        let score = 80 + (idx.has("conv_head.weight") ? 10 : 0) + (idx.has("classifier.weight") ? 10 : 0)
        let variant: String
        do { variant = try analyse(checkpoint, idx, family: family).variant } catch { variant = "structure not understood: \(error)" }
        return FamilyDetection(family: family, score: score, variant: variant)
    }

    static func modelNames(_ idx: TorchNames) -> TorchModelNames {
        let blocks = idx.indexPairs(after: "blocks.").map { s, i -> TorchBlockNames in
            let p = "blocks.\(s).\(i)"
            let hasSE = idx.has("\(p).se.conv_reduce.weight") || idx.has("\(p).se.conv_reduce.bias")
            let se = (hasSE ? "\(p).se.conv_reduce" : nil, hasSE ? "\(p).se.conv_expand" : nil)
            if idx.has("\(p).conv_pwl.weight") {
                // InvertedResidual
                return TorchBlockNames(expandConv: "\(p).conv_pw", expandBN: "\(p).bn1",
                                       depthwiseConv: "\(p).conv_dw", depthwiseBN: "\(p).bn2",
                                       seReduce: se.0, seExpand: se.1, projectConv: "\(p).conv_pwl", projectBN: "\(p).bn3",
                                       stage: s, indexInStage: i)
            }
            // DepthwiseSeparableConv
            return TorchBlockNames(expandConv: nil, expandBN: nil, depthwiseConv: "\(p).conv_dw", depthwiseBN: "\(p).bn1",
                                   seReduce: se.0, seExpand: se.1, projectConv: "\(p).conv_pw", projectBN: "\(p).bn2",
                                   stage: s, indexInStage: i)
        }
        return TorchModelNames(stemConv: "conv_stem", stemBN: "bn1", blocks: blocks,
                               headConv: "conv_head", headBN: "bn2", classifier: "classifier")
    }

    static func analyse(_ checkpoint: SourceCheckpoint, _ idx: TorchNames, family: FamilyName) throws -> (mapping: WeightMapping, variant: String) {
        let tf = family == .timmTF
        let names = modelNames(idx)
        let shapes = try TorchShapes(names, in: idx, path: checkpoint.path)
        let (strides, stages) = try TorchStages.strides(explicit: names.blocks, path: checkpoint.path)
        let lite = shapes.blocks.allSatisfy { $0.seChannels == nil }
        var conventions = TorchConventions(bnEpsilon: tf ? 1e-3 : 1e-5, padding: tf ? .sameDynamic : .symmetric,
                                           activation: lite ? .relu6 : .silu)
        let prefix = tf ? "tf_efficientnet_" : "efficientnet_"
        let presets = lite ? TorchVariant.litePresets { "\(prefix)lite\($0)" } : TorchVariant.bPresets(beyondB7: true) { $0 == 9 ? "\(prefix)l2" : "\(prefix)b\($0)" }
        var config = shapes.config(name: "\(prefix)custom", strides: strides, stages: stages, conventions: conventions)
        let match = TorchVariant.match(config, stages: stages, presets: presets, fixedStemHead: lite)
        if let i = match.index {
            conventions.imagePreprocessing = .imagenetTorch(nominal: presets[i].resolution)
            config = shapes.config(name: presets[i].name, strides: strides, stages: stages, conventions: conventions)
        }
        let variant = match.description + ", \(shapes.numClasses) classes; "
            + (tf ? "TF 'SAME' padding from the actual input, BN eps 1e-3 (tf_ port)" : "symmetric padding, BN eps 1e-5")
            + (lite ? ", no SE, ReLU6 (EfficientNet-Lite)" : "")
        return (TorchMapping.mapping(family: family, names: names, config: config, checkpoint: checkpoint), variant)
    }
}
