/// EfficientNetV2 presets (Tan & Le 2021): the official S/M/L and B0-B3 architectures as
/// torchvision, Keras and timm's `tf_efficientnetv2_*` build them, timm's own
/// `efficientnetv2_rw_t/s/m`, and any width and depth.
extension EfficientNetConfig {
    /// One stage of an EfficientNetV2 architecture (timm's `decode_arch_def` strings, e.g.
    /// `er_r4_k3_s2_e4_c48`, written out).
    public struct V2StageSpec: Sendable, Equatable {
        public var kind: Block.Kind
        public var expandRatio, kernel, stride, outChannels, repeats: Int
        /// SE on the stage's MBConv blocks (width: a quarter of the block's input channels).
        public var se: Bool
        /// Fused blocks: a 1x1 projection even at expand ratio 1 (timm's `er_..._e1` stages).
        public var fusedProjection: Bool?

        public init(_ kind: Block.Kind, expand: Int, kernel: Int = 3, stride: Int, out: Int, repeats: Int, se: Bool = false,
                    fusedProjection: Bool? = nil) {
            self.kind = kind; expandRatio = expand; self.kernel = kernel; self.stride = stride
            outChannels = out; self.repeats = repeats; self.se = se; self.fusedProjection = fusedProjection
        }
    }

    /// An EfficientNetV2 architecture before scaling: stages, stem and head widths.
    public struct V2Architecture: Sendable, Equatable {
        public var stages: [V2StageSpec]
        public var stemChannels: Int
        public var headChannels: Int

        /// V2-S (torchvision `_efficientnet_conf("efficientnet_v2_s")`, Keras `efficientnetv2-s`,
        /// timm `tf_efficientnetv2_s`).
        public static let s = V2Architecture(stages: [
            .init(.fused, expand: 1, stride: 1, out: 24, repeats: 2),
            .init(.fused, expand: 4, stride: 2, out: 48, repeats: 4),
            .init(.fused, expand: 4, stride: 2, out: 64, repeats: 4),
            .init(.mbconv, expand: 4, stride: 2, out: 128, repeats: 6, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 160, repeats: 9, se: true),
            .init(.mbconv, expand: 6, stride: 2, out: 256, repeats: 15, se: true),
        ], stemChannels: 24, headChannels: 1280)

        public static let m = V2Architecture(stages: [
            .init(.fused, expand: 1, stride: 1, out: 24, repeats: 3),
            .init(.fused, expand: 4, stride: 2, out: 48, repeats: 5),
            .init(.fused, expand: 4, stride: 2, out: 80, repeats: 5),
            .init(.mbconv, expand: 4, stride: 2, out: 160, repeats: 7, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 176, repeats: 14, se: true),
            .init(.mbconv, expand: 6, stride: 2, out: 304, repeats: 18, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 512, repeats: 5, se: true),
        ], stemChannels: 24, headChannels: 1280)

        public static let l = V2Architecture(stages: [
            .init(.fused, expand: 1, stride: 1, out: 32, repeats: 4),
            .init(.fused, expand: 4, stride: 2, out: 64, repeats: 7),
            .init(.fused, expand: 4, stride: 2, out: 96, repeats: 7),
            .init(.mbconv, expand: 4, stride: 2, out: 192, repeats: 10, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 224, repeats: 19, se: true),
            .init(.mbconv, expand: 6, stride: 2, out: 384, repeats: 25, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 640, repeats: 7, se: true),
        ], stemChannels: 32, headChannels: 1280)

        /// V2-XL (google/automl `v2_xl_block`, ImageNet-21k pretraining; timm `tf_efficientnetv2_xl`).
        public static let xl = V2Architecture(stages: [
            .init(.fused, expand: 1, stride: 1, out: 32, repeats: 4),
            .init(.fused, expand: 4, stride: 2, out: 64, repeats: 8),
            .init(.fused, expand: 4, stride: 2, out: 96, repeats: 8),
            .init(.mbconv, expand: 4, stride: 2, out: 192, repeats: 16, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 256, repeats: 24, se: true),
            .init(.mbconv, expand: 6, stride: 2, out: 512, repeats: 32, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 640, repeats: 8, se: true),
        ], stemChannels: 32, headChannels: 1280)

        /// The B0-B3 base (Keras `efficientnetv2-b0`, timm `_gen_efficientnetv2_base`).
        public static let base = V2Architecture(stages: [
            .init(.fused, expand: 1, stride: 1, out: 16, repeats: 1),
            .init(.fused, expand: 4, stride: 2, out: 32, repeats: 2),
            .init(.fused, expand: 4, stride: 2, out: 48, repeats: 2),
            .init(.mbconv, expand: 4, stride: 2, out: 96, repeats: 3, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 112, repeats: 5, se: true),
            .init(.mbconv, expand: 6, stride: 2, out: 192, repeats: 8, se: true),
        ], stemChannels: 32, headChannels: 1280)

        /// timm's `efficientnetv2_rw_s` / `_rw_m` (`_gen_efficientnetv2_s(rw=True)`): the first
        /// stage fused with a projection at expand ratio 1, a wider last stage and head.
        public static let rw = V2Architecture(stages: [
            .init(.fused, expand: 1, stride: 1, out: 24, repeats: 2, fusedProjection: true),
            .init(.fused, expand: 4, stride: 2, out: 48, repeats: 4),
            .init(.fused, expand: 4, stride: 2, out: 64, repeats: 4),
            .init(.mbconv, expand: 4, stride: 2, out: 128, repeats: 6, se: true),
            .init(.mbconv, expand: 6, stride: 1, out: 160, repeats: 9, se: true),
            .init(.mbconv, expand: 6, stride: 2, out: 272, repeats: 15, se: true),
        ], stemChannels: 24, headChannels: 1792)
    }

