/// What one operator invocation sees: its node, its input values, the opset in force, and
/// helpers that turn every missing or ill-typed attribute or input into an error naming the node.
struct OpContext {
    let node: ONNXNode
    let inputs: [ONNXArray?]
    let opset: Int64
    let maxElements: Int

    var op: String { node.opType }

    func fail(_ detail: String) -> ONNXRuntimeError {
        .invalidNode(op: node.opType, node: node.label, detail: detail)
    }

    func unsupported(_ detail: String) -> ONNXRuntimeError {
        .unsupportedFeature(op: node.opType, node: node.label, detail: detail)
    }

    /// A required input.
    func input(_ i: Int) throws -> ONNXArray {
        guard i < inputs.count, let v = inputs[i] else { throw fail("input \(i) is required") }
        return v
    }

    /// An optional input (absent or given as "").
    func optionalInput(_ i: Int) -> ONNXArray? {
        i < inputs.count ? inputs[i] : nil
    }

    func floatInput(_ i: Int) throws -> ONNXArray {
        let v = try input(i)
        guard v.isFloat else { throw fail("input \(i) must be a floating-point tensor, got \(v.elementType.name)") }
        return v
    }

    // MARK: Attributes

    func int(_ name: String, default value: Int) throws -> Int {
        guard let a = node.attribute(name) else { return value }
        guard case let .int(i) = a, let v = Int(exactly: i) else { throw fail("attribute '\(name)' must be an INT, got \(a.typeName)") }
        return v
    }

    func float(_ name: String, default value: Double) throws -> Double {
        guard let a = node.attribute(name) else { return value }
        switch a {
        case let .float(f): return Double(f)
        case let .int(i): return Double(i)
        default: throw fail("attribute '\(name)' must be a FLOAT, got \(a.typeName)")
        }
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let a = node.attribute(name) else { return nil }
        guard case let .ints(xs) = a else { throw fail("attribute '\(name)' must be INTS, got \(a.typeName)") }
        var out: [Int] = []
        for x in xs {
            guard let v = Int(exactly: x), abs(v) < 1 << 40 else { throw fail("attribute '\(name)' value \(x) is out of range") }
            out.append(v)
        }
        return out
    }

    func string(_ name: String, default value: String) throws -> String {
        guard let a = node.attribute(name) else { return value }
        guard let s = a.stringValue else { throw fail("attribute '\(name)' must be a STRING, got \(a.typeName)") }
        return s
    }

    // MARK: Sizes

    /// The element count of `shape`, refusing negative sizes and anything above the limit.
    func count(_ shape: [Int]) throws -> Int {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in \(shape)") }
        guard let n = shape.reduce(Optional(1), { acc, d in acc.flatMap { CheckedMath.multiply($0, d) } }), n <= maxElements else {
            throw ONNXRuntimeError.tooLarge(op: op, node: node.label, elements: shape.reduce(1) { $0 &* $1 }, limit: maxElements)
        }
        return n
    }

    /// `axis` normalised into 0..<rank (negative counts from the end).
    func axis(_ axis: Int, rank: Int, name: String = "axis") throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw fail("\(name) \(axis) is out of range for rank \(rank)") }
        return a
    }

    /// An integer input as Ints (shape-like inputs: axes, pads, shapes, starts, ...).
    func intList(_ v: ONNXArray, _ what: String) throws -> [Int] {
        guard !v.isFloat else { throw fail("\(what) must be an integer tensor, got \(v.elementType.name)") }
        // Clamped to +-2^40: far beyond any real dimension (so INT64_MAX still means "to the end"),
        // small enough that sums and products of two never overflow.
        return v.ints.map { Int(clamping: min(max($0, -(1 << 40)), 1 << 40)) }
    }
}

/// Overflow-checked helpers for sizes the graph computes.
enum CheckedMath {
    static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    /// Product of `values`, or nil on overflow.
    static func product<S: Sequence>(_ values: S) -> Int? where S.Element == Int {
        var p = 1
        for v in values {
            guard let q = multiply(p, v) else { return nil }
            p = q
        }
        return p
    }

    /// A Double as Int when it is finite and within +-2^52, else nil.
    static func int(_ d: Double) -> Int? {
        d.isFinite && abs(d) <= 4.5e15 ? Int(d) : nil
    }
}
