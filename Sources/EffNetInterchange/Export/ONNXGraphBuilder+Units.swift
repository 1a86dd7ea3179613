import EffNet
import EffNetONNX

/// The network's units as nodes, in the order and with the padding the reference pass uses.
extension ONNXGraphBuilder {
    /// A parameter's canonical name and values.
    private func parameter(_ module: ParameterLayout.Module, _ leaf: ParameterLayout.Leaf) -> (name: String, tensor: Tensor)? {
        let layout = model.layout
        guard let i = layout.slotIndex(.init(module, leaf)) else { return nil }
        return (layout.slots[i].name, model.weights[i])
    }

    /// Convolution, batch norm (a node, folded, or already folded in the model), activation.
    /// `convIndex` is the padding rule's index of a k x k convolution (0 the stem, i + 1 block i's
    /// spatial convolution); nil for the 1x1 stride-1 convolutions, which never pad.
    mutating func convUnit(_ u: ParameterLayout.Unit, _ x: String, convIndex: Int?) -> String {
        let p = u.module.path
        var input = x
        var pads = [0, 0, 0, 0]  // ONNX order: top, left, bottom, right
        if let convIndex, !(u.kernel == 1 && u.stride == 1) {
            switch config.padding.mode {
            case .symmetric:
                pads = [Int](repeating: u.kernel / 2, count: 4)
            case .sameStatic, .sameDynamic:
                if let plan = samePads {
                    let q = plan[convIndex]
                    pads = [q.top, q.left, q.bottom, q.right]
                } else {
                    input = samePad(p, x, kernel: u.kernel, stride: u.stride)
                }
            }
        }
        let weight = parameter(u.module, .weight)!
        var inputs = [input]
        var bnNode: [String]?
        if let gamma = parameter(u.module, .bnWeight) {
            let beta = parameter(u.module, .bnBias)!, mean = parameter(u.module, .bnMean)!, variance = parameter(u.module, .bnVar)!
            if options.foldBatchNorm {
                let (w, b) = Self.fold(weight: weight.tensor.scalars, outputs: u.outChannels, gamma: gamma.tensor.scalars,
                                       beta: beta.tensor.scalars, mean: mean.tensor.scalars, variance: variance.tensor.scalars,
                                       epsilon: config.bnEpsilon)
                inputs += [initializer(weight.name, shape: weight.tensor.shape, w), initializer("\(p).conv.bias", shape: [u.outChannels], b)]
            } else {
                inputs.append(initializer(weight.name, shape: weight.tensor.shape, weight.tensor.scalars))
                bnNode = [gamma, beta, mean, variance].map { initializer($0.name, shape: $0.tensor.shape, $0.tensor.scalars) }
            }
        } else {
            inputs.append(initializer(weight.name, shape: weight.tensor.shape, weight.tensor.scalars))
            if let b = parameter(u.module, .bias) { inputs.append(initializer(b.name, shape: b.tensor.shape, b.tensor.scalars)) }
        }
        var y = node("Conv", "\(p).conv", inputs, [
            .ints("kernel_shape", [u.kernel, u.kernel]), .ints("strides", [u.stride, u.stride]), .ints("pads", pads),
            .ints("dilations", [1, 1]), .int("group", u.groups),
        ])
        if let bn = bnNode {
            y = node("BatchNormalization", "\(p).bn", [y] + bn, [.float("epsilon", config.bnEpsilon)])
        }
        if let act = u.activation { y = activation(act, y, "\(p).act") }
        return y
    }

    /// Batch norm folded into the convolution before it, in Double: W' = W * s, b' = beta - mean * s
    /// with s = gamma / sqrt(var + eps) (eps read as the decimal literal the frameworks use).
    static func fold(weight: [Float], outputs: Int, gamma: [Float], beta: [Float], mean: [Float], variance: [Float],
                     epsilon: Float) -> (weight: [Float], bias: [Float]) {
        let eps = Double("\(epsilon)") ?? Double(epsilon)
        let per = weight.count / max(outputs, 1)
        var w = weight, b = [Float](repeating: 0, count: outputs)
        for o in 0 ..< outputs {
            let s = Double(gamma[o]) / (Double(variance[o]) + eps).squareRoot()
            for k in o * per ..< (o + 1) * per { w[k] = Float(Double(weight[k]) * s) }
            b[o] = Float(Double(beta[o]) - Double(mean[o]) * s)
        }
        return (w, b)
    }

    /// Block `i`: its units in declared order, the SE gating the spatial convolution's output,
    /// then the residual Add.
    mutating func block(_ i: Int, _ x: String) -> String {
        var y = x
        for u in model.layout.units(ofBlock: i) {
            guard case let .block(_, part) = u.module else { continue }
            switch part {
            case .seReduce: y = squeezeExcitation(i, y)
            case .seExpand: continue
            case .depthwise, .fused: y = convUnit(u, y, convIndex: i + 1)
            case .expand, .project: y = convUnit(u, y, convIndex: nil)
            }
        }
        if config.blocks[i].hasResidual { y = node("Add", "blocks.\(i).residual", [y, x]) }
        return y
    }

