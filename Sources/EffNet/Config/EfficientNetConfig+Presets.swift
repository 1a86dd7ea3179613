/// Presets: the seed notebook's EfficientNetB0Mini, B0-B7 by compound scaling, EfficientNet-Lite0-4,
/// and arbitrary width/depth multipliers.
extension EfficientNetConfig {
    /// One stage of the B0 baseline: (expand, kernel, stride, out channels, repeats).
    public struct StageSpec: Sendable, Equatable {
        public var expandRatio, kernel, stride, outChannels, repeats: Int
    }

    /// EfficientNet-B0's seven stages (Tan & Le 2019, table 1).
    public static let b0Stages: [StageSpec] = [
        .init(expandRatio: 1, kernel: 3, stride: 1, outChannels: 16, repeats: 1),
        .init(expandRatio: 6, kernel: 3, stride: 2, outChannels: 24, repeats: 2),
        .init(expandRatio: 6, kernel: 5, stride: 2, outChannels: 40, repeats: 2),
        .init(expandRatio: 6, kernel: 3, stride: 2, outChannels: 80, repeats: 3),
        .init(expandRatio: 6, kernel: 5, stride: 1, outChannels: 112, repeats: 3),
        .init(expandRatio: 6, kernel: 5, stride: 2, outChannels: 192, repeats: 4),
        .init(expandRatio: 6, kernel: 3, stride: 1, outChannels: 320, repeats: 1),
    ]

    /// (width, depth, nominal resolution) of B0...B7.
    public static let compoundScaling: [(width: Double, depth: Double, resolution: Int)] = [
        (1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 300),
        (1.4, 1.8, 380), (1.6, 2.2, 456), (1.8, 2.6, 528), (2.0, 3.1, 600),
    ]

    /// (width, depth, resolution) of EfficientNet-Lite0...4.
    public static let liteScaling: [(width: Double, depth: Double, resolution: Int)] = [
        (1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 280), (1.4, 1.8, 300),
    ]

    /// Rounds `channels * width` to a multiple of 8, never below `roundLimit` (90%) of the
    /// unrounded value (the `_make_divisible` / `round_filters` every V1 implementation shares;
    /// Keras' and timm's EfficientNetV2-B builders round with no such limit: `roundLimit` 0).
    public static func roundChannels(_ channels: Int, width: Double, divisor: Int = 8, roundLimit: Double = 0.9) -> Int {
        let v = Double(channels) * width
        var r = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(r) < roundLimit * v { r += divisor }
        return r
    }

    public static func roundRepeats(_ repeats: Int, depth: Double) -> Int {
        Int((depth * Double(repeats)).rounded(.up))
    }

    /// How the SE bottleneck width is derived, which differs between families.
    public enum SEWidthRule: String, Codable, Sendable {
        /// max(1, block_in // 4): torchvision, lukemelas, keras (int(in * 0.25)).
        case quarterOfBlockInput
        /// round(block_in * 0.25): timm.
        case quarterOfBlockInputRounded
        /// max(1, expanded // 4): the seed notebook.
        case quarterOfExpanded
        /// No SE (EfficientNet-Lite).
        case none

        func width(blockIn: Int, expanded: Int) -> Int? {
            switch self {
            case .quarterOfBlockInput: return max(1, blockIn / 4)
            case .quarterOfBlockInputRounded: return max(1, Int((Double(blockIn) * 0.25).rounded(.toNearestOrEven)))
            case .quarterOfExpanded: return max(1, expanded / 4)
            case .none: return nil
            }
        }
    }

    /// Builds the block list of a compound-scaled network.
    /// - Parameters:
    ///   - fixedEndStages: keep the first and last stage's repeats unscaled (EfficientNet-Lite).
    public static func scaledBlocks(width: Double, depth: Double, stemChannels: Int, seRule: SEWidthRule,
                                    stages: [StageSpec] = b0Stages, fixedEndStages: Bool = false) -> [Block] {
        var blocks: [Block] = []
        var inCh = stemChannels
        for (s, spec) in stages.enumerated() {
            let out = roundChannels(spec.outChannels, width: width)
            let fixed = fixedEndStages && (s == 0 || s == stages.count - 1)
            let reps = fixed ? spec.repeats : roundRepeats(spec.repeats, depth: depth)
            for r in 0 ..< reps {
                let expanded = spec.expandRatio == 1 ? inCh : roundChannels(inCh * spec.expandRatio, width: 1)
                blocks.append(Block(expandRatio: spec.expandRatio, kernel: spec.kernel, stride: r == 0 ? spec.stride : 1,
                                    inChannels: inCh, outChannels: out, expandedChannels: expanded,
                                    seChannels: seRule.width(blockIn: inCh, expanded: expanded), stage: s))
                inCh = out
            }
        }
        return blocks
    }

