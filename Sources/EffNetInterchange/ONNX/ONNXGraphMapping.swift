import EffNet
import ONNXModel

/// The result of walking an ONNX graph: the weight mapping (config + assignments + synthesized
/// tensors) and, for verification reports, the ONNX value that corresponds to each stage of the
/// Swift model ("stem", "blocks.i", "head", "logits").
///
/// Batch norm: when every convolution is followed by exactly one BatchNormalization node (no conv
/// bias, one epsilon throughout), the BN tensors are mapped as they are (`batchNormFolded =
/// false`). Otherwise every BN or per-channel Mul/Add after a convolution is folded into that
/// convolution's weight and bias (`batchNormFolded = true`, computed in Double and recorded as
/// `synthesized`), so the config is uniform; exporters that already fused BN map with plain copies.
public struct ONNXGraphMapping: Sendable {
    public var mapping: WeightMapping
    /// (Swift stage, ONNX value name), in execution order.
    public var stages: [(stage: String, value: String)]
    public var inputLayout: ONNXReference.Layout
    /// Facts the walk established, for reports ("BN folded by the exporter", ...).
    public var notes: [String]

    /// Walks `model`'s graph.
    /// - Throws: `MappingError.unsupported` naming the node where the graph stops fitting.
    public init(model: ONNXModel) throws {
        let view = try ONNXGraphView(model: model)
        let s = try ONNXGraphWalker(view: view).walk()
        var builder = ONNXGraphMappingBuilder(view: view, structure: s)
        self = try builder.build()
    }

    init(mapping: WeightMapping, stages: [(stage: String, value: String)], inputLayout: ONNXReference.Layout, notes: [String]) {
        self.mapping = mapping; self.stages = stages; self.inputLayout = inputLayout; self.notes = notes
    }
}

/// Turns the walked structure into a `WeightMapping`.
struct ONNXGraphMappingBuilder {
    let view: ONNXGraphView
    let structure: ONNXNetworkStructure
    private var assignments: [WeightMapping.Assignment] = []
    private var synthesized: [String: Tensor] = [:]
    private var foldedSources: [String: String] = [:]

    init(view: ONNXGraphView, structure: ONNXNetworkStructure) { self.view = view; self.structure = structure }

    func fail(_ node: Int?, _ detail: String) -> MappingError { view.fail(node, detail) }

