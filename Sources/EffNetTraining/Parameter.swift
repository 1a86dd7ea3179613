import EffNet

/// A trainable tensor and its gradient, shared by reference between a layer (which fills `grad`
/// in `backward`) and an optimiser (which updates `value` and keeps its own state per parameter).
public final class Parameter {
    /// PyTorch-style name inside the head ("0.weight", "2.bias" for an MLP's layers).
    public let name: String
    public var value: Tensor
    /// d loss / d value, same shape; accumulated by `backward`, cleared by `zeroGradient()`.
    public var grad: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        grad = Tensor(zeros: value.shape)
    }

    public func zeroGradient() {
        grad.scalars.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}
