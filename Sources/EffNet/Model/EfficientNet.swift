/// An EfficientNet built from an explicit `EfficientNetConfig`: stem, MBConv and Fused-MBConv
/// blocks, head, classifier. Parameters live in one array in the order of the declared
/// `ParameterLayout`, under canonical names (`stem.conv.weight`, `blocks.3.se.reduce.bias`,
/// `classifier.weight`, ...), one scheme for every source format.
///
///     let net = try EfficientNet(contentsOf: url)
///     let logits = try net(input)          // NCHW float32 -> [N, classes]
public final class EfficientNet: @unchecked Sendable {
    public let config: EfficientNetConfig
    /// The declared parameter layout (`ParameterLayout`): every unit and slot of this network.
    public let layout: ParameterLayout
    /// Every parameter, in `layout.slots` order.
    public internal(set) var weights: [Tensor] {
        get { weightStore.tensors }
        set { weightStore.replace(newValue) }
    }
    /// Where `weights` live: arrays, or the mapped .effw file the model was loaded from.
    let weightStore: WeightStore
    /// Where the weights came from (stored in .effw metadata).
    public var provenance: Provenance?
    let paddingResolver: PaddingResolver
    /// The fast path's options, lazily built plan (folded, packed weights) and reusable buffers.
    let inferenceState = InferenceState()

    /// A network with zero weights (identity batch norms), ready for `load(_:)`.
    /// - Throws: `ConfigError` when the config is inconsistent.
    public convenience init(config: EfficientNetConfig) throws {
        try config.validate()
        let layout = ParameterLayout(config: config)
        let weights = layout.slots.map { slot in
            // Identity batch norm: weight and running_var 1, the rest 0.
            let one = slot.role.leaf == .bnWeight || slot.role.leaf == .bnVar
            let count = slot.shape.reduce(1, *)
            return Tensor(shape: slot.shape, scalars: [Float](repeating: one ? 1 : 0, count: count))
        }
        self.init(validatedConfig: config, layout: layout, weights: WeightStore(weights))
    }

    /// A network on `weights` (which fit `layout`); `config` already validated.
    init(validatedConfig config: EfficientNetConfig, layout: ParameterLayout, weights: WeightStore) {
        self.config = config
        self.layout = layout
        weightStore = weights
        paddingResolver = PaddingResolver(config: config)
    }

    /// Every parameter's canonical name and shape, in a stable order (see
    /// `parameterShapes(for:)`).
    public var parameterShapes: [(name: String, shape: [Int])] { layout.slots.map { ($0.name, $0.shape) } }

    public var parameterCount: Int { layout.slots.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// All parameters by canonical name.
    public var parameters: [String: Tensor] {
        var r: [String: Tensor] = [:]
        for (slot, t) in zip(layout.slots, weights) { r[slot.name] = t }
        return r
    }

    /// The parameter with canonical name `name`, nil when this network has no such slot.
    public func parameter(named name: String) -> Tensor? { layout.slotIndex(named: name).map { weights[$0] } }

    /// The parameter in `role`, nil when this network has no such slot.
    public func parameter(_ role: ParameterLayout.Role) -> Tensor? { layout.slotIndex(role).map { weights[$0] } }

    /// Loads every parameter strictly: no missing, no unused, no shape mismatch, no non-finite
    /// value (unless allowed). All problems are collected and thrown at once.
    /// - Throws: `WeightCheckError` listing every problem.
    public func load(_ tensors: [String: Tensor], allowNonFinite: Bool = false) throws {
        var problems = WeightCheckError(missing: [], unused: [], mismatched: [], nonFinite: [])
        var seen = Set<String>()
        for slot in layout.slots {
            guard let t = tensors[slot.name] else { problems.missing.append(slot.name); continue }
            seen.insert(slot.name)
            if t.shape != slot.shape {
                problems.mismatched.append(.init(name: slot.name, expected: slot.shape, actual: t.shape))
            } else if !allowNonFinite && !t.isFinite {
                problems.nonFinite.append(slot.name)
            }
        }
        problems.unused = tensors.keys.filter { !seen.contains($0) }.sorted()
        guard problems.isEmpty else { throw problems }
        weights = layout.slots.map { tensors[$0.name]! }
    }

    // MARK: Units as layers

    /// The convolution of unit `u` (weight and, when the unit has one, bias).
    func conv(_ u: ParameterLayout.Unit) -> Conv2d {
        Conv2d(weight: parameter(.init(u.module, .weight))!, bias: parameter(.init(u.module, .bias)),
               inputChannels: u.inChannels, outputChannels: u.outChannels, kernelSize: u.kernel,
               stride: u.stride, groups: u.groups)
    }

    /// Unit `u` as convolution + batch norm (nil when folded) + activation.
    func convNorm(_ u: ParameterLayout.Unit) -> ConvNormActivation {
        var bn: BatchNorm2d?
        if let w = parameter(.init(u.module, .bnWeight)) {
            bn = BatchNorm2d(weight: w, bias: parameter(.init(u.module, .bnBias))!,
                             runningMean: parameter(.init(u.module, .bnMean))!,
                             runningVar: parameter(.init(u.module, .bnVar))!, epsilon: config.bnEpsilon)
        }
        return ConvNormActivation(conv: conv(u), bn: bn, activation: u.activation)
    }

    /// Block `i`'s squeeze-and-excitation, nil when it has none.
    func squeezeExcitation(ofBlock i: Int) -> SqueezeExcitation? {
        guard let r = layout.unit(.block(i, .seReduce)), let e = layout.unit(.block(i, .seExpand)) else { return nil }
        return SqueezeExcitation(reduce: conv(r), expand: conv(e))
    }

    /// The classifier as a linear layer (for a chain, its last linear layer).
    public var classifier: Linear {
        let m = config.classifierChain.flatMap { chain in
            chain.lastIndex { $0.kind == .linear }.map { ParameterLayout.Module.classifierLayer($0) }
        } ?? .classifier
        return Linear(weight: parameter(.init(m, .weight))!, bias: parameter(.init(m, .bias))!)
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
        let observeFloats = observe.map { o in { (name: String, a: Activations<Float>) in o(name, Tensor(shape: a.shape, scalars: a.values)) } }
        let logits: Activations<Float> = referencePass(input, observe: observeFloats)
        return Tensor(shape: logits.shape, scalars: logits.values)
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
