/// C = act(A * B + bias) [+ C] for the 1x1 convolutions (expand, project, head) and the
/// classifier. A is M x K row-major with row stride lda (NHWC activations: one row per pixel), B a
/// `PackedMatrix`, C is M x N with row stride ldc. The register tile is 8 rows x 32 columns
/// (16 vector accumulators: half the AVX-512 register file, enough independent FMAs to hide their
/// latency); a tile row of A is broadcast one element at a time against two vectors of B.
/// Rows past M in the last tile re-read the last row and are not stored, so there is no tail code.
enum GemmKernels {
    static let tileRows = 8

    /// Runs the tiles `tiles` (of `tileRows` rows) x panels `panels` of one product.
    static func run(activation: EfficientNetConfig.Activation?, m: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, packing: PackedMatrix,
                    bias: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool,
                    tiles: Range<Int>, panels: Range<Int>) {
        switch activation {
        case nil: run(IdentityActivation.self, m: m, k: k, a: a, lda: lda, b: b, packing: packing, bias: bias, c: c, ldc: ldc, residual: residual, tiles: tiles, panels: panels)
        case .silu: run(SiLUActivation.self, m: m, k: k, a: a, lda: lda, b: b, packing: packing, bias: bias, c: c, ldc: ldc, residual: residual, tiles: tiles, panels: panels)
        case .relu6: run(ReLU6Activation.self, m: m, k: k, a: a, lda: lda, b: b, packing: packing, bias: bias, c: c, ldc: ldc, residual: residual, tiles: tiles, panels: panels)
        }
    }

    static func tileCount(m: Int) -> Int { (m + tileRows - 1) / tileRows }

    @inline(never)
    static func run<Act: VectorActivation>(_ act: Act.Type, m: Int, k: Int,
                                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, packing: PackedMatrix,
                                           bias: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool,
                                           tiles: Range<Int>, panels: Range<Int>) {
        for t in tiles {
            let m0 = t * tileRows
            let rows = min(tileRows, m - m0)
            let at = a + m0 * lda, ct = c + m0 * ldc
            for j in panels {
                let n0 = j * PackedMatrix.panelWidth
                let bp = b + packing.panelOffset(j)
                if packing.panelWidth(j) == 32 {
                    tile8x32(act, k: k, a: at, lda: lda, rows: rows, b: bp, bias: bias + n0, c: ct + n0, ldc: ldc, residual: residual)
                } else {
                    tile8x16(act, k: k, a: at, lda: lda, rows: rows, b: bp, bias: bias + n0, c: ct + n0, ldc: ldc, residual: residual)
                }
            }
        }
    }

    @inline(__always)
    static func finish<Act: VectorActivation>(_: Act.Type, _ acc: Vec, _ bias: Vec, _ p: UnsafeMutablePointer<Float>, _ residual: Bool) {
        var y = Act.apply(acc + bias)
        if residual { y += loadVec(p) }
        storeVec(y, p)
    }

