/// The module tree's layers. Each layer stores its parameters as dense float32 `Tensor`s under the
/// canonical names `EfficientNet.parameterShapes(for:)` lists.

/// A 2-D convolution, OIHW weights (depthwise: C,1,kh,kw), optional bias.
public struct Conv2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let groups: Int

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1, bias: Bool = false) {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.groups = groups
        weight = Tensor(zeros: [outputChannels, inputChannels / groups, kernelSize, kernelSize])
        self.bias = bias ? Tensor(zeros: [outputChannels]) : nil
    }

}

/// Inference batch norm: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
public struct BatchNorm2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor
    public var runningMean: Tensor
    public var runningVar: Tensor
    public let epsilon: Float

    public init(channels: Int, epsilon: Float) {
        weight = Tensor(shape: [channels], scalars: .init(repeating: 1, count: channels))
        bias = Tensor(zeros: [channels])
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(shape: [channels], scalars: .init(repeating: 1, count: channels))
        self.epsilon = epsilon
    }

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

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1,
                epsilon: Float, folded: Bool, activation: EfficientNetConfig.Activation?) {
        conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                      stride: stride, groups: groups, bias: folded)
        bn = folded ? nil : BatchNorm2d(channels: outputChannels, epsilon: epsilon)
        self.activation = activation
    }

}

/// Squeeze-and-excitation: global average pool -> 1x1 reduce (+bias) -> activation -> 1x1 expand
/// (+bias) -> sigmoid -> channel-wise multiply.
public struct SqueezeExcitation: Sendable {
    public var reduce: Conv2d
    public var expand: Conv2d

    public init(channels: Int, squeezeChannels: Int) {
        reduce = Conv2d(inputChannels: channels, outputChannels: squeezeChannels, kernelSize: 1, bias: true)
        expand = Conv2d(inputChannels: squeezeChannels, outputChannels: channels, kernelSize: 1, bias: true)
    }

}

/// Mobile inverted bottleneck: [expand 1x1] -> depthwise kxk -> [SE] -> project 1x1 [+ residual].
public struct MBConvBlock: Sendable {
    public let config: EfficientNetConfig.Block
    public var expand: ConvNormActivation?
    public var depthwise: ConvNormActivation
    public var se: SqueezeExcitation?
    public var project: ConvNormActivation

    public init(_ b: EfficientNetConfig.Block, epsilon: Float, folded: Bool, activation: EfficientNetConfig.Activation) {
        config = b
        expand = b.hasExpansion ? ConvNormActivation(inputChannels: b.inChannels, outputChannels: b.expandedChannels,
                                                     kernelSize: 1, epsilon: epsilon, folded: folded, activation: activation) : nil
        depthwise = ConvNormActivation(inputChannels: b.expandedChannels, outputChannels: b.expandedChannels,
                                       kernelSize: b.kernel, stride: b.stride, groups: b.expandedChannels,
                                       epsilon: epsilon, folded: folded, activation: activation)
        se = b.seChannels.map { SqueezeExcitation(channels: b.expandedChannels, squeezeChannels: $0) }
        project = ConvNormActivation(inputChannels: b.expandedChannels, outputChannels: b.outChannels, kernelSize: 1,
                                     epsilon: epsilon, folded: folded, activation: nil)
    }

}

/// y = x W^T + b, W of shape (out, in).
public struct Linear: Sendable {
    public var weight: Tensor
    public var bias: Tensor

    public init(inputFeatures: Int, outputFeatures: Int) {
        weight = Tensor(zeros: [outputFeatures, inputFeatures])
        bias = Tensor(zeros: [outputFeatures])
    }

}