    /// The strides of EfficientNet's stages by index, V1 and V2 alike: stage s's first block
    /// strides `stageStrides[s]`, the others 1. Weights do not store strides; families whose
    /// names give each block's stage take them from here.
    public static let stageStrides = [1, 2, 2, 2, 1, 2, 1]

    /// The blocks of `arch` scaled by `width` and a depth per stage (`depth.count` 1 means
    /// one for all), with channels rounded as `roundLimit` says (see `roundChannels`).
    public static func v2Blocks(_ arch: V2Architecture, width: Double, depth: [Double], roundLimit: Double) -> [Block] {
        var blocks: [Block] = []
        var inCh = roundChannels(arch.stemChannels, width: width, roundLimit: roundLimit)
        for (s, spec) in arch.stages.enumerated() {
            let out = roundChannels(spec.outChannels, width: width, roundLimit: roundLimit)
            let reps = roundRepeats(spec.repeats, depth: depth.count == 1 ? depth[0] : depth[s])
            for r in 0 ..< reps {
                let expanded = inCh * spec.expandRatio
                blocks.append(Block(kind: spec.kind, expandRatio: spec.expandRatio, kernel: spec.kernel,
                                    stride: r == 0 ? spec.stride : 1, inChannels: inCh, outChannels: out,
                                    expandedChannels: expanded, seChannels: spec.se ? max(1, inCh / 4) : nil, stage: s,
                                    fusedProjection: spec.fusedProjection))
                inCh = out
            }
        }
        return blocks
    }

    /// An EfficientNetV2 of architecture `arch` scaled by `width` and `depth`, with the given
    /// conventions (by default torchvision's: BN eps 1e-3, symmetric padding).
    public static func v2(_ arch: V2Architecture, name: String, width: Double = 1, depth: [Double] = [1],
                          roundLimit: Double = 0.9, numClasses: Int = 1000, bnEpsilon: Float = 1e-3,
                          padding: Padding = .symmetric, imagePreprocessing: ImagePreprocessing = .imagenetTorch) -> EfficientNetConfig {
        let stem = roundChannels(arch.stemChannels, width: width, roundLimit: roundLimit)
        let head = roundChannels(arch.headChannels, width: width, roundLimit: roundLimit)
        return EfficientNetConfig(name: name, stem: Stem(outChannels: stem),
                                  blocks: v2Blocks(arch, width: width, depth: depth, roundLimit: roundLimit),
                                  headChannels: head, numClasses: numClasses, bnEpsilon: bnEpsilon, padding: padding,
                                  activation: .silu, imagePreprocessing: imagePreprocessing)
    }

    /// (width, depth, resolution) of EfficientNetV2-B0...B3 (Keras `EfficientNetV2B0`..., timm
    /// `tf_efficientnetv2_b0`...).
    public static let v2BScaling: [(width: Double, depth: Double, resolution: Int)] = [
        (1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 300),
    ]

    /// A known EfficientNetV2 structure: its name, architecture, scaling, channel rounding and
    /// default resolution (torchvision's weights' crop for S/M/L, Keras' default size for B0-B3).
    public struct V2Variant: Sendable {
        public var name: String
        public var architecture: V2Architecture
        public var width: Double
        public var depth: [Double]
        public var roundLimit: Double
        public var resolution: Int

        public func config(numClasses: Int = 1000) -> EfficientNetConfig {
            .v2(architecture, name: name, width: width, depth: depth, roundLimit: roundLimit, numClasses: numClasses,
                imagePreprocessing: .imagenetTorch(resize: resolution, crop: resolution))
        }
    }

    /// Every EfficientNetV2 structure the families name.
    public static let v2Variants: [V2Variant] = [
        V2Variant(name: "efficientnet_v2_s", architecture: .s, width: 1, depth: [1], roundLimit: 0.9, resolution: 384),
        V2Variant(name: "efficientnet_v2_m", architecture: .m, width: 1, depth: [1], roundLimit: 0.9, resolution: 480),
        V2Variant(name: "efficientnet_v2_l", architecture: .l, width: 1, depth: [1], roundLimit: 0.9, resolution: 480),
    ] + v2BScaling.enumerated().map { i, s in
        V2Variant(name: "efficientnet_v2_b\(i)", architecture: .base, width: s.width, depth: [s.depth], roundLimit: 0,
                  resolution: s.resolution)
    } + [
        V2Variant(name: "efficientnetv2_rw_t", architecture: .s, width: 0.8, depth: [0.9], roundLimit: 0.9, resolution: 288),
        V2Variant(name: "efficientnetv2_rw_s", architecture: .rw, width: 1, depth: [1], roundLimit: 0.9, resolution: 384),
        V2Variant(name: "efficientnetv2_rw_m", architecture: .rw, width: 1.2, depth: [1.2, 1.2, 1.2, 1.2, 1.6, 1.6],
                  roundLimit: 0.9, resolution: 416),
    ]

    /// EfficientNetV2-S as torchvision builds it (BN eps 1e-3, symmetric padding, 384 crop).
    public static func v2S(numClasses: Int = 1000) -> EfficientNetConfig { v2Variants[0].config(numClasses: numClasses) }

    /// True when this network has Fused-MBConv blocks (an EfficientNetV2).
    public var isV2: Bool { blocks.contains { $0.kind == .fused } }
}

extension EfficientNetConfig.ImagePreprocessing {
    /// ImageNet mean/std, shorter side resized to `resize`, centre crop `crop`.
    public static func imagenetTorch(resize: Int, crop: Int) -> Self {
        var p = Self.imagenetTorch
        p.resizeShorterTo = resize
        p.cropSize = crop
        return p
    }
}