    @inline(__always)
    static func tile8x32<Act: VectorActivation>(_: Act.Type, k: Int, a: UnsafePointer<Float>, lda: Int, rows: Int,
                                                b: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                                c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool) {
        let last = rows - 1
        let a0 = a
        let a1 = a + min(1, last) * lda
        let a2 = a + min(2, last) * lda
        let a3 = a + min(3, last) * lda
        let a4 = a + min(4, last) * lda
        let a5 = a + min(5, last) * lda
        let a6 = a + min(6, last) * lda
        let a7 = a + min(7, last) * lda
        var c00 = Vec(), c01 = Vec(), c10 = Vec(), c11 = Vec(), c20 = Vec(), c21 = Vec(), c30 = Vec(), c31 = Vec()
        var c40 = Vec(), c41 = Vec(), c50 = Vec(), c51 = Vec(), c60 = Vec(), c61 = Vec(), c70 = Vec(), c71 = Vec()
        var bp = b
        for kk in 0 ..< k {
            let b0 = loadVec(bp), b1 = loadVec(bp + 16)
            let x0 = Vec(repeating: a0[kk]); c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01)
            let x1 = Vec(repeating: a1[kk]); c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11)
            let x2 = Vec(repeating: a2[kk]); c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21)
            let x3 = Vec(repeating: a3[kk]); c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31)
            let x4 = Vec(repeating: a4[kk]); c40 = madd(x4, b0, c40); c41 = madd(x4, b1, c41)
            let x5 = Vec(repeating: a5[kk]); c50 = madd(x5, b0, c50); c51 = madd(x5, b1, c51)
            let x6 = Vec(repeating: a6[kk]); c60 = madd(x6, b0, c60); c61 = madd(x6, b1, c61)
            let x7 = Vec(repeating: a7[kk]); c70 = madd(x7, b0, c70); c71 = madd(x7, b1, c71)
            bp += 32
        }
        let bias0 = loadVec(bias), bias1 = loadVec(bias + 16)
        finish(Act.self, c00, bias0, c + 0 * ldc, residual); finish(Act.self, c01, bias1, c + 0 * ldc + 16, residual)
        guard rows > 1 else { return }; finish(Act.self, c10, bias0, c + 1 * ldc, residual); finish(Act.self, c11, bias1, c + 1 * ldc + 16, residual)
        guard rows > 2 else { return }; finish(Act.self, c20, bias0, c + 2 * ldc, residual); finish(Act.self, c21, bias1, c + 2 * ldc + 16, residual)
        guard rows > 3 else { return }; finish(Act.self, c30, bias0, c + 3 * ldc, residual); finish(Act.self, c31, bias1, c + 3 * ldc + 16, residual)
        guard rows > 4 else { return }; finish(Act.self, c40, bias0, c + 4 * ldc, residual); finish(Act.self, c41, bias1, c + 4 * ldc + 16, residual)
        guard rows > 5 else { return }; finish(Act.self, c50, bias0, c + 5 * ldc, residual); finish(Act.self, c51, bias1, c + 5 * ldc + 16, residual)
        guard rows > 6 else { return }; finish(Act.self, c60, bias0, c + 6 * ldc, residual); finish(Act.self, c61, bias1, c + 6 * ldc + 16, residual)
        guard rows > 7 else { return }; finish(Act.self, c70, bias0, c + 7 * ldc, residual); finish(Act.self, c71, bias1, c + 7 * ldc + 16, residual)
    }

    @inline(__always)
    static func tile8x16<Act: VectorActivation>(_: Act.Type, k: Int, a: UnsafePointer<Float>, lda: Int, rows: Int,
                                                b: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                                c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool) {
        let last = rows - 1
        let a0 = a
        let a1 = a + min(1, last) * lda
        let a2 = a + min(2, last) * lda
        let a3 = a + min(3, last) * lda
        let a4 = a + min(4, last) * lda
        let a5 = a + min(5, last) * lda
        let a6 = a + min(6, last) * lda
        let a7 = a + min(7, last) * lda
        var c0 = Vec(), c1 = Vec(), c2 = Vec(), c3 = Vec(), c4 = Vec(), c5 = Vec(), c6 = Vec(), c7 = Vec()
        var bp = b
        for kk in 0 ..< k {
            let b0 = loadVec(bp)
            c0 = madd(Vec(repeating: a0[kk]), b0, c0); c1 = madd(Vec(repeating: a1[kk]), b0, c1); c2 = madd(Vec(repeating: a2[kk]), b0, c2); c3 = madd(Vec(repeating: a3[kk]), b0, c3)
            c4 = madd(Vec(repeating: a4[kk]), b0, c4); c5 = madd(Vec(repeating: a5[kk]), b0, c5); c6 = madd(Vec(repeating: a6[kk]), b0, c6); c7 = madd(Vec(repeating: a7[kk]), b0, c7)
            bp += 16
        }
        let bias0 = loadVec(bias)
        finish(Act.self, c0, bias0, c + 0 * ldc, residual)
        guard rows > 1 else { return }; finish(Act.self, c1, bias0, c + 1 * ldc, residual)
        guard rows > 2 else { return }; finish(Act.self, c2, bias0, c + 2 * ldc, residual)
        guard rows > 3 else { return }; finish(Act.self, c3, bias0, c + 3 * ldc, residual)
        guard rows > 4 else { return }; finish(Act.self, c4, bias0, c + 4 * ldc, residual)
        guard rows > 5 else { return }; finish(Act.self, c5, bias0, c + 5 * ldc, residual)
        guard rows > 6 else { return }; finish(Act.self, c6, bias0, c + 6 * ldc, residual)
        guard rows > 7 else { return }; finish(Act.self, c7, bias0, c + 7 * ldc, residual)
    }
}