    mutating func build() throws -> ONNXGraphMapping {
        let s = structure
        var main: [(String, ONNXConvUnit)] = [("stem", s.stem)]
        for (i, b) in s.blocks.enumerated() {
            if let e = b.expand { main.append(("blocks.\(i).expand", e)) }
            main.append(("blocks.\(i).depthwise", b.depthwise))
            main.append(("blocks.\(i).project", b.project))
        }
        main.append(("head", s.head))

        let epsilons = main.compactMap { u -> Float? in
            if case let .batchNorm(_, _, _, _, _, eps)? = u.1.affine.first { return eps } else { return nil }
        }
        let keepBN = main.allSatisfy { $0.1.hasOnlyBatchNorm && $0.1.bias == nil } && Set(epsilons).count == 1
        var notes: [String] = []
        for (prefix, unit) in main {
            if keepBN { try mapUnfolded(prefix, unit) } else { try mapFolded("\(prefix).conv", unit) }
        }
        if keepBN {
            notes.append("batch norm kept: every convolution is followed by one BatchNormalization node")
        } else if main.contains(where: { !$0.1.affine.isEmpty }) {
            notes.append("batch norm / per-channel scales after convolutions folded into their weights and biases")
        } else {
            notes.append("batch norm already folded into the convolutions by the exporter")
        }
        for (i, b) in s.blocks.enumerated() {
            if let se = b.se {
                try mapFolded("blocks.\(i).se.reduce", se.reduce)
                try mapFolded("blocks.\(i).se.expand", se.expand)
            }
        }
        try mapClassifier()

        let activation = try self.activation()
        let declared = Self.declaredSize(view.input, layout: s.inputLayout)
        let padding = try ONNXGraphWalker(view: view).padding(s, declared: declared)
        let size = declared.h ?? padding.imageSize?.first ?? 224
        // Images for effnet-predict: with normalisation inside the model, pixels go in as they are
        // (0...255 when the model rescales them itself, as Keras does: a scale below 0.1) or as
        // 0...1; without it, the torchvision ImageNet mean/std.
        let resize = Int((Double(size) * 256 / 224).rounded())
        let preprocessing: EfficientNetConfig.ImagePreprocessing
        if let t = s.inputTransform {
            let rescales = t.scale.allSatisfy { abs($0) < 0.1 }
            preprocessing = .init(resizeShorterTo: rescales ? size : resize, cropSize: size, pixelScale: rescales ? 1 : 1.0 / 255,
                                  mean: .init(repeating: 0, count: t.scale.count), std: .init(repeating: 1, count: t.scale.count))
        } else {
            preprocessing = .init(resizeShorterTo: resize, cropSize: size, pixelScale: 1.0 / 255,
                                  mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        }
        let config = EfficientNetConfig(
            name: "onnx-\(view.model.producerName.isEmpty ? "model" : view.model.producerName)",
            inputChannels: s.stem.inChannels,
            stem: .init(outChannels: s.stem.outChannels, kernel: s.stem.kernel, stride: s.stem.stride),
            blocks: blocks(), headChannels: s.head.outChannels, numClasses: s.classes,
            bnEpsilon: epsilons.first ?? 1e-5, batchNormFolded: !keepBN, padding: padding, activation: activation,
            inputTransform: s.inputTransform, finalSoftmax: s.finalSoftmax,
            imagePreprocessing: s.stem.inChannels == 3 ? preprocessing : .init(resizeShorterTo: size, cropSize: size, pixelScale: 1,
                                                                                 mean: .init(repeating: 0, count: s.stem.inChannels),
                                                                                 std: .init(repeating: 1, count: s.stem.inChannels)))
        if s.inputLayout == .nhwc { notes.append("NHWC input: the graph transposes to NCHW before the stem") }
        if view.narrowingCasts > 0 {
            notes.append("the graph casts activations to half precision \(view.narrowingCasts) time(s); the Swift model computes in float32, so expect differences around 1e-3 (use --tolerance)")
        }
        if s.inputTransform != nil { notes.append("input preprocessing (per-channel Mul/Add/Sub/Div) moved into config.inputTransform") }

        let assigned = Set(assignments.map(\.source))
        var skipped: [(source: String, reason: String)] = []
        for t in view.model.graph.initializers.map(\.name) + view.model.graph.constantNodeTensors.map(\.name) where !assigned.contains(t) {
            skipped.append((t, foldedSources[t].map { "folded into \($0)" } ?? "graph constant, not a model parameter"))
        }
        var stages: [(stage: String, value: String)] = [("stem", s.stem.activated)]
        for (i, b) in s.blocks.enumerated() { stages.append(("blocks.\(i)", b.output)) }
        stages.append(("head", s.head.activated))
        stages.append(("logits", s.output))
        let mapping = WeightMapping(family: FamilyName.onnxGraph.rawValue, config: config, assignments: assignments,
                                    skipped: skipped, synthesized: synthesized, notes: notes)
        return ONNXGraphMapping(mapping: mapping, stages: stages, inputLayout: s.inputLayout, notes: notes)
    }

    static func declaredSize(_ input: ONNXValueInfo, layout: ONNXReference.Layout) -> (h: Int?, w: Int?) {
        guard let dims = input.shape, dims.count == 4 else { return (nil, nil) }
        return layout == .nhwc ? (dims[1].fixed, dims[2].fixed) : (dims[2].fixed, dims[3].fixed)
    }

    private func blocks() -> [EfficientNetConfig.Block] {
        var out: [EfficientNetConfig.Block] = []
        var inCh = structure.stem.outChannels, stage = 0
        for b in structure.blocks {
            let expanded = b.depthwise.outChannels, outCh = b.project.outChannels
            let ratio = b.expand == nil ? 1 : max(2, Int((Double(expanded) / Double(inCh)).rounded()))
            if let prev = out.last, b.depthwise.stride > 1 || prev.outChannels != outCh || prev.kernel != b.depthwise.kernel
                || prev.expandRatio != ratio { stage += 1 }
            out.append(.init(expandRatio: ratio, kernel: b.depthwise.kernel, stride: b.depthwise.stride, inChannels: inCh,
                             outChannels: outCh, expandedChannels: expanded, seChannels: b.se?.reduce.outChannels, stage: stage))
            inCh = outCh
        }
        return out
    }

    private func activation() throws -> EfficientNetConfig.Activation {
        var units = [structure.stem, structure.head]
        for b in structure.blocks { units += [b.expand, b.depthwise, b.se?.reduce].compactMap { $0 } }
        let found = Set(units.compactMap(\.activation))
        guard found.count == 1, let a = found.first else {
            throw fail(nil, "the convolutions use different activations (\(found.map(\.rawValue).sorted()))")
        }
        switch a {
        case .silu: return .silu
        case .relu6: return .relu6
        default: throw fail(structure.stem.node, "activation \(a.rawValue) is not supported by the Swift model (SiLU or ReLU6)")
        }
    }

    // MARK: Tensors

    private mutating func put(_ canonical: String, _ ref: ONNXGraphView.WeightRef, _ transform: LayoutTransform = .identity) throws {
        switch ref {
        case let .tensor(name, _): assignments.append(.init(canonical: canonical, source: name, transform: transform))
        case let .computed(t): synthesized[canonical] = try transform.apply(t, name: canonical)
        }
    }

    private func values(_ ref: ONNXGraphView.WeightRef) -> [Float] {
        switch ref {
        case let .tensor(name, _): return view.constants[name]?.asFloats ?? []
        case let .computed(t): return t.scalars
        }
    }

    private mutating func noteFold(_ ref: ONNXGraphView.WeightRef?, into canonical: String) {
        if case let .tensor(name, _)? = ref { foldedSources[name] = canonical }
    }

    /// conv.weight + bn.* copied as stored.
    private mutating func mapUnfolded(_ prefix: String, _ u: ONNXConvUnit) throws {
        guard case let .batchNorm(node, scale, bias, mean, variance, _) = u.affine[0] else { return }
        try put("\(prefix).conv.weight", u.weight)
        for (name, value) in [("weight", scale), ("bias", bias), ("running_mean", mean), ("running_var", variance)] {
            let ref = try view.weight(value, for: node)
            try put("\(prefix).bn.\(name)", ref, ref.shape == [u.outChannels] ? .identity : .reshape([u.outChannels]))
        }
    }

    /// `<prefix>.weight` and `.bias` with every affine op after the conv folded in.
    private mutating func mapFolded(_ prefix: String, _ u: ONNXConvUnit) throws {
        let o = u.outChannels
        if u.affine.isEmpty {
            try put("\(prefix).weight", u.weight)
            if let b = u.bias {
                try put("\(prefix).bias", b, b.shape == [o] ? .identity : .reshape([o]))
            } else {
                synthesized["\(prefix).bias"] = Tensor(zeros: [o])
            }
            return
        }
        var scale = [Double](repeating: 1, count: o), shift = [Double](repeating: 0, count: o)
        for op in u.affine {
            switch op {
            case let .batchNorm(node, g, b, m, v, eps):
                let refs = try [g, b, m, v].map { try view.weight($0, for: node) }
                let (gamma, beta, mean, variance) = (values(refs[0]), values(refs[1]), values(refs[2]), values(refs[3]))
                for ref in refs { noteFold(ref, into: prefix) }
                for k in 0 ..< o {
                    let a = Double(gamma[k]) / (Double(variance[k]) + Double(eps)).squareRoot()
                    scale[k] *= a
                    shift[k] = shift[k] * a + Double(beta[k]) - Double(mean[k]) * a
                }
            case let .affine(_, s2, t2):
                for k in 0 ..< o {
                    scale[k] *= Double(s2[k])
                    shift[k] = shift[k] * Double(s2[k]) + Double(t2[k])
                }
            }
        }
        var w = values(u.weight)
        let per = w.count / max(o, 1)
        for k in 0 ..< o { for j in k * per ..< (k + 1) * per { w[j] = Float(Double(w[j]) * scale[k]) } }
        let b0 = u.bias.map(values) ?? [Float](repeating: 0, count: o)
        synthesized["\(prefix).weight"] = Tensor(shape: u.weight.shape, scalars: w)
        synthesized["\(prefix).bias"] = Tensor(shape: [o], scalars: (0 ..< o).map { Float(Double(b0[$0]) * scale[$0] + shift[$0]) })
        noteFold(u.weight, into: prefix)
        noteFold(u.bias, into: prefix)
    }

    private mutating func mapClassifier() throws {
        let classes = structure.classes
        switch structure.classifier {
        case let .gemm(_, w, transB, alpha, beta, bias):
            if alpha == 1 {
                try put("classifier.weight", w, transB ? .identity : .transpose2D)
            } else {
                let t = try (transB ? LayoutTransform.identity : .transpose2D).apply(Tensor(shape: w.shape, scalars: values(w)), name: "classifier.weight")
                synthesized["classifier.weight"] = Tensor(shape: t.shape, scalars: t.scalars.map { $0 * alpha })
                noteFold(w, into: "classifier")
            }
            if let bias, beta == 1 {
                try put("classifier.bias", bias, bias.shape == [classes] ? .identity : .reshape([classes]))
            } else {
                synthesized["classifier.bias"] = Tensor(shape: [classes], scalars: bias.map { values($0).map { $0 * beta } } ?? .init(repeating: 0, count: classes))
                noteFold(bias, into: "classifier")
            }
        case let .matMul(_, w, bias):
            try put("classifier.weight", w, .transpose2D)
            if let bias { try put("classifier.bias", bias, bias.shape == [classes] ? .identity : .reshape([classes])) }
            else { synthesized["classifier.bias"] = Tensor(zeros: [classes]) }
        case let .conv(u):
            try put("classifier.weight", u.weight, .reshape([u.outChannels, u.inChannels]))
            if let b = u.bias { try put("classifier.bias", b, b.shape == [classes] ? .identity : .reshape([classes])) }
            else { synthesized["classifier.bias"] = Tensor(zeros: [classes]) }
        }
    }
}
