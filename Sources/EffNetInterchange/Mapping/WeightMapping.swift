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

    /// Applies the transform to a source view: float32 views that are contiguous go through
    /// `apply(_:name:)`'s transposes straight from the map, without first being copied.
    /// - Throws: `MappingError.layout` when the shape does not suit the transform.
    public func apply(_ raw: RawTensor, name: String) throws -> Tensor {
        if let perm = permutation, raw.shape.count == perm.count, let bytes = raw.contiguousBytes, raw.dtype == .f32,
           let (rows, cols) = Self.asTranspose(raw.shape, perm) {
            try check(raw.shape, name: name)
            let values = bytes.bindMemory(to: Float.self)
            return Tensor(shape: perm.map { raw.shape[$0] }, scalars: Self.transposed(values.baseAddress!, rows: rows, cols: cols))
        }
        return try apply(raw.tensor(), name: name)
    }

    /// The axis permutation of the layout changes that are permutations.
    private var permutation: [Int]? {
        switch self {
        case .transpose2D: return [1, 0]
        case .hwioToOIHW: return [3, 2, 0, 1]
        case .depthwiseHWC1ToC1HW: return [2, 3, 0, 1]
        case .identity, .reshape: return nil
        }
    }

    private func check(_ shape: [Int], name: String) throws {
        if self == .depthwiseHWC1ToC1HW && shape[3] != 1 { throw MappingError.layout(name: name, transform: description, shape: shape) }
    }

    /// When permuting `shape` by `perm` moves a block of leading axes behind the rest (and
    /// nothing else, once axes of size 1 are ignored), it is a transpose of a rows x cols matrix:
    /// a 1x1 convolution's HWIO kernel, a depthwise kernel, a dense weight. Nil otherwise.
    static func asTranspose(_ shape: [Int], _ perm: [Int]) -> (rows: Int, cols: Int)? {
        let order = perm.filter { shape[$0] != 1 }
        guard let split = order.firstIndex(where: { $0 < order[0] }) ?? (order.isEmpty ? nil : order.count) else { return (1, 1) }
        let back = order[..<split], front = order[split...]
        // Each part must run over consecutive source axes in order (1-axes between them aside).
        func consecutive<C: Collection>(_ axes: C) -> Bool where C.Element == Int {
            zip(axes, axes.dropFirst()).allSatisfy { a, b in b > a && (a + 1 ..< b).allSatisfy { shape[$0] == 1 } }
        }
        guard consecutive(front), consecutive(back), (front.last ?? -1) < (back.first ?? Int.max) else { return nil }
        let rows = front.reduce(1) { $0 * shape[$1] }, cols = back.reduce(1) { $0 * shape[$1] }
        return (rows, cols)
    }

    /// out[c * rows + r] = src[r * cols + c], in 32 x 32 tiles so that reads and writes both stay
    /// in cache lines already fetched (the element-by-element permutation strode through memory:
    /// a B7 TF checkpoint's 1x1 kernels were most of its conversion time).
    static func transposed(_ src: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * cols) { out, initialized in
            let dst = out.baseAddress!
            let tile = 32
            var r0 = 0
            while r0 < rows {
                let r1 = min(r0 + tile, rows)
                var c0 = 0
                while c0 < cols {
                    let c1 = min(c0 + tile, cols)
                    for c in c0 ..< c1 {
                        let o = dst + c * rows
                        for r in r0 ..< r1 { o[r] = src[r * cols + c] }
                    }
                    c0 = c1
                }
                r0 = r1
            }
            initialized = rows * cols
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
