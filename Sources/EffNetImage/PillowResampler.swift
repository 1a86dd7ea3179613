import CEffNetKernels
import EffNet

/// Pillow's `Image.resize(size, filter)` for 8-bit RGB images, reproduced operation for operation
/// (Pillow's src/libImaging/Resample.c, `ImagingResampleInner`), for the BILINEAR filter
/// (triangle, support 1) and the BICUBIC one (Keys' cubic with a = -0.5, support 2):
///
/// - the filter's support grows with the downscale factor (antialiasing: support * in/out);
/// - each output coordinate's weights are computed in double and normalised to sum 1, then
///   turned into 22-bit fixed point (`normalize_coeffs_8bpc`, rounding half away from zero);
/// - one pass rounds to uint8 (with Pillow's clamp), then the other pass on those uint8 values
///   rounds again. A dimension that keeps its size is copied, not filtered. The horizontal pass
///   comes first, except where Pillow 13 runs the vertical one first: when the height shrinks by
///   more than twice what the width shrinks (`verticalFirst`).
///
/// Every step is integer or the same double arithmetic as Pillow's, so the output equals
/// Pillow's byte for byte (the tests hold it to 0 difference). The taps are computed here; the
/// weighted sums, rounding and clip8 run in the vector kernels (`effnet_resample_row`,
/// `effnet_resample_column` in CEffNetKernels). NEAREST is a different code path
/// in Pillow (`PillowResampler+Nearest.swift`).
///
/// Only the output pixels a caller asks for are computed (a window of the resized image), so a
/// centre crop never pays for the whole resize.
struct PillowResampler {
    /// Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2.
    static let precisionBits = 22

    enum Filter {
        case bilinear, bicubic

        var support: Double { self == .bilinear ? 1 : 2 }

        /// Pillow's `bilinear_filter` and `bicubic_filter` (a = -0.5), same operation order.
        @inline(__always)
        func callAsFunction(_ x: Double) -> Double {
            let x = x < 0 ? -x : x
            switch self {
            case .bilinear:
                return x < 1 ? 1 - x : 0
            case .bicubic:
                let a = -0.5
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    /// Fixed-point filter taps for a run of output coordinates: output `i` reads source indices
    /// `first[i] ..< first[i] + count[i]` with `weights[i * stride ..< i * stride + count[i]]`.
    struct Taps {
        var first: [Int] = []
        var count: [Int] = []
        var weights: [Int32] = []
        var stride = 0
    }

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for outputs `outputs` when `inSize`
    /// source pixels become `outSize` (box = the whole source, so in0 = 0 and in1 = inSize).
    static func taps(inSize: Int, outSize: Int, outputs: Range<Int>, filter: Filter) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = filter.support * filterScale
        let invFilterScale = 1.0 / filterScale
        var t = Taps()
        t.stride = Int(support.rounded(.up)) * 2 + 1
        t.first.reserveCapacity(outputs.count)
        t.count.reserveCapacity(outputs.count)
        t.weights = [Int32](repeating: 0, count: outputs.count * t.stride)
        let one = Double(1 << precisionBits)
        var k = [Double](repeating: 0, count: t.stride)
        for (i, xx) in outputs.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) truncates toward zero, as Int(_:) does.
            let xmin = max(0, Int(center - support + 0.5))
            let n = max(0, min(inSize, Int(center + support + 0.5)) - xmin)
            var ww = 0.0
            for x in 0 ..< n {
                let w = filter((Double(x + xmin) - center + 0.5) * invFilterScale)
                k[x] = w
                ww += w
            }
            if ww != 0 { for x in 0 ..< n { k[x] /= ww } }
            for x in 0 ..< n {
                let v = k[x]
                t.weights[i * t.stride + x] = v < 0 ? Int32(-0.5 + v * one) : Int32(0.5 + v * one)
            }
            t.first.append(xmin)
            t.count.append(n)
        }
        return t
    }

    /// The window `rows` x `columns` of `image` resized to `width` x `height` with
    /// `interpolation`, RGB8 row-major. Coordinates outside the resized image are 0 (torchvision
    /// pads a too-small crop with 0).
    static func resizeWindow(_ image: RGBImage, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>,
                             interpolation: EfficientNetConfig.ImagePreprocessing.Interpolation) -> [UInt8] {
        switch interpolation {
        case .nearest: return nearestWindow(image, width: width, height: height, rows: rows, columns: columns)
        case .bilinear: return resizeWindow(image, width: width, height: height, rows: rows, columns: columns, filter: .bilinear)
        case .bicubic: return resizeWindow(image, width: width, height: height, rows: rows, columns: columns, filter: .bicubic)
        }
    }

