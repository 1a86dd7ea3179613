/// An explicit description of one EfficientNet: every block spelled out, and every convention in
/// which frameworks differ (BN epsilon, padding, activation, input preprocessing, final softmax).
/// Nothing about a model is guessed at run time; the Config is stored in every .effw as JSON.
public struct EfficientNetConfig: Codable, Equatable, Sendable {
    /// A human-readable name, e.g. "efficientnet_b0" or "seed_b0_mini".
    public var name: String
    public var inputChannels: Int
    public var stem: Stem
    /// A flat list of blocks (MBConv or Fused-MBConv), in execution order.
    public var blocks: [Block]
    /// Channels of the head's 1x1 convolution.
    public var headChannels: Int
    public var numClasses: Int
    public var bnEpsilon: Float
    /// True when batch norm has been folded into convolution biases (ONNX exports): convolutions
    /// then carry `.conv.bias` and there are no `.bn.*` tensors.
    public var batchNormFolded: Bool
    public var padding: Padding
    public var activation: Activation
    /// Per-channel affine applied to the input inside the model (Keras' Rescaling/Normalization),
    /// nil for none.
    public var inputTransform: InputTransform?
    public var finalSoftmax: Bool
    /// How effnet-predict turns an image into the model's input.
    public var imagePreprocessing: ImagePreprocessing
    /// The classifier as a chain of layers on the pooled features (a fine-tuned head such as
    /// Linear-ReLU-Dropout-Linear); nil for one Linear layer (`classifier.weight`/`.bias`).
    /// Layer k's parameters are `classifier.k.*`, as an `nn.Sequential` names them.
    public var classifierChain: [ClassifierLayer]?

    /// One layer of a classifier chain.
    public struct ClassifierLayer: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable {
            /// y = x W^T + b (`classifier.k.weight` (out, in), `.bias`).
            case linear
            /// Batch norm on the features (`.weight`, `.bias`, `.running_mean`, `.running_var`).
            case batchNorm
            case relu, silu, gelu, sigmoid, softmax
            /// No-ops at inference, kept so the chain reads like the source's.
            case dropout, flatten
        }
        public var kind: Kind
        /// Output features of a linear layer.
        public var outFeatures: Int?
        /// Epsilon of a batch norm (PyTorch's BatchNorm1d default 1e-5).
        public var epsilon: Float?

