/// Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit images, reproduced operation for
/// operation (Pillow's src/libImaging/Resample.c): a triangle filter whose support grows with the
/// downscale factor (antialiasing), coefficients computed in double and normalised, then turned
/// into 22-bit fixed point; a horizontal pass rounded to uint8, then a vertical pass rounded to
/// uint8. Matching it exactly is what makes the preprocessed tensor equal torchvision's
/// `Resize` on PIL images, not merely close.
///
/// Only the output pixels a caller asks for are computed (a window of the resized image), so a
/// centre crop never pays for the whole resize.
struct BilinearResampler {
    /// Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2.
    static let precisionBits = 22

    /// Filter taps of one output coordinate: source index `first` onwards.
    struct Taps {
        var first: Int
        var weights: [Int32]
    }

    /// Taps for output coordinates `outputs` when `inSize` source pixels become `outSize`.
    static func taps(inSize: Int, outSize: Int, outputs: Range<Int>) -> [Taps] {
        // precompute_coeffs: in0 = 0, in1 = inSize (floats in Pillow, exact here).
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale          // the bilinear filter's support is 1
        let ss = 1.0 / filterScale
        var result: [Taps] = []
        result.reserveCapacity(outputs.count)
        for xx in outputs {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) truncates toward zero, as Int(_:) does.
            let xmin = max(0, Int(center - support + 0.5))
            let xmax = min(inSize, Int(center + support + 0.5)) - xmin
            var k = [Double](repeating: 0, count: max(0, xmax))
            var ww = 0.0
            for x in 0 ..< max(0, xmax) {
                let w = triangle((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            if ww != 0 { for x in k.indices { k[x] /= ww } }
            // normalize_coeffs_8bpc
            let one = Double(1 << precisionBits)
            let fixed = k.map { v -> Int32 in v < 0 ? Int32(-0.5 + v * one) : Int32(0.5 + v * one) }
            result.append(Taps(first: xmin, weights: fixed))
        }
        return result
    }

    static func triangle(_ x: Double) -> Double {
        let a = abs(x)
        return a < 1 ? 1 - a : 0
    }

    /// Pillow's clip8: (sum >> 22) clamped to 0...255 (the sum already holds the rounding half).
    @inline(__always)
    static func clip8(_ sum: Int) -> UInt8 {
        let v = sum >> precisionBits
        return UInt8(clamping: v)
    }

    /// The window `rows` x `columns` of `image` resized to `width` x `height`, RGB8 row-major.
    /// Coordinates outside the resized image are 0 (torchvision pads a too-small crop with 0).
    static func resizeWindow(_ image: RGBImage, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * columns.count * 3)
        let validRows = rows.clamped(to: 0 ..< height), validCols = columns.clamped(to: 0 ..< width)
        guard !validRows.isEmpty, !validCols.isEmpty else { return out }
        let needHorizontal = width != image.width, needVertical = height != image.height
        let half = 1 << (precisionBits - 1)
        let src = image.pixels, srcStride = image.width * 3

        // Vertical taps decide which source rows the horizontal pass must produce.
        let vTaps = needVertical ? taps(inSize: image.height, outSize: height, outputs: validRows) : []
        let firstRow = needVertical ? vTaps[0].first : validRows.lowerBound
        let lastRow = needVertical ? (vTaps.last.map { $0.first + $0.weights.count } ?? firstRow) : validRows.upperBound
        let tempRows = max(0, lastRow - firstRow), tempStride = validCols.count * 3

        // Horizontal pass (or a copy of the needed columns) into temp, uint8 as in Pillow.
        var temp = [UInt8](repeating: 0, count: tempRows * tempStride)
        if needHorizontal {
            let hTaps = taps(inSize: image.width, outSize: width, outputs: validCols)
            for r in 0 ..< tempRows {
                let rowBase = (firstRow + r) * srcStride
                for (j, t) in hTaps.enumerated() {
                    var s0 = half, s1 = half, s2 = half
                    for (x, w) in t.weights.enumerated() {
                        let p = rowBase + (t.first + x) * 3
                        let wi = Int(w)
                        s0 += Int(src[p]) * wi
                        s1 += Int(src[p + 1]) * wi
                        s2 += Int(src[p + 2]) * wi
                    }
                    let q = r * tempStride + j * 3
                    temp[q] = clip8(s0); temp[q + 1] = clip8(s1); temp[q + 2] = clip8(s2)
                }
            }
        } else {
            for r in 0 ..< tempRows {
                let from = (firstRow + r) * srcStride + validCols.lowerBound * 3
                for i in 0 ..< tempStride { temp[r * tempStride + i] = src[from + i] }
            }
        }

        // Vertical pass (or a copy) into the window.
        let outStride = columns.count * 3
        let colOffset = (validCols.lowerBound - columns.lowerBound) * 3
        for (i, y) in validRows.enumerated() {
            let outBase = (y - rows.lowerBound) * outStride + colOffset
            if needVertical {
                let t = vTaps[i]
                for c in 0 ..< tempStride {
                    var s = half
                    for (k, w) in t.weights.enumerated() {
                        s += Int(temp[(t.first - firstRow + k) * tempStride + c]) * Int(w)
                    }
                    out[outBase + c] = clip8(s)
                }
            } else {
                let from = (y - firstRow) * tempStride
                for c in 0 ..< tempStride { out[outBase + c] = temp[from + c] }
            }
        }
        return out
    }
}
