import CEffNetKernels

/// Dense k x k convolutions (the stem, Fused-MBConv blocks) to NHWC output, BN folded, activation
/// fused, as a matrix product per output row: the row's patches are gathered (im2col, K =
/// k * k * cin in (ky, kx, ci) order) and multiplied by the packed weights with `GemmKernels`.
/// The 3x3 stride-1 convolutions of Fused-MBConv blocks (most of an EfficientNetV2's work) go by
/// Winograd F(2x2, 3x3) instead (`runWinograd`): 16 multiplies per 2x2 outputs instead of 36.
///
/// The stem reads the few NCHW input channels: its input is first copied (with the config's
/// input transform applied) into a zero-padded HWC scratch image, so a window row is k * cin
/// consecutive floats and the gather needs no bounds checks; the transform applies before
/// padding, as the reference does. A fused block reads an NHWC activation (channel stride
/// rounded up to 16) and gathers its patches straight from it, zero outside the image.
enum DenseConvKernels {
    struct Shape: Equatable {
        var cin, h, w, k, stride: Int
        var padding: ConvPadding
        var oh, ow: Int
        /// Output channels rounded up to 16.
        var op: Int
        var paddedHeight: Int { h + padding.top + padding.bottom }
        var paddedWidth: Int { w + padding.left + padding.right }
        /// Multiply-accumulates of the whole convolution.
        var work: Int { oh * ow * op * k * k * cin }
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

    /// Output rows `rows` of the convolution of the padded HWC image `xp` (the stem).
    static func runPadded(_ sh: Shape, xp: UnsafePointer<Float>, weights: InferencePlan.Pointwise,
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
            product(sh, weights: weights, patches: patches, y: y, oy: oy, residual: false)
        }
    }

    /// Output rows `rows` of the convolution of an NHWC image `x` with channel stride `ldx`.
    /// With `residual`, each output adds what `y` already holds (the block's input, copied there).
    static func runNHWC(_ sh: Shape, x: UnsafePointer<Float>, ldx: Int, weights: InferencePlan.Pointwise,
                        y: UnsafeMutablePointer<Float>, rows: Range<Int>, patches: UnsafeMutablePointer<Float>,
                        residual: Bool) {
        let cin = sh.cin, taps = sh.k * sh.k * cin
        for oy in rows {
            let iy0 = oy * sh.stride - sh.padding.top
            for ox in 0 ..< sh.ow {
                let ix0 = ox * sh.stride - sh.padding.left
                var dst = patches + ox * taps
                for ky in 0 ..< sh.k {
                    let iy = iy0 + ky
                    guard iy >= 0 && iy < sh.h else {
                        dst.initialize(repeating: 0, count: sh.k * cin)
                        dst += sh.k * cin
                        continue
                    }
                    let row = x + iy * sh.w * ldx
                    for kx in 0 ..< sh.k {
                        let ix = ix0 + kx
                        if ix >= 0 && ix < sh.w {
                            dst.update(from: row + ix * ldx, count: cin)
                        } else {
                            dst.initialize(repeating: 0, count: cin)
                        }
                        dst += cin
                    }
                }
            }
            product(sh, weights: weights, patches: patches, y: y, oy: oy, residual: residual)
        }
    }

    /// Rows of 2x2 output tiles (output rows 2 * tileRow and 2 * tileRow + 1) of a 3x3 stride-1
    /// convolution of an NHWC image `x` with channel stride `ldx`, by Winograd F(2x2, 3x3)
    /// (CEffNetKernels' effnet_winograd_rows: input transform, 16 products with the GEMM tiles,
    /// output transform with bias, activation and the residual). Each tile row is computed the
    /// same way however the rows are split, so the result does not depend on the thread count.
    /// `scratch` holds `winogradScratchCount(sh)` floats.
    static func runWinograd(_ sh: Shape, x: UnsafePointer<Float>, ldx: Int, conv: InferencePlan.DenseConv,
                            kernels: InferencePlan.WinogradKernels, y: UnsafeMutablePointer<Float>, tileRows: Range<Int>,
                            scratch: UnsafeMutablePointer<Float>, residual: Bool) {
        precondition(sh.k == 3 && sh.stride == 1 && ldx >= winogradChannels(sh))
        var shape = effnet_winograd_shape(h: sh.h, w: sh.w, cin: sh.cin, ldx: ldx, np: sh.op, padTop: sh.padding.top,
                                          padLeft: sh.padding.left, oh: sh.oh, ow: sh.ow)
        let v = scratch, m = scratch + 16 * winogradTiles(sh) * winogradChannels(sh)
        for ty in tileRows {
            effnet_winograd_rows(conv.product.activation.kernelCode, &shape, ty, x, kernels.u.pointer,
                                 conv.product.bias.pointer, kernels.zeros.pointer, y, residual ? 1 : 0, v, m)
        }
    }

    /// Rows of 2x2 output tiles.
    static func winogradTileRows(_ sh: Shape) -> Int { (sh.oh + 1) / 2 }

    /// Tiles in one row.
    static func winogradTiles(_ sh: Shape) -> Int { (sh.ow + 1) / 2 }

    /// Input channels rounded up to 16, as the C kernel lays out its transformed input.
    static func winogradChannels(_ sh: Shape) -> Int { (sh.cin + 15) / 16 * 16 }

    /// Floats of one thread's scratch for one tile row: transformed input and the 16 products.
    static func winogradScratchCount(_ sh: Shape) -> Int { 16 * winogradTiles(sh) * (winogradChannels(sh) + sh.op) }

    /// One output row: the gathered patches (ow x k*k*cin) times the packed weights.
    @inline(__always)
    private static func product(_ sh: Shape, weights: InferencePlan.Pointwise, patches: UnsafeMutablePointer<Float>,
                                y: UnsafeMutablePointer<Float>, oy: Int, residual: Bool) {
        GemmKernels.product(weights, b: weights.matrix.data.pointer, m: sh.ow, a: patches, lda: sh.k * sh.k * sh.cin,
                            c: y + oy * sh.ow * sh.op, ldc: sh.op, residual: residual,
                            tiles: 0 ..< GemmKernels.tileCount(m: sh.ow), panels: 0 ..< weights.matrix.panelCount)
    }
}
