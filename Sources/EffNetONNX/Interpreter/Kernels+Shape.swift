/// Shape arithmetic and data movement: Shape, Gather, Concat, Slice, Reshape, Flatten, Squeeze,
/// Unsqueeze, Transpose, Expand, Tile, ConstantOfShape, Range, Pad.
extension Kernels {
    /// out[i] = x[index[i]] with the element type kept.
    static func take(_ x: ONNXArray, _ index: [Int], shape: [Int]) -> ONNXArray {
        x.isFloat ? ONNXArray(doubles: index.map { x.doubles[$0] }, shape: shape, type: x.elementType)
            : ONNXArray(ints: index.map { x.ints[$0] }, shape: shape, type: x.elementType)
    }

    /// Same elements, new shape.
    static func reshaped(_ x: ONNXArray, _ shape: [Int]) -> ONNXArray {
        var y = x
        y.shape = shape
        return y
    }

    /// Source index of every element of an output of `shape` whose element at multi-index i comes
    /// from source offset sum(i[d] * step[d]) + base.
    static func strided(_ shape: [Int], steps: [Int], base: Int, count: Int) -> [Int] {
        var out = [Int]()
        out.reserveCapacity(count)
        guard count > 0 else { return out }
        var idx = [Int](repeating: 0, count: shape.count), pos = base
        for _ in 0 ..< count {
            out.append(pos)
            var d = shape.count - 1
            while d >= 0 {
                idx[d] += 1; pos += steps[d]
                if idx[d] < shape[d] { break }
                pos -= steps[d] * shape[d]; idx[d] = 0; d -= 1
            }
        }
        return out
    }

    static func shape(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let r = x.rank
        func clampAxis(_ a: Int) -> Int { min(max(a < 0 ? a + r : a, 0), r) }
        let start = clampAxis(try c.int("start", default: 0)), end = clampAxis(try c.int("end", default: r))
        let dims = start < end ? Array(x.shape[start ..< end]) : []
        return ONNXArray(ints: dims.map { Int64($0) }, shape: [dims.count])
    }

