/// Updates parameters from their gradients. Keeps per-parameter state (momentum buffers,
/// moments) keyed by the parameter object, so one optimiser serves one set of parameters.
public protocol Optimizer: AnyObject {
    var learningRate: Double { get set }
    /// One update of every parameter from its current `grad`.
    func step(_ parameters: [Parameter])
}
