import EffNet
import ONNXModel

/// What the walk found: the network's units in execution order, independent of any names.
struct ONNXNetworkStructure {
    struct SqueezeExcite {
        var reduce: ONNXConvUnit
        var expand: ONNXConvUnit
        /// The gate's activation on the reduce conv (the block's activation in every family).
        var output: String
    }

    struct Block {
        var expand: ONNXConvUnit?
        var depthwise: ONNXConvUnit
        var se: SqueezeExcite?
        var project: ONNXConvUnit
        var residual: Bool
        /// The block's output value (after the residual Add when there is one).
        var output: String
    }

    enum Classifier {
        /// Gemm: weight as stored, transB, alpha, beta, bias (C).
        case gemm(node: Int, weight: ONNXGraphView.WeightRef, transB: Bool, alpha: Float, beta: Float, bias: ONNXGraphView.WeightRef?)
        /// MatMul(x, W[in, out]) optionally followed by Add(bias).
        case matMul(node: Int, weight: ONNXGraphView.WeightRef, bias: ONNXGraphView.WeightRef?)
        /// A 1x1 convolution on the pooled features.
        case conv(ONNXConvUnit)
    }

    var inputLayout: ONNXReference.Layout
    var inputTransform: EfficientNetConfig.InputTransform?
    var stem: ONNXConvUnit
    var blocks: [Block]
    var head: ONNXConvUnit
    var classifier: Classifier
    var classes: Int
    var finalSoftmax: Bool
    /// The graph output the walk ends at.
    var output: String
}

/// Walks an EfficientNet-shaped ONNX graph from its input to its output: the stem convolution,
/// each MBConv block (optional 1x1 expansion, depthwise, optional squeeze-and-excitation, 1x1
/// projection, residual Add), the head convolution, global pooling, the classifier and an optional
/// Softmax. Everything is recognised by structure and shapes; names are never consulted.
struct ONNXGraphWalker {
    let view: ONNXGraphView

    /// - Throws: `MappingError.unsupported` naming the node where the graph stops looking like an
    ///   EfficientNet.
    func walk() throws -> ONNXNetworkStructure {
        let (start, layout, transform) = try inputPrefix()
        let stem = try soleConv(reading: start, what: "the stem convolution")
        guard stem.group == 1, stem.kernel > 1, stem.activation != nil else {
            throw view.fail(stem.node, "the first convolution is not a stem (k > 1, group 1, activated)")
        }
        var blocks: [ONNXNetworkStructure.Block] = []
        var x = stem.activated, channels = stem.outChannels
        var strides = [stem.stride]
        var head: ONNXConvUnit?
        while head == nil {
            let first = try soleConv(reading: x, what: "block \(blocks.count) or the head")
            var expand: ONNXConvUnit?, depthwise: ONNXConvUnit
            if first.isDepthwise {
                depthwise = first
            } else if first.isPointwise {
                let next = convs(reading: first.activated)
                if first.activation != nil, next.count == 1, next[0].isDepthwise, view.dataConsumers(first.activated).count == 1 {
                    expand = first
                    depthwise = next[0]
                } else {
                    head = first
                    break
                }
            } else {
                throw view.fail(first.node, "expected a depthwise or 1x1 convolution after \(blocks.isEmpty ? "the stem" : "block \(blocks.count - 1)")")
            }
            guard depthwise.inChannels == (expand?.outChannels ?? channels), depthwise.activation != nil else {
                throw view.fail(depthwise.node, "the depthwise convolution does not continue block \(blocks.count)")
            }
            strides.append(depthwise.stride)
            let (se, seOut) = try squeezeExcite(after: depthwise, spatial: spatialSize(after: strides, layout: layout))
            let project = try soleConv(reading: seOut, what: "the projection of block \(blocks.count)")
            guard project.isPointwise, project.activation == nil, project.inChannels == depthwise.outChannels else {
                throw view.fail(project.node, "expected a linear 1x1 projection in block \(blocks.count)")
            }
            var output = project.output, residual = false
            for c in view.dataConsumers(project.output) where view.nodes[c].opType == "Add" {
                if Set(view.nodes[c].inputs) == Set([project.output, x]) {
                    output = view.nodes[c].outputs[0]
                    residual = true
                }
            }
            let expected = depthwise.stride == 1 && channels == project.outChannels
            guard residual == expected else {
                throw view.fail(project.node, "block \(blocks.count) \(residual ? "adds" : "lacks") a residual connection where an MBConv block \(expected ? "has" : "has none")")
            }
            blocks.append(.init(expand: expand, depthwise: depthwise, se: se, project: project, residual: residual, output: output))
            x = output
            channels = project.outChannels
        }
        guard let head, head.activation != nil, head.inChannels == channels else {
            throw view.fail(nil, "no activated 1x1 head convolution after the last block")
        }
        var structure = ONNXNetworkStructure(inputLayout: layout, inputTransform: transform, stem: stem, blocks: blocks, head: head,
                                             classifier: .conv(head), classes: 0, finalSoftmax: false, output: "")
        try classifierTail(after: head, spatial: spatialSize(after: strides, layout: layout), into: &structure)
        return structure
    }

    /// Conv units whose input (before any Pad) is `v`.
    func convs(reading v: String) -> [ONNXConvUnit] {
        view.dataConsumers(v).compactMap { c -> ONNXConvUnit? in
            var i = c
            if view.nodes[c].opType == "Pad", let next = view.soleConsumer(view.nodes[c].outputs[0]) { i = next }
            guard view.nodes[i].opType == "Conv" else { return nil }
            return try? view.convUnit(i)
        }.filter { $0.input == v }
    }

    func soleConv(reading v: String, what: String) throws -> ONNXConvUnit {
        let found = convs(reading: v)
        guard found.count == 1 else {
            let readers = view.dataConsumers(v).map { "\(view.nodes[$0].opType) '\(view.nodes[$0].label)'" }
            if found.isEmpty, let c = view.dataConsumers(v).first(where: { view.nodes[$0].opType == "Conv" }) {
                _ = try view.convUnit(c)  // surfaces the conv's own problem
            }
            throw view.fail(nil, "expected \(what) to read '\(v)', found \(readers.isEmpty ? "nothing" : readers.joined(separator: ", "))")
        }
        return found[0]
    }
}