    static func gather(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0), ind = try c.input(1)
        guard x.rank >= 1 else { throw c.fail("data must have rank >= 1") }
        let axis = try c.axis(try c.int("axis", default: 0), rank: x.rank)
        let dim = x.shape[axis]
        let indices = try c.intList(ind, "indices").map { i -> Int in
            let j = i < 0 ? i + dim : i
            guard j >= 0 && j < dim else { throw c.fail("index \(i) is out of range for axis \(axis) of size \(dim)") }
            return j
        }
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        let shape = Array(x.shape[..<axis]) + ind.shape + Array(x.shape[(axis + 1)...])
        var index = [Int]()
        index.reserveCapacity(try c.count(shape))
        for o in 0 ..< outer { for i in indices { for k in 0 ..< inner { index.append((o * dim + i) * inner + k) } } }
        return take(x, index, shape: shape)
    }

    static func concat(_ c: OpContext) throws -> ONNXArray {
        let xs = c.inputs.compactMap { $0 }
        guard let first = xs.first else { throw c.fail("no inputs") }
        let axis = try c.axis(try c.int("axis", default: 0), rank: max(first.rank, 1))
        for x in xs {
            guard x.rank == first.rank, x.isFloat == first.isFloat,
                  x.shape.enumerated().allSatisfy({ $0.offset == axis || $0.element == first.shape[$0.offset] }) else {
                throw c.fail("inputs \(xs.map(\.shape)) do not concatenate on axis \(axis)")
            }
        }
        var shape = first.shape
        shape[axis] = xs.reduce(0) { $0 + $1.shape[axis] }
        _ = try c.count(shape)
        let outer = first.shape[..<axis].reduce(1, *)
        var floats: [Double] = [], ints: [Int64] = []
        for o in 0 ..< outer {
            for x in xs {
                let chunk = x.shape[axis...].reduce(1, *)
                if first.isFloat { floats += x.doubles[o * chunk ..< (o + 1) * chunk] } else { ints += x.ints[o * chunk ..< (o + 1) * chunk] }
            }
        }
        return first.isFloat ? ONNXArray(doubles: floats, shape: shape, type: first.elementType)
            : ONNXArray(ints: ints, shape: shape, type: first.elementType)
    }

    static func slice(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if c.opset < 10 {
            guard let s = try c.ints("starts"), let e = try c.ints("ends") else { throw c.fail("starts and ends are required") }
            starts = s; ends = e; axes = try c.ints("axes")
        } else {
            starts = try c.intList(try c.input(1), "starts")
            ends = try c.intList(try c.input(2), "ends")
            axes = try c.optionalInput(3).map { try c.intList($0, "axes") }
            steps = try c.optionalInput(4).map { try c.intList($0, "steps") }
        }
        let ax = try (axes ?? Array(0 ..< starts.count)).map { try c.axis($0, rank: x.rank) }
        let st = steps ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, ax.count == starts.count, st.count == starts.count, Set(ax).count == ax.count else {
            throw c.fail("starts/ends/axes/steps lengths differ or axes repeat")
        }
        var begin = [Int](repeating: 0, count: x.rank), step = [Int](repeating: 1, count: x.rank), shape = x.shape
        for (i, a) in ax.enumerated() {
            let dim = x.shape[a], s = st[i]
            guard s != 0 else { throw c.fail("step 0") }
            func norm(_ v: Int) -> Int { v < 0 ? max(v, -dim - 1) + dim : min(v, dim + 1) }
            var b = norm(starts[i]), e = norm(ends[i])
            if s > 0 { b = min(max(b, 0), dim); e = min(max(e, 0), dim) } else { b = min(max(b, 0), dim - 1); e = min(max(e, -1), dim - 1) }
            let n = s > 0 ? (b < e ? (e - b - 1) / s + 1 : 0) : (b > e ? (b - e - 1) / (-s) + 1 : 0)
            begin[a] = b; shape[a] = n
            step[a] = min(max(s, -dim - 1), dim + 1)  // beyond the axis a step only ever takes one element
        }
        let count = try c.count(shape)
        let xs = strides(x.shape)
        let base = zip(begin, xs).reduce(0) { $0 + $1.0 * $1.1 }
        return take(x, strided(shape, steps: zip(step, xs).map { $0 * $1 }, base: base, count: count), shape: shape)
    }

    static func reshape(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        var target = try c.intList(try c.input(1), "shape")
        let allowZero = try c.int("allowzero", default: 0) != 0
        for (i, d) in target.enumerated() where d == 0 && !allowZero {
            guard i < x.rank else { throw c.fail("shape \(target): 0 at \(i) has no input dimension to copy") }
            target[i] = x.shape[i]
        }
        let unknown = target.indices.filter { target[$0] == -1 }
        guard unknown.count <= 1, target.allSatisfy({ $0 >= -1 }) else { throw c.fail("invalid shape \(target)") }
        if let u = unknown.first {
            guard let known = CheckedMath.product(target.enumerated().filter { $0.offset != u }.map(\.element)) else {
                throw c.fail("shape \(target) overflows")
            }
            guard known > 0, x.count % known == 0 else { throw c.fail("cannot reshape \(x.shape) to \(target)") }
            target[u] = x.count / known
        }
        guard try c.count(target) == x.count else { throw c.fail("cannot reshape \(x.shape) (\(x.count) elements) to \(target)") }
        return reshaped(x, target)
    }

    static func flatten(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        var axis = try c.int("axis", default: 1)
        if axis < 0 { axis += x.rank }
        guard axis >= 0 && axis <= x.rank else { throw c.fail("axis \(axis) out of range for rank \(x.rank)") }
        return reshaped(x, [x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)])
    }

    static func axesArgument(_ c: OpContext) throws -> [Int]? {
        c.opset >= 13 ? try c.optionalInput(1).map { try c.intList($0, "axes") } : try c.ints("axes")
    }

    static func squeeze(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        guard let axes = try axesArgument(c) else { return reshaped(x, x.shape.filter { $0 != 1 }) }
        let set = Set(try axes.map { try c.axis($0, rank: x.rank) })
        for a in set where x.shape[a] != 1 { throw c.fail("cannot squeeze axis \(a) of size \(x.shape[a])") }
        return reshaped(x, x.shape.enumerated().filter { !set.contains($0.offset) }.map(\.element))
    }

    static func unsqueeze(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        guard let axes = try axesArgument(c) else { throw c.fail("axes are required") }
        let rank = x.rank + axes.count
        let set = Set(try axes.map { try c.axis($0, rank: rank) })
        guard set.count == axes.count else { throw c.fail("repeated axes \(axes)") }
        var shape: [Int] = [], it = x.shape.makeIterator()
        for i in 0 ..< rank { shape.append(set.contains(i) ? 1 : (it.next() ?? 1)) }
        return reshaped(x, shape)
    }

    static func transpose(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let perm = try c.ints("perm") ?? Array((0 ..< x.rank).reversed())
        guard perm.count == x.rank, Set(perm) == Set(0 ..< x.rank) else { throw c.fail("perm \(perm) is not a permutation of rank \(x.rank)") }
        let xs = strides(x.shape)
        let shape = perm.map { x.shape[$0] }
        return take(x, strided(shape, steps: perm.map { xs[$0] }, base: 0, count: x.count), shape: shape)
    }

    static func expand(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let target = try c.intList(try c.input(1), "shape")
        guard let shape = broadcastShape(x.shape, target) else { throw c.fail("\(x.shape) does not expand to \(target)") }
        let n = try c.count(shape)
        return take(x, strided(shape, steps: broadcastStrides(x.shape, to: shape), base: 0, count: n), shape: shape)
    }

    static func tile(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let repeats = try c.intList(try c.input(1), "repeats")
        guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else { throw c.fail("repeats \(repeats) for rank \(x.rank)") }
        var shape: [Int] = []
        for (d, r) in zip(x.shape, repeats) {
            guard let v = CheckedMath.multiply(d, r) else { throw c.fail("repeats \(repeats) overflow") }
            shape.append(v)
        }
        let n = try c.count(shape)
        let xs = strides(x.shape)
        var index = [Int](), idx = [Int](repeating: 0, count: shape.count)
        index.reserveCapacity(n)
        for _ in 0 ..< n {
            index.append(zip(idx, zip(x.shape, xs)).reduce(0) { $0 + ($1.0 % $1.1.0) * $1.1.1 })
            var d = shape.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
        }
        return take(x, index, shape: shape)
    }

    static func constantOfShape(_ c: OpContext) throws -> ONNXArray {
        let shape = try c.intList(try c.input(0), "shape")
        let n = try c.count(shape)
        guard case let .tensor(t)? = c.node.attribute("value") else { return ONNXArray(doubles: .init(repeating: 0, count: n), shape: shape) }
        let v = ONNXArray(t)
        guard v.count == 1 else { throw c.fail("value must hold one element") }
        return v.isFloat ? ONNXArray(doubles: .init(repeating: v.doubles[0], count: n), shape: shape, type: v.elementType)
            : ONNXArray(ints: .init(repeating: v.ints[0], count: n), shape: shape, type: v.elementType)
    }

    static func range(_ c: OpContext) throws -> ONNXArray {
        let s = try c.input(0), l = try c.input(1), d = try c.input(2)
        guard s.count == 1, l.count == 1, d.count == 1, s.isFloat == l.isFloat, s.isFloat == d.isFloat else {
            throw c.fail("start, limit and delta must be scalars of one type")
        }
        if s.isFloat {
            let (a, b, k) = (s.doubles[0], l.doubles[0], d.doubles[0])
            guard k != 0, k.isFinite, a.isFinite, b.isFinite,
                  let steps = CheckedMath.int((Double(b - a) / Double(k)).rounded(.up)) else { throw c.fail("invalid range \(a)..<\(b) by \(k)") }
            let n = try c.count([max(0, steps)])
            return ONNXArray(doubles: (0 ..< n).map { a + Double($0) * k }, shape: [n], type: s.elementType)
        }
        let (a, b, k) = (s.ints[0], l.ints[0], d.ints[0])
        guard k != 0 else { throw c.fail("delta 0") }
        guard let steps = CheckedMath.int(((Double(b) - Double(a)) / Double(k)).rounded(.up)) else { throw c.fail("invalid range") }
        let n = try c.count([max(0, steps)])
        return ONNXArray(ints: (0 ..< n).map { a &+ Int64($0) &* k }, shape: [n], type: s.elementType)
    }

    /// Constant-mode Pad (negative pads crop). Pads from input 1 (opset >= 11) or the attribute.
    static func pad(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let mode = try c.string("mode", default: "constant")
        guard mode == "constant" else { throw c.unsupported("mode '\(mode)'") }
        var pads: [Int], value: Double = 0
        if c.opset < 11 {
            guard let p = try c.ints("pads") ?? c.ints("paddings") else { throw c.fail("pads are required") }
            pads = p
            value = try c.float("value", default: 0)
        } else {
            pads = try c.intList(try c.input(1), "pads")
            if let v = c.optionalInput(2) {
                guard v.count == 1 else { throw c.fail("constant_value must be a scalar") }
                value = v.asDoubles[0]
            }
        }
        let axes = try c.optionalInput(3).map { try c.intList($0, "axes").map { try c.axis($0, rank: x.rank) } } ?? Array(0 ..< x.rank)
        guard pads.count == 2 * axes.count else { throw c.fail("\(pads.count) pads for \(axes.count) axes") }
        var before = [Int](repeating: 0, count: x.rank), after = before
        for (i, a) in axes.enumerated() { before[a] = pads[i]; after[a] = pads[i + axes.count] }
        let shape = (0 ..< x.rank).map { x.shape[$0] + before[$0] + after[$0] }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw c.fail("pads \(pads) crop more than the input \(x.shape)") }
        let n = try c.count(shape)
        // For every output element: its source offset, or -1 for padding.
        let xs = strides(x.shape)
        var index = [Int](), idx = [Int](repeating: 0, count: x.rank)
        index.reserveCapacity(n)
        for _ in 0 ..< n {
            var src = 0, inside = true
            for d in 0 ..< x.rank {
                let i = idx[d] - before[d]
                if i < 0 || i >= x.shape[d] { inside = false; break }
                src += i * xs[d]
            }
            index.append(inside ? src : -1)
            var d = x.rank - 1
            while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
        }
        if x.isFloat { return ONNXArray(doubles: index.map { $0 < 0 ? value : x.doubles[$0] }, shape: shape, type: x.elementType) }
        let iv = ONNXArray.truncate(value)
        return ONNXArray(ints: index.map { $0 < 0 ? iv : x.ints[$0] }, shape: shape, type: x.elementType)
    }
}
