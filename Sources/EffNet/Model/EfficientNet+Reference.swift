/// The reference pass: the declared units (`ParameterLayout`) run one by one on
/// `ReferenceKernels`, activations stored as `S`. With Float it is `forward`'s reference path
/// (float32 between layers, as the frameworks); with Double it is the verification pass of every
/// conversion (`float64Forward`), whose logits, rounded to float32, equal a float64 run of the
/// source framework (B0 to B7 at 600 px), so comparing it with a float32 framework's output
/// measures that output's own rounding plus any real difference (see `ReferenceKernels` for why float32 storage is not enough on deep models).
extension EfficientNet {
    typealias Activations<S: ActivationScalar> = ReferenceKernels.Activations<S>

    /// [N, classes] logits (or probabilities when the config ends in softmax), computed with every
    /// activation in Double and rounded to float32 only at the end.
    /// - Throws: `InputShapeError` when the input is not one the network accepts.
    public func float64Forward(_ input: Tensor) throws -> Tensor {
        try validateInput(shape: input.shape)
        let out: Activations<Double> = referencePass(input, observe: nil)
        return Tensor(shape: out.shape, scalars: out.values.map { Float($0) })
    }

    /// Runs the network; `observe` receives ("stem" | "blocks.i" | "head" | "logits", activation).
    func referencePass<S: ActivationScalar>(_ input: Tensor, observe: ((String, Activations<S>) -> Void)?) -> Activations<S> {
        typealias K = ReferenceKernels
        var x = Activations<S>(shape: input.shape, values: input.scalars.map { S(double: Double($0)) })
        if let t = config.inputTransform { K.inputTransform(&x, t) }
        x = referenceUnit(layout.unit(.stem)!, x, convIndex: 0)
        observe?("stem", x)
        for i in config.blocks.indices {
            x = referenceBlock(i, x)
            observe?("blocks.\(i)", x)
        }
        x = referenceUnit(layout.unit(.head)!, x, convIndex: -1)
        observe?("head", x)
        let n = x.shape[0], chain = ClassifierChain(model: self)
        let pooled = K.globalAveragePool(x).map { S(double: $0).double }
        let y = chain.apply(pooled, rows: n)
        var logits = Activations<S>(shape: [n, chain.outputs], values: y.map { S(double: $0) })
        if config.finalSoftmax { K.softmax(&logits) }
        observe?("logits", logits)
        return logits
    }

    /// One convolution unit. `convIndex` is the padding rule's index for k x k convolutions (0 the
    /// stem, i + 1 block i's spatial convolution); 1x1 stride-1 convolutions never pad.
    private func referenceUnit<S: ActivationScalar>(_ u: ParameterLayout.Unit, _ x: Activations<S>, convIndex: Int) -> Activations<S> {
        let m = convNorm(u)
        let pad = u.kernel == 1 && u.stride == 1
            ? ConvPadding(top: 0, bottom: 0, left: 0, right: 0)
            : paddingResolver.padding(convIndex: convIndex, kernel: u.kernel, stride: u.stride,
                                      height: x.shape[2], width: x.shape[3])
        var y = ReferenceKernels.conv2d(x, m.conv, padding: pad)
        ReferenceKernels.batchNormActivation(&y, m.bn, m.activation)
        return y
    }

    /// Block `i`: its units in declared order (the spatial conv padded by the rule, the SE gating
    /// the spatial conv's output), then the residual.
    private func referenceBlock<S: ActivationScalar>(_ i: Int, _ x: Activations<S>) -> Activations<S> {
        var y = x
        for u in layout.units(ofBlock: i) {
            guard case let .block(_, part) = u.module else { continue }
            switch part {
            case .seReduce: ReferenceKernels.squeezeExcitation(&y, squeezeExcitation(ofBlock: i)!, config.activation)
            case .seExpand: continue
            case .depthwise, .fused: y = referenceUnit(u, y, convIndex: i + 1)
            case .expand, .project: y = referenceUnit(u, y, convIndex: -1)
            }
        }
        if config.blocks[i].hasResidual {
            for j in 0 ..< y.count { y.values[j] = S(double: y.values[j].double + x.values[j].double) }
        }
        return y
    }
}
