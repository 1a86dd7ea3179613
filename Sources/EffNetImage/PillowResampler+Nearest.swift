extension PillowResampler {
    /// Pillow's `Image.resize(size, NEAREST)`: not a filter but an affine scale
    /// (`ImagingScaleAffine`): output x reads source `int(xo)` where xo starts at
    /// `in/out * 0.5` and grows by `in/out` per pixel, accumulated in double exactly as Pillow
    /// does (so the rare coordinate that lands on an integer rounds the same way).
    static func nearestWindow(_ image: RGBImage, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * columns.count * 3)
        let validRows = rows.clamped(to: 0 ..< height), validCols = columns.clamped(to: 0 ..< width)
        guard !validRows.isEmpty, !validCols.isEmpty else { return out }
        let xs = nearestIndices(inSize: image.width, outSize: width, outputs: validCols)
        let ys = nearestIndices(inSize: image.height, outSize: height, outputs: validRows)
        let outStride = columns.count * 3, srcStride = image.width * 3
        let colOffset = (validCols.lowerBound - columns.lowerBound) * 3
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { out in
                for (i, y) in validRows.enumerated() {
                    let row = src.baseAddress! + ys[i] * srcStride
                    let o = out.baseAddress! + (y - rows.lowerBound) * outStride + colOffset
                    for (j, x) in xs.enumerated() {
                        o[3 * j] = row[3 * x]; o[3 * j + 1] = row[3 * x + 1]; o[3 * j + 2] = row[3 * x + 2]
                    }
                }
            }
        }
        return out
    }

    /// Source index of each output coordinate in `outputs` (Pillow's `xintab`). A size kept is
    /// the identity (Pillow crops instead of scaling then).
    static func nearestIndices(inSize: Int, outSize: Int, outputs: Range<Int>) -> [Int] {
        if inSize == outSize { return Array(outputs) }
        // a[0] = (double)(box[2] - box[0]) / xsize; box holds floats, exact for these sizes.
        let step = Double(Float(inSize)) / Double(outSize)
        var xo = step * 0.5
        var result: [Int] = []
        result.reserveCapacity(outputs.count)
        for x in 0 ..< outputs.upperBound {
            // COORD: -1 below 0, else truncation; Pillow leaves out-of-range outputs unwritten
            // (zero), which cannot happen for a whole-image box.
            if x >= outputs.lowerBound { result.append(min(max(Int(xo), 0), inSize - 1)) }
            xo += step
        }
        return result
    }
}
