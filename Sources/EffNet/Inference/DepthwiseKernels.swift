/// Depthwise k x k convolution on NHWC activations (channel stride cp, a multiple of 16), BN
/// folded into weights and bias, activation fused, and optionally the squeeze-and-excitation
/// pooling fused too (per-channel sums of the activated output, in Double across rows as the
/// reference's average pool does).
///
/// Vectorised along channels: one vector holds 16 channels of one pixel, multiplied by the 16
/// channels' weights for a tap. Interior pixels (whose window lies inside the image) go four at
/// a time, so each weight vector loaded serves four outputs; border pixels clip their window to
/// the image, which is zero padding without a padded copy.
enum DepthwiseKernels {
    struct Shape: Equatable {
        var h, w, cp, k, stride: Int
        var padding: ConvPadding
        var oh, ow: Int
    }

    /// Computes output rows `rows` of a contiguous input x ([h][w][cp]) into y ([oh][ow][cp]).
    /// `pool` (cp Doubles) gets the sums of those rows added; `rowSum` is cp floats of scratch.
    static func run(activation: EfficientNetConfig.Activation?, shape sh: Shape, x: UnsafePointer<Float>,
                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                    rows: Range<Int>, pool: UnsafeMutablePointer<Double>?, rowSum: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: sh.k) { inputRows in
            for oy in rows {
                let iy0 = oy * sh.stride - sh.padding.top
                for ky in 0 ..< sh.k where iy0 + ky >= 0 && iy0 + ky < sh.h {
                    inputRows[ky] = x + (iy0 + ky) * sh.w * sh.cp
                }
                row(activation: activation, shape: sh, oy: oy, inputRows: UnsafePointer(inputRows.baseAddress!),
                    weights: weights, bias: bias, y: y, pool: pool, rowSum: rowSum)
            }
        }
    }

    /// Computes output row `oy` into y. inputRows[ky] points at input row oy * stride - top + ky
    /// (its pixel 0, channel 0) for every ky whose row is inside the image; rows need not be
    /// contiguous, so they can come from a ring buffer (see `FastForward`'s fused blocks).
    static func row(activation: EfficientNetConfig.Activation?, shape: Shape, oy: Int,
                    inputRows: UnsafePointer<UnsafePointer<Float>>, weights: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                    pool: UnsafeMutablePointer<Double>?, rowSum: UnsafeMutablePointer<Float>) {
        switch activation {
        case nil: row(IdentityActivation.self, shape, oy, inputRows, weights, bias, y, pool, rowSum)
        case .silu: row(SiLUActivation.self, shape, oy, inputRows, weights, bias, y, pool, rowSum)
        case .relu6: row(ReLU6Activation.self, shape, oy, inputRows, weights, bias, y, pool, rowSum)
        }
    }

    @inline(never)
    static func row<Act: VectorActivation>(_ act: Act.Type, _ sh: Shape, _ oy: Int,
                                           _ inputRows: UnsafePointer<UnsafePointer<Float>>,
                                           _ wt: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                           _ y: UnsafeMutablePointer<Float>,
                                           _ pool: UnsafeMutablePointer<Double>?, _ rowSum: UnsafeMutablePointer<Float>) {
        let k = sh.k, s = sh.stride, cp = sh.cp, w = sh.w
        // Output columns whose whole window is inside the image: 0 <= ox*s - left and ox*s - left + k <= w.
        let oxLo = min(sh.ow, (sh.padding.left + s - 1) / s)
        let span = w - k + sh.padding.left
        let oxHi = span < 0 ? oxLo : max(oxLo, min(sh.ow, span / s + 1))
        let iy0 = oy * s - sh.padding.top
        let kyLo = max(0, -iy0), kyHi = max(kyLo, min(k, sh.h - iy0))  // empty when the window is all padding
        let yrow = y + oy * sh.ow * cp
        if pool != nil { rowSum.initialize(repeating: 0, count: cp) }
        var ox = 0
        while ox < sh.ow {
            let ix0 = ox * s - sh.padding.left
            if ox >= oxLo && ox + 8 <= oxHi {
                eight(act, inputRows, wt, bias, yrow + ox * cp, rowSum, pool != nil,
                      cp: cp, k: k, s: s, ix0: ix0, kyLo: kyLo, kyHi: kyHi)
                ox += 8
            } else if ox >= oxLo && ox + 4 <= oxHi {
                four(act, inputRows, wt, bias, yrow + ox * cp, rowSum, pool != nil,
                     cp: cp, k: k, s: s, ix0: ix0, kyLo: kyLo, kyHi: kyHi)
                ox += 4
            } else {
                let kxLo = max(0, -ix0)
                one(act, inputRows, wt, bias, yrow + ox * cp, rowSum, pool != nil,
                    cp: cp, k: k, ix0: ix0, kyLo: kyLo, kyHi: kyHi, kxLo: kxLo, kxHi: max(kxLo, min(k, w - ix0)))
                ox += 1
            }
        }
        if let pool {
            for c in 0 ..< cp { pool[c] += Double(rowSum[c]) }
        }
    }

    /// One output pixel, window clipped to kx in kxLo..<kxHi, ky in kyLo..<kyHi.
    @inline(__always)
    static func one<Act: VectorActivation>(_: Act.Type, _ rows: UnsafePointer<UnsafePointer<Float>>, _ wt: UnsafePointer<Float>,
                                           _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                           _ rowSum: UnsafeMutablePointer<Float>, _ pooling: Bool,
                                           cp: Int, k: Int, ix0: Int, kyLo: Int, kyHi: Int, kxLo: Int, kxHi: Int) {
        var cv = 0
        // Four channel vectors at a time: four independent FMA chains.
        while cv + 4 * lanes <= cp {
            var a0 = loadVec(bias + cv), a1 = loadVec(bias + cv + 16), a2 = loadVec(bias + cv + 32), a3 = loadVec(bias + cv + 48)
            for ky in kyLo ..< kyHi {
                // Start at the first tap inside the image so no pointer points before the buffer.
                var xp = rows[ky] + (ix0 + kxLo) * cp + cv
                var wp = wt + (ky * k + kxLo) * cp + cv
                for _ in kxLo ..< kxHi {
                    a0 = madd(loadVec(xp), loadVec(wp), a0)
                    a1 = madd(loadVec(xp + 16), loadVec(wp + 16), a1)
                    a2 = madd(loadVec(xp + 32), loadVec(wp + 32), a2)
                    a3 = madd(loadVec(xp + 48), loadVec(wp + 48), a3)
                    xp += cp
                    wp += cp
                }
            }
            let v0 = Act.apply(a0), v1 = Act.apply(a1), v2 = Act.apply(a2), v3 = Act.apply(a3)
            storeVec(v0, out + cv)
            storeVec(v1, out + cv + 16)
            storeVec(v2, out + cv + 32)
            storeVec(v3, out + cv + 48)
            if pooling {
                storeVec(loadVec(rowSum + cv) + v0, rowSum + cv)
                storeVec(loadVec(rowSum + cv + 16) + v1, rowSum + cv + 16)
                storeVec(loadVec(rowSum + cv + 32) + v2, rowSum + cv + 32)
                storeVec(loadVec(rowSum + cv + 48) + v3, rowSum + cv + 48)
            }
            cv += 4 * lanes
        }
        while cv < cp {
            var acc = loadVec(bias + cv)
            for ky in kyLo ..< kyHi {
                var xp = rows[ky] + (ix0 + kxLo) * cp + cv
                var wp = wt + (ky * k + kxLo) * cp + cv
                for _ in kxLo ..< kxHi {
                    acc = madd(loadVec(xp), loadVec(wp), acc)
                    xp += cp
                    wp += cp
                }
            }
            let v = Act.apply(acc)
            storeVec(v, out + cv)
            if pooling { storeVec(loadVec(rowSum + cv) + v, rowSum + cv) }
            cv += lanes
        }
    }

    /// Eight horizontally adjacent interior output pixels: eight independent FMA chains per
    /// channel vector (enough to cover the FMA latency), one weight load per eight FMAs.
    @inline(__always)
    static func eight<Act: VectorActivation>(_: Act.Type, _ rows: UnsafePointer<UnsafePointer<Float>>, _ wt: UnsafePointer<Float>,
                                             _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                             _ rowSum: UnsafeMutablePointer<Float>, _ pooling: Bool,
                                             cp: Int, k: Int, s: Int, ix0: Int, kyLo: Int, kyHi: Int) {
        let step = s * cp
        var cv = 0
        while cv < cp {
            let b = loadVec(bias + cv)
            var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b
            for ky in kyLo ..< kyHi {
                var xp = rows[ky] + ix0 * cp + cv
                var wp = wt + ky * k * cp + cv
                for _ in 0 ..< k {
                    let wv = loadVec(wp)
                    a0 = madd(loadVec(xp), wv, a0)
                    a1 = madd(loadVec(xp + step), wv, a1)
                    a2 = madd(loadVec(xp + 2 * step), wv, a2)
                    a3 = madd(loadVec(xp + 3 * step), wv, a3)
                    a4 = madd(loadVec(xp + 4 * step), wv, a4)
                    a5 = madd(loadVec(xp + 5 * step), wv, a5)
                    a6 = madd(loadVec(xp + 6 * step), wv, a6)
                    a7 = madd(loadVec(xp + 7 * step), wv, a7)
                    xp += cp
                    wp += cp
                }
            }
            let v0 = Act.apply(a0), v1 = Act.apply(a1), v2 = Act.apply(a2), v3 = Act.apply(a3)
            let v4 = Act.apply(a4), v5 = Act.apply(a5), v6 = Act.apply(a6), v7 = Act.apply(a7)
            storeVec(v0, out + cv)
            storeVec(v1, out + cp + cv)
            storeVec(v2, out + 2 * cp + cv)
            storeVec(v3, out + 3 * cp + cv)
            storeVec(v4, out + 4 * cp + cv)
            storeVec(v5, out + 5 * cp + cv)
            storeVec(v6, out + 6 * cp + cv)
            storeVec(v7, out + 7 * cp + cv)
            if pooling {
                storeVec(loadVec(rowSum + cv) + (((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))), rowSum + cv)
            }
            cv += lanes
        }
    }

    /// Four horizontally adjacent interior output pixels.
    @inline(__always)
    static func four<Act: VectorActivation>(_: Act.Type, _ rows: UnsafePointer<UnsafePointer<Float>>, _ wt: UnsafePointer<Float>,
                                            _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                            _ rowSum: UnsafeMutablePointer<Float>, _ pooling: Bool,
                                            cp: Int, k: Int, s: Int, ix0: Int, kyLo: Int, kyHi: Int) {
        let step = s * cp
        var cv = 0
        while cv < cp {
            let b = loadVec(bias + cv)
            var a0 = b, a1 = b, a2 = b, a3 = b
            for ky in kyLo ..< kyHi {
                var xp = rows[ky] + ix0 * cp + cv
                var wp = wt + ky * k * cp + cv
                for _ in 0 ..< k {
                    let wv = loadVec(wp)
                    a0 = madd(loadVec(xp), wv, a0)
                    a1 = madd(loadVec(xp + step), wv, a1)
                    a2 = madd(loadVec(xp + 2 * step), wv, a2)
                    a3 = madd(loadVec(xp + 3 * step), wv, a3)
                    xp += cp
                    wp += cp
                }
            }
            let v0 = Act.apply(a0), v1 = Act.apply(a1), v2 = Act.apply(a2), v3 = Act.apply(a3)
            storeVec(v0, out + cv)
            storeVec(v1, out + cp + cv)
            storeVec(v2, out + 2 * cp + cv)
            storeVec(v3, out + 3 * cp + cv)
            if pooling { storeVec(loadVec(rowSum + cv) + ((v0 + v1) + (v2 + v3)), rowSum + cv) }
            cv += lanes
        }
    }
}
