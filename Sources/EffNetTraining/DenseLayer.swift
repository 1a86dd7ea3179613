import CHeadKernels
import EffNet

/// y = x W^T + b, as torch.nn.Linear: weight [out, in], bias [out].
public final class DenseLayer: HeadLayer {
    public let weight: Parameter
    public let bias: Parameter
    public var inputFeatures: Int { weight.value.shape[1] }
    public var outputFeatures: Int { weight.value.shape[0] }
    private var input: Tensor?

    public init(weight: Parameter, bias: Parameter) {
        precondition(weight.value.rank == 2 && bias.value.shape == [weight.value.shape[0]],
                     "DenseLayer: weight [out, in] and bias [out], got \(weight.value.shape) and \(bias.value.shape)")
        self.weight = weight
        self.bias = bias
    }

    /// torch.nn.Linear's default initialisation: weight and bias uniform in
    /// [-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5) comes to that bound), drawn
    /// from `generator` (so not torch's numbers: tests that compare with torch give both sides
    /// the same initial weights).
    public convenience init(name: String, inputFeatures: Int, outputFeatures: Int, generator: inout SeededGenerator) {
        let bound = 1 / Float(inputFeatures).squareRoot()
        func uniform(_ count: Int) -> [Float] { (0 ..< count).map { _ in generator.nextUniform(in: -bound, bound) } }
        self.init(weight: Parameter(name: "\(name).weight", value: Tensor(shape: [outputFeatures, inputFeatures], scalars: uniform(outputFeatures * inputFeatures))),
                  bias: Parameter(name: "\(name).bias", value: Tensor(shape: [outputFeatures], scalars: uniform(outputFeatures))))
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == inputFeatures, "DenseLayer: input \(x.shape), expected [N, \(inputFeatures)]")
        let n = x.shape[0], o = outputFeatures, k = inputFeatures
        var y = [Float](repeating: 0, count: n * o)
        x.scalars.withUnsafeBufferPointer { xp in
            weight.value.scalars.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xb = xp.baseAddress, let wb = wp.baseAddress, let yb = yp.baseAddress else { return }
                    effnet_head_gemm_nt(n, o, k, xb, k, wb, k, yb, o, 0)
                }
            }
        }
        let b = bias.value.scalars
        for i in 0 ..< n { for j in 0 ..< o { y[i * o + j] += b[j] } }
        if training { input = x }
        return Tensor(shape: [n, o], scalars: y)
    }

    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor? {
        guard let x = input else { preconditionFailure("DenseLayer.backward before a training forward pass") }
        let n = x.shape[0], o = outputFeatures, k = inputFeatures
        precondition(gradOutput.shape == [n, o], "DenseLayer: gradient \(gradOutput.shape), expected [\(n), \(o)]")
        var dx: [Float]? = inputGradient ? [Float](repeating: 0, count: n * k) : nil
        gradOutput.scalars.withUnsafeBufferPointer { gp in
            x.scalars.withUnsafeBufferPointer { xp in
                weight.grad.scalars.withUnsafeMutableBufferPointer { dwp in
                    guard let g = gp.baseAddress, let xb = xp.baseAddress, let dw = dwp.baseAddress else { return }
                    // dW += G^T x: G read transposed (row stride 1, column stride o).
                    effnet_head_gemm_xn(o, k, n, g, 1, o, xb, k, dw, k, 1)
                }
            }
            if dx != nil {
                weight.value.scalars.withUnsafeBufferPointer { wp in
                    dx!.withUnsafeMutableBufferPointer { dxp in
                        guard let g = gp.baseAddress, let w = wp.baseAddress, let d = dxp.baseAddress else { return }
                        effnet_head_gemm_xn(n, k, o, g, o, 1, w, k, d, k, 0)  // dx = G W
                    }
                }
            }
        }
        // db += column sums of G, in row order (as torch's sum over the batch, up to rounding).
        let g = gradOutput.scalars
        for j in 0 ..< o {
            var s: Float = 0
            for i in 0 ..< n { s += g[i * o + j] }
            bias.grad.scalars[j] += s
        }
        return dx.map { Tensor(shape: [n, k], scalars: $0) }
    }
}
