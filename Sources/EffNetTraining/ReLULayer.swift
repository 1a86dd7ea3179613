import EffNet

/// max(x, 0); the gradient passes where the input was positive (torch's convention at 0: none).
public final class ReLULayer: HeadLayer {
    private var mask: [Bool] = []
    public init() {}
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var y = x
        for i in y.scalars.indices where !(y.scalars[i] > 0) { y.scalars[i] = 0 }
        if training { mask = x.scalars.map { $0 > 0 } }
        return y
    }

    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor? {
        guard inputGradient else { return nil }
        precondition(mask.count == gradOutput.count, "ReLULayer.backward: gradient does not match the last training forward pass")
        var g = gradOutput
        for i in g.scalars.indices where !mask[i] { g.scalars[i] = 0 }
        return g
    }
}
