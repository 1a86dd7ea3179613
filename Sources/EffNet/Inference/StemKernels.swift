/// The stem: a dense k x k convolution from the few NCHW input channels to NHWC output, BN folded,
/// activation fused. The input is first copied (with the config's input transform applied) into a
/// zero-padded HWC scratch image, so the convolution itself needs no bounds checks and applies the
/// transform before padding, as the reference does. A window row is then k * Cin consecutive
/// floats; four output pixels x 32 output channels are accumulated per pass.
enum StemKernels {
    struct Shape: Equatable {
        var cin, h, w, k, stride: Int
        var padding: ConvPadding
        var oh, ow: Int
        /// Output channels rounded up to 16.
        var op: Int
        var paddedHeight: Int { h + padding.top + padding.bottom }
        var paddedWidth: Int { w + padding.left + padding.right }
    }

    /// input (one image, NCHW) -> padded HWC scratch.
    static func pad(_ sh: Shape, input: UnsafePointer<Float>, transform: EfficientNetConfig.InputTransform?,
                    into xp: UnsafeMutablePointer<Float>) {
        let hp = sh.paddedHeight, wp = sh.paddedWidth, cin = sh.cin
        xp.initialize(repeating: 0, count: hp * wp * cin)
        for c in 0 ..< cin {
            let scale = transform?.scale[c] ?? 1, offset = transform?.offset[c] ?? 0
            let plane = input + c * sh.h * sh.w
            for iy in 0 ..< sh.h {
                let src = plane + iy * sh.w
                let dst = xp + ((iy + sh.padding.top) * wp + sh.padding.left) * cin + c
                if transform != nil {
                    for ix in 0 ..< sh.w { dst[ix * cin] = src[ix] * scale + offset }
                } else {
                    for ix in 0 ..< sh.w { dst[ix * cin] = src[ix] }
                }
            }
        }
    }

    /// Output rows `rows` of the convolution of the padded image `xp`; weights are
    /// [(ky * k + kx) * cin + ci][op].
    static func run(activation: EfficientNetConfig.Activation?, shape: Shape, xp: UnsafePointer<Float>,
                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                    rows: Range<Int>) {
        switch activation {
        case nil: run(IdentityActivation.self, shape, xp, weights, bias, y, rows)
        case .silu: run(SiLUActivation.self, shape, xp, weights, bias, y, rows)
        case .relu6: run(ReLU6Activation.self, shape, xp, weights, bias, y, rows)
        }
    }

    @inline(never)
    static func run<Act: VectorActivation>(_ act: Act.Type, _ sh: Shape, _ xp: UnsafePointer<Float>,
                                           _ wt: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                           _ y: UnsafeMutablePointer<Float>, _ rows: Range<Int>) {
        let taps = sh.k * sh.cin, wp = sh.paddedWidth, op = sh.op
        let step = sh.stride * sh.cin
        for oy in rows {
            var ox = 0
            while ox < sh.ow {
                let count = min(4, sh.ow - ox)
                let origin = xp + (oy * sh.stride * wp + ox * sh.stride) * sh.cin
                // Pixels past the row's end repeat the last one and are not stored.
                let d1 = min(1, count - 1) * step, d2 = min(2, count - 1) * step, d3 = min(3, count - 1) * step
                let out = y + (oy * sh.ow + ox) * op
                var n0 = 0
                while n0 < op {
                    let two = op - n0 >= 32
                    var a00 = loadVec(bias + n0), a10 = a00, a20 = a00, a30 = a00
                    var a01 = two ? loadVec(bias + n0 + 16) : Vec(), a11 = a01, a21 = a01, a31 = a01
                    for ky in 0 ..< sh.k {
                        let row = origin + ky * wp * sh.cin
                        var wrow = wt + ky * taps * op + n0
                        for t in 0 ..< taps {
                            let w0 = loadVec(wrow)
                            let x0 = Vec(repeating: row[t]), x1 = Vec(repeating: row[d1 + t])
                            let x2 = Vec(repeating: row[d2 + t]), x3 = Vec(repeating: row[d3 + t])
                            a00 = madd(x0, w0, a00); a10 = madd(x1, w0, a10)
                            a20 = madd(x2, w0, a20); a30 = madd(x3, w0, a30)
                            if two {
                                let w1 = loadVec(wrow + 16)
                                a01 = madd(x0, w1, a01); a11 = madd(x1, w1, a11)
                                a21 = madd(x2, w1, a21); a31 = madd(x3, w1, a31)
                            }
                            wrow += op
                        }
                    }
                    storeVec(Act.apply(a00), out + n0)
                    if two { storeVec(Act.apply(a01), out + n0 + 16) }
                    if count > 1 { storeVec(Act.apply(a10), out + op + n0); if two { storeVec(Act.apply(a11), out + op + n0 + 16) } }
                    if count > 2 { storeVec(Act.apply(a20), out + 2 * op + n0); if two { storeVec(Act.apply(a21), out + 2 * op + n0 + 16) } }
                    if count > 3 { storeVec(Act.apply(a30), out + 3 * op + n0); if two { storeVec(Act.apply(a31), out + 3 * op + n0 + 16) } }
                    n0 += two ? 32 : 16
                }
                ox += count
            }
        }
    }
}