    /// An EfficientNet scaled by arbitrary width and depth multipliers, with the given conventions.
    public static func scaled(name: String, width: Double, depth: Double, numClasses: Int = 1000,
                              bnEpsilon: Float = 1e-5, padding: Padding = .symmetric, activation: Activation = .silu,
                              seRule: SEWidthRule = .quarterOfBlockInput, fixedStemHead: Bool = false,
                              imagePreprocessing: ImagePreprocessing = .imagenetTorch) -> EfficientNetConfig {
        let stem = fixedStemHead ? 32 : roundChannels(32, width: width)
        let blocks = scaledBlocks(width: width, depth: depth, stemChannels: stem, seRule: seRule, fixedEndStages: fixedStemHead)
        let head = fixedStemHead ? 1280 : roundChannels(1280, width: width)
        return EfficientNetConfig(name: name, stem: Stem(outChannels: stem), blocks: blocks, headChannels: head,
                                  numClasses: numClasses, bnEpsilon: bnEpsilon, padding: padding,
                                  activation: activation, imagePreprocessing: imagePreprocessing)
    }

    /// EfficientNet-B`variant` (0...7) with PyTorch (torchvision) conventions by default.
    public static func b(_ variant: Int, numClasses: Int = 1000, bnEpsilon: Float? = nil, padding: Padding = .symmetric,
                         seRule: SEWidthRule = .quarterOfBlockInput) -> EfficientNetConfig {
        precondition((0 ... 7).contains(variant), "EfficientNet-B\(variant) does not exist")
        let s = compoundScaling[variant]
        // torchvision uses eps 1e-5 for B0-B4 and 1e-3 for B5-B7.
        let eps = bnEpsilon ?? (variant >= 5 ? 1e-3 : 1e-5)
        return scaled(name: "efficientnet_b\(variant)", width: s.width, depth: s.depth, numClasses: numClasses,
                      bnEpsilon: eps, padding: padding, seRule: seRule)
    }

    /// EfficientNet-Lite`variant` (0...4): no SE, ReLU6, stem 32 and head 1280 unscaled, first and
    /// last stage repeats unscaled, BN eps 1e-3, static SAME padding from the nominal size.
    public static func lite(_ variant: Int, numClasses: Int = 1000) -> EfficientNetConfig {
        precondition((0 ... 4).contains(variant), "EfficientNet-Lite\(variant) does not exist")
        let s = liteScaling[variant]
        return scaled(name: "efficientnet_lite\(variant)", width: s.width, depth: s.depth, numClasses: numClasses,
                      bnEpsilon: 1e-3, padding: .sameStatic(s.resolution), activation: .relu6, seRule: .none,
                      fixedStemHead: true)
    }

    /// The seed notebook's EfficientNetB0Mini, exactly as written there: B0 stages without
    /// width/depth rounding, expanded = in * ratio, SE width expanded // 4, eps 1e-5, padding k//2.
    public static func seedB0Mini(numClasses: Int = 1000) -> EfficientNetConfig {
        var blocks: [Block] = []
        var inCh = 32
        for (s, spec) in b0Stages.enumerated() {
            for r in 0 ..< spec.repeats {
                let mid = spec.expandRatio == 1 ? inCh : inCh * spec.expandRatio
                blocks.append(Block(expandRatio: spec.expandRatio, kernel: spec.kernel, stride: r == 0 ? spec.stride : 1,
                                    inChannels: inCh, outChannels: spec.outChannels, expandedChannels: mid,
                                    seChannels: max(1, mid / 4), stage: s))
                inCh = spec.outChannels
            }
        }
        return EfficientNetConfig(name: "seed_b0_mini", stem: Stem(outChannels: 32), blocks: blocks, headChannels: 1280,
                                  numClasses: numClasses, bnEpsilon: 1e-5, padding: .symmetric, activation: .silu)
    }
}
