import EffNet

/// torchvision.models.efficientnet_b0...b7 and efficientnet_v2_s/m/l (and `EfficientNet(...)`
/// with custom settings):
///
///     features.0.0 / .1                 stem conv / bn
///     features.S.I.block.K...           S = 1...7, MBConv: [expand K.0/K.1], depthwise K.0/K.1,
///                                       SE K.fc1/K.fc2 (bias), project K.0/K.1;
///                                       FusedMBConv (V2): block.0.0/.1 the k x k conv, block.1.0/.1
///                                       the projection when it expands
///     features.8.0 / .1                 head conv / bn
///     classifier.1                      linear (classifier.0 is dropout; a replaced classifier
///                                       is found as the last Linear under `classifier`)
///
/// Symmetric padding; BN eps 1e-5 for B0-B4 and 1e-3 for B5-B7 and every V2 (torchvision passes
/// `norm_layer=partial(nn.BatchNorm2d, eps=1e-3)` for those). The epsilon is not in the weights:
/// a V1 network whose structure is not B0-B7 gets 1e-5, the `EfficientNet` class default; a V2
/// one 1e-3, what every V2 builder passes.
public enum TorchvisionFamily: ModelFamily {
    public static let name = FamilyName.torchvision

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        let idx = TorchNames(checkpoint)
        guard idx.has("features.0.0.weight"), !idx.indexPairs(after: "features.", infix: "block.").isEmpty else { return nil }
        let score = 90 + (idx.anyName(contains: "classifier.") ? 10 : 0)
        return FamilyDetection(family: name, score: score, variant: describe(checkpoint, idx))
    }

    /// - Throws: `MappingError.unsupported` when sizes or strides cannot be derived.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try analyse(checkpoint, TorchNames(checkpoint)).mapping
    }

    static func modelNames(_ idx: TorchNames) -> TorchModelNames {
        let blocks = idx.indexPairs(after: "features.", infix: "block.").map { s, i in
            idx.block(among: TorchBlockStructure.allCases.map { blockNames($0, feature: s, index: i) })
        }
        return modelNames(blocks: blocks, lastFeature: idx.indices(after: "features.").last ?? 8,
                          classifier: idx.linear(in: "classifier", fallback: "classifier.1"),
                          head: TorchHeadChain.read(idx, container: "classifier"))
    }

    /// The names of a model whose blocks are `blocks` and whose head is `features.<lastFeature>`.
    static func modelNames(blocks: [TorchBlockNames], lastFeature: Int, classifier: String = "classifier.1",
                           head: HeadAlternatives? = nil) -> TorchModelNames {
        TorchModelNames(stemConv: "features.0.0", stemBN: "features.0.1", blocks: blocks,
                        headConv: "features.\(lastFeature).0", headBN: "features.\(lastFeature).1", classifier: classifier, head: head)
    }

    /// Block `index` of `features.<feature>`: `block.K.0` convolutions, `block.K.1` batch norms,
    /// SE `block.K.fc1/fc2`. MBConv: [expansion], depthwise, [SE], projection; FusedMBConv (V2):
    /// the k x k conv, [projection]. torchvision's FusedMBConv has no SE.
    static func blockNames(_ s: TorchBlockStructure, feature: Int, index: Int) -> TorchBlockNames? {
        let p = "features.\(feature).\(index).block"
        switch s.kind {
        case .fused:
            guard !s.hasSE else { return nil }
            return TorchBlockNames(fusedConv: "\(p).0.0", fusedBN: "\(p).0.1", projectConv: s.hasPointwise ? "\(p).1.0" : nil,
                                   projectBN: s.hasPointwise ? "\(p).1.1" : nil, stage: feature, indexInStage: index)
        case .mbconv:
            let dw = s.hasPointwise ? 1 : 0
            let project = dw + (s.hasSE ? 2 : 1)
            return TorchBlockNames(
                expandConv: s.hasPointwise ? "\(p).0.0" : nil, expandBN: s.hasPointwise ? "\(p).0.1" : nil,
                depthwiseConv: "\(p).\(dw).0", depthwiseBN: "\(p).\(dw).1",
                seReduce: s.hasSE ? "\(p).\(dw + 1).fc1" : nil, seExpand: s.hasSE ? "\(p).\(dw + 1).fc2" : nil,
                projectConv: "\(p).\(project).0", projectBN: "\(p).\(project).1", stage: feature, indexInStage: index)
        }
    }

    static func analyse(_ checkpoint: SourceCheckpoint, _ idx: TorchNames) throws -> (mapping: WeightMapping, variant: String) {
        let names = modelNames(idx)
        let shapes = try TorchShapes(names, in: idx, path: checkpoint.path)
        let (strides, stages) = try TorchStages.strides(explicit: names.blocks, path: checkpoint.path)
        let v2 = names.blocks.contains { $0.kind == .fused }
        var conventions = TorchConventions(bnEpsilon: v2 ? 1e-3 : 1e-5, padding: .symmetric, activation: .silu)
        var config = shapes.config(name: "efficientnet", strides: strides, stages: stages, conventions: conventions)
        var variant: String
        if v2 {
            (config, variant) = v2Variant(config, shapes: shapes, strides: strides, stages: stages)
        } else {
            let match = TorchVariant.match(config, stages: stages, presets: TorchVariant.bPresets { "efficientnet_b\($0)" })
            variant = match.description
            if let b = match.index {
                config.name = "efficientnet_b\(b)"
                conventions.bnEpsilon = b >= 5 ? 1e-3 : 1e-5
                conventions.imagePreprocessing = Self.bPreprocessing[b]
                config = shapes.config(name: config.name, strides: strides, stages: stages, conventions: conventions)
                variant += ", \(shapes.numClasses) classes; BN eps \(b >= 5 ? "1e-3 (torchvision B5-B7)" : "1e-5 (torchvision B0-B4)")"
            } else {
                config.name = "efficientnet_custom"
                variant += ", \(shapes.numClasses) classes; BN eps 1e-5 assumed (torchvision's EfficientNet class default; B5-B7 builders pass 1e-3)"
            }
        }
        variant += ", symmetric padding"
        return (TorchMapping.mapping(family: name, names: names, config: config, checkpoint: checkpoint), variant)
    }

    /// torchvision's efficientnet_v2_s/m/l (BN eps 1e-3, their weights' resize/crop and
    /// normalisation), or a custom V2 structure.
    static func v2Variant(_ config: EfficientNetConfig, shapes: TorchShapes, strides: [Int], stages: [Int]) -> (EfficientNetConfig, String) {
        var config = config
        let presets = TorchVariant.v2Presets { $0.name }.filter { $0.name.hasPrefix("efficientnet_v2_") && !$0.name.contains("_b") }
        let blocks = "\(config.blocks.count) blocks (\(config.blocks.filter { $0.kind == .fused }.count) fused) in \(Set(stages).count) stages"
        guard let p = TorchVariant.matchV2(config, presets: presets) else {
            config.name = "efficientnet_v2_custom"
            return (config, "custom EfficientNetV2: stem \(shapes.stemChannels), \(blocks), head \(shapes.headChannels), \(shapes.numClasses) classes; BN eps 1e-3 assumed (torchvision's V2 builders pass it; the EfficientNet class default is 1e-5)")
        }
        config.name = p.name
        config.imagePreprocessing = Self.v2Preprocessing[p.name] ?? .imagenetTorch(resize: p.resolution, crop: p.resolution)
        return (config, "\(p.name) (\(blocks)), \(shapes.numClasses) classes; BN eps 1e-3 (torchvision V2)")
    }

    /// What torchvision's weights' transforms do (`EfficientNet_B*_Weights.DEFAULT.transforms()`,
    /// printed by torchvision 0.29): shorter side resized by Pillow with the given filter, centre
    /// crop, ImageNet normalisation. B1's DEFAULT is IMAGENET1K_V2 (255/240 bilinear; V1 was
    /// 256/240 bicubic).
    static let bPreprocessing: [EfficientNetConfig.ImagePreprocessing] = [
        (256, 224, .bicubic), (255, 240, .bilinear), (288, 288, .bicubic), (320, 300, .bicubic),
        (384, 380, .bicubic), (456, 456, .bicubic), (528, 528, .bicubic), (600, 600, .bicubic),
    ].map { resize, crop, filter in
        var p = EfficientNetConfig.ImagePreprocessing.imagenetTorch(resize: resize, crop: crop)
        p.interpolation = filter
        return p
    }

    /// The same for the V2 weights (`EfficientNet_V2_*_Weights.IMAGENET1K_V1`): resize and crop
    /// 384 (S) or 480 (M, L), bilinear except V2-L (bicubic, mean and std 0.5).
    static let v2Preprocessing: [String: EfficientNetConfig.ImagePreprocessing] = [
        "efficientnet_v2_s": .imagenetTorch(resize: 384, crop: 384),
        "efficientnet_v2_m": .imagenetTorch(resize: 480, crop: 480),
        "efficientnet_v2_l": .init(resizeShorterTo: 480, cropSize: 480, pixelScale: 1.0 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
                                   interpolation: .bicubic),
    ]

    static func describe(_ checkpoint: SourceCheckpoint, _ idx: TorchNames) -> String {
        do { return try analyse(checkpoint, idx).variant } catch { return "structure not understood: \(error)" }
    }
}
