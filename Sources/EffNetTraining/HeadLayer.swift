import EffNet

/// One layer of a trainable chain working on [N, features] matrices. `forward` keeps what
/// `backward` needs; `backward` adds its parameters' gradients and returns the gradient for its
/// input (when asked: the first layer of a head on frozen features need not compute it).
///
/// The chain is deliberately a list of such layers, each with its own backward: unfreezing the
/// last blocks later means putting layers that see [N, C, H, W] activations in front of the head
/// and asking for input gradients all the way down.
public protocol HeadLayer: AnyObject {
    var parameters: [Parameter] { get }
    /// - Parameter training: dropout is active only in training.
    func forward(_ x: Tensor, training: Bool) -> Tensor
    /// - Parameter gradOutput: d loss / d output of the last `forward`.
    /// - Returns: d loss / d input, or nil when `inputGradient` is false.
    func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor?
}
