import EffNet
import EffNetONNX

/// What the walk found: the network's units in execution order, independent of any names.
struct ONNXNetworkStructure {
    struct SqueezeExcite {
        var reduce: ONNXConvUnit
        var expand: ONNXConvUnit
        /// The gate's activation on the reduce conv (the block's activation in every family).
        var output: String
    }

    struct Block {
        var kind: EfficientNetConfig.Block.Kind
        /// MBConv: the 1x1 expansion, when there is one.
        var expand: ONNXConvUnit?
        /// The k x k convolution: depthwise (MBConv) or dense (Fused-MBConv).
        var spatial: ONNXConvUnit
        var se: SqueezeExcite?
        /// The linear 1x1 projection; nil in a Fused-MBConv block with expand ratio 1.
        var project: ONNXConvUnit?
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
/// projection, residual Add) or Fused-MBConv block (dense k x k convolution, optional linear 1x1
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
        // Each block starts at a convolution of its own: one met again means the graph loops
        // back on itself (no valid ONNX graph does; effnet-fuzz source found the walk running
        // on around such a loop forever).
        var starts = Set<Int>()
        while head == nil {
            let first = try soleConv(reading: x, what: "block \(blocks.count) or the head")
            guard starts.insert(first.node).inserted else {
                throw view.fail(first.node, "the graph loops back to this convolution after block \(blocks.count - 1); an ONNX graph has no cycles")
            }
            var expand: ONNXConvUnit?, spatial: ONNXConvUnit, kind = EfficientNetConfig.Block.Kind.mbconv
            if first.isDepthwise {
                spatial = first
            } else if first.isPointwise {
                let next = convs(reading: first.activated)
                if first.activation != nil, next.count == 1, next[0].isDepthwise, view.dataConsumers(first.activated).count == 1 {
                    expand = first
                    spatial = next[0]
                } else {
                    head = first
                    break
                }
            } else if first.group == 1, first.kernel > 1, first.activation != nil {
                // A dense k x k convolution: EfficientNetV2's Fused-MBConv.
                kind = .fused
                spatial = first
            } else {
                throw view.fail(first.node, "expected a depthwise, fused k x k or 1x1 convolution after \(blocks.isEmpty ? "the stem" : "block \(blocks.count - 1)")")
            }
            guard spatial.inChannels == (expand?.outChannels ?? channels), spatial.activation != nil else {
                throw view.fail(spatial.node, "the \(kind == .fused ? "fused" : "depthwise") convolution does not continue block \(blocks.count)")
            }
            strides.append(spatial.stride)
            var se: ONNXNetworkStructure.SqueezeExcite?, project: ONNXConvUnit?, output: String
            if kind == .mbconv {
                let (found, seOut) = try squeezeExcite(after: spatial, spatial: spatialSize(after: strides, layout: layout))
                se = found
                project = try soleConv(reading: seOut, what: "the projection of block \(blocks.count)")
                guard let p = project, p.isPointwise, p.activation == nil, p.inChannels == spatial.outChannels else {
                    throw view.fail(project?.node, "expected a linear 1x1 projection in block \(blocks.count)")
                }
                output = p.output
            } else {
                // A linear 1x1 convolution reading the fused output is its projection; anything
                // else (the next block, the head: all activated) means expand ratio 1.
                let next = convs(reading: spatial.activated)
                if next.count == 1, next[0].isPointwise, next[0].activation == nil, view.dataConsumers(spatial.activated).count == 1 {
                    project = next[0]
                    output = next[0].output
                } else {
                    output = spatial.activated
                }
            }
            let outChannels = project?.outChannels ?? spatial.outChannels
            var residual = false
            for c in view.dataConsumers(output) where view.nodes[c].opType == "Add" {
                if Set(view.nodes[c].inputs) == Set([output, x]) {
                    output = view.nodes[c].outputs[0]
                    residual = true
                }
            }
            // A block that could add its input may not: transformers and efficientnet_pytorch never
            // add it in a stage's first block (the config records `residual: false`). Adding it
            // where the shapes differ is no EfficientNet.
            let possible = spatial.stride == 1 && channels == outChannels
            guard !residual || possible else {
                throw view.fail((project ?? spatial).node, "block \(blocks.count) adds a residual connection where an EfficientNet block has none")
            }
            blocks.append(.init(kind: kind, expand: expand, spatial: spatial, se: se, project: project, residual: residual, output: output))
            x = output
            channels = outChannels
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
