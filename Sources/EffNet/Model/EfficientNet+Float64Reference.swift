/// The verification pass: the network on the reference kernels with every activation kept in
/// Double (weights are the model's float32 values, exactly). Its logits, rounded to float32, equal
/// a float64 run of the source framework (B0 to B7 at 600 px), so comparing it with a float32 framework's output measures that output's
/// own rounding plus any real difference (see `ReferenceKernels` for why float32 storage is not
/// enough on deep models). Same walk as `forward(_:observe:)` on the reference kernels.
extension EfficientNet {
    /// [N, classes] logits (or probabilities when the config ends in softmax), rounded to float32
    /// only at the end.
    /// - Throws: `InputShapeError` when the input is not one the network accepts.
    public func float64Forward(_ input: Tensor) throws -> Tensor {
        try validateInput(shape: input.shape)
        typealias K = ReferenceKernels
        let padding = PaddingResolver(config: config)
        func apply(_ m: ConvNormActivation, _ x: K.Activations<Double>, convIndex: Int) -> K.Activations<Double> {
            let pad = m.conv.kernelSize == 1 && m.conv.stride == 1
                ? ConvPadding(top: 0, bottom: 0, left: 0, right: 0)
                : padding.padding(convIndex: convIndex, kernel: m.conv.kernelSize, stride: m.conv.stride,
                                  height: x.shape[2], width: x.shape[3])
            var y = K.conv2d(x, m.conv, padding: pad)
            K.batchNormActivation(&y, m.bn, m.activation)
            return y
        }
        var x = K.Activations<Double>(shape: input.shape, values: input.scalars.map { Double($0) })
        if let t = config.inputTransform { K.inputTransform(&x, t) }
        x = apply(stem, x, convIndex: 0)
        for (i, block) in blocks.enumerated() {
            var y = x
            if let e = block.expand { y = apply(e, y, convIndex: -1) }
            y = apply(block.depthwise, y, convIndex: i + 1)
            if let se = block.se { K.squeezeExcitation(&y, se, config.activation) }
            y = apply(block.project, y, convIndex: -1)
            if block.config.hasResidual { for j in 0 ..< y.count { y.values[j] += x.values[j] } }
            x = y
        }
        x = apply(head, x, convIndex: -1)
        let n = x.shape[0]
        let logits = K.linear(K.globalAveragePool(x), rows: n, weight: classifier.weight.scalars,
                              outputs: classifier.weight.shape[0], bias: classifier.bias.scalars)
        var out = K.Activations<Double>(shape: [n, classifier.weight.shape[0]], values: logits)
        if config.finalSoftmax { K.softmax(&out) }
        return Tensor(shape: out.shape, scalars: out.values.map { Float($0) })
    }
}
