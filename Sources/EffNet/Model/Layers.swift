/// Views of one unit's parameters as a layer, for the reference kernels and the inference plan.
/// They hold the model's tensors (copy-on-write arrays, not copies); the model stores its
/// parameters in the order `ParameterLayout` declares, and builds these on demand.

/// A 2-D convolution, OIHW weights (depthwise: C,1,kh,kw), optional bias.
public struct Conv2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let groups: Int
}

/// Inference batch norm: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
public struct BatchNorm2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor
    public var runningMean: Tensor
    public var runningVar: Tensor
    public let epsilon: Float

    /// Per-channel (scale, shift) so that y = x * scale + shift, computed in Double.
    public func affine() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: weight.count), shift = scale
        for c in 0 ..< weight.count {
            let s = Double(weight.scalars[c]) / (Double(runningVar.scalars[c]) + Double(epsilon)).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(bias.scalars[c]) - Double(runningMean.scalars[c]) * s)
        }
        return (scale, shift)
    }
}

/// Convolution, then batch norm (absent when folded into the conv's bias), then an optional activation.
public struct ConvNormActivation: Sendable {
    public var conv: Conv2d
    public var bn: BatchNorm2d?
    public let activation: EfficientNetConfig.Activation?
}

/// Squeeze-and-excitation: global average pool -> 1x1 reduce (+bias) -> activation -> 1x1 expand
/// (+bias) -> sigmoid -> channel-wise multiply.
public struct SqueezeExcitation: Sendable {
    public var reduce: Conv2d
    public var expand: Conv2d
}

/// y = x W^T + b, W of shape (out, in).
public struct Linear: Sendable {
    public var weight: Tensor
    public var bias: Tensor
}
