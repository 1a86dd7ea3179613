import EffNet
import Foundation

/// timm's EfficientNet (`efficientnet_b0`...`b7`, built by `_gen_efficientnet`):
///
///     conv_stem, bn1                        stem
///     blocks.S.I.conv_pw/bn1, conv_dw/bn2,  InvertedResidual (expand, depthwise,
///       se.conv_reduce/se.conv_expand,        SE with bias, project)
///       conv_pwl/bn3
///     blocks.0.I.conv_dw/bn1, se.*,         DepthwiseSeparableConv (first stage: no expansion;
///       conv_pw/bn2                           here conv_pw is the projection)
///     blocks.S.I.conv_exp/bn1, conv_pwl/bn2 EdgeResidual (V2 fused: k x k, then 1x1 projection)
///     blocks.S.I.conv/bn1                   ConvBnAct (V2 fused at expand ratio 1: one k x k conv)
///     conv_head, bn2, classifier            head, linear
///
/// `efficientnet_*` pads symmetrically with BN eps 1e-5. The `tf_efficientnet_*` ports of the
/// TensorFlow weights use the very same names and shapes but TF "SAME" padding computed from the
/// actual input and eps 1e-3: names cannot tell them apart, so both families detect with the
/// same score and the converter decides with a reference pair or asks for --family.
/// A checkpoint without any SE is timm's EfficientNet-Lite (`efficientnet_lite*`): ReLU6. One with
/// fused blocks is an EfficientNetV2 (`efficientnetv2_*` / `tf_efficientnetv2_*`, same split).
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
        guard idx.has("conv_stem.weight"),
              ["conv_dw", "conv_exp", "conv"].contains(where: { idx.has("blocks.0.0.\($0).weight") }) else { return nil }
        var score = 80 + (idx.has("conv_head.weight") ? 10 : 0) + (idx.has("classifier.weight") ? 10 : 0)
        // A hub config.json names the architecture: tf_ models are timm-tf, the rest timm.
        if let arch = TimmHubConfig(checkpoint)?.architecture {
            guard arch.hasPrefix("tf_") == (family == .timmTF) else { return nil }
            score += 5
        }
        let variant: String
        do { variant = try analyse(checkpoint, idx, family: family).variant } catch { variant = "structure not understood: \(error)" }
        return FamilyDetection(family: family, score: score, variant: variant)
    }

    static func modelNames(_ idx: TorchNames) -> TorchModelNames {
        modelNames(blocks: idx.indexPairs(after: "blocks.").map { s, i in
            idx.block(among: TorchBlockStructure.allCases.map { blockNames($0, stage: s, index: i) })
        }, classifier: idx.linear(in: "classifier", fallback: "classifier"), head: TorchHeadChain.read(idx, container: "classifier"))
    }

    static func modelNames(blocks: [TorchBlockNames], classifier: String = "classifier", head: HeadAlternatives? = nil) -> TorchModelNames {
        TorchModelNames(stemConv: "conv_stem", stemBN: "bn1", blocks: blocks, headConv: "conv_head", headBN: "bn2", classifier: classifier, head: head)
    }

    /// Block `blocks.<stage>.<index>` as timm's block classes name their modules:
    /// InvertedResidual (conv_pw/bn1, conv_dw/bn2, se, conv_pwl/bn3), DepthwiseSeparableConv (no
    /// expansion: conv_dw/bn1, se, conv_pw/bn2 the projection), EdgeResidual (V2 fused with
    /// projection: conv_exp/bn1, se, conv_pwl/bn2), ConvBnAct (V2 fused without: conv/bn1).
    static func blockNames(_ s: TorchBlockStructure, stage: Int, index: Int) -> TorchBlockNames? {
        let p = "blocks.\(stage).\(index)"
        let se = (s.hasSE ? "\(p).se.conv_reduce" : nil, s.hasSE ? "\(p).se.conv_expand" : nil)
        switch (s.kind, s.hasPointwise) {
        case (.fused, true):
            guard !s.hasSE else { return nil }
            return TorchBlockNames(fusedConv: "\(p).conv_exp", fusedBN: "\(p).bn1", projectConv: "\(p).conv_pwl",
                                   projectBN: "\(p).bn2", stage: stage, indexInStage: index)
        case (.fused, false):
            guard !s.hasSE else { return nil }
            return TorchBlockNames(fusedConv: "\(p).conv", fusedBN: "\(p).bn1", projectConv: nil, projectBN: nil,
                                   stage: stage, indexInStage: index)
        case (.mbconv, true):
            return TorchBlockNames(expandConv: "\(p).conv_pw", expandBN: "\(p).bn1", depthwiseConv: "\(p).conv_dw", depthwiseBN: "\(p).bn2",
                                   seReduce: se.0, seExpand: se.1, projectConv: "\(p).conv_pwl", projectBN: "\(p).bn3",
                                   stage: stage, indexInStage: index)
        case (.mbconv, false):
            return TorchBlockNames(expandConv: nil, expandBN: nil, depthwiseConv: "\(p).conv_dw", depthwiseBN: "\(p).bn1",
                                   seReduce: se.0, seExpand: se.1, projectConv: "\(p).conv_pw", projectBN: "\(p).bn2",
                                   stage: stage, indexInStage: index)
        }
    }

    static func analyse(_ checkpoint: SourceCheckpoint, _ idx: TorchNames, family: FamilyName) throws -> (mapping: WeightMapping, variant: String) {
        let tf = family == .timmTF
        let names = modelNames(idx)
        let shapes = try TorchShapes(names, in: idx, path: checkpoint.path)
        let (strides, stages) = try TorchStages.strides(explicit: names.blocks, path: checkpoint.path)
        let v2 = names.blocks.contains { $0.kind == .fused }
        let lite = !v2 && shapes.blocks.allSatisfy { $0.seChannels == nil }
        var conventions = TorchConventions(bnEpsilon: tf ? 1e-3 : 1e-5, padding: tf ? .sameDynamic : .symmetric,
                                           activation: lite ? .relu6 : .silu)
        var config = shapes.config(name: tf ? "tf_efficientnet_custom" : "efficientnet_custom", strides: strides, stages: stages,
                                   conventions: conventions)
        var described: String
        if v2 {
            // timm names V2 models efficientnetv2_* (tf_efficientnetv2_* for the TF ports).
            let presets = TorchVariant.v2Presets { v in
                let base = v.name.replacingOccurrences(of: "efficientnet_v2_", with: "efficientnetv2_")
                return tf ? "tf_" + base : base
            }
            if let p = TorchVariant.matchV2(config, presets: presets) {
                config.name = p.name
                config.imagePreprocessing = .imagenetTorch(resize: p.resolution, crop: p.resolution)
                config.imagePreprocessing.interpolation = .bicubic   // timm's pretrained_cfg for every EfficientNet
                described = "\(p.name) (width \(p.width), depth \(p.depth))"
            } else {
                config.name = tf ? "tf_efficientnetv2_custom" : "efficientnetv2_custom"
                described = "custom EfficientNetV2: stem \(shapes.stemChannels), \(shapes.blocks.count) blocks (\(shapes.blocks.filter { $0.kind == .fused }.count) fused) in \(Set(stages).count) stages, head \(shapes.headChannels)"
            }
        } else {
            let prefix = tf ? "tf_efficientnet_" : "efficientnet_"
            let presets = lite ? TorchVariant.litePresets { "\(prefix)lite\($0)" } : TorchVariant.bPresets(beyondB7: true) { $0 == 9 ? "\(prefix)l2" : "\(prefix)b\($0)" }
            config.name = "\(prefix)custom"
            let match = TorchVariant.match(config, stages: stages, presets: presets, fixedStemHead: lite)
            if let i = match.index {
                conventions.imagePreprocessing = .imagenetTorch(nominal: presets[i].resolution)
                conventions.imagePreprocessing.interpolation = .bicubic   // timm's pretrained_cfg for every EfficientNet
                config = shapes.config(name: presets[i].name, strides: strides, stages: stages, conventions: conventions)
            }
            described = match.description
        }
        var hubNotes: [String] = []
        if let hub = TimmHubConfig(checkpoint) {
            if let n = hub.numClasses, n != shapes.numClasses {
                throw MappingError.unsupported(path: checkpoint.path, detail: "config.json says num_classes \(n), the classifier weight 'classifier.weight' has \(shapes.numClasses) rows")
            }
            if let arch = hub.architecture {
                hubNotes.append("config.json: architecture \(arch)" + (arch == config.name ? "" : " (the weights' structure: \(config.name))"))
                if arch.hasPrefix(tf ? "tf_" : ""), arch.contains("efficientnet"), arch != config.name,
                   !config.name.hasSuffix("custom") {
                    throw MappingError.unsupported(path: checkpoint.path, detail: "config.json says architecture \(arch), the weights have the structure of \(config.name)")
                }
            }
            if let p = hub.preprocessing {
                config.imagePreprocessing = p
                hubNotes.append("preprocessing from config.json's pretrained_cfg: resize \(p.resizeMode == .exact ? "both sides (crop_mode squash)" : "shorter side") to \(p.resizeShorterTo), \(p.interpolation.rawValue), crop \(p.cropSize), mean \(p.mean), std \(p.std)"
                                + (hub.interpolation.map { ["bilinear", "bicubic", "nearest"].contains($0) ? "" : " (timm's '\($0)' is not supported: bicubic used)" } ?? ""))
            }
        }
        let variant = described + ", \(shapes.numClasses) classes; "
            + (tf ? "TF 'SAME' padding from the actual input, BN eps 1e-3 (tf_ port)" : "symmetric padding, BN eps 1e-5")
            + (lite ? ", no SE, ReLU6 (EfficientNet-Lite)" : "")
        var mapping = TorchMapping.mapping(family: family, names: names, config: config, checkpoint: checkpoint)
        mapping.notes += hubNotes
        return (mapping, variant)
    }
}

