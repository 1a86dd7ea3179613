import EffNet
import EffNetONNX

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
    /// The walk's answer for each role of the declared layout (see `MappingBuilder`).
    private var answers: [ParameterLayout.Role: RoleSource] = [:]
    private var foldedSources: [String: String] = [:]

    init(view: ONNXGraphView, structure: ONNXNetworkStructure) { self.view = view; self.structure = structure }

    func fail(_ node: Int?, _ detail: String) -> MappingError { view.fail(node, detail) }

    mutating func build() throws -> ONNXGraphMapping {
        let s = structure
        var main: [(ParameterLayout.Module, ONNXConvUnit)] = [(.stem, s.stem)]
        for (i, b) in s.blocks.enumerated() {
            if let e = b.expand { main.append((.block(i, .expand), e)) }
            main.append((.block(i, b.kind == .fused ? .fused : .depthwise), b.spatial))
            if let p = b.project { main.append((.block(i, .project), p)) }
        }
        main.append((.head, s.head))

        let epsilons = main.compactMap { u -> Float? in
            if case let .batchNorm(_, _, _, _, _, eps)? = u.1.affine.first { return eps } else { return nil }
        }
        let keepBN = main.allSatisfy { $0.1.hasOnlyBatchNorm && $0.1.bias == nil } && Set(epsilons).count == 1
        var notes: [String] = []
        for (module, unit) in main {
            if keepBN { try mapUnfolded(module, unit) } else { try mapFolded(module, unit) }
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
                try mapFolded(.block(i, .seReduce), se.reduce)
                try mapFolded(.block(i, .seExpand), se.expand)
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

        let answers = self.answers
        var mapping = MappingBuilder.mapping(family: FamilyName.onnxGraph.rawValue, config: config, notes: notes) { unit, leaf in
            answers[.init(unit.module, leaf)]
        }
        let assigned = Set(mapping.assignments.map(\.source))
        for t in view.model.graph.initializers.map(\.name) + view.model.graph.constantNodeTensors.map(\.name) where !assigned.contains(t) {
            mapping.skipped.append((t, foldedSources[t].map { "folded into \($0)" } ?? "graph constant, not a model parameter"))
        }
        var stages: [(stage: String, value: String)] = [("stem", s.stem.activated)]
        for (i, b) in s.blocks.enumerated() { stages.append(("blocks.\(i)", b.output)) }
        stages.append(("head", s.head.activated))
        stages.append(("logits", s.output))
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
            // Fused without projection: the k x k conv goes straight to the output channels.
            let expanded = b.project == nil ? inCh : b.spatial.outChannels
            let outCh = b.project?.outChannels ?? b.spatial.outChannels
            let expands = b.kind == .fused ? b.project != nil : b.expand != nil
            let ratio = expands ? max(2, Int((Double(expanded) / Double(inCh)).rounded())) : 1
            if let prev = out.last, b.spatial.stride > 1 || prev.outChannels != outCh || prev.kernel != b.spatial.kernel
                || prev.expandRatio != ratio || prev.kind != b.kind { stage += 1 }
            out.append(.init(kind: b.kind, expandRatio: ratio, kernel: b.spatial.kernel, stride: b.spatial.stride, inChannels: inCh,
                             outChannels: outCh, expandedChannels: expanded, seChannels: b.se?.reduce.outChannels, stage: stage,
                             residual: b.residual == (b.spatial.stride == 1 && inCh == outCh) ? nil : b.residual))
            inCh = outCh
        }
        return out
    }

    private func activation() throws -> EfficientNetConfig.Activation {
        var units = [structure.stem, structure.head]
        for b in structure.blocks { units += [b.expand, b.spatial, b.se?.reduce].compactMap { $0 } }
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

    private mutating func put(_ role: ParameterLayout.Role, _ ref: ONNXGraphView.WeightRef, _ transform: LayoutTransform = .identity) throws {
        switch ref {
        case let .tensor(name, _): answers[role] = .tensor(name, transform)
        case let .computed(t): answers[role] = .computed(try transform.apply(t, name: role.description))
        }
    }

    private mutating func put(_ role: ParameterLayout.Role, computed t: Tensor) { answers[role] = .computed(t) }

    private func values(_ ref: ONNXGraphView.WeightRef) -> [Float] {
        switch ref {
        case let .tensor(name, _): return view.constants[name]?.asFloats ?? []
        case let .computed(t): return t.scalars
        }
    }

    private mutating func noteFold(_ ref: ONNXGraphView.WeightRef?, into module: ParameterLayout.Module) {
        if case let .tensor(name, _)? = ref { foldedSources[name] = module.path }
    }

    /// The conv weight and batch-norm tensors copied as stored.
    private mutating func mapUnfolded(_ m: ParameterLayout.Module, _ u: ONNXConvUnit) throws {
        guard case let .batchNorm(node, scale, bias, mean, variance, _) = u.affine[0] else { return }
        try put(.init(m, .weight), u.weight)
        for (leaf, value) in [(ParameterLayout.Leaf.bnWeight, scale), (.bnBias, bias), (.bnMean, mean), (.bnVar, variance)] {
            let ref = try view.weight(value, for: node)
            try put(.init(m, leaf), ref, ref.shape == [u.outChannels] ? .identity : .reshape([u.outChannels]))
        }
    }

    /// The conv weight and bias with every affine op after the conv folded in.
    private mutating func mapFolded(_ m: ParameterLayout.Module, _ u: ONNXConvUnit) throws {
        let o = u.outChannels
        if u.affine.isEmpty {
            try put(.init(m, .weight), u.weight)
            if let b = u.bias {
                try put(.init(m, .bias), b, b.shape == [o] ? .identity : .reshape([o]))
            } else {
                put(.init(m, .bias), computed: Tensor(zeros: [o]))
            }
            return
        }
        var scale = [Double](repeating: 1, count: o), shift = [Double](repeating: 0, count: o)
        for op in u.affine {
            switch op {
            case let .batchNorm(node, g, b, mu, v, eps):
                let refs = try [g, b, mu, v].map { try view.weight($0, for: node) }
                let (gamma, beta, mean, variance) = (values(refs[0]), values(refs[1]), values(refs[2]), values(refs[3]))
                for ref in refs { noteFold(ref, into: m) }
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
        put(.init(m, .weight), computed: Tensor(shape: u.weight.shape, scalars: w))
        put(.init(m, .bias), computed: Tensor(shape: [o], scalars: (0 ..< o).map { Float(Double(b0[$0]) * scale[$0] + shift[$0]) }))
        noteFold(u.weight, into: m)
        noteFold(u.bias, into: m)
    }

    private mutating func mapClassifier() throws {
        let classes = structure.classes
        let weight = ParameterLayout.Role(.classifier, .weight), bias = ParameterLayout.Role(.classifier, .bias)
        func putBias(_ b: ONNXGraphView.WeightRef?) throws {
            if let b { try put(bias, b, b.shape == [classes] ? .identity : .reshape([classes])) }
            else { put(bias, computed: Tensor(zeros: [classes])) }
        }
        switch structure.classifier {
        case let .gemm(_, w, transB, alpha, beta, b):
            if alpha == 1 {
                try put(weight, w, transB ? .identity : .transpose2D)
            } else {
                let t = try (transB ? LayoutTransform.identity : .transpose2D).apply(Tensor(shape: w.shape, scalars: values(w)), name: "classifier.weight")
                put(weight, computed: Tensor(shape: t.shape, scalars: t.scalars.map { $0 * alpha }))
                noteFold(w, into: .classifier)
            }
            if beta == 1 {
                try putBias(b)
            } else {
                put(bias, computed: Tensor(shape: [classes], scalars: b.map { values($0).map { $0 * beta } } ?? .init(repeating: 0, count: classes)))
                noteFold(b, into: .classifier)
            }
        case let .matMul(_, w, b):
            try put(weight, w, .transpose2D)
            try putBias(b)
        case let .conv(u):
            try put(weight, u.weight, .reshape([u.outChannels, u.inChannels]))
            try putBias(u.bias)
        }
    }
}
