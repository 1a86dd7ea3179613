import EffNet
import EffNetONNX

extension ONNXGraphWalker {
    /// From the graph input to the stem: an optional NHWC->NCHW Transpose (tf2onnx) and per-channel
    /// preprocessing (Keras Rescaling/Normalization as Mul/Add/Sub/Div by constants).
    /// - Returns: the value the stem reads, the input layout, the preprocessing as one affine.
    func inputPrefix() throws -> (String, ONNXReference.Layout, EfficientNetConfig.InputTransform?) {
        var v = view.input.name
        var ops: [(node: Int, constant: ONNXArray, position: Int, beforeTranspose: Bool)] = []
        var transposed = false
        while true {
            let cons = view.dataConsumers(v)
            guard cons.count == 1 else {
                if cons.count > 1, convs(reading: v).count == 1 { break }
                throw view.fail(nil, "the input '\(v)' is read by \(cons.count) nodes; expected one path to the stem")
            }
            let c = cons[0], n = view.nodes[c]
            if n.opType == "Conv" || n.opType == "Pad" { break }
            if n.opType == "Transpose", !transposed, case let .ints(perm)? = n.attribute("perm"), perm == [0, 3, 1, 2] {
                transposed = true
            } else if ["Mul", "Add", "Sub", "Div"].contains(n.opType), let (k, pos) = view.constantOperand(of: c, besides: v) {
                guard !(n.opType == "Div" && pos == 0) else { throw view.fail(c, "dividing a constant by the input is not an affine preprocessing") }
                ops.append((c, k, pos, !transposed))
            } else {
                throw view.fail(c, "unexpected between the input and the first convolution")
            }
            v = n.outputs[0]
        }
        guard let stem = convs(reading: v).first else { return (v, transposed ? .nhwc : .nchw, nil) }
        let channels = stem.inChannels
        var scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
        for op in ops {
            // Before the Transpose the tensor is NHWC (channels last), after it NCHW.
            let axis = transposed && op.beforeTranspose ? 3 : 1
            guard let k = ONNXGraphView.perChannel(op.constant, channels: channels, axis: axis, rank: 4) else {
                throw view.fail(op.node, "constant of shape \(op.constant.shape) is not per channel")
            }
            for ch in 0 ..< channels {
                switch (view.nodes[op.node].opType, op.position) {
                case ("Mul", _): scale[ch] *= k[ch]; shift[ch] *= k[ch]
                case ("Add", _): shift[ch] += k[ch]
                case ("Sub", 1): shift[ch] -= k[ch]
                case ("Sub", _): scale[ch] = -scale[ch]; shift[ch] = k[ch] - shift[ch]
                default: scale[ch] /= k[ch]; shift[ch] /= k[ch]
                }
            }
        }
        let identity = scale.allSatisfy { $0 == 1 } && shift.allSatisfy { $0 == 0 }
        return (v, transposed ? .nhwc : .nchw, identity ? nil : .init(scale: scale, offset: shift))
    }

    /// Follows `v` through shape-only ops (Reshape, Squeeze, Unsqueeze, Flatten, Expand) while each
    /// has it as sole reader.
    func skipReshapes(_ v: String) -> String {
        var v = v
        while let c = view.soleConsumer(v), ["Reshape", "Squeeze", "Unsqueeze", "Flatten", "Expand"].contains(view.nodes[c].opType),
              view.nodes[c].inputs.first == v {
            v = view.nodes[c].outputs[0]
        }
        return v
    }