    /// GlobalAveragePool -> 1x1 Conv (bias) -> activation -> 1x1 Conv (bias) -> Sigmoid -> Mul.
    private mutating func squeezeExcitation(_ i: Int, _ x: String) -> String {
        let p = "blocks.\(i).se"
        var g = node("GlobalAveragePool", "\(p).pool", [x])
        for (part, name) in [(ParameterLayout.BlockPart.seReduce, "reduce"), (.seExpand, "expand")] {
            let w = parameter(.block(i, part), .weight)!, b = parameter(.block(i, part), .bias)!
            g = node("Conv", "\(p).\(name)", [g, initializer(w.name, shape: w.tensor.shape, w.tensor.scalars),
                                             initializer(b.name, shape: b.tensor.shape, b.tensor.scalars)],
                     [.ints("kernel_shape", [1, 1]), .ints("strides", [1, 1]), .ints("pads", [0, 0, 0, 0])])
            if part == .seReduce { g = activation(config.activation, g, "\(p).act") }
        }
        return node("Mul", p, [x, node("Sigmoid", "\(p).gate", [g])])
    }

    /// SiLU as Sigmoid + Mul, ReLU6 as Clip(0, 6).
    mutating func activation(_ a: EfficientNetConfig.Activation, _ x: String, _ name: String) -> String {
        switch a {
        case .silu: return node("Mul", name, [x, node("Sigmoid", "\(name).sigmoid", [x])])
        case .relu6: return node("Clip", name, [x, constant("const.zero", [0]), constant("const.six", [6])])
        }
    }

    /// One Gemm, or the classifier chain's layers (Dropout and Flatten are no-ops at inference and
    /// are not written).
    mutating func classifier(_ x: String) -> String {
        guard let chain = config.classifierChain else { return gemm(.classifier, x) }
        var y = x
        for (k, l) in chain.enumerated() {
            let m = ParameterLayout.Module.classifierLayer(k), name = m.path
            switch l.kind {
            case .linear: y = gemm(m, y)
            case .batchNorm:
                let inputs = [ParameterLayout.Leaf.bnWeight, .bnBias, .bnMean, .bnVar].map { leaf -> String in
                    let t = parameter(m, leaf)!
                    return initializer(t.name, shape: t.tensor.shape, t.tensor.scalars)
                }
                y = node("BatchNormalization", name, [y] + inputs, [.float("epsilon", l.epsilon ?? 1e-5)])
            case .relu: y = node("Relu", name, [y])
            case .silu: y = node("Mul", name, [y, node("Sigmoid", "\(name).sigmoid", [y])])
            case .sigmoid: y = node("Sigmoid", name, [y])
            case .gelu:
                // Opset 17 has no Gelu: x * 0.5 * (1 + erf(x / sqrt 2)), as torch.onnx writes it.
                let e = node("Erf", "\(name).erf", [node("Div", "\(name).div", [y, constant("const.sqrt2", [Float(2).squareRoot()])])])
                let h = node("Mul", "\(name).half", [node("Add", "\(name).add", [e, constant("const.one", [1])]), constant("const.half", [0.5])])
                y = node("Mul", name, [y, h])
            case .softmax: if options.softmax { y = node("Softmax", name, [y], [.int("axis", -1)]) }
            case .dropout, .flatten: continue
            }
        }
        return y
    }

    private mutating func gemm(_ m: ParameterLayout.Module, _ x: String) -> String {
        let w = parameter(m, .weight)!, b = parameter(m, .bias)!
        return node("Gemm", m.path, [x, initializer(w.name, shape: w.tensor.shape, w.tensor.scalars),
                                     initializer(b.name, shape: b.tensor.shape, b.tensor.scalars)], [.int("transB", 1)])
    }

    /// TensorFlow "SAME" from the actual input, as TF-exported graphs compute it: for [H, W] =
    /// Shape(x)[2:4], total = max((ceil(i / s) - 1) * s + k - i, 0), the smaller half before and the
    /// larger after, then Pad(x, [0, 0, top, left, 0, 0, bottom, right]).
    private mutating func samePad(_ p: String, _ x: String, kernel: Int, stride: Int) -> String {
        let n = "\(p).pad"
        let s = int64Constant("const.i64.\(stride)", [Int64(stride)]), k = int64Constant("const.i64.\(kernel)", [Int64(kernel)])
        let one = int64Constant("const.i64.1", [1]), two = int64Constant("const.i64.2", [2])
        let zero = int64Constant("const.i64.0", [0]), zeros = int64Constant("const.i64.zeros2", [0, 0], shape: [2])
        let sMinus1 = int64Constant("const.i64.\(stride - 1)", [Int64(stride - 1)])
        let hw = node("Shape", "\(n).hw", [x], [.int("start", 2), .int("end", 4)])
        let out = node("Div", "\(n).out", [node("Add", "\(n).round_up", [hw, sMinus1]), s])
        let span = node("Add", "\(n).span", [node("Mul", "\(n).covered", [node("Sub", "\(n).out_minus_1", [out, one]), s]), k])
        let total = node("Max", "\(n).total", [node("Sub", "\(n).needed", [span, hw]), zero])
        let before = node("Div", "\(n).before", [total, two])
        let after = node("Sub", "\(n).after", [total, before])
        let pads = node("Concat", "\(n).pads", [zeros, before, zeros, after], [.int("axis", 0)])
        return node("Pad", n, [x, pads], [.string("mode", "constant")])
    }
}
