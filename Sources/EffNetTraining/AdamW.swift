import CHeadKernels
import EffNet
import Foundation

/// torch.optim.AdamW, step for step (its single-tensor implementation, amsgrad = false):
///
///     p = p * (1 - lr * weight_decay)
///     m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
///     p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///
/// with the bias corrections computed in double precision, as torch does with Python floats.
public final class AdamW: Optimizer {
    /// Hyperparameters are doubles, as Python floats are in torch (see `SGD`).
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let weightDecay: Double
    /// Moments by parameter; a class, so that updating them in place copies nothing.
    private final class State {
        var step = 0
        var m: [Float], v: [Float]
        init(count: Int) { m = [Float](repeating: 0, count: count); v = m }
    }
    private var states: [ObjectIdentifier: State] = [:]

    /// - Throws: `TrainingError` for what torch refuses (negative rate, epsilon or weight
    ///   decay; betas outside [0, 1)).
    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 1e-2) throws {
        guard learningRate >= 0, epsilon >= 0, weightDecay >= 0, (0 ..< 1).contains(beta1), (0 ..< 1).contains(beta2),
              learningRate.isFinite, epsilon.isFinite, weightDecay.isFinite else {
            throw TrainingError("adamw: learning rate, epsilon and weight decay must be finite and non-negative, betas in [0, 1)")
        }
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter]) {
        let lr = learningRate
        for p in parameters {
            let count = p.value.count, key = ObjectIdentifier(p)
            let s = states[key] ?? State(count: count)
            states[key] = s
            s.step += 1
            let decay = Float(1 - lr * weightDecay), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2)
            let w1 = Float(1 - beta1)
            let t = Double(s.step)
            let bias1 = 1 - pow(beta1, t), bias2 = 1 - pow(beta2, t)
            let negStep = Float(-(lr / bias1)), bias2Sqrt = Float(bias2.squareRoot()), eps = Float(epsilon)
            let grad = p.grad.scalars
            // The loops are C (CHeadKernels): vectorised for the CPU's level, chosen at run time.
            grad.withUnsafeBufferPointer { gp in
                p.value.scalars.withUnsafeMutableBufferPointer { wp in
                    s.m.withUnsafeMutableBufferPointer { mp in
                        s.v.withUnsafeMutableBufferPointer { vp in
                            effnet_head_adamw(count, wp.baseAddress!, gp.baseAddress!, mp.baseAddress!, vp.baseAddress!,
                                              decay, w1, b2, oneMinusB2, negStep, bias2Sqrt, eps)
                        }
                    }
                }
            }
        }
    }
}
