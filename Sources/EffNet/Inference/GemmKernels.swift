import CEffNetKernels

/// C = act(A * B + bias) [+ C] for the 1x1 convolutions (expand, project, head) and the
/// classifier. A is M x K row-major with row stride lda (NHWC activations: one row per pixel), B a
/// `PackedMatrix`, C is M x N with row stride ldc. The register tile is 8 rows x 32 columns
/// (16 vector accumulators: half the AVX-512 register file, enough independent FMAs to hide their
/// latency); a tile row of A is broadcast one element at a time against two vectors of B.
/// Rows past M in the last tile re-read the last row and are not stored, so there is no tail code.
/// The loops are C (Sources/CEffNetKernels), compiled for several CPU levels and chosen at run
/// time, so that a plain `swift build -c release` gets AVX-512/AVX2 with FMA where the CPU has them.
enum GemmKernels {
    static let tileRows = 8

    /// Runs the tiles `tiles` (of `tileRows` rows) x panels `panels` of one product, with the C
    /// kernels of the CPU's level (CEffNetKernels' effnet_gemm).
    static func run(activation: EfficientNetConfig.Activation?, m: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, packing: PackedMatrix,
                    bias: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool,
                    tiles: Range<Int>, panels: Range<Int>) {
        guard !tiles.isEmpty, !panels.isEmpty else { return }
        precondition(packing.k == k)
        effnet_gemm(activation.kernelCode, m, k, a, lda, b, packing.np, bias, c, ldc, residual ? 1 : 0,
                    tiles.lowerBound, tiles.upperBound, panels.lowerBound, panels.upperBound)
    }

    static func tileCount(m: Int) -> Int { (m + tileRows - 1) / tileRows }
}

extension Optional where Wrapped == EfficientNetConfig.Activation {
    /// The activation's EFFNET_ACT_* code for the C kernels.
    var kernelCode: Int32 {
        switch self {
        case nil: return Int32(EFFNET_ACT_IDENTITY)
        case .silu: return Int32(EFFNET_ACT_SILU)
        case .relu6: return Int32(EFFNET_ACT_RELU6)
        }
    }
}
