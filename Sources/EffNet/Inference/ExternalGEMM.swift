/// A matrix product supplied from outside (a BLAS's sgemm), used instead of `GemmKernels` for the
/// 1x1 convolutions when set before a model's first forward pass. It exists to measure
/// `GemmKernels` against a BLAS inside the real network (effnet-bench's `--gemm openblas`); the
/// bias, activation and residual that `GemmKernels` fuses then run as a separate pass.
@_spi(Benchmarks) public enum ExternalGEMM {
    /// C (m x n) = A (m x k) * B (k x n) + beta * C, row-major, with leading dimensions.
    public typealias Function = @Sendable (_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                                           _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                                           _ c: UnsafeMutablePointer<Float>, _ ldc: Int) -> Void

    /// Read when a plan is built (a model's first forward pass, or after its weights change).
    public nonisolated(unsafe) static var function: Function?
}

extension GemmKernels {
    /// Rows `tiles` x columns `panels` of C = act(A B + bias) [+ C] with the plan's kernels, or
    /// with `ExternalGEMM` when the plan was built with it (then `b` must be the unscaled
    /// weights).
    static func product(_ pw: InferencePlan.Pointwise, b: UnsafePointer<Float>, m: Int, a: UnsafePointer<Float>, lda: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool, tiles: Range<Int>, panels: Range<Int>) {
        guard let external = pw.external, let plain = pw.plain else {
            run(activation: pw.activation, m: m, k: pw.matrix.k, a: a, lda: lda, b: b, packing: pw.matrix,
                bias: pw.bias.pointer, c: c, ldc: ldc, residual: residual, tiles: tiles, panels: panels)
            return
        }
        let r0 = tiles.lowerBound * tileRows, r1 = min(m, tiles.upperBound * tileRows)
        let n0 = panels.lowerBound * PackedMatrix.panelWidth
        let n1 = min(pw.matrix.np, panels.upperBound * PackedMatrix.panelWidth)
        guard r1 > r0, n1 > n0 else { return }
        external(r1 - r0, n1 - n0, pw.matrix.k, a + r0 * lda, lda, UnsafePointer(plain.pointer + n0), pw.matrix.np,
                 residual ? 1 : 0, c + r0 * ldc + n0, ldc)
        switch pw.activation {
        case nil: epilogue(IdentityActivation.self, rows: r0 ..< r1, columns: n0 ..< n1, bias: pw.bias.pointer, c: c, ldc: ldc)
        case .silu: epilogue(SiLUActivation.self, rows: r0 ..< r1, columns: n0 ..< n1, bias: pw.bias.pointer, c: c, ldc: ldc)
        case .relu6: epilogue(ReLU6Activation.self, rows: r0 ..< r1, columns: n0 ..< n1, bias: pw.bias.pointer, c: c, ldc: ldc)
        }
    }

    private static func epilogue<Act: VectorActivation>(_: Act.Type, rows: Range<Int>, columns: Range<Int>,
                                                        bias: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for r in rows {
            var n = columns.lowerBound
            while n < columns.upperBound {
                storeVec(Act.apply(loadVec(c + r * ldc + n) + loadVec(bias + n)), c + r * ldc + n)
                n += lanes
            }
        }
    }
}
