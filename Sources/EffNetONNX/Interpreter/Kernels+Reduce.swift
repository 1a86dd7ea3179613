#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pooling, reductions, Gemm/MatMul and Softmax.
extension Kernels {
    static func globalAveragePool(_ c: OpContext) throws -> ONNXArray {
        let x = try c.floatInput(0)
        guard x.rank >= 3 else { throw c.fail("input rank \(x.rank) < 3") }
        let rows = x.shape[0] * x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
        guard plane > 0 else { throw c.fail("empty spatial extent \(x.shape)") }
        var out = [Double](repeating: 0, count: rows)
        let maximum = c.op == "GlobalMaxPool"
        x.doubles.withUnsafeBufferPointer { p in
            for r in 0 ..< rows {
                if maximum {
                    out[r] = p[r * plane ..< (r + 1) * plane].max() ?? 0
                    continue
                }
                var s: Double = 0
                for j in r * plane ..< (r + 1) * plane { s += Double(p[j]) }
                out[r] = Double(s / Double(plane))
            }
        }
        return ONNXArray(doubles: out, shape: Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.rank - 2))
    }

    /// 2-D AveragePool (pads, strides, ceil_mode, count_include_pad; no dilation).
    static func averagePool(_ c: OpContext) throws -> ONNXArray {
        let x = try c.floatInput(0)
        guard x.rank == 4 else { throw c.unsupported("\(x.rank - 2)-D pooling") }
        guard let k = try c.ints("kernel_shape"), k.count == 2, k.allSatisfy({ $0 >= 1 }) else { throw c.fail("kernel_shape is required") }
        let s = try c.ints("strides") ?? [1, 1]
        var pads = try c.ints("pads") ?? [0, 0, 0, 0]
        if let d = try c.ints("dilations"), d.contains(where: { $0 != 1 }) { throw c.unsupported("dilations \(d)") }
        guard s.count == 2, s.allSatisfy({ $0 >= 1 }), pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
            throw c.fail("invalid strides \(s) or pads \(pads)")
        }
        let (n, ch, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        switch try c.string("auto_pad", default: "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let m where m == "SAME_UPPER" || m == "SAME_LOWER":
            let ph = samePadding(input: h, kernel: k[0], stride: s[0], dilation: 1, upper: m == "SAME_UPPER")
            let pw = samePadding(input: w, kernel: k[1], stride: s[1], dilation: 1, upper: m == "SAME_UPPER")
            pads = [ph.0, pw.0, ph.1, pw.1]
        case let m: throw c.fail("unknown auto_pad '\(m)'")
        }
        let ceil = try c.int("ceil_mode", default: 0) != 0
        let includePad = try c.int("count_include_pad", default: 0) != 0
        func outSize(_ i: Int, _ before: Int, _ after: Int, _ k: Int, _ s: Int) -> Int {
            let span = i + before + after - k
            // A window larger than the padded input: ceil((span) / s) + 1 is still 1 under
            // ceil_mode while span > -s (transformers' AvgPool2d(hidden_dim, ceil_mode=True)).
            guard span >= 0 else { return ceil && -span < s ? 1 : 0 }
            let o = (ceil ? (span + s - 1) / s : span / s) + 1
            // ceil_mode keeps a partial last window only when it starts inside the input or the
            // begin padding, never in the end padding (ONNX's reference and PyTorch agree).
            return ceil && (o - 1) * s >= i + before ? o - 1 : o
        }
        let oh = outSize(h, pads[0], pads[2], k[0], s[0]), ow = outSize(w, pads[1], pads[3], k[1], s[1])
        guard oh > 0, ow > 0 else { throw c.fail("kernel \(k) does not fit input \(x.shape) with pads \(pads)") }
        var out = [Double](repeating: 0, count: try c.count([n, ch, oh, ow]))
        for plane in 0 ..< n * ch {
            let base = plane * h * w
            for oy in 0 ..< oh {
                for ox in 0 ..< ow {
                    let y0 = oy * s[0] - pads[0], x0 = ox * s[1] - pads[1]
                    var sum: Double = 0, count = 0
                    for y in max(0, y0) ..< min(h, y0 + k[0]) {
                        for xx in max(0, x0) ..< min(w, x0 + k[1]) { sum += Double(x.doubles[base + y * w + xx]); count += 1 }
                    }
                    // The window clipped to the padded extent (ceil_mode may run past it).
                    let padded = (min(y0 + k[0], h + pads[2]) - y0) * (min(x0 + k[1], w + pads[3]) - x0)
                    let divisor = includePad ? padded : count
                    out[(plane * oh + oy) * ow + ox] = divisor > 0 ? Double(sum / Double(divisor)) : 0
                }
            }
        }
        return ONNXArray(doubles: out, shape: [n, ch, oh, ow])
    }

    /// ReduceMean/Sum/Max/Min: axes from the attribute (before opset 18) or input 1.
    static func reduce(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let keep = try c.int("keepdims", default: 1) != 0
        var axes: [Int]?
        if c.opset >= 18 || (c.op == "ReduceSum" && c.opset >= 13) {
            if let a = c.optionalInput(1) { axes = try c.intList(a, "axes") }
        } else {
            axes = try c.ints("axes")
        }
        if axes?.isEmpty ?? true {
            if try c.int("noop_with_empty_axes", default: 0) != 0 && axes != nil { return x }
            axes = Array(0 ..< x.rank)
        }
        let set = Set(try axes!.map { try c.axis($0, rank: x.rank, name: "axis") })
        let outFull = x.shape.enumerated().map { set.contains($0.offset) ? 1 : $0.element }
        let n = try c.count(outFull)
        let shape = keep ? outFull : x.shape.enumerated().filter { !set.contains($0.offset) }.map(\.element)
        // Fast path: the reduced axes are the trailing ones (SE pooling over H, W), so each output
        // is the mean or sum of one contiguous row.
        if x.isFloat, c.op == "ReduceMean" || c.op == "ReduceSum", set == Set((x.rank - set.count) ..< x.rank), n > 0 {
            let row = x.count / n
            var out = [Double](repeating: 0, count: n)
            x.doubles.withUnsafeBufferPointer { p in
                for r in 0 ..< n {
                    var sum: Double = 0
                    for j in r * row ..< (r + 1) * row { sum += Double(p[j]) }
                    out[r] = Double(c.op == "ReduceMean" && row > 0 ? sum / Double(row) : sum)
                }
            }
            return ONNXArray(doubles: out, shape: shape, type: x.elementType)
        }
        let outStrides = strides(outFull).enumerated().map { set.contains($0.offset) ? 0 : $0.element }
        // The output slot of every input element, in input order.
        let slots = strided(x.shape, steps: outStrides, base: 0, count: x.count)
        if !x.isFloat { return ONNXArray(ints: try integerReduce(c, x, slots: slots, outputs: n), shape: shape, type: x.elementType) }
        var acc = [Double](repeating: c.op == "ReduceMax" ? -.infinity : c.op == "ReduceMin" ? .infinity : 0, count: n)
        for (v, o) in zip(x.doubles, slots) {
            let d = Double(v)
            switch c.op {
            case "ReduceMax": acc[o] = d.isNaN || acc[o].isNaN ? .nan : max(acc[o], d)
            case "ReduceMin": acc[o] = d.isNaN || acc[o].isNaN ? .nan : min(acc[o], d)
            default: acc[o] += d
            }
        }
        if c.op == "ReduceMean" {
            let size = Double(x.count / max(n, 1))
            acc = acc.map { $0 / size }
        }
        return ONNXArray(doubles: acc.map { Double($0) }, shape: shape, type: x.elementType)
    }

    /// The integer and bool reductions, in Int64 (exact): over an empty set ReduceMax gives the
    /// type's smallest value (false for bool), ReduceMin its largest (true), ReduceSum 0.
    static func integerReduce(_ c: OpContext, _ x: ONNXArray, slots: [Int], outputs n: Int) throws -> [Int64] {
        let (lowest, highest) = integerRange(x.elementType)
        var acc = [Int64](repeating: c.op == "ReduceMax" ? lowest : c.op == "ReduceMin" ? highest : 0, count: n)
        for (v, o) in zip(x.ints, slots) {
            switch c.op {
            case "ReduceMax": acc[o] = max(acc[o], v)
            case "ReduceMin": acc[o] = min(acc[o], v)
            default: acc[o] = acc[o] &+ v
            }
        }
        if c.op == "ReduceMean" {
            let size = Int64(x.count / max(n, 1))
            guard size > 0 else { throw c.fail("mean of an empty integer set") }
            acc = acc.map { $0 / size }
        }
        return narrowed(acc, to: x.elementType)
    }

    /// The smallest and largest value of an integer or bool type.
    static func integerRange(_ type: ONNXDataType) -> (Int64, Int64) {
        switch type {
        case .bool: return (0, 1)
        case .uint8: return (0, 255)
        case .int8: return (Int64(Int8.min), Int64(Int8.max))
        case .int16: return (Int64(Int16.min), Int64(Int16.max))
        case .int32: return (Int64(Int32.min), Int64(Int32.max))
        default: return (.min, .max)
        }
    }

    /// Y = alpha * op(A) op(B) + beta * C.
    static func gemm(_ c: OpContext) throws -> ONNXArray {
        let a = try c.floatInput(0), b = try c.floatInput(1)
        guard a.rank == 2, b.rank == 2 else { throw c.fail("A \(a.shape) and B \(b.shape) must be matrices") }
        let ta = try c.int("transA", default: 0) != 0, tb = try c.int("transB", default: 0) != 0
        let alpha = try c.float("alpha", default: 1), beta = try c.float("beta", default: 1)
        let (m, k) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = tb ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == k2 else { throw c.fail("A \(a.shape) and B \(b.shape) do not multiply (transA \(ta), transB \(tb))") }
        let total = try c.count([m, n])
        var out = [Double](repeating: 0, count: total)
        a.doubles.withUnsafeBufferPointer { ap in
            b.doubles.withUnsafeBufferPointer { bp in
                for i in 0 ..< m {
                    for j in 0 ..< n {
                        // Double accumulation: the verification pass must be far more exact
                        // than the float32 engines it judges.
                        var s: Double = 0
                        for p in 0 ..< k {
                            s += Double(ap[ta ? p * m + i : i * k + p]) * Double(bp[tb ? j * k + p : p * n + j])
                        }
                        out[i * n + j] = Double(Double(alpha) * s)
                    }
                }
            }
        }
        if let cc = c.optionalInput(2), beta != 0 {
            guard cc.isFloat, let shape = broadcastShape([m, n], cc.shape), shape == [m, n] else {
                throw c.fail("C \(cc.shape) does not broadcast to [\(m), \(n)]")
            }
            out = broadcast(out, [m, n], cc.doubles, cc.shape, out: [m, n], count: total) { $0 + beta * $1 }
        }
        return ONNXArray(doubles: out, shape: [m, n])
    }

    /// numpy matmul: 1-D operands promoted, batch dimensions broadcast.
    static func matMul(_ c: OpContext) throws -> ONNXArray {
        let a = try c.floatInput(0), b = try c.floatInput(1)
        guard a.rank >= 1, b.rank >= 1 else { throw c.fail("scalar operands") }
        let aShape = a.rank == 1 ? [1, a.shape[0]] : a.shape, bShape = b.rank == 1 ? [b.shape[0], 1] : b.shape
        let (m, k) = (aShape[aShape.count - 2], aShape[aShape.count - 1])
        let (k2, n) = (bShape[bShape.count - 2], bShape[bShape.count - 1])
        guard k == k2, let batch = broadcastShape(Array(aShape.dropLast(2)), Array(bShape.dropLast(2))) else {
            throw c.fail("\(a.shape) and \(b.shape) do not multiply")
        }
        let batches = try c.count(batch)
        let total = try c.count(batch + [m, n])
        let aStr = broadcastStrides(Array(aShape.dropLast(2)), to: batch), bStr = broadcastStrides(Array(bShape.dropLast(2)), to: batch)
        var out = [Double](repeating: 0, count: total)
        var row = [Double](repeating: 0, count: n)
        a.doubles.withUnsafeBufferPointer { ap in
            b.doubles.withUnsafeBufferPointer { bp in
                for t in 0 ..< batches {
                    var rem = t, ao = 0, bo = 0
                    for d in stride(from: batch.count - 1, through: 0, by: -1) {
                        let i = rem % batch[d]; rem /= batch[d]
                        ao += i * aStr[d]; bo += i * bStr[d]
                    }
                    let aBase = ao * m * k, bBase = bo * k * n, oBase = t * m * n
                    for i in 0 ..< m {
                        // One output row accumulated in Double (see gemm).
                        for j in 0 ..< n { row[j] = 0 }
                        for p in 0 ..< k {
                            let v = Double(ap[aBase + i * k + p]), b = bBase + p * n
                            for j in 0 ..< n { row[j] += v * Double(bp[b + j]) }
                        }
                        for j in 0 ..< n { out[oBase + i * n + j] = Double(row[j]) }
                    }
                }
            }
        }
        var shape = batch + [m, n]
        if a.rank == 1 { shape.remove(at: shape.count - 2) }
        if b.rank == 1 { shape.removeLast() }
        return ONNXArray(doubles: out, shape: shape)
    }

    /// Softmax / LogSoftmax; before opset 13 the input is coerced to 2-D at `axis` (default 1).
    static func softmax(_ c: OpContext, log: Bool) throws -> ONNXArray {
        var x = try c.floatInput(0)
        guard x.rank >= 1 else { throw c.fail("scalar input") }
        let legacy = c.opset < 13
        let axis = try c.axis(try c.int("axis", default: legacy ? 1 : -1), rank: x.rank)
        let inner = legacy ? 1 : x.shape[(axis + 1)...].reduce(1, *)
        let length = legacy ? x.shape[axis...].reduce(1, *) : x.shape[axis]
        let outer = x.count / max(1, length * inner)
        x.doubles.withUnsafeMutableBufferPointer { p in
            for o in 0 ..< outer {
                for i in 0 ..< inner {
                    let base = o * length * inner + i
                    var mx = -Double.infinity
                    for j in 0 ..< length { mx = max(mx, p[base + j * inner]) }
                    // In Double: exp, sum and quotient round once, into the float32 result.
                    var sum: Double = 0
                    for j in 0 ..< length { sum += Foundation_exp(Double(p[base + j * inner]) - Double(mx)) }
                    let logSum = Foundation_log(sum)
                    for j in 0 ..< length {
                        let v = Double(p[base + j * inner]) - Double(mx)
                        p[base + j * inner] = Double(log ? v - logSum : Foundation_exp(v) / sum)
                    }
                }
            }
        }
        return x
    }

    private static func Foundation_exp(_ x: Double) -> Double {
        #if canImport(Glibc)
        return Glibc.exp(x)
        #else
        return Darwin.exp(x)
        #endif
    }

    private static func Foundation_log(_ x: Double) -> Double {
        #if canImport(Glibc)
        return Glibc.log(x)
        #else
        return Darwin.log(x)
        #endif
    }
}
