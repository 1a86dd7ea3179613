import EffNet

/// A layout change between a source tensor and its canonical form.
public enum LayoutTransform: Equatable, Sendable, CustomStringConvertible {
    /// Same layout (PyTorch sources).
    case identity
    /// Keras Conv2D kernel (kh, kw, in, out) -> OIHW.
    case hwioToOIHW
    /// Keras DepthwiseConv2D kernel (kh, kw, C, 1) -> (C, 1, kh, kw).
    case depthwiseHWC1ToC1HW
    /// Dense (in, out) -> (out, in).
    case transpose2D
    /// Same elements, new shape (e.g. a linear classifier stored as a 1x1 conv).
    case reshape([Int])

    public var description: String {
        switch self {
        case .identity: return "identity"
        case .hwioToOIHW: return "HWIO->OIHW"
        case .depthwiseHWC1ToC1HW: return "HWC1->C1HW"
        case .transpose2D: return "transpose"
        case let .reshape(s): return "reshape\(s)"
        }
    }

    /// Applies the transform to a dense row-major tensor.
    /// - Throws: `MappingError.layout` when the shape does not suit the transform.
    public func apply(_ t: Tensor, name: String) throws -> Tensor {
        switch self {
        case .identity:
            return t
        case let .reshape(shape):
            guard shape.reduce(1, *) == t.count else { throw MappingError.layout(name: name, transform: description, shape: t.shape) }
            return Tensor(shape: shape, scalars: t.scalars)
        case .transpose2D:
            guard t.rank == 2 else { throw MappingError.layout(name: name, transform: description, shape: t.shape) }
            return Self.permute(t, [1, 0])
        case .hwioToOIHW:
            guard t.rank == 4 else { throw MappingError.layout(name: name, transform: description, shape: t.shape) }
            return Self.permute(t, [3, 2, 0, 1])
        case .depthwiseHWC1ToC1HW:
            guard t.rank == 4, t.shape[3] == 1 else { throw MappingError.layout(name: name, transform: description, shape: t.shape) }
            // (kh, kw, C, 1) -> (C, 1, kh, kw)
            return Self.permute(t, [2, 3, 0, 1])
        }
    }

    /// out[i_perm...] = in[...]: output axis k is input axis perm[k].
    static func permute(_ t: Tensor, _ perm: [Int]) -> Tensor {
        let inShape = t.shape
        let outShape = perm.map { inShape[$0] }
        let inStrides = RawTensor.contiguousStrides(inShape)
        let stridesForOut = perm.map { inStrides[$0] }
        var out = [Float](repeating: 0, count: t.count)
        var idx = [Int](repeating: 0, count: outShape.count)
        var src = 0
        for o in 0 ..< t.count {
            out[o] = t.scalars[src]
            var d = outShape.count - 1
            while d >= 0 {
                idx[d] += 1
                src += stridesForOut[d]
                if idx[d] < outShape[d] { break }
                src -= stridesForOut[d] * outShape[d]
                idx[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }
}

/// The fate of one source tensor, as the conversion report prints it.
public enum TensorFate: Equatable, Sendable {
    case mapped(canonical: String, transform: LayoutTransform)
    case skipped(reason: String)
    /// Recognised as a parameter but matched no canonical slot.
    case unused(reason: String)
}

/// What a family decided for a checkpoint: the model Config and where each canonical tensor comes from.
public struct WeightMapping: Sendable {
    public struct Assignment: Sendable {
        public var canonical: String
        public var source: String
        public var transform: LayoutTransform
        public init(canonical: String, source: String, transform: LayoutTransform = .identity) {
            self.canonical = canonical; self.source = source; self.transform = transform
        }
    }

    public var family: String
    public var config: EfficientNetConfig
    public var assignments: [Assignment]
    /// Source tensors deliberately ignored, with the reason (e.g. "num_batches_tracked").
    public var skipped: [(source: String, reason: String)]
    /// Canonical tensors computed rather than copied (e.g. ONNX BN folded in), by name.
    public var synthesized: [String: Tensor]
    /// What the family assumed where the file is silent (e.g. "BN eps 1e-5 assumed"), for the
    /// conversion report.
    public var notes: [String]
    /// The classes' names, when the source names them (a hub config.json's id2label).
    public var classNames: [String]?
    /// The classifier chains the file allows, when it does not show every layer (a PyTorch
    /// nn.Sequential's activations); nil when the config's classifier is all there is.
    public var head: HeadAlternatives?

    public init(family: String, config: EfficientNetConfig, assignments: [Assignment] = [],
                skipped: [(source: String, reason: String)] = [], synthesized: [String: Tensor] = [:],
                notes: [String] = []) {
        self.family = family; self.config = config; self.assignments = assignments
        self.skipped = skipped; self.synthesized = synthesized; self.notes = notes
    }

    /// The fate of every source tensor in `checkpoint`, in file order.
    public func fates(for checkpoint: SourceCheckpoint) -> [(source: String, fate: TensorFate)] {
        var bySource: [String: Assignment] = [:]
        for a in assignments { bySource[a.source] = a }
        var skip: [String: String] = [:]
        for s in skipped { skip[s.source] = s.reason }
        return checkpoint.tensors.map { t in
            if let a = bySource[t.name] { return (t.name, .mapped(canonical: a.canonical, transform: a.transform)) }
            if let r = skip[t.name] { return (t.name, .skipped(reason: r)) }
            return (t.name, .unused(reason: "no canonical parameter for this name"))
        } + checkpoint.skipped.map { ($0.name, .skipped(reason: $0.reason)) }
    }
}

public enum MappingError: Error, Equatable, CustomStringConvertible {
    case layout(name: String, transform: String, shape: [Int])
    /// The names and shapes fit no known family.
    case unknownFamily(path: String, detail: String)
    /// Several families fit and nothing decides between them.
    case ambiguousFamily(path: String, candidates: [String], detail: String)
    case unsupported(path: String, detail: String)
    /// The classifier's layers without weights could be several activations and nothing
    /// decides: `--head` or a reference pair must.
    case ambiguousHead(path: String, source: String, weights: String, candidates: [String], detail: String)

    public var description: String {
        switch self {
        case let .layout(name, transform, shape): return "tensor '\(name)': \(transform) does not apply to shape \(shape)"
        case let .unknownFamily(path, detail): return "\(path): not a recognised EfficientNet checkpoint: \(detail)"
        case let .ambiguousFamily(path, candidates, detail):
            return "\(path): the names fit \(candidates.joined(separator: " and ")); \(detail)"
        case let .unsupported(path, detail): return "\(path): \(detail)"
        case let .ambiguousHead(path, source, weights, candidates, detail):
            // One line saying what is wrong and what to do, the evidence below it.
            let list = candidates.isEmpty ? "" : "\n  plausible chains: \(candidates.joined(separator: " | "))"
            return "\(path): the classifier '\(source)' has layers without weights, so its activations are unknown: \(detail)\n  weights: \(weights)\(list)"
        }
    }
}
