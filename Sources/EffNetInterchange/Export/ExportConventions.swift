import EffNet

/// Whether a target family's files carry a model's conventions: the model is written under the
/// family's names in memory, read back through that family's own reader (the single place each
/// family's conventions are declared), and the Config it reads is compared with the model's.
/// What differs is a reason to refuse; what only moves (the input convention, a final softmax)
/// is a note for the report.
enum ExportConventions {
    struct Outcome {
        /// The Config the target family reads from the written names.
        var target: EfficientNetConfig
        var refusals: [String]
        var notes: [String]
    }

    /// - Parameter evaluationSize: the input size padding rules are compared at.
    static func compare(source s: EfficientNetConfig, target t: EfficientNetConfig, family: FamilyName, evaluationSize n: Int) -> Outcome {
        var refusals: [String] = []
        var notes: [String] = []
        let f = family.rawValue
        if s.blocks.count != t.blocks.count {
            refusals.append("\(f) reads \(t.blocks.count) blocks from these names, the model has \(s.blocks.count)")
        } else {
            for (i, (a, b)) in zip(s.blocks, t.blocks).enumerated() {
                if a.stride != b.stride {
                    refusals.append("block \(i) has stride \(a.stride), which \(f)'s files cannot record (it would read \(b.stride) from the block layout)")
                } else if a.kind != b.kind || a.kernel != b.kernel || a.inChannels != b.inChannels || a.outChannels != b.outChannels
                            || a.expandedChannels != b.expandedChannels || a.seChannels != b.seChannels || a.hasProjection != b.hasProjection {
                    refusals.append("block \(i) (\(TorchExport.describe(a))) reads back as \(TorchExport.describe(b)) in \(f)")
                } else if a.hasResidual != b.hasResidual {
                    refusals.append("block \(i) \(a.hasResidual ? "adds" : "does not add") its input, \(f) \(b.hasResidual ? "always adds it at stride 1 and equal width" : "does not add it there (it never adds a stage's first block's input)")")
                }
            }
        }
        if s.stem != t.stem || s.headChannels != t.headChannels || s.numClasses != t.numClasses || s.inputChannels != t.inputChannels {
            refusals.append("stem, head or classes read back differently in \(f)")
        }
        if s.bnEpsilon != t.bnEpsilon {
            refusals.append("BN epsilon: this model uses \(s.bnEpsilon), \(f)'s \(t.name) uses \(t.bnEpsilon)")
        }
        if s.activation != t.activation {
            refusals.append("activation: this model uses \(s.activation.rawValue), \(f) reads \(t.activation.rawValue)")
        }
        if s.classifierChain != t.classifierChain {
            refusals.append("the classifier: this model's head is \(headDescription(s)), \(f) reads \(headDescription(t))")
        }
        let sp = s.convPaddings(height: n, width: n), tp = t.convPaddings(height: n, width: n)
        if let i = sp.indices.first(where: { $0 >= tp.count || sp[$0] != tp[$0] }) {
            let where_ = i == 0 ? "the stem" : "block \(i - 1)"
            refusals.append("padding: this model pads \(describe(s.padding)), \(f) pads \(describe(t.padding))" + (i < tp.count ? " (at \(n)x\(n), \(where_): \(show(sp[i])) vs \(show(tp[i])))" : ""))
        } else if s.padding.mode != t.padding.mode && s.padding.mode != .symmetric {
            notes.append("padding: \(f) pads \(describe(t.padding)), this model \(describe(s.padding)): the same at \(n)x\(n) input, not at every size")
        }
        if s.inputTransform != nil && t.inputTransform == nil {
            notes.append("input: the model normalised its 0-255 input inside; \(f) takes the normalised tensor (\(normalisation(s)))")
        }
        if s.finalSoftmax && !t.finalSoftmax {
            notes.append("output: the model ended in softmax; \(f) outputs the logits before it")
        }
        return Outcome(target: t, refusals: refusals, notes: notes)
    }

    static func describe(_ p: EfficientNetConfig.Padding) -> String {
        switch p.mode {
        case .symmetric: return "symmetrically (k//2 each side)"
        case .sameDynamic: return "with TF \"SAME\" computed from the actual input"
        case .sameStatic: return "with TF \"SAME\" fixed for \(p.imageSize.map { "\($0[0])x\($0[1])" } ?? "a nominal size")"
        }
    }

    static func show(_ p: ConvPadding) -> String { "(\(p.top), \(p.bottom), \(p.left), \(p.right))" }

    static func headDescription(_ c: EfficientNetConfig) -> String {
        guard let chain = c.classifierChain else { return "one Linear layer" }
        return chain.map(\.kind.rawValue).joined(separator: "-")
    }

    /// The model's input transform as the mean/std on 0-1 pixels a PyTorch caller applies.
    static func normalisation(_ c: EfficientNetConfig) -> String {
        guard let t = c.inputTransform else { return "no normalisation" }
        // y = x * scale + offset on 0-255 pixels = (x/255 - mean) / std.
        let std = t.scale.map { 1 / (255 * $0) }
        let mean = zip(t.offset, std).map { -$0 * $1 }
        func list(_ v: [Float]) -> String { "[" + v.map { String(format: "%.4g", Double($0)) }.joined(separator: ", ") + "]" }
        return "mean \(list(mean)), std \(list(std)) on 0-1 pixels"
    }
}