    /// True when node `i` averages over the spatial axes of an NCHW value (GlobalAveragePool,
    /// ReduceMean over axes 2 and 3, or an AveragePool whose window is the whole `spatial` extent)
    /// or, with `nhwc`, of an NHWC value (ReduceMean over axes 1 and 2).
    func isSpatialMean(_ i: Int, spatial: (Int, Int)? = nil, nhwc: Bool = false) -> Bool {
        let n = view.nodes[i]
        switch n.opType {
        case "GlobalAveragePool": return !nhwc
        case "AveragePool":
            guard !nhwc, let (h, w) = spatial, let k = view.intsAttribute(n, "kernel_shape"), k.count == 2 else { return false }
            let pads = view.intsAttribute(n, "pads") ?? [0, 0, 0, 0]
            guard pads.allSatisfy({ $0 == 0 }), ["NOTSET", "VALID"].contains(n.attribute("auto_pad")?.stringValue ?? "NOTSET") else { return false }
            if k == [Int64(h), Int64(w)] { return true }
            // transformers pools with AvgPool2d(hidden_dim, ceil_mode=True): a window larger than
            // the map, clipped to it, one output (the window past the end is not counted), so the
            // mean of the whole map, at this input size.
            let s = view.intsAttribute(n, "strides") ?? [1, 1]
            guard case let .int(ceil)? = n.attribute("ceil_mode"), ceil == 1, s.count == 2 else { return false }
            return zip(k, [Int64(h), Int64(w)]).allSatisfy { $0 >= $1 } && zip(zip(k, [Int64(h), Int64(w)]), s).allSatisfy { $0.0 - $0.1 < $1 }
        case "ReduceMean":
            var axes: [Int64]?
            if case let .ints(a)? = n.attribute("axes") { axes = a } else if n.inputs.count > 1 { axes = view.constants[n.inputs[1]]?.asInts }
            guard let axes else { return false }
            return Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == (nhwc ? [1, 2] : [2, 3])
        default: return false
        }
    }

    /// The spatial extent after `strides`, from the declared input size (nil when it is free).
    func spatialSize(after strides: [Int], layout: ONNXReference.Layout) -> (Int, Int)? {
        let declared = ONNXGraphMappingBuilder.declaredSize(view.input, layout: layout)
        guard var h = declared.h, var w = declared.w else { return nil }
        for s in strides { h = (h + s - 1) / s; w = (w + s - 1) / s }
        return (h, w)
    }

    /// The squeeze-and-excitation after a depthwise unit: spatial mean -> 1x1 conv -> activation ->
    /// 1x1 conv -> Sigmoid -> Mul with the depthwise output.
    /// - Returns: the SE (nil when the block has none) and the value the projection reads.
    func squeezeExcite(after dw: ONNXConvUnit, spatial: (Int, Int)?) throws -> (ONNXNetworkStructure.SqueezeExcite?, String) {
        let d = dw.activated
        let cons = view.dataConsumers(d)
        guard let pool = cons.first(where: { isSpatialMean($0, spatial: spatial) }) else { return (nil, d) }
        guard cons.count == 2, let gateMul = cons.first(where: { $0 != pool && view.nodes[$0].opType == "Mul" }) else {
            throw view.fail(pool, "squeeze-and-excitation: the depthwise output should feed the pooling and the gating Mul only")
        }
        let reduce = try soleConv(reading: skipReshapes(view.nodes[pool].outputs[0]), what: "the SE reduce convolution")
        guard reduce.isPointwise, reduce.inChannels == dw.outChannels, reduce.activation != nil else {
            throw view.fail(reduce.node, "expected an activated 1x1 SE reduce convolution over \(dw.outChannels) channels")
        }
        let expand = try soleConv(reading: skipReshapes(reduce.activated), what: "the SE expand convolution")
        guard expand.isPointwise, expand.inChannels == reduce.outChannels, expand.outChannels == dw.outChannels,
              expand.activation == nil, let s = view.soleConsumer(expand.output) else {
            throw view.fail(expand.node, "expected a 1x1 SE expand convolution back to \(dw.outChannels) channels")
        }
        guard view.nodes[s].opType == "Sigmoid" else { throw view.fail(s, "the SE gate must be a Sigmoid (\(view.nodes[s].opType) is not supported)") }
        let gate = skipReshapes(view.nodes[s].outputs[0])
        guard Set(view.nodes[gateMul].inputs) == Set([d, gate]) else {
            throw view.fail(gateMul, "the SE gate does not multiply the depthwise output")
        }
        return (.init(reduce: reduce, expand: expand, output: reduce.activated), view.nodes[gateMul].outputs[0])
    }