/// timm's hub config.json (`save_for_hf`): `architecture` (which tells timm from timm-tf where
/// names cannot), `num_classes`, and `pretrained_cfg` (input size, crop_pct, mean, std,
/// interpolation: how the model's images are prepared).
struct TimmHubConfig {
    var architecture: String?
    var numClasses: Int?
    var preprocessing: EfficientNetConfig.ImagePreprocessing?
    var interpolation: String?

    /// nil when the checkpoint has no config.json of timm's shape.
    init?(_ checkpoint: SourceCheckpoint) {
        guard let json = SourceReader.hubConfig(of: checkpoint), let arch = json["architecture"] as? String else { return nil }
        architecture = arch
        numClasses = json["num_classes"] as? Int
        guard let cfg = json["pretrained_cfg"] as? [String: Any] else { return }
        interpolation = cfg["interpolation"] as? String
        if let size = cfg["input_size"] as? [Int], size.count == 3, (1 ... 8192).contains(size[1]),
           let mean = (cfg["mean"] as? [NSNumber])?.map(\.floatValue), let std = (cfg["std"] as? [NSNumber])?.map(\.floatValue),
           mean.count == size[0], std.count == size[0], std.allSatisfy({ $0 > 0 }) {
            // timm's transforms: resize to floor(size / crop_pct), centre crop size.
            let pct = (cfg["crop_pct"] as? NSNumber)?.doubleValue ?? 0.875
            // crop_pct comes from an untrusted file: only (0.05, 1] sizes anything.
            let resize = pct >= 0.05 && pct <= 1 ? Int((Double(size[1]) / pct).rounded(.down)) : size[1]
            // timm's default interpolation is bicubic for every EfficientNet; 'random' and
            // 'lanczos' (training-time or unsupported here) read as bicubic, which the note says.
            let filter = interpolation.flatMap(EfficientNetConfig.ImagePreprocessing.Interpolation.init(rawValue:)) ?? .bicubic
            // crop_mode 'squash' resizes both sides (aspect ratio lost), 'center' the shorter one.
            let mode: EfficientNetConfig.ImagePreprocessing.ResizeMode = cfg["crop_mode"] as? String == "squash" ? .exact : .shorterSide
            preprocessing = .init(resizeShorterTo: resize, cropSize: size[1], pixelScale: 1.0 / 255, mean: mean, std: std,
                                  interpolation: filter, resizeMode: mode)
        }
    }
}
