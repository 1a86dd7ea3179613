/// The vector type every fast kernel works in: 16 floats, one AVX-512 register (two AVX or four
/// SSE registers on smaller machines). Activations are stored with their channel count rounded up
/// to a multiple of `lanes`, so every kernel loads and stores whole vectors.
typealias Vec = SIMD16<Float>

/// Floats per `Vec`.
let lanes = 16

/// Rounds `n` up to a multiple of `lanes`.
@inline(__always)
func roundUpToLanes(_ n: Int) -> Int { (n + lanes - 1) / lanes * lanes }

/// c + a * b. Fused (one rounding) when the build enables FMA (`-DEFFNET_FMA`, together with
/// `-target-cpu` naming a CPU that has it); otherwise a multiply and an add. Swift has no
/// compile-time test for a target feature, and `addingProduct` without hardware FMA becomes a
/// libm call per lane, so the switch is explicit.
@inline(__always)
func madd(_ a: Vec, _ b: Vec, _ c: Vec) -> Vec {
    #if EFFNET_FMA
    return c.addingProduct(a, b)
    #else
    return c + a * b
    #endif
}

/// Lane-wise min / max. Spelled with a mask so they always inline to vminps / vmaxps; the
/// generic `pointwiseMin` is sometimes left as a call inside large kernels.
@inline(__always)
func vmin(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .< a) }

@inline(__always)
func vmax(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .> a) }

@inline(__always)
func loadVec(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

@inline(__always)
func loadVec(_ p: UnsafeMutablePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

@inline(__always)
func storeVec(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}

/// e^x for every lane: Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial),
/// about 1 ulp on the clamped range; 2^n is built from the exponent bits. Inputs below -87.3 give
/// ~1e-38 rather than 0, above 88.7 give ~3e38 rather than infinity; both are what SiLU and the
/// sigmoid need (their results round to the same floats).
@inline(__always)
func vexp(_ x0: Vec) -> Vec {
    let x = vmin(vmax(x0, Vec(repeating: -87.33654)), Vec(repeating: 88.72283))
    // Adding 1.5 * 2^23 rounds x / ln 2 to an integer held in the low mantissa bits.
    let magic = Vec(repeating: 12_582_912.0)
    let t = madd(x, Vec(repeating: 1.442_695_040_888_963_4), magic)
    let n = t - magic
    var r = madd(n, Vec(repeating: -0.693_359_375), x)
    r = madd(n, Vec(repeating: 2.121_944_4e-4), r)
    let z = r * r
    var y = Vec(repeating: 1.987_569_150_0e-4)
    y = madd(y, r, Vec(repeating: 1.398_199_950_7e-3))
    y = madd(y, r, Vec(repeating: 8.333_451_907_3e-3))
    y = madd(y, r, Vec(repeating: 4.166_579_589_4e-2))
    y = madd(y, r, Vec(repeating: 1.666_666_545_9e-1))
    y = madd(y, r, Vec(repeating: 5.000_000_120_1e-1))
    y = madd(y, z, r + 1)
    let ti = unsafeBitCast(t, to: SIMD16<UInt32>.self)
    let mi = unsafeBitCast(magic, to: SIMD16<UInt32>.self)
    let scale = unsafeBitCast((ti &- mi &+ 127) &<< 23, to: Vec.self)
    return y * scale
}

/// 1 / (1 + e^-x). (A division measured faster here than a Newton reciprocal: vdivps overlaps
/// with the exponential's FMAs.)
@inline(__always)
func vsigmoid(_ x: Vec) -> Vec { 1 / (1 + vexp(-x)) }

/// An activation applied by a kernel's epilogue; kernels are generic over it so each variant is
/// compiled without a branch per vector.
protocol VectorActivation {
    static func apply(_ v: Vec) -> Vec
}

enum IdentityActivation: VectorActivation {
    @inline(__always) static func apply(_ v: Vec) -> Vec { v }
}

/// x / (1 + e^-x), as the reference writes it.
enum SiLUActivation: VectorActivation {
    @inline(__always) static func apply(_ v: Vec) -> Vec { v / (1 + vexp(-v)) }
}

enum ReLU6Activation: VectorActivation {
    @inline(__always) static func apply(_ v: Vec) -> Vec {
        vmin(vmax(v, Vec(repeating: 0)), Vec(repeating: 6))
    }
}
