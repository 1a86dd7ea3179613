import EffNet
import EffNetONNX

/// One convolution as the walk understands it: the Conv node, the padding in front of it (its
/// `pads`/`auto_pad` plus any Pad node), the per-channel affine ops right after it (a
/// BatchNormalization node, or Mul/Add/Sub/Div by constants: BN as tf2onnx leaves it), and its
/// activation (SiLU as Sigmoid+Mul, ReLU6 as Clip(0, 6)).
struct ONNXConvUnit {
    enum Padding: Equatable {
        /// Fixed (top, bottom, left, right), whatever the input size.
        case fixed(ConvPadding)
        /// TF "SAME" computed from the actual input (SAME_UPPER, or a Pad fed by shape arithmetic).
        case dynamicSame
    }

    enum AffineOp {
        case batchNorm(node: Int, scale: String, bias: String, mean: String, variance: String, epsilon: Float)
        /// y = x * scale + shift per output channel (scale/shift broadcast from scalars).
        case affine(node: Int, scale: [Float], shift: [Float])
    }

    enum Activation: String { case silu, relu6, relu, hardSwish = "hard-swish" }

    let node: Int
    /// The value the unit reads (before any Pad node).
    let input: String
    let weight: ONNXGraphView.WeightRef
    let bias: ONNXGraphView.WeightRef?
    let outChannels, inChannelsPerGroup, group, kernel, stride: Int
    let padding: Padding
    var affine: [AffineOp] = []
    /// The value after the affine ops (before the activation).
    var output: String
    var activation: Activation?
    /// The value after the activation (== output when there is none).
    var activated: String
    /// Nodes that belong to the unit (for the report: "which nodes did the walk consume").
    var nodes: [Int]

    var inChannels: Int { inChannelsPerGroup * group }
    var isDepthwise: Bool { group > 1 && group == outChannels && inChannelsPerGroup == 1 }
    var isPointwise: Bool { kernel == 1 && stride == 1 && group == 1 }
    var hasOnlyBatchNorm: Bool {
        if affine.count == 1, case .batchNorm = affine[0] { return true }
        return false
    }
}

extension ONNXGraphView {
    /// The conv unit of Conv node `i`.
    /// - Throws: `MappingError.unsupported` for shapes, strides, dilations or pads EfficientNet
    ///   does not use (named after the node).
    func convUnit(_ i: Int) throws -> ONNXConvUnit {
        let n = nodes[i]
        guard n.opType == "Conv", n.inputs.count >= 2 else { throw fail(i, "not a convolution") }
        let weight = try self.weight(n.inputs[1], for: i)
        let bias = n.inputs.count > 2 && !n.inputs[2].isEmpty ? try self.weight(n.inputs[2], for: i) : nil
        let w = weight.shape
        guard w.count == 4, w[2] == w[3], w.allSatisfy({ $0 > 0 }) else { throw fail(i, "weight \(w) is not a square 2-D kernel") }
        let group = Int(clamping: intAttribute(n, "group") ?? 1)
        guard group >= 1, w[0] % group == 0 else { throw fail(i, "group \(group) does not divide \(w[0]) output channels") }
        let strides = intsAttribute(n, "strides") ?? [1, 1]
        let dilations = intsAttribute(n, "dilations") ?? [1, 1]
        guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1, strides[0] <= 64 else { throw fail(i, "strides \(strides) are not square") }
        guard dilations.allSatisfy({ $0 == 1 }) else { throw fail(i, "dilations \(dilations) are not supported") }
        if let b = bias, b.shape.reduce(1, *) != w[0] { throw fail(i, "bias \(b.shape) does not fit \(w[0]) output channels") }
        let k = w[2], s = Int(strides[0])

        // Padding: the conv's own, plus a Pad node in front of it.
        var padding: ONNXConvUnit.Padding
        let autoPad = n.attribute("auto_pad")?.stringValue ?? "NOTSET"
        switch autoPad {
        case "NOTSET":
            let p = (intsAttribute(n, "pads") ?? [0, 0, 0, 0]).map { Int($0) }
            guard p.count == 4, p.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else { throw fail(i, "pads \(p)") }
            padding = .fixed(ConvPadding(top: p[0], bottom: p[2], left: p[1], right: p[3]))
        case "VALID": padding = .fixed(ConvPadding(top: 0, bottom: 0, left: 0, right: 0))
        case "SAME_UPPER": padding = .dynamicSame
        case "SAME_LOWER":
            guard s == 1, k % 2 == 1 else { throw fail(i, "auto_pad SAME_LOWER with stride \(s) is not supported") }
            padding = .fixed(.symmetric(kernel: k))
        default: throw fail(i, "auto_pad '\(autoPad)'")
        }
        var input = n.inputs[0]
        if let p = producer[input], nodes[p].opType == "Pad", !nodes[p].inputs.isEmpty {
            let pad = nodes[p]
            input = pad.inputs[0]
            guard (pad.attribute("mode")?.stringValue ?? "constant") == "constant" else { throw fail(p, "only constant padding is supported") }
            if pad.inputs.count > 2, !pad.inputs[2].isEmpty {
                guard let value = constants[pad.inputs[2]], value.asFloats.allSatisfy({ $0 == 0 }) else { throw fail(p, "padding with a non-zero value") }
            }
            if pad.inputs.count > 3, !pad.inputs[3].isEmpty { throw fail(p, "Pad with axes is not supported") }
            let pads: [Int]?
            if let attr = intsAttribute(pad, "pads") { pads = attr.map { Int($0) } }
            else if pad.inputs.count > 1, let v = constants[pad.inputs[1]] { pads = v.asInts.map { Int(clamping: $0) } }
            else { pads = nil }  // computed from the input's shape at run time
            if let pads {
                guard pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0,
                      pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else {
                    throw fail(p, "pads \(pads) touch more than the spatial axes")
                }
                guard case let .fixed(q) = padding else { throw fail(i, "a Pad node in front of auto_pad \(autoPad)") }
                padding = .fixed(ConvPadding(top: q.top + pads[2], bottom: q.bottom + pads[6], left: q.left + pads[3], right: q.right + pads[7]))
            } else {
                guard padding == .fixed(ConvPadding(top: 0, bottom: 0, left: 0, right: 0)) else {
                    throw fail(i, "dynamic Pad combined with the convolution's own pads")
                }
                padding = .dynamicSame
            }
        }
        // TF SAME at stride 1 with an odd kernel is k//2 on each side at every size.
        if padding == .dynamicSame && s == 1 && k % 2 == 1 { padding = .fixed(.symmetric(kernel: k)) }

        var unit = ONNXConvUnit(node: i, input: input, weight: weight, bias: bias, outChannels: w[0], inChannelsPerGroup: w[1],
                                group: group, kernel: k, stride: s, padding: padding,
                                output: n.outputs[0], activation: nil, activated: n.outputs[0], nodes: [i])
        try absorbAffine(&unit)
        detectActivation(&unit)
        return unit
    }

