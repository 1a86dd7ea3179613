/// A dense, contiguous float32 tensor in row-major (C) order. Activations are NCHW; convolution
/// weights OIHW (depthwise: C,1,kh,kw); linear weights (out, in).
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var scalars: [Float]

    /// Creates a tensor; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == scalars.count,
                     "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// Largest absolute value (0 for an empty tensor).
    public var maxAbs: Float { scalars.reduce(0) { max($0, abs($1)) } }

    /// True when every element is finite.
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(shape: \(shape))" }
}

/// How two outputs compare: the numbers a verification report prints.
public struct Comparison: Sendable, Codable, Equatable {
    public var maxAbsError: Float
    public var maxAbsReference: Float
    /// max |a - b| / max(1, max |reference|): the toolkit's tolerance measure.
    public var relativeError: Float
    public var top1Agreement: Float
    public var top5Agreement: Float
    public var count: Int

    /// Compares `actual` with `reference` (same shape; the last axis is classes for top-k).
    public init(actual: Tensor, reference: Tensor) {
        precondition(actual.shape == reference.shape, "Comparison: shapes \(actual.shape) and \(reference.shape) differ")
        var maxErr: Float = 0, maxRef: Float = 0
        var nonFinite = false
        for i in 0 ..< actual.count {
            let a = actual.scalars[i], r = reference.scalars[i]
            if !a.isFinite || !r.isFinite { if a != r && !(a.isNaN && r.isNaN) { nonFinite = true } ; continue }
            maxErr = max(maxErr, abs(a - r))
            maxRef = max(maxRef, abs(r))
        }
        maxAbsError = nonFinite ? .infinity : maxErr
        maxAbsReference = maxRef
        relativeError = maxAbsError / max(1, maxRef)
        count = actual.count
        let classes = reference.shape.last ?? 1
        let rows = classes > 0 ? reference.count / classes : 0
        var agree1 = 0, agree5 = 0
        for r in 0 ..< rows {
            let a = Array(actual.scalars[r * classes ..< (r + 1) * classes])
            let b = Array(reference.scalars[r * classes ..< (r + 1) * classes])
            let ta = Self.topK(a, 5), tb = Self.topK(b, 5)
            if ta.first == tb.first { agree1 += 1 }
            if Set(ta) == Set(tb) { agree5 += 1 }
        }
        top1Agreement = rows > 0 ? Float(agree1) / Float(rows) : 1
        top5Agreement = rows > 0 ? Float(agree5) / Float(rows) : 1
    }

    /// Indices of the k largest values, largest first (ties: lower index first).
    public static func topK(_ values: [Float], _ k: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(k))
    }
}