    /// Head -> spatial mean -> [Flatten/Reshape] -> Gemm | MatMul(+Add) | 1x1 Conv -> [Softmax] -> output.
    func classifierTail(after head: ONNXConvUnit, spatial: (Int, Int)?, into s: inout ONNXNetworkStructure) throws {
        var pooled = head.activated, nhwc = false
        // tf2onnx may leave the head's output NHWC: Transpose(0,2,3,1) then ReduceMean over 1, 2.
        if let t = view.soleConsumer(pooled), view.nodes[t].opType == "Transpose", view.intsAttribute(view.nodes[t], "perm") == [0, 2, 3, 1] {
            pooled = view.nodes[t].outputs[0]
            nhwc = true
        }
        guard let pool = view.soleConsumer(pooled), isSpatialMean(pool, spatial: spatial, nhwc: nhwc) else {
            throw view.fail(head.node, "the head should be followed by global average pooling")
        }
        var v = skipReshapes(view.nodes[pool].outputs[0])
        guard let c = view.soleConsumer(v) else { throw view.fail(pool, "nothing classifies the pooled features") }
        let n = view.nodes[c]
        let features = head.outChannels
        switch n.opType {
        case "Gemm":
            guard n.inputs.count >= 2, n.inputs[0] == v, view.intAttribute(n, "transA") ?? 0 == 0 else {
                throw view.fail(c, "expected Gemm(features, W[, C]) without transA")
            }
            let w = try view.weight(n.inputs[1], for: c)
            let transB = (view.intAttribute(n, "transB") ?? 0) != 0
            guard w.shape.count == 2, w.shape[transB ? 1 : 0] == features else { throw view.fail(c, "weight \(w.shape) does not take \(features) features") }
            let bias = n.inputs.count > 2 && !n.inputs[2].isEmpty ? try view.weight(n.inputs[2], for: c) : nil
            var alpha: Float = 1, beta: Float = 1
            if case let .float(a)? = n.attribute("alpha") { alpha = a }
            if case let .float(b)? = n.attribute("beta") { beta = b }
            s.classes = w.shape[transB ? 0 : 1]
            if let bias, bias.shape.reduce(1, *) != s.classes { throw view.fail(c, "bias \(bias.shape) for \(s.classes) classes") }
            s.classifier = .gemm(node: c, weight: w, transB: transB, alpha: alpha, beta: beta, bias: bias)
            v = n.outputs[0]
        case "MatMul":
            guard n.inputs.count == 2, n.inputs[0] == v else { throw view.fail(c, "expected MatMul(features, W)") }
            let w = try view.weight(n.inputs[1], for: c)
            guard w.shape.count == 2, w.shape[0] == features else { throw view.fail(c, "weight \(w.shape) does not take \(features) features") }
            s.classes = w.shape[1]
            v = n.outputs[0]
            var bias: ONNXGraphView.WeightRef?
            if let a = view.soleConsumer(v), view.nodes[a].opType == "Add", let (_, pos) = view.constantOperand(of: a, besides: v) {
                let b = try view.weight(view.nodes[a].inputs[pos], for: a)
                guard b.shape.reduce(1, *) == s.classes else { throw view.fail(a, "bias \(b.shape) for \(s.classes) classes") }
                bias = b
                v = view.nodes[a].outputs[0]
            }
            s.classifier = .matMul(node: c, weight: w, bias: bias)
        case "Conv":
            let unit = try view.convUnit(c)
            guard unit.isPointwise, unit.inChannels == features, unit.activation == nil, unit.affine.isEmpty else {
                throw view.fail(c, "expected a linear 1x1 convolution as classifier")
            }
            s.classes = unit.outChannels
            s.classifier = .conv(unit)
            v = unit.output
        default:
            throw view.fail(c, "expected a Gemm, MatMul or 1x1 Conv classifier")
        }
        v = skipReshapes(v)
        if let c = view.soleConsumer(v), ["Softmax"].contains(view.nodes[c].opType) {
            s.finalSoftmax = true
            v = skipReshapes(view.nodes[c].outputs[0])
        }
        guard view.outputs.contains(v), view.dataConsumers(v).isEmpty else {
            let readers = view.dataConsumers(v).map { view.nodes[$0].opType }
            throw view.fail(nil, "the classifier output '\(v)' is not the graph output (read by \(readers))")
        }
        s.output = v
    }
}
