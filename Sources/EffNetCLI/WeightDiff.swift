import EffNet
import EffNetInterchange

/// effnet-diff: two weight files of any format and family, compared on EffNet's canonical names
/// (docs/CLI.md). Per tensor the largest absolute difference and the largest difference relative
/// to the larger magnitude of the two tensors; tensors only one file has; with an input, the two
/// models' outputs and activations stage by stage, and the first stage where they part.
public struct WeightDiff: Encodable {
    public static let schema = "effnet-diff/1"

    public struct Side: Encodable {
        public var path: String
        public var format: String
        public var family: String
        public var model: String
    }

    public struct TensorLine: Encodable {
        public var name: String
        /// "same", "differ", "shape" (shapes differ), "only-a" or "only-b".
        public var status: String
        public var shapeA: [Int]?
        public var shapeB: [Int]?
        /// max |a - b|; null unless both have the tensor with one shape.
        public var maxAbsDifference: Float?
        /// max |a - b| / max(max |a|, max |b|) (0 when both are all zero).
        public var maxRelativeDifference: Float?

        enum CodingKeys: String, CodingKey { case name, status, shapeA, shapeB, maxAbsDifference, maxRelativeDifference }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(status, forKey: .status)
            try c.encode(shapeA, forKey: .shapeA); try c.encode(shapeB, forKey: .shapeB)
            try c.encode(maxAbsDifference.flatMap(ToolJSON.finite), forKey: .maxAbsDifference)
            try c.encode(maxRelativeDifference.flatMap(ToolJSON.finite), forKey: .maxRelativeDifference)
        }
    }

    public struct Stage: Encodable {
        /// "stem", "blocks.i", "head" or "logits" (EfficientNet.forward(_:observe:)).
        public var stage: String
        public var shapeA: [Int]
        public var shapeB: [Int]
        public var maxAbsDifference: Float?
        /// max |a - b| / max(1, max |a|), the converter's verification measure.
        public var relativeDifference: Float?

        enum CodingKeys: String, CodingKey { case stage, shapeA, shapeB, maxAbsDifference, relativeDifference }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(stage, forKey: .stage); try c.encode(shapeA, forKey: .shapeA); try c.encode(shapeB, forKey: .shapeB)
            try c.encode(maxAbsDifference.flatMap(ToolJSON.finite), forKey: .maxAbsDifference)
            try c.encode(relativeDifference.flatMap(ToolJSON.finite), forKey: .relativeDifference)
        }
    }

    public struct Outputs: Encodable {
        public var input: String
        public var tolerance: Float
        /// The logits (or probabilities) compared; null fields when the shapes differ.
        public var maxAbsDifference: Float?
        public var relativeDifference: Float?
        public var top1Agreement: Float?
        /// The first stage whose relative difference exceeds the tolerance (or whose shapes
        /// differ), null when the two models agree throughout.
        public var firstDivergentStage: String?
        public var stages: [Stage]

        enum CodingKeys: String, CodingKey {
            case input, tolerance, maxAbsDifference, relativeDifference, top1Agreement, firstDivergentStage, stages
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(input, forKey: .input); try c.encode(tolerance, forKey: .tolerance)
            try c.encode(maxAbsDifference.flatMap(ToolJSON.finite), forKey: .maxAbsDifference)
            try c.encode(relativeDifference.flatMap(ToolJSON.finite), forKey: .relativeDifference)
            try c.encode(top1Agreement, forKey: .top1Agreement)
            try c.encode(firstDivergentStage, forKey: .firstDivergentStage); try c.encode(stages, forKey: .stages)
        }
    }

    public var a: Side?
    public var b: Side?
    /// Tensors whose max |a - b| is at most this count as the same.
    public var tolerance: Float
    public var tensors: [TensorLine] = []
    public var outputs: Outputs?
    public var error: String?

    /// Every tensor the same, none in one file only, and (with an input) outputs that agree.
    public var identical: Bool {
        error == nil && tensors.allSatisfy { $0.status == "same" } && (outputs.map { $0.firstDivergentStage == nil } ?? true)
    }

    public init(error: String) { tolerance = 0; self.error = error }

    /// Compares two loaded weight sets; with `input`, runs both models on it.
    public init(_ wa: Converter.CanonicalWeights, _ wb: Converter.CanonicalWeights, tolerance: Float = 0,
                input: (path: String, tensor: Tensor)? = nil, stageTolerance: Float = 1e-4) throws {
        self.tolerance = tolerance
        a = Side(path: wa.path, format: wa.format.rawValue, family: wa.family, model: wa.config.name)
        b = Side(path: wb.path, format: wb.format.rawValue, family: wb.family, model: wb.config.name)
        var inB: [String: Tensor] = [:]
        for t in wb.tensors { inB[t.name] = t.tensor }
        let namesA = Set(wa.tensors.map(\.name))
        for (name, ta) in wa.tensors {
            guard let tb = inB[name] else {
                tensors.append(TensorLine(name: name, status: "only-a", shapeA: ta.shape))
                continue
            }
            guard ta.shape == tb.shape else {
                tensors.append(TensorLine(name: name, status: "shape", shapeA: ta.shape, shapeB: tb.shape))
                continue
            }
            var maxDiff: Float = 0, maxA: Float = 0, maxB: Float = 0
            ta.scalars.withUnsafeBufferPointer { pa in
                tb.scalars.withUnsafeBufferPointer { pb in
                    for i in 0 ..< pa.count {
                        let d = abs(pa[i] - pb[i])
                        // NaN in either side is a difference (d is NaN; max() would drop it).
                        if d > maxDiff || d.isNaN { maxDiff = d.isNaN ? .infinity : d }
                        maxA = max(maxA, abs(pa[i])); maxB = max(maxB, abs(pb[i]))
                    }
                }
            }
            let scale = max(maxA, maxB)
            let relative: Float = maxDiff == 0 ? 0 : (scale > 0 ? maxDiff / scale : .infinity)
            tensors.append(TensorLine(name: name, status: maxDiff <= tolerance ? "same" : "differ", shapeA: ta.shape, shapeB: tb.shape,
                                      maxAbsDifference: maxDiff, maxRelativeDifference: relative))
        }
        for (name, tb) in wb.tensors where !namesA.contains(name) {
            tensors.append(TensorLine(name: name, status: "only-b", shapeB: tb.shape))
        }
        if let input {
            outputs = try Self.compareOutputs(wa, wb, input: input, tolerance: stageTolerance)
        }
    }

    /// Both models on one input, activation by activation.
    static func compareOutputs(_ wa: Converter.CanonicalWeights, _ wb: Converter.CanonicalWeights,
                               input: (path: String, tensor: Tensor), tolerance: Float) throws -> Outputs {
        func run(_ w: Converter.CanonicalWeights) throws -> (Tensor, [(String, Tensor)]) {
            let model = try w.model()
            do { try model.validateInput(shape: input.tensor.shape) } catch { throw DiffError("\(input.path): \(w.path): \(error)") }
            var stages: [(String, Tensor)] = []
            let y = try model.forward(input.tensor) { name, t in stages.append((name, t)) }
            return (y, stages)
        }
        let (ya, sa) = try run(wa), (yb, sb) = try run(wb)
        var out = Outputs(input: input.path, tolerance: tolerance, stages: [])
        var byName: [String: Tensor] = [:]
        for (n, t) in sb { byName[n] = t }
        for (name, ta) in sa {
            guard let tb = byName[name] else { continue }
            var stage = Stage(stage: name, shapeA: ta.shape, shapeB: tb.shape)
            if ta.shape == tb.shape {
                let c = Comparison(actual: tb, reference: ta)
                stage.maxAbsDifference = c.maxAbsError
                stage.relativeDifference = c.relativeError
                if out.firstDivergentStage == nil, !(c.relativeError <= tolerance) { out.firstDivergentStage = name }
            } else if out.firstDivergentStage == nil {
                out.firstDivergentStage = name
            }
            out.stages.append(stage)
        }
        if ya.shape == yb.shape {
            let c = Comparison(actual: yb, reference: ya)
            out.maxAbsDifference = c.maxAbsError
            out.relativeDifference = c.relativeError
            out.top1Agreement = c.top1Agreement
        } else if out.firstDivergentStage == nil {
            out.firstDivergentStage = "logits"
        }
        return out
    }

    enum CodingKeys: String, CodingKey { case schema, tool, version, a, b, tolerance, tensors, summary, outputs, identical, error }

    struct Summary: Encodable {
        var compared, same, differ, shape, onlyA, onlyB: Int
    }

    var summary: Summary {
        func count(_ s: String) -> Int { tensors.filter { $0.status == s }.count }
        return Summary(compared: count("same") + count("differ"), same: count("same"), differ: count("differ"),
                       shape: count("shape"), onlyA: count("only-a"), onlyB: count("only-b"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema); try c.encode("effnet-diff", forKey: .tool)
        try c.encode(EffNetKitVersion.string, forKey: .version)
        try c.encode(a, forKey: .a); try c.encode(b, forKey: .b); try c.encode(tolerance, forKey: .tolerance)
        try c.encode(tensors, forKey: .tensors); try c.encode(summary, forKey: .summary)
        try c.encode(outputs, forKey: .outputs); try c.encode(identical, forKey: .identical); try c.encode(error, forKey: .error)
    }

    /// The report for people: differing tensors, one-sided ones, then the outputs.
    public var text: String {
        var lines: [String] = []
        if let a, let b {
            lines.append("A:        \(a.path) (\(a.format), \(a.family), \(a.model))")
            lines.append("B:        \(b.path) (\(b.format), \(b.family), \(b.model))")
        }
        let s = summary
        lines.append("tensors:  \(s.compared + s.shape) in both: \(s.same) same, \(s.differ) differ\(s.shape > 0 ? ", \(s.shape) with other shapes" : ""); \(s.onlyA) only in A, \(s.onlyB) only in B")
        for t in tensors where t.status != "same" {
            switch t.status {
            case "differ":
                lines.append("  \(t.name) \(t.shapeA ?? []): max abs \(fmt(t.maxAbsDifference)), max relative \(fmt(t.maxRelativeDifference))")
            case "shape": lines.append("  \(t.name): shape \(t.shapeA ?? []) in A, \(t.shapeB ?? []) in B")
            case "only-a": lines.append("  \(t.name) \(t.shapeA ?? []): only in A")
            default: lines.append("  \(t.name) \(t.shapeB ?? []): only in B")
            }
        }
        if let o = outputs {
            if let d = o.maxAbsDifference {
                lines.append("outputs:  on \(o.input): max abs \(fmt(d)), relative \(fmt(o.relativeDifference)), top-1 agreement \(String(format: "%.0f%%", Double(o.top1Agreement ?? 0) * 100))")
            } else {
                lines.append("outputs:  on \(o.input): the outputs have different shapes")
            }
            if let first = o.firstDivergentStage, let st = o.stages.first(where: { $0.stage == first }) {
                let detail = st.shapeA == st.shapeB ? "relative \(fmt(st.relativeDifference)) > \(fmt(o.tolerance))" : "shape \(st.shapeA) vs \(st.shapeB)"
                lines.append("parts at: \(first) (\(detail))")
            } else if let first = o.firstDivergentStage {
                lines.append("parts at: \(first)")
            } else {
                lines.append("parts at: nowhere: every stage within relative \(fmt(o.tolerance))")
            }
        }
        lines.append(identical ? "result:   identical" : "result:   different")
        return lines.joined(separator: "\n")
    }

    private func fmt(_ v: Float?) -> String { v.map { String(format: "%.3g", Double($0)) } ?? "n/a" }
}
