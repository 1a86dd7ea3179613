/// An EfficientNet built from an explicit `EfficientNetConfig`: stem, MBConv blocks, head,
/// classifier. Parameters live under canonical names (`stem.conv.weight`,
/// `blocks.3.se.reduce.bias`, `classifier.weight`, ...), one scheme for every source format.
///
///     let net = try EfficientNet(contentsOf: url)
///     let logits = try net(input)          // NCHW float32 -> [N, classes]
public final class EfficientNet: @unchecked Sendable {
    public let config: EfficientNetConfig
    public internal(set) var stem: ConvNormActivation
    public internal(set) var blocks: [MBConvBlock]
    public internal(set) var head: ConvNormActivation
    public internal(set) var classifier: Linear
    /// Where the weights came from (stored in .effw metadata).
    public var provenance: Provenance?
    private let paddingResolver: PaddingResolver
    /// The fast path's options, lazily built plan (folded, packed weights) and reusable buffers.
    let inferenceState = InferenceState()

    /// A network with zero weights (identity batch norms), ready for `load(_:)`.
    /// - Throws: `ConfigError` when the config is inconsistent.
    public init(config: EfficientNetConfig) throws {
        try config.validate()
        self.config = config
        let eps = config.bnEpsilon, folded = config.batchNormFolded, act = config.activation
        stem = ConvNormActivation(inputChannels: config.inputChannels, outputChannels: config.stem.outChannels,
                                  kernelSize: config.stem.kernel, stride: config.stem.stride,
                                  epsilon: eps, folded: folded, activation: act)
        blocks = config.blocks.map { MBConvBlock($0, epsilon: eps, folded: folded, activation: act) }
        head = ConvNormActivation(inputChannels: config.lastBlockChannels, outputChannels: config.headChannels,
                                  kernelSize: 1, epsilon: eps, folded: folded, activation: act)
        classifier = Linear(inputFeatures: config.headChannels, outputFeatures: config.numClasses)
        paddingResolver = PaddingResolver(config: config)
    }

    /// Every parameter's canonical name and shape, in a stable order (see
    /// `parameterShapes(for:)`).
    public var parameterShapes: [(name: String, shape: [Int])] { Self.parameterShapes(for: config) }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Calls `body` with every parameter, by canonical name, in `parameterShapes` order.
    func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        func conv(_ p: String, _ c: inout Conv2d) throws {
            try body("\(p).weight", &c.weight)
            if c.bias != nil { try body("\(p).bias", &c.bias!) }
        }
        func cna(_ p: String, _ m: inout ConvNormActivation) throws {
            try conv("\(p).conv", &m.conv)
            if m.bn != nil {
                try body("\(p).bn.weight", &m.bn!.weight)
                try body("\(p).bn.bias", &m.bn!.bias)
                try body("\(p).bn.running_mean", &m.bn!.runningMean)
                try body("\(p).bn.running_var", &m.bn!.runningVar)
            }
        }
        try cna("stem", &stem)
        for i in blocks.indices {
            let p = "blocks.\(i)"
            if blocks[i].expand != nil { try cna("\(p).expand", &blocks[i].expand!) }
            try cna("\(p).depthwise", &blocks[i].depthwise)
            if blocks[i].se != nil {
                try conv("\(p).se.reduce", &blocks[i].se!.reduce)
                try conv("\(p).se.expand", &blocks[i].se!.expand)
            }
            try cna("\(p).project", &blocks[i].project)
        }
        try cna("head", &head)
        try body("classifier.weight", &classifier.weight)
        try body("classifier.bias", &classifier.bias)
    }

    /// All parameters by canonical name.
    public var parameters: [String: Tensor] {
        var r: [String: Tensor] = [:]
        visitParameters { name, t in r[name] = t }
        return r
    }

    /// Loads every parameter strictly: no missing, no unused, no shape mismatch, no non-finite
    /// value (unless allowed). All problems are collected and thrown at once.
    /// - Throws: `WeightCheckError` listing every problem.
    public func load(_ tensors: [String: Tensor], allowNonFinite: Bool = false) throws {
        var problems = WeightCheckError(missing: [], unused: [], mismatched: [], nonFinite: [])
        var seen = Set<String>()
        visitParameters { name, slot in
            guard let t = tensors[name] else { problems.missing.append(name); return }
            seen.insert(name)
            if t.shape != slot.shape {
                problems.mismatched.append(.init(name: name, expected: slot.shape, actual: t.shape))
            } else if !allowNonFinite && !t.isFinite {
                problems.nonFinite.append(name)
            }
        }
        problems.unused = tensors.keys.filter { !seen.contains($0) }.sorted()
        guard problems.isEmpty else { throw problems }
        visitParameters { name, slot in slot = tensors[name]! }
    }

    /// Runs the network on an NCHW float32 batch and returns [N, classes] (logits, or
    /// probabilities when the config ends in softmax).
    /// - Throws: `InputShapeError` when the input is not [N, C, H, W] with the model's channels
    ///   and a size the network can process.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try forward(input, observe: nil)
    }

    /// Checks that `shape` is an input this network accepts.
    /// - Throws: `InputShapeError`.
    public func validateInput(shape: [Int]) throws {
        guard shape.count == 4, shape[0] >= 1, shape[1] == config.inputChannels else {
            throw InputShapeError(shape: shape, reason: "expected [N, \(config.inputChannels), H, W]")
        }
        guard shape[2] >= 32, shape[3] >= 32, shape[2] <= 8192, shape[3] <= 8192 else {
            throw InputShapeError(shape: shape, reason: "height and width must be between 32 and 8192")
        }
    }

    /// The forward pass; `observe` receives ("stem" | "blocks.i" | "head" | "logits", activation).
    public func forward(_ input: Tensor, observe: ((String, Tensor) -> Void)?) throws -> Tensor {
        let options = inferenceOptions
        if options.kernels == .fast { return try fastForward(input, options: options, observe: observe) }
        try validateInput(shape: input.shape)
        var x = input
        if let t = config.inputTransform { ReferenceKernels.inputTransform(&x, t) }
        x = apply(stem, x, convIndex: 0)
        observe?("stem", x)
        for (i, block) in blocks.enumerated() {
            x = apply(block, x, convIndex: i + 1)
            observe?("blocks.\(i)", x)
        }
        x = apply(head, x, convIndex: -1)
        observe?("head", x)
        var logits = ReferenceKernels.linear(ReferenceKernels.globalAveragePool(x), weight: classifier.weight, bias: classifier.bias)
        if config.finalSoftmax { ReferenceKernels.softmax(&logits) }
        observe?("logits", logits)
        return logits
    }

    private func apply(_ m: ConvNormActivation, _ x: Tensor, convIndex: Int) -> Tensor {
        let pad = m.conv.kernelSize == 1 && m.conv.stride == 1
            ? ConvPadding(top: 0, bottom: 0, left: 0, right: 0)
            : paddingResolver.padding(convIndex: convIndex, kernel: m.conv.kernelSize, stride: m.conv.stride,
                                      height: x.shape[2], width: x.shape[3])
        var y = ReferenceKernels.conv2d(x, m.conv, padding: pad)
        ReferenceKernels.batchNormActivation(&y, m.bn, m.activation)
        return y
    }

    private func apply(_ b: MBConvBlock, _ x: Tensor, convIndex: Int) -> Tensor {
        var y = x
        if let e = b.expand { y = apply(e, y, convIndex: -1) }
        y = apply(b.depthwise, y, convIndex: convIndex)
        if let se = b.se { ReferenceKernels.squeezeExcitation(&y, se, config.activation) }
        y = apply(b.project, y, convIndex: -1)
        if b.config.hasResidual {
            for i in 0 ..< y.count { y.scalars[i] += x.scalars[i] }
        }
        return y
    }
}

