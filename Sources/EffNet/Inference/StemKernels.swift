/// The stem: a dense k x k convolution from the few NCHW input channels to NHWC output, BN folded,
/// activation fused. The input is first copied (with the config's input transform applied) into a
/// zero-padded HWC scratch image, so the convolution itself needs no bounds checks and applies the
/// transform before padding, as the reference does; then it is a matrix product per output row
/// (im2col with K = k * k * cin).
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

    /// input (one image, NCHW) -> rows `rows` (of paddedHeight) of the padded HWC scratch.
    static func pad(_ sh: Shape, input: UnsafePointer<Float>, transform: EfficientNetConfig.InputTransform?,
                    into xp: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let wp = sh.paddedWidth, cin = sh.cin
        (xp + rows.lowerBound * wp * cin).initialize(repeating: 0, count: rows.count * wp * cin)
        let inside = max(0, rows.lowerBound - sh.padding.top) ..< min(sh.h, max(0, rows.upperBound - sh.padding.top))
        for c in 0 ..< cin {
            let scale = transform?.scale[c] ?? 1, offset = transform?.offset[c] ?? 0
            let plane = input + c * sh.h * sh.w
            for iy in inside {
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

    /// Output rows `rows` of the convolution of the padded image `xp`: each output row's patches
    /// are gathered into `patches` (ow x k*k*cin, im2col; a window row is k*cin consecutive floats
    /// of the padded image), then multiplied by the packed weights with `GemmKernels`, bias and
    /// activation fused.
    static func run(_ sh: Shape, xp: UnsafePointer<Float>, weights: InferencePlan.Pointwise,
                    y: UnsafeMutablePointer<Float>, rows: Range<Int>, patches: UnsafeMutablePointer<Float>) {
        let span = sh.k * sh.cin, taps = sh.k * span, wp = sh.paddedWidth
        for oy in rows {
            for ox in 0 ..< sh.ow {
                let origin = xp + (oy * sh.stride * wp + ox * sh.stride) * sh.cin
                let dst = patches + ox * taps
                for ky in 0 ..< sh.k {
                    (dst + ky * span).update(from: origin + ky * wp * sh.cin, count: span)
                }
            }
            GemmKernels.product(weights, b: weights.matrix.data.pointer, m: sh.ow, a: patches, lda: taps,
                                c: y + oy * sh.ow * sh.op, ldc: sh.op, residual: false,
                                tiles: 0 ..< GemmKernels.tileCount(m: sh.ow), panels: 0 ..< weights.matrix.panelCount)
        }
    }
}