    /// Per-channel affine ops that follow the conv directly (sole consumer each).
    private func absorbAffine(_ unit: inout ONNXConvUnit) throws {
        let channels = unit.outChannels
        while let c = soleConsumer(unit.output) {
            let n = nodes[c]
            if n.opType == "BatchNormalization" {
                guard n.inputs.count >= 5, n.inputs[0] == unit.output,
                      n.inputs[1 ... 4].allSatisfy({ constants[$0]?.count == channels }) else { break }
                let eps: Float
                if case let .float(f)? = n.attribute("epsilon") { eps = f } else { eps = 1e-5 }
                unit.affine.append(.batchNorm(node: c, scale: n.inputs[1], bias: n.inputs[2], mean: n.inputs[3],
                                              variance: n.inputs[4], epsilon: eps))
            } else if ["Mul", "Add", "Sub", "Div"].contains(n.opType), let (k, pos) = constantOperand(of: c, besides: unit.output),
                      let v = Self.perChannel(k, channels: channels, axis: 1, rank: 4) {
                var scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
                switch (n.opType, pos) {
                case ("Mul", _): scale = v
                case ("Add", _): shift = v
                case ("Sub", 1): shift = v.map { -$0 }
                case ("Sub", 0): scale = scale.map { -$0 }; shift = v          // c - x
                case ("Div", 1): scale = v.map { 1 / $0 }
                default: return                                                  // c / x is not affine
                }
                unit.affine.append(.affine(node: c, scale: scale, shift: shift))
            } else {
                return
            }
            unit.output = n.outputs[0]
            unit.activated = unit.output
            unit.nodes.append(c)
        }
    }

    /// SiLU (Sigmoid + Mul of the same value), ReLU6 (Clip 0..6), ReLU, HardSwish after `unit.output`.
    private func detectActivation(_ unit: inout ONNXConvUnit) {
        let v = unit.output
        let cons = dataConsumers(v)
        guard !outputs.contains(v) else { return }
        if cons.count == 2 {
            let sig = cons.first { nodes[$0].opType == "Sigmoid" }
            if let s = sig, let m = cons.first(where: { $0 != s && nodes[$0].opType == "Mul" }),
               Set(nodes[m].inputs) == Set([v, nodes[s].outputs[0]]), soleConsumer(nodes[s].outputs[0]) == m {
                unit.activation = .silu
                unit.activated = nodes[m].outputs[0]
                unit.nodes += [s, m]
            }
            return
        }
        guard cons.count == 1 else { return }
        let c = cons[0], n = nodes[c]
        switch n.opType {
        case "Clip":
            let lo: Float?, hi: Float?
            if let a = n.attribute("min"), case let .float(x) = a { lo = x } else { lo = n.inputs.count > 1 ? constants[n.inputs[1]]?.asFloats.first : nil }
            if let a = n.attribute("max"), case let .float(x) = a { hi = x } else { hi = n.inputs.count > 2 ? constants[n.inputs[2]]?.asFloats.first : nil }
            if lo == 0 && hi == 6 { unit.activation = .relu6 } else { return }
        case "Relu": unit.activation = .relu
        case "HardSwish": unit.activation = .hardSwish
        default: return
        }
        unit.activated = n.outputs[0]
        unit.nodes.append(c)
    }

    /// A constant as one value per channel: scalars repeat; other shapes must be 1 everywhere but
    /// along `axis` (counted in a tensor of `rank`, right-aligned as broadcasting aligns).
    static func perChannel(_ k: ONNXArray, channels: Int, axis: Int, rank: Int) -> [Float]? {
        guard k.isFloat else { return nil }
        if k.count == 1 { return [Float](repeating: k.floats[0], count: channels) }
        guard k.rank <= rank, k.count == channels else { return nil }
        let offset = rank - k.rank
        for (d, size) in k.shape.enumerated() where size != 1 && d + offset != axis { return nil }
        return k.floats
    }

    func intAttribute(_ n: ONNXNode, _ name: String) -> Int64? {
        if case let .int(v)? = n.attribute(name) { return v }
        return nil
    }

    func intsAttribute(_ n: ONNXNode, _ name: String) -> [Int64]? {
        if case let .ints(v)? = n.attribute(name) { return v }
        return nil
    }
}