    /// Whether Pillow runs the vertical pass first for `inWidth` x `inHeight` -> `width` x
    /// `height` (both passes needed). Pillow 13.0 does when the height shrinks and by more than
    /// twice as many pixels as the width does; earlier Pillows always ran the horizontal pass
    /// first. The rule was read off Pillow 13.0.0's output (its release source differs from the
    /// pull request that introduced the reordering): it decides every one of the fixtures' and
    /// of 302 random sizes' passes, bilinear and bicubic, and the order changes pixels by up to
    /// a few levels, so the fixtures' byte-exact comparison holds it.
    static func verticalFirst(inWidth: Int, inHeight: Int, width: Int, height: Int) -> Bool {
        height < inHeight && inHeight - height > 2 * (inWidth - width)
    }

    static func resizeWindow(_ image: RGBImage, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>,
                             filter: Filter) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * columns.count * 3)
        let validRows = rows.clamped(to: 0 ..< height), validCols = columns.clamped(to: 0 ..< width)
        guard !validRows.isEmpty, !validCols.isEmpty else { return out }
        let needHorizontal = width != image.width, needVertical = height != image.height
        if needHorizontal && needVertical && verticalFirst(inWidth: image.width, inHeight: image.height, width: width, height: height) {
            return resizeVerticalFirst(image, width: width, height: height, rows: rows, columns: columns, filter: filter)
        }
        let srcStride = image.width * 3

        // Vertical taps decide which source rows the horizontal pass must produce.
        let vTaps = needVertical ? taps(inSize: image.height, outSize: height, outputs: validRows, filter: filter) : Taps()
        let firstRow = needVertical ? vTaps.first[0] : validRows.lowerBound
        let lastRow = needVertical ? vTaps.first[vTaps.first.count - 1] + vTaps.count[vTaps.count.count - 1] : validRows.upperBound
        let tempRows = max(0, lastRow - firstRow), tempStride = validCols.count * 3

        // Horizontal pass (or a copy of the needed columns) into temp, uint8 as in Pillow.
        var temp = [UInt8](repeating: 0, count: tempRows * tempStride)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { temp in
                if needHorizontal {
                    let h = HorizontalTaps(taps(inSize: image.width, outSize: width, outputs: validCols, filter: filter))
                    let end = src.baseAddress! + src.count
                    for r in 0 ..< tempRows {
                        h.run(src.baseAddress! + (firstRow + r) * srcStride, end: end, into: temp.baseAddress! + r * tempStride)
                    }
                } else {
                    for r in 0 ..< tempRows {
                        let from = src.baseAddress! + (firstRow + r) * srcStride + validCols.lowerBound * 3
                        (temp.baseAddress! + r * tempStride).update(from: from, count: tempStride)
                    }
                }
            }
        }

        // Vertical pass (or a copy) into the window.
        let outStride = columns.count * 3
        let colOffset = (validCols.lowerBound - columns.lowerBound) * 3
        temp.withUnsafeBufferPointer { temp in
            out.withUnsafeMutableBufferPointer { out in
                vTaps.weights.withUnsafeBufferPointer { weights in
                    for (i, y) in validRows.enumerated() {
                        let outRow = out.baseAddress! + (y - rows.lowerBound) * outStride + colOffset
                        if needVertical {
                            verticalRow(temp.baseAddress! + (vTaps.first[i] - firstRow) * tempStride, stride: tempStride,
                                        weights.baseAddress! + i * vTaps.stride, vTaps.count[i], outRow, count: tempStride)
                        } else {
                            outRow.update(from: temp.baseAddress! + (y - firstRow) * tempStride, count: tempStride)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Both passes, the vertical one first (Pillow 13's order when the height shrinks most): the
    /// source columns the horizontal taps of `columns` read are filtered vertically into uint8
    /// rows, which are then filtered horizontally.
    static func resizeVerticalFirst(_ image: RGBImage, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>,
                                    filter: Filter) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * columns.count * 3)
        let validRows = rows.clamped(to: 0 ..< height), validCols = columns.clamped(to: 0 ..< width)
        let hTaps = taps(inSize: image.width, outSize: width, outputs: validCols, filter: filter)
        let h = HorizontalTaps(hTaps, origin: hTaps.first[0])
        let v = taps(inSize: image.height, outSize: height, outputs: validRows, filter: filter)
        let firstCol = hTaps.first[0], lastCol = hTaps.first[hTaps.first.count - 1] + hTaps.count[hTaps.count.count - 1]
        let tempStride = max(0, lastCol - firstCol) * 3, srcStride = image.width * 3
        var temp = [UInt8](repeating: 0, count: validRows.count * tempStride)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { temp in
                v.weights.withUnsafeBufferPointer { weights in
                    for i in 0 ..< validRows.count {
                        verticalRow(src.baseAddress! + v.first[i] * srcStride + firstCol * 3, stride: srcStride,
                                    weights.baseAddress! + i * v.stride, v.count[i], temp.baseAddress! + i * tempStride, count: tempStride)
                    }
                }
            }
        }
        let outStride = columns.count * 3
        let colOffset = (validCols.lowerBound - columns.lowerBound) * 3
        temp.withUnsafeBufferPointer { temp in
            out.withUnsafeMutableBufferPointer { out in
                let end = temp.baseAddress! + temp.count
                for (i, y) in validRows.enumerated() {
                    h.run(temp.baseAddress! + i * tempStride, end: end, into: out.baseAddress! + (y - rows.lowerBound) * outStride + colOffset)
                }
            }
        }
        return out
    }

    /// The horizontal taps laid out for the kernels' `effnet_resample_row` (CEffNetKernels, one
    /// build per vector level, chosen at run time): each output pixel's taps become per-byte
    /// weights over its source pixels' interleaved RGB bytes (tap k's weight at bytes 3k, 3k+1,
    /// 3k+2), in 16-lane chunks of which 12 lanes (4 taps) are used. One chunk is then one
    /// 16-lane integer multiply-add over 4 taps of all three channels, where Pillow's loop does 12
    /// scalar ones. Integer sums in any order are the same, so the bytes stay Pillow's.
    struct HorizontalTaps {
        let first: [Int], count: [Int]
        /// 16 Int32 per chunk, `chunks` chunks per output pixel.
        let weights: [Int32]
        let chunks: Int
        /// Taps index source pixels from `origin` (the first column the rows passed to `run` hold).
        let origin: Int

        init(_ t: Taps, origin: Int = 0) {
            first = t.first; count = t.count; self.origin = origin
            chunks = max(1, ((t.count.max() ?? 0) + 3) / 4)
            var w = [Int32](repeating: 0, count: t.first.count * chunks * 16)
            for j in 0 ..< t.first.count {
                for k in 0 ..< t.count[j] {
                    let v = t.weights[j * t.stride + k]
                    let at = (j * chunks + k / 4) * 16 + (k % 4) * 3
                    w[at] = v; w[at + 1] = v; w[at + 2] = v
                }
            }
            weights = w
        }

        /// One row: output pixel j from `row`'s source pixels first[j] - origin ..< + count[j];
        /// `end` bounds the buffer `row` lies in.
        func run(_ row: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
            first.withUnsafeBufferPointer { f in
                count.withUnsafeBufferPointer { n in
                    weights.withUnsafeBufferPointer { w in
                        effnet_resample_row(row, end, origin, f.count, f.baseAddress, n.baseAddress, w.baseAddress, chunks, out)
                    }
                }
            }
        }
    }

    /// One output row of the vertical pass: `n` rows from `src` (`stride` bytes apart) weighted,
    /// `count` bytes wide, by the kernels' `effnet_resample_column` (16 bytes at a time, Int32
    /// sums as Pillow's `int` ones: 22-bit weights that sum to about 2^22 times 255 cannot overflow).
    @inline(__always)
    private static func verticalRow(_ src: UnsafePointer<UInt8>, stride: Int, _ w: UnsafePointer<Int32>, _ n: Int,
                                    _ out: UnsafeMutablePointer<UInt8>, count: Int) {
        effnet_resample_column(src, stride, w, n, out, count)
    }
}
