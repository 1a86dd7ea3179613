import CHeadKernels
import EffNet

/// torch.optim.SGD, step for step (its single-tensor implementation, maximize = false):
///
///     g = grad + weight_decay * p                     (when weight_decay != 0)
///     buf = g on the first step, else momentum * buf + (1 - dampening) * g
///     g = g + momentum * buf (nesterov) or buf         (when momentum != 0)
///     p = p - lr * g
public final class SGD: Optimizer {
    /// Hyperparameters are doubles, as Python floats are in torch; each enters a float32
    /// operation the way torch passes it (rounded once, combinations like 1 - dampening first).
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let weightDecay: Double
    public let nesterov: Bool
    /// Momentum buffers by parameter; a class, so that updating one in place copies nothing.
    private final class Buffer { var values: [Float]; init(_ v: [Float]) { values = v } }
    private var buffers: [ObjectIdentifier: Buffer] = [:]

    /// - Throws: `TrainingError` for what torch refuses: a negative rate, momentum or weight
    ///   decay, and nesterov without momentum or with dampening.
    public init(learningRate: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false) throws {
        guard learningRate >= 0, momentum >= 0, weightDecay >= 0, learningRate.isFinite, momentum.isFinite,
              weightDecay.isFinite, dampening.isFinite else {
            throw TrainingError("sgd: learning rate, momentum and weight decay must be finite and non-negative")
        }
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw TrainingError("sgd: nesterov momentum requires a momentum and zero dampening")
        }
        self.learningRate = learningRate; self.momentum = momentum; self.dampening = dampening
        self.weightDecay = weightDecay; self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter]) {
        let lr = Float(-learningRate), mu = Float(momentum), wd = Float(weightDecay), keep = Float(1 - dampening)
        for p in parameters {
            let count = p.value.count
            var buffer: Buffer?
            var first = false
            if mu != 0 {
                if let b = buffers[ObjectIdentifier(p)] {
                    buffer = b
                } else {
                    buffer = Buffer([Float](repeating: 0, count: count))
                    buffers[ObjectIdentifier(p)] = buffer
                    first = true
                }
            }
            // The loops are C (CHeadKernels): vectorised for the CPU's level, chosen at run time.
            let grad = p.grad.scalars
            grad.withUnsafeBufferPointer { gp in
                p.value.scalars.withUnsafeMutableBufferPointer { wp in
                    if let buffer {
                        buffer.values.withUnsafeMutableBufferPointer { bp in
                            effnet_head_sgd(count, wp.baseAddress!, gp.baseAddress!, bp.baseAddress!, lr, wd, mu, keep, first ? 1 : 0, nesterov ? 1 : 0)
                        }
                    } else {
                        effnet_head_sgd(count, wp.baseAddress!, gp.baseAddress!, nil, lr, wd, mu, keep, 0, 0)
                    }
                }
            }
        }
    }
}