        public init(_ kind: Kind, outFeatures: Int? = nil, epsilon: Float? = nil) {
            self.kind = kind; self.outFeatures = outFeatures; self.epsilon = epsilon
        }
        public static func linear(_ out: Int) -> Self { .init(.linear, outFeatures: out) }
    }

    public struct Stem: Codable, Equatable, Sendable {
        public var outChannels: Int
        public var kernel: Int
        public var stride: Int
        public init(outChannels: Int, kernel: Int = 3, stride: Int = 2) {
            self.outChannels = outChannels; self.kernel = kernel; self.stride = stride
        }
    }

    public struct Block: Codable, Equatable, Sendable {
        /// How a block computes (see `ParameterLayout.units(of:index:config:)` for its units).
        public enum Kind: String, Codable, Sendable {
            /// Mobile inverted bottleneck: [1x1 expand] -> k x k depthwise -> [SE] -> 1x1 project.
            case mbconv
            /// Fused-MBConv (EfficientNetV2): a dense k x k convolution (expanding) -> 1x1 project;
            /// with expand ratio 1, the k x k convolution alone, straight to the output channels.
            case fused
        }
        public var kind: Kind
        public var expandRatio: Int
        public var kernel: Int
        public var stride: Int
        public var inChannels: Int
        public var outChannels: Int
        /// Channels after the expansion (== inChannels when expandRatio is 1).
        public var expandedChannels: Int
        /// Width of the squeeze-and-excitation bottleneck; nil for no SE.
        public var seChannels: Int?
        /// Index of the stage this block belongs to (0-based), for reports.
        public var stage: Int
        /// Fused-MBConv only: whether a 1x1 projection follows the k x k convolution. nil means
        /// "when the block expands" (torchvision, Keras, timm's official-architecture ports);
        /// timm's `efficientnetv2_rw_*` also have expand-ratio-1 blocks with a projection.
        public var fusedProjection: Bool?
        /// Whether the block adds its input to its output. nil means the usual rule (stride 1
        /// and as many output as input channels); false where a framework skips it anyway
        /// (transformers at a stage's first block, timm's `noskip`).
        public var residual: Bool?

        public init(kind: Kind = .mbconv, expandRatio: Int, kernel: Int, stride: Int, inChannels: Int, outChannels: Int,
                    expandedChannels: Int, seChannels: Int?, stage: Int, fusedProjection: Bool? = nil, residual: Bool? = nil) {
            self.kind = kind
            self.fusedProjection = fusedProjection
            self.residual = residual
            self.expandRatio = expandRatio; self.kernel = kernel; self.stride = stride
            self.inChannels = inChannels; self.outChannels = outChannels
            self.expandedChannels = expandedChannels; self.seChannels = seChannels; self.stage = stage
        }

        private enum CodingKeys: String, CodingKey {
            case kind, expandRatio, kernel, stride, inChannels, outChannels, expandedChannels, seChannels, stage, fusedProjection, residual
        }

        /// .effw files written before block kinds existed have no `kind`: they are MBConv.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .mbconv
            expandRatio = try c.decode(Int.self, forKey: .expandRatio)
            kernel = try c.decode(Int.self, forKey: .kernel)
            stride = try c.decode(Int.self, forKey: .stride)
            inChannels = try c.decode(Int.self, forKey: .inChannels)
            outChannels = try c.decode(Int.self, forKey: .outChannels)
            expandedChannels = try c.decode(Int.self, forKey: .expandedChannels)
            seChannels = try c.decodeIfPresent(Int.self, forKey: .seChannels)
            stage = try c.decode(Int.self, forKey: .stage)
            fusedProjection = try c.decodeIfPresent(Bool.self, forKey: .fusedProjection)
            residual = try c.decodeIfPresent(Bool.self, forKey: .residual)
        }

        /// MBConv blocks are written without `kind` (as before kinds existed), so an .effw of
        /// an EfficientNet (V1) keeps the config every earlier reader knows, byte for byte.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            if kind != .mbconv { try c.encode(kind, forKey: .kind) }
            try c.encode(expandRatio, forKey: .expandRatio)
            try c.encode(kernel, forKey: .kernel)
            try c.encode(stride, forKey: .stride)
            try c.encode(inChannels, forKey: .inChannels)
            try c.encode(outChannels, forKey: .outChannels)
            try c.encode(expandedChannels, forKey: .expandedChannels)
            try c.encodeIfPresent(seChannels, forKey: .seChannels)
            try c.encode(stage, forKey: .stage)
            try c.encodeIfPresent(fusedProjection, forKey: .fusedProjection)
            try c.encodeIfPresent(residual, forKey: .residual)
        }

        public var hasExpansion: Bool { expandRatio != 1 }
        /// Whether the block ends in a 1x1 projection (every MBConv block; a Fused-MBConv block
        /// when it expands, or as `fusedProjection` says).
        public var hasProjection: Bool { kind == .mbconv || (fusedProjection ?? hasExpansion) }
        /// Whether a residual connection can exist: stride 1 and the same width in and out.
        public var canHaveResidual: Bool { stride == 1 && inChannels == outChannels }
        public var hasResidual: Bool { residual ?? canHaveResidual }
    }

    public enum Activation: String, Codable, Sendable {
        case silu, relu6
    }

    /// How convolutions are padded.
    public struct Padding: Codable, Equatable, Sendable {
        public enum Mode: String, Codable, Sendable {
            /// k//2 on every side (PyTorch `padding=k//2`).
            case symmetric
            /// TensorFlow "SAME" computed from the actual input at run time (timm tf_ models).
            case sameDynamic
            /// TensorFlow "SAME" computed once from a nominal image size and then fixed, whatever
            /// the actual input (lukemelas' Conv2dStaticSamePadding, Keras' ZeroPadding2D).
            case sameStatic
        }
        public var mode: Mode
        /// [height, width] for `sameStatic`.
        public var imageSize: [Int]?

        public init(mode: Mode, imageSize: [Int]? = nil) { self.mode = mode; self.imageSize = imageSize }
        public static let symmetric = Padding(mode: .symmetric)
        public static let sameDynamic = Padding(mode: .sameDynamic)
        public static func sameStatic(_ size: Int) -> Padding { Padding(mode: .sameStatic, imageSize: [size, size]) }
    }

    /// y[c] = x[c] * scale[c] + offset[c], applied to the input before the stem.
    public struct InputTransform: Codable, Equatable, Sendable {
        public var scale: [Float]
        public var offset: [Float]
        public init(scale: [Float], offset: [Float]) { self.scale = scale; self.offset = offset }
    }

    /// Image -> input tensor: resize (the shorter side, or both sides to a square), centre-crop,
    /// scale pixels, normalise. Docs/PREPROCESSING.md gives each family's values.
    public struct ImagePreprocessing: Codable, Equatable, Sendable {
        /// How the resize is sampled, as Pillow's `Image.resize` does it (with antialiasing when
        /// shrinking): what torchvision's `Resize` on a PIL image, timm and Keras' `load_img` call.
        public enum Interpolation: String, Codable, Sendable {
            case nearest, bilinear, bicubic
        }

        /// Which size the resize aims at.
        public enum ResizeMode: String, Codable, Sendable {
            /// The shorter side becomes `resizeShorterTo`, the other keeps the aspect ratio
            /// (torchvision's `Resize(int)`, timm), then the centre `cropSize` square is cut.
            case shorterSide
            /// Both sides become `resizeShorterTo`, the aspect ratio is not kept (Hugging Face's
            /// EfficientNetImageProcessor, Keras' `load_img(target_size=...)`); a `cropSize`
            /// smaller than that is cut from the centre.
            case exact
        }

        public var resizeShorterTo: Int
        public var cropSize: Int
        /// Multiplies 0...255 pixel values (1/255 for PyTorch models, 1 for Keras ones).
        public var pixelScale: Float
        public var mean: [Float]
        public var std: [Float]
        /// Absent in files written before it: bilinear, what effnet-predict did then.
        public var interpolation: Interpolation
        /// Absent in files written before it: shorterSide.
        public var resizeMode: ResizeMode

        public init(resizeShorterTo: Int, cropSize: Int, pixelScale: Float, mean: [Float], std: [Float],
                    interpolation: Interpolation = .bilinear, resizeMode: ResizeMode = .shorterSide) {
            self.resizeShorterTo = resizeShorterTo; self.cropSize = cropSize
            self.pixelScale = pixelScale; self.mean = mean; self.std = std
            self.interpolation = interpolation; self.resizeMode = resizeMode
        }

        private enum CodingKeys: String, CodingKey {
            case resizeShorterTo, cropSize, pixelScale, mean, std, interpolation, resizeMode
        }

        /// Reads configs written before `interpolation` and `resizeMode` existed (as bilinear,
        /// shorter side: what they meant then).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(resizeShorterTo: try c.decode(Int.self, forKey: .resizeShorterTo),
                      cropSize: try c.decode(Int.self, forKey: .cropSize),
                      pixelScale: try c.decode(Float.self, forKey: .pixelScale),
                      mean: try c.decode([Float].self, forKey: .mean), std: try c.decode([Float].self, forKey: .std),
                      interpolation: try c.decodeIfPresent(Interpolation.self, forKey: .interpolation) ?? .bilinear,
                      resizeMode: try c.decodeIfPresent(ResizeMode.self, forKey: .resizeMode) ?? .shorterSide)
        }

        /// The defaults (bilinear, shorter side) are not written, so a config that uses them is
        /// byte for byte what earlier versions wrote and read (as `Block.kind` is for MBConv).
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(resizeShorterTo, forKey: .resizeShorterTo)
            try c.encode(cropSize, forKey: .cropSize)
            try c.encode(pixelScale, forKey: .pixelScale)
            try c.encode(mean, forKey: .mean)
            try c.encode(std, forKey: .std)
            if interpolation != .bilinear { try c.encode(interpolation, forKey: .interpolation) }
            if resizeMode != .shorterSide { try c.encode(resizeMode, forKey: .resizeMode) }
        }

        /// The seed notebook's transform: shorter side 256, centre crop 224, ImageNet mean/std,
        /// bilinear.
        public static let imagenetTorch = ImagePreprocessing(
            resizeShorterTo: 256, cropSize: 224, pixelScale: 1.0 / 255,
            mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

        /// Raw 0-255 pixels for models that normalise inside (Keras), at `size`: the whole image
        /// squashed to size x size with nearest-neighbour sampling, as the Keras Applications
        /// docs' `keras.utils.load_img(path, target_size=(size, size))` does by default.
        public static func raw(size: Int) -> ImagePreprocessing {
            ImagePreprocessing(resizeShorterTo: size, cropSize: size, pixelScale: 1, mean: [0, 0, 0], std: [1, 1, 1],
                               interpolation: .nearest, resizeMode: .exact)
        }
    }

    public init(name: String, inputChannels: Int = 3, stem: Stem, blocks: [Block], headChannels: Int,
                numClasses: Int, bnEpsilon: Float, batchNormFolded: Bool = false, padding: Padding,
                activation: Activation, inputTransform: InputTransform? = nil, finalSoftmax: Bool = false,
                imagePreprocessing: ImagePreprocessing = .imagenetTorch, classifierChain: [ClassifierLayer]? = nil) {
        self.name = name; self.inputChannels = inputChannels; self.stem = stem; self.blocks = blocks
        self.headChannels = headChannels; self.numClasses = numClasses; self.bnEpsilon = bnEpsilon
        self.batchNormFolded = batchNormFolded; self.padding = padding; self.activation = activation
        self.inputTransform = inputTransform; self.finalSoftmax = finalSoftmax
        self.imagePreprocessing = imagePreprocessing
        self.classifierChain = classifierChain
    }

    /// Output channels of the last block (the head's input).
    public var lastBlockChannels: Int { blocks.last?.outChannels ?? stem.outChannels }

    /// Checks that the block list chains and every number is usable.
    /// - Throws: `ConfigError.invalid` describing the first inconsistency.
    public func validate() throws {
        func fail(_ s: String) -> ConfigError { .invalid("\(name): \(s)") }
        guard inputChannels > 0, stem.outChannels > 0, stem.kernel > 0, stem.stride > 0 else { throw fail("bad stem") }
        guard headChannels > 0, numClasses > 0 else { throw fail("head channels and classes must be positive") }
        guard bnEpsilon >= 0, bnEpsilon.isFinite else { throw fail("bad BN epsilon \(bnEpsilon)") }
        var channels = stem.outChannels
        for (i, b) in blocks.enumerated() {
            guard b.inChannels == channels else { throw fail("block \(i) takes \(b.inChannels) channels, previous gives \(channels)") }
            guard b.kernel > 0, b.kernel <= 15, b.stride >= 1, b.stride <= 4, b.outChannels > 0, b.expandedChannels > 0,
                  b.expandRatio >= 1 else { throw fail("block \(i) has invalid sizes") }
            if !b.hasExpansion, b.expandedChannels != b.inChannels { throw fail("block \(i): no expansion but \(b.expandedChannels) != \(b.inChannels)") }
            if b.residual == true, !b.canHaveResidual { throw fail("block \(i): a residual needs stride 1 and as many output as input channels") }
            if b.kind == .mbconv, b.fusedProjection != nil { throw fail("block \(i): fusedProjection is for Fused-MBConv blocks") }
            if let se = b.seChannels, se <= 0 { throw fail("block \(i): SE width \(se)") }
            if b.kind == .fused, b.seChannels != nil { throw fail("block \(i): a Fused-MBConv block with squeeze-and-excitation is not supported") }
            channels = b.outChannels
        }
        if padding.mode == .sameStatic {
            guard let s = padding.imageSize, s.count == 2, s.allSatisfy({ $0 > 0 }) else { throw fail("sameStatic padding needs imageSize [h, w]") }
        }
        if let t = inputTransform, t.scale.count != inputChannels || t.offset.count != inputChannels {
            throw fail("input transform needs \(inputChannels) scales and offsets")
        }
        if let chain = classifierChain {
            guard chain.count <= 64, let last = chain.lastIndex(where: { $0.kind == .linear }) else {
                throw fail("a classifier chain needs a linear layer (and at most 64 layers)")
            }
            guard chain[last].outFeatures == numClasses else { throw fail("the classifier chain's last linear layer must give \(numClasses) classes") }
            for (k, l) in chain.enumerated() {
                if l.kind == .linear { guard let o = l.outFeatures, o > 0, o <= 1 << 20 else { throw fail("classifier.\(k): bad output features") } }
                if l.kind == .softmax, k != chain.count - 1 { throw fail("classifier.\(k): softmax must be the last layer") }
                if let e = l.epsilon, !(e >= 0 && e.isFinite) { throw fail("classifier.\(k): bad epsilon") }
            }
        }
        let p = imagePreprocessing
        guard p.mean.count == inputChannels, p.std.count == inputChannels, p.cropSize > 0,
              p.resizeShorterTo >= p.cropSize else { throw fail("bad image preprocessing") }
    }
}

public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case let .invalid(s): return "invalid config: \(s)" }
    }
}
