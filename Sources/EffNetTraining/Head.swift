import EffNet

/// A classifier trained on pooled features: a chain of `HeadLayer`s from [N, inputFeatures] to
/// [N, classes] logits.
///
///     let head = Head(kind: .mlp(width: 256, dropout: 0.2), inputFeatures: 1280, classes: 5, seed: 0)
///     let logits = head.forward(features, training: true)
///     let (loss, grad) = SoftmaxCrossEntropy(labelSmoothing: 0.1).loss(logits, labels: labels)
///     head.zeroGradients(); head.backward(grad); optimizer.step(head.parameters)
public final class Head {
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        /// One linear layer (what EfficientNet's own classifier is).
        case linear
        /// Linear(in, width) - ReLU - Dropout(dropout) - Linear(width, classes).
        case mlp(width: Int, dropout: Float)

        /// "linear" or "mlp:W" (the command line's spelling; dropout is not part of it).
        public var description: String {
            switch self {
            case .linear: return "linear"
            case let .mlp(width, _): return "mlp:\(width)"
            }
        }
    }

    public let kind: Kind
    public let inputFeatures: Int
    public let classes: Int
    public let layers: [HeadLayer]

    /// A head with fresh weights (torch.nn.Linear's initialisation, drawn from `seed`).
    /// - Precondition: inputFeatures, classes (and an MLP's width) are positive.
    public init(kind: Kind, inputFeatures: Int, classes: Int, seed: UInt64) {
        precondition(inputFeatures > 0 && classes > 0, "Head: sizes must be positive")
        var g = SeededGenerator.stream(seed, 1)
        switch kind {
        case .linear:
            layers = [DenseLayer(name: "0", inputFeatures: inputFeatures, outputFeatures: classes, generator: &g)]
        case let .mlp(width, dropout):
            precondition(width > 0, "Head: MLP width must be positive")
            layers = [DenseLayer(name: "0", inputFeatures: inputFeatures, outputFeatures: width, generator: &g),
                      ReLULayer(),
                      DropoutLayer(probability: dropout, seed: Self.dropoutSeed(seed)),
                      DenseLayer(name: "3", inputFeatures: width, outputFeatures: classes, generator: &g)]
        }
        self.kind = kind
        self.inputFeatures = inputFeatures
        self.classes = classes
    }

    private static func dropoutSeed(_ seed: UInt64) -> UInt64 {
        var g = SeededGenerator.stream(seed, 2)
        return g.next()
    }

    /// Every trainable parameter, first layer first (weight, then bias).
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// The dense layers in order (one for `.linear`, two for `.mlp`).
    public var denseLayers: [DenseLayer] { layers.compactMap { $0 as? DenseLayer } }

    /// Sets every parameter from `tensors` by name ("0.weight", "0.bias", "3.weight", ...).
    /// - Throws: `TrainingError` when a name is missing or a shape differs.
    public func load(_ tensors: [String: Tensor]) throws {
        for p in parameters {
            guard let t = tensors[p.name] else { throw TrainingError("head weights: no '\(p.name)'") }
            guard t.shape == p.value.shape else { throw TrainingError("head weights: '\(p.name)' is \(t.shape), expected \(p.value.shape)") }
            p.value = t
        }
    }

    /// Logits [N, classes] for features [N, inputFeatures].
    public func forward(_ features: Tensor, training: Bool = false) -> Tensor {
        layers.reduce(features) { $1.forward($0, training: training) }
    }

    /// Adds d loss / d parameter to every parameter's `grad`, from d loss / d logits of the last
    /// training `forward`.
    /// - Returns: d loss / d features when `inputGradient` (for layers in front of the head).
    @discardableResult
    public func backward(_ gradLogits: Tensor, inputGradient: Bool = false) -> Tensor? {
        var g: Tensor? = gradLogits
        for (i, layer) in layers.enumerated().reversed() {
            guard let current = g else { break }
            g = layer.backward(current, inputGradient: inputGradient || i > 0)
        }
        return g
    }

    public func zeroGradients() {
        for p in parameters { p.zeroGradient() }
    }
}
