import EffNet

/// torch.nn.Dropout: in training each value is zeroed with probability p and the rest scaled by
/// 1 / (1 - p); in evaluation (and for p = 0) the identity. The mask comes from the layer's own
/// seeded generator (so runs repeat, but not torch's masks).
public final class DropoutLayer: HeadLayer {
    public let probability: Float
    private var generator: SeededGenerator
    private var scale: [Float] = []

    /// - Precondition: 0 <= probability < 1.
    public init(probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "DropoutLayer: probability \(probability) outside [0, 1)")
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }

    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        guard training else { return x }
        guard probability > 0 else { scale = []; return x }
        let keep = 1 / (1 - probability)
        scale = x.scalars.indices.map { _ in generator.nextUniform(in: 0, 1) < probability ? 0 : keep }
        var y = x
        for i in y.scalars.indices { y.scalars[i] *= scale[i] }
        return y
    }

    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor? {
        guard inputGradient else { return nil }
        guard !scale.isEmpty else { return gradOutput }
        var g = gradOutput
        for i in g.scalars.indices { g.scalars[i] *= scale[i] }
        return g
    }
}
