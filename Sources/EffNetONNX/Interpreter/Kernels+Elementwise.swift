import EffNet
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementwise operators with numpy (multidirectional) broadcasting.
extension Kernels {
    /// The broadcast shape of `a` and `b`, or nil when they do not broadcast.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0 ..< rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }

    /// Strides of `shape` seen through broadcasting to `out` (0 along broadcast axes).
    static func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
        let s = strides(shape)
        let pad = out.count - shape.count
        return (0 ..< out.count).map { i in i < pad || shape[i - pad] == 1 ? 0 : s[i - pad] }
    }

    /// out[i] = f(a[ia], b[ib]) over the broadcast shape, walking the last axis in an inner loop.
    static func broadcast<T>(_ a: [T], _ aShape: [Int], _ b: [T], _ bShape: [Int], out shape: [Int], count: Int,
                             _ f: (T, T) -> T) -> [T] {
        // (Equal operand shapes are the output's only when no third operand widened it: Where.)
        if aShape == bShape && aShape == shape { return zip(a, b).map(f) }
        if b.count == 1 { let y = b[0]; if aShape == shape { return a.map { f($0, y) } } }
        if a.count == 1 { let x = a[0]; if bShape == shape { return b.map { f(x, $0) } } }
        var out = [T]()
        out.reserveCapacity(count)
        guard count > 0 else { return out }
        let rank = shape.count
        if rank == 0 { return [f(a[0], b[0])] }
        let sa = broadcastStrides(aShape, to: shape), sb = broadcastStrides(bShape, to: shape)
        let inner = shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
        var idx = [Int](repeating: 0, count: rank)
        var pa = 0, pb = 0
        let rows = count / inner
        for _ in 0 ..< rows {
            var ja = pa, jb = pb
            for _ in 0 ..< inner {
                out.append(f(a[ja], b[jb]))
                ja += ia; jb += ib
            }
            var d = rank - 2
            while d >= 0 {
                idx[d] += 1; pa += sa[d]; pb += sb[d]
                if idx[d] < shape[d] { break }
                pa -= sa[d] * shape[d]; pb -= sb[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
        return out
    }

    static func binary(_ c: OpContext) throws -> ONNXArray {
        let a = try c.input(0), b = try c.input(1)
        guard let shape = broadcastShape(a.shape, b.shape) else {
            throw c.fail("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let n = try c.count(shape)
        let comparison = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"].contains(c.op)
        if ["And", "Or"].contains(c.op) {
            let f: (Int64, Int64) -> Int64 = c.op == "And" ? { ($0 != 0 && $1 != 0) ? 1 : 0 } : { ($0 != 0 || $1 != 0) ? 1 : 0 }
            return ONNXArray(ints: broadcast(a.asInts, a.shape, b.asInts, b.shape, out: shape, count: n, f), shape: shape, type: .bool)
        }
        if c.op == "Pow" && !a.isFloat && b.isFloat {
            // The result has the base's type (onnx: T for Pow(T, T1)); numpy's power, then the cast.
            let r = broadcast(a.asDoubles, a.shape, b.doubles, b.shape, out: shape, count: n) { Foundation_pow($0, $1) }
            return ONNXArray(ints: narrowed(r.map(ONNXArray.truncate), to: a.elementType), shape: shape, type: a.elementType)
        }
        if a.isFloat || b.isFloat {
            guard a.isFloat && b.isFloat || c.op == "Pow" else {
                throw c.fail("mixed element types \(a.elementType.name) and \(b.elementType.name)")
            }
            let f: (Double, Double) -> Double
            switch c.op {
            case "Add": f = { $0 + $1 }
            case "Sub": f = { $0 - $1 }
            case "Mul": f = { $0 * $1 }
            case "Div": f = { $0 / $1 }
            case "Pow": f = { pow($0, $1) }
            case "Equal": f = { $0 == $1 ? 1 : 0 }
            case "Less": f = { $0 < $1 ? 1 : 0 }
            case "Greater": f = { $0 > $1 ? 1 : 0 }
            case "LessOrEqual": f = { $0 <= $1 ? 1 : 0 }
            default: f = { $0 >= $1 ? 1 : 0 }
            }
            let r = broadcast(a.asDoubles, a.shape, b.asDoubles, b.shape, out: shape, count: n, f)
            if comparison { return ONNXArray(ints: r.map { Int64($0) }, shape: shape, type: .bool) }
            return ONNXArray(doubles: r, shape: shape, type: a.isFloat ? a.elementType : b.elementType)
        }
        var divideByZero = false
        let f: (Int64, Int64) -> Int64
        switch c.op {
        case "Add": f = { $0 &+ $1 }
        case "Sub": f = { $0 &- $1 }
        case "Mul": f = { $0 &* $1 }
        case "Div": f = { y, z in if z == 0 { divideByZero = true; return 0 }; return y.dividedReportingOverflow(by: z).partialValue }
        case "Pow": f = integerPower
        case "Equal": f = { $0 == $1 ? 1 : 0 }
        case "Less": f = { $0 < $1 ? 1 : 0 }
        case "Greater": f = { $0 > $1 ? 1 : 0 }
        case "LessOrEqual": f = { $0 <= $1 ? 1 : 0 }
        default: f = { $0 >= $1 ? 1 : 0 }
        }
        let r = broadcast(a.ints, a.shape, b.ints, b.shape, out: shape, count: n, f)
        if divideByZero { throw c.fail("integer division by zero") }
        if comparison { return ONNXArray(ints: r, shape: shape, type: .bool) }
        return ONNXArray(ints: narrowed(r, to: a.elementType), shape: shape, type: a.elementType)
    }

    /// y^z with wrap-around (two's complement, as C and numpy compute it), by squaring; a negative
    /// exponent gives 1 / y^|z| truncated: 1 for y = 1, +-1 for y = -1, else 0 (y = 0: 0, where
    /// numpy leaves it undefined).
    static func integerPower(_ y: Int64, _ z: Int64) -> Int64 {
        if z < 0 { return y == 1 ? 1 : y == -1 ? (z & 1 == 0 ? 1 : -1) : 0 }
        var result: Int64 = 1, base = y, e = z
        while e > 0 {
            if e & 1 == 1 { result = result &* base }
            base = base &* base
            e >>= 1
        }
        return result
    }

    /// Int64 results wrapped to the width of `type` (int8 ... int32, uint8, bool as 0/1).
    static func narrowed(_ values: [Int64], to type: ONNXDataType) -> [Int64] {
        switch type {
        case .int32: return values.map { Int64(Int32(truncatingIfNeeded: $0)) }
        case .int16: return values.map { Int64(Int16(truncatingIfNeeded: $0)) }
        case .int8: return values.map { Int64(Int8(truncatingIfNeeded: $0)) }
        case .uint8: return values.map { Int64(UInt8(truncatingIfNeeded: $0)) }
        case .bool: return values.map { $0 != 0 ? 1 : 0 }
        default: return values
        }
    }

    static func Foundation_pow(_ x: Double, _ y: Double) -> Double {
        #if canImport(Glibc)
        return Glibc.pow(x, y)
        #else
        return Darwin.pow(x, y)
        #endif
    }

    /// Max, Min, Sum, Mean over any number of broadcast inputs.
    static func variadic(_ c: OpContext) throws -> ONNXArray {
        let args = c.inputs.compactMap { $0 }
        guard var acc = args.first else { throw c.fail("needs at least one input") }
        for b in args.dropFirst() {
            guard acc.isFloat == b.isFloat else { throw c.fail("mixed element types") }
            guard let shape = broadcastShape(acc.shape, b.shape) else { throw c.fail("shapes \(acc.shape) and \(b.shape) do not broadcast") }
            let n = try c.count(shape)
            if acc.isFloat {
                let f: (Double, Double) -> Double = c.op == "Max" ? { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
                    : c.op == "Min" ? { $0.isNaN || $1.isNaN ? .nan : min($0, $1) } : { $0 + $1 }
                acc = ONNXArray(doubles: broadcast(acc.doubles, acc.shape, b.doubles, b.shape, out: shape, count: n, f), shape: shape, type: acc.elementType)
            } else {
                let f: (Int64, Int64) -> Int64 = c.op == "Max" ? { max($0, $1) } : c.op == "Min" ? { min($0, $1) } : { $0 &+ $1 }
                acc = ONNXArray(ints: broadcast(acc.ints, acc.shape, b.ints, b.shape, out: shape, count: n, f), shape: shape, type: acc.elementType)
            }
        }
        if c.op == "Mean" {
            guard acc.isFloat else { throw c.unsupported("integer Mean") }
            let k = Double(args.count)
            acc.doubles = acc.doubles.map { $0 / k }
        }
        return acc
    }

    static func whereOp(_ c: OpContext) throws -> ONNXArray {
        let cond = try c.input(0), x = try c.input(1), y = try c.input(2)
        guard x.isFloat == y.isFloat else { throw c.fail("mixed element types") }
        guard let s1 = broadcastShape(cond.shape, x.shape), let shape = broadcastShape(s1, y.shape) else {
            throw c.fail("shapes \(cond.shape), \(x.shape), \(y.shape) do not broadcast")
        }
        let n = try c.count(shape)
        // Every operand (rank 0 included) seen at every output position through broadcasting.
        func positions(_ v: ONNXArray) -> [Int] { strided(shape, steps: broadcastStrides(v.shape, to: shape), base: 0, count: n) }
        let mask = positions(cond).map { cond.asInts[$0] }
        let xi = positions(x), yi = positions(y)
        if x.isFloat {
            return ONNXArray(doubles: (0 ..< n).map { mask[$0] != 0 ? x.doubles[xi[$0]] : y.doubles[yi[$0]] }, shape: shape, type: x.elementType)
        }
        return ONNXArray(ints: (0 ..< n).map { mask[$0] != 0 ? x.ints[xi[$0]] : y.ints[yi[$0]] }, shape: shape, type: x.elementType)
    }

    static func unary(_ c: OpContext) throws -> ONNXArray {
        var x = try c.input(0)
        if !x.isFloat {
            switch c.op {
            case "Neg": x.ints = x.ints.map { 0 &- $0 }
            case "Abs": x.ints = x.ints.map { $0 == .min ? .max : Swift.abs($0) }
            case "Sign": x.ints = x.ints.map { $0.signum() }
            case "Not": x.ints = x.ints.map { $0 == 0 ? 1 : 0 }
            case "Relu": x.ints = x.ints.map { max($0, 0) }
            case "Ceil", "Floor", "Round": break
            default: throw c.fail("\(c.op) needs a floating-point input, got \(x.elementType.name)")
            }
            return x
        }
        let f: (Double) -> Double
        switch c.op {
        case "Sigmoid": f = { $0 >= 0 ? 1 / (1 + exp(-$0)) : exp($0) / (1 + exp($0)) }
        case "Relu": f = { $0 > 0 ? $0 : 0 }
        case "LeakyRelu":
            let alpha = try c.float("alpha", default: 0.01)
            f = { $0 >= 0 ? $0 : $0 * alpha }
        case "Tanh": f = { tanh($0) }
        case "Exp": f = { exp($0) }
        case "Log": f = { log($0) }
        case "Sqrt": f = { sqrt($0) }
        case "Reciprocal": f = { 1 / $0 }
        case "Neg": f = { -$0 }
        case "Abs": f = { Swift.abs($0) }
        case "Ceil": f = { $0.rounded(.up) }
        case "Floor": f = { $0.rounded(.down) }
        case "Round": f = { $0.rounded(.toNearestOrEven) }
        case "Erf": f = { erf($0) }
        case "Sign": f = { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 }
        case "Softplus": f = { $0 > 20 ? $0 : log1p(exp($0)) }
        case "HardSigmoid":
            let alpha = try c.float("alpha", default: 0.2), beta = try c.float("beta", default: 0.5)
            f = { max(0, min(1, alpha * $0 + beta)) }
        case "HardSwish": f = { $0 * max(0, min(1, $0 / 6 + 0.5)) }
        default: throw c.fail("\(c.op) needs a boolean input")
        }
        x.doubles = x.doubles.map(f)
        return x
    }

    static func clip(_ c: OpContext) throws -> ONNXArray {
        var x = try c.input(0)
        var lo: Double = -.infinity, hi: Double = .infinity
        if c.opset < 11 {
            lo = try c.float("min", default: lo)
            hi = try c.float("max", default: hi)
        } else {
            for (i, name) in [(1, "min"), (2, "max")] {
                guard let v = c.optionalInput(i) else { continue }
                guard v.count == 1, v.isFloat == x.isFloat else { throw c.fail("\(name) must be a scalar of the input's type") }
                if i == 1 { lo = v.asDoubles[0] } else { hi = v.asDoubles[0] }
            }
        }
        if x.isFloat {
            x.doubles = x.doubles.map { $0.isNaN ? $0 : Swift.min(Swift.max($0, lo), hi) }
        } else {
            let l = lo == -.infinity ? Int64.min : ONNXArray.truncate(lo), h = hi == .infinity ? Int64.max : ONNXArray.truncate(hi)
            x.ints = x.ints.map { Swift.min(Swift.max($0, l), h) }
        }
        return x
    }

    static func cast(_ c: OpContext) throws -> ONNXArray {
        let x = try c.input(0)
        let target: ONNXDataType
        if c.op == "CastLike" {
            target = try c.input(1).elementType
        } else {
            let to = try c.int("to", default: 0)
            guard let t = ONNXDataType(rawValue: Int32(clamping: to)), t.dtype != nil else {
                throw c.unsupported("cast to \(ONNXDataType.name(of: Int32(clamping: to)))")
            }
            target = t
        }
        if target.isFloatingPoint {
            var v = x.asDoubles
            // Narrow float types round like the real conversion would.
            if target == .float16 { v = v.map { Double(HalfConversion.float(fromHalf: HalfConversion.half(fromFloat: Float($0)))) } }
            if target == .bfloat16 { v = v.map { Double(HalfConversion.float(fromBFloat16: HalfConversion.bfloat16(fromFloat: Float($0)))) } }
            return ONNXArray(doubles: v, shape: x.shape, type: target)
        }
        // To bool: nonzero (0.5 is true, not truncated to 0).
        let v = target == .bool && x.isFloat ? x.doubles.map { $0 != 0 ? 1 : 0 } : x.asInts
        return ONNXArray(ints: narrowed(v, to: target), shape: x.shape, type: target)
    }
}