/// Every problem found when loading weights, reported together.
public struct WeightCheckError: Error, Equatable, CustomStringConvertible {
    public struct Mismatch: Equatable, Sendable {
        public var name: String
        public var expected: [Int]
        public var actual: [Int]
        public init(name: String, expected: [Int], actual: [Int]) { self.name = name; self.expected = expected; self.actual = actual }
    }
    public var missing: [String]
    public var unused: [String]
    public var mismatched: [Mismatch]
    public var nonFinite: [String]

    public init(missing: [String] = [], unused: [String] = [], mismatched: [Mismatch] = [], nonFinite: [String] = []) {
        self.missing = missing; self.unused = unused; self.mismatched = mismatched; self.nonFinite = nonFinite
    }

    public var isEmpty: Bool { missing.isEmpty && unused.isEmpty && mismatched.isEmpty && nonFinite.isEmpty }

    /// One line summarising the counts, then one line per problem.
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("\(missing.count) missing") }
        if !unused.isEmpty { parts.append("\(unused.count) unused") }
        if !mismatched.isEmpty { parts.append("\(mismatched.count) shape mismatches") }
        if !nonFinite.isEmpty { parts.append("\(nonFinite.count) with NaN/Inf values (use --allow-nonfinite to accept)") }
        var lines = ["weights do not fit the model: " + parts.joined(separator: ", ")]
        lines += missing.map { "  missing: \($0)" }
        lines += unused.map { "  unused: \($0)" }
        lines += mismatched.map { "  shape mismatch: \($0.name): expected \($0.expected), got \($0.actual)" }
        lines += nonFinite.map { "  non-finite values: \($0)" }
        return lines.joined(separator: "\n")
    }
}

public struct InputShapeError: Error, Equatable, CustomStringConvertible {
    public var shape: [Int]
    public var reason: String
    public var description: String { "input of shape \(shape) is not usable: \(reason)" }
}

/// Where a model's weights came from and how they were checked; stored in .effw metadata.
public struct Provenance: Codable, Equatable, Sendable {
    public var sourceFile: String
    public var sourceFormat: String
    public var family: String
    public var sourceSHA256: String?
    public var converter: String
    public var createdAt: String?
    public var verification: Verification?

    public struct Verification: Codable, Equatable, Sendable {
        public var method: String        // "onnx-graph", "reference-pair", "none"
        public var passed: Bool
        public var maxAbsError: Float
        public var relativeError: Float
        public var tolerance: Float
        public var top1Agreement: Float
        public init(method: String, passed: Bool, maxAbsError: Float, relativeError: Float, tolerance: Float, top1Agreement: Float) {
            self.method = method; self.passed = passed; self.maxAbsError = maxAbsError
            self.relativeError = relativeError; self.tolerance = tolerance; self.top1Agreement = top1Agreement
        }
    }

    public init(sourceFile: String, sourceFormat: String, family: String, sourceSHA256: String? = nil,
                converter: String = "effnetkit \(EffNetKitVersion.string)", createdAt: String? = nil,
                verification: Verification? = nil) {
        self.sourceFile = sourceFile; self.sourceFormat = sourceFormat; self.family = family
        self.sourceSHA256 = sourceSHA256; self.converter = converter; self.createdAt = createdAt
        self.verification = verification
    }
}

public enum EffNetKitVersion {
    public static let string = "0.1.0"
}
