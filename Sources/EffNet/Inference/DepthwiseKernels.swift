import CEffNetKernels

/// Depthwise k x k convolution on NHWC activations (channel stride cp, a multiple of 16), BN
/// folded into weights and bias, activation fused, and optionally the squeeze-and-excitation
/// pooling fused too (per-channel sums of the activated output, in Double across rows as the
/// reference's average pool does).
///
/// Vectorised along channels: one vector holds 16 channels of one pixel, multiplied by the 16
/// channels' weights for a tap. Interior pixels (whose window lies inside the image) go four at
/// a time, so each weight vector loaded serves four outputs; border pixels clip their window to
/// the image, which is zero padding without a padded copy. The loops are C (CEffNetKernels'
/// effnet_depthwise_row, compiled per CPU level and chosen at run time).
enum DepthwiseKernels {
    struct Shape: Equatable {
        var h, w, cp, k, stride: Int
        var padding: ConvPadding
        var oh, ow: Int
    }

    /// Computes output rows `rows` of a contiguous input x ([h][w][cp]) into y ([oh][ow][cp]).
    /// When `pools` ([oh][cp] Doubles) is given, row oy's channel sums are written to pools[oy];
    /// `rowSum` is cp floats of scratch.
    static func run(activation: EfficientNetConfig.Activation?, shape sh: Shape, x: UnsafePointer<Float>,
                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                    rows: Range<Int>, pools: UnsafeMutablePointer<Double>?, rowSum: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: sh.k) { inputRows in
            for oy in rows {
                let iy0 = oy * sh.stride - sh.padding.top
                for ky in 0 ..< sh.k where iy0 + ky >= 0 && iy0 + ky < sh.h {
                    inputRows[ky] = x + (iy0 + ky) * sh.w * sh.cp
                }
                let pool = pools.map { $0 + oy * sh.cp }
                pool?.initialize(repeating: 0, count: sh.cp)
                row(activation: activation, shape: sh, oy: oy, inputRows: UnsafePointer(inputRows.baseAddress!),
                    weights: weights, bias: bias, y: y, pool: pool, rowSum: rowSum)
            }
        }
    }

    /// Computes output row `oy` into y. inputRows[ky] points at input row oy * stride - top + ky
    /// (its pixel 0, channel 0) for every ky whose row is inside the image; rows need not be
    /// contiguous, so they can come from a ring buffer (see `FastForward`'s fused blocks).
    static func row(activation: EfficientNetConfig.Activation?, shape sh: Shape, oy: Int,
                    inputRows: UnsafePointer<UnsafePointer<Float>>, weights: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                    pool: UnsafeMutablePointer<Double>?, rowSum: UnsafeMutablePointer<Float>) {
        var shape = effnet_depthwise_shape(h: sh.h, w: sh.w, cp: sh.cp, k: sh.k, stride: sh.stride,
                                           padTop: sh.padding.top, padLeft: sh.padding.left, oh: sh.oh, ow: sh.ow)
        inputRows.withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: sh.k) { rows in
            effnet_depthwise_row(activation.kernelCode, &shape, oy, rows, weights, bias, y, pool, rowSum)
        }
    }
}
