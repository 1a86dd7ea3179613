import Dispatch

/// Conv (2-D, grouped, strided, dilated, any padding) and inference BatchNormalization.
extension Kernels {
    /// Padding of one spatial axis: (begin, end).
    static func samePadding(input: Int, kernel: Int, stride: Int, dilation: Int, upper: Bool) -> (Int, Int) {
        let out = (input + stride - 1) / stride
        let total = max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - input)
        return upper ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
    }

    static func conv(_ c: OpContext) throws -> ONNXArray {
        let x = try c.floatInput(0), w = try c.floatInput(1)
        let b = c.optionalInput(2)
        guard x.rank == 4, w.rank == 4 else {
            throw c.unsupported("\(x.rank - 2)-D convolution (input \(x.shape), weight \(w.shape)); only 2-D")
        }
        let (n, ch, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let group = try c.int("group", default: 1)
        guard group >= 1, cg * group == ch, m % group == 0 else {
            throw c.fail("weight \(w.shape) with group \(group) does not fit input \(x.shape)")
        }
        if let ks = try c.ints("kernel_shape"), ks != [kh, kw] { throw c.fail("kernel_shape \(ks) differs from weight \(w.shape)") }
        let strides = try c.ints("strides") ?? [1, 1], dilations = try c.ints("dilations") ?? [1, 1]
        guard strides.count == 2, dilations.count == 2, strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
            throw c.fail("invalid strides \(strides) or dilations \(dilations)")
        }
        var pads = try c.ints("pads") ?? [0, 0, 0, 0]
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else { throw c.fail("invalid pads \(pads)") }
        switch try c.string("auto_pad", default: "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            let ph = samePadding(input: h, kernel: kh, stride: strides[0], dilation: dilations[0], upper: mode == "SAME_UPPER")
            let pw = samePadding(input: wd, kernel: kw, stride: strides[1], dilation: dilations[1], upper: mode == "SAME_UPPER")
            pads = [ph.0, pw.0, ph.1, pw.1]
        case let mode: throw c.fail("unknown auto_pad '\(mode)'")
        }
        let spanH = (kh - 1) * dilations[0] + 1, spanW = (kw - 1) * dilations[1] + 1
        guard h + pads[0] + pads[2] >= spanH, wd + pads[1] + pads[3] >= spanW else {
            throw c.fail("kernel \(kh)x\(kw) does not fit the padded input \(x.shape) (pads \(pads))")
        }
        let oh = (h + pads[0] + pads[2] - spanH) / strides[0] + 1
        let ow = (wd + pads[1] + pads[3] - spanW) / strides[1] + 1
        if let b, b.count != m { throw c.fail("bias has \(b.count) values for \(m) output channels") }
        let total = try c.count([n, m, oh, ow])
        let geometry = ConvGeometry(n: n, c: ch, h: h, w: wd, m: m, cg: cg, kh: kh, kw: kw, oh: oh, ow: ow,
                                    sh: strides[0], sw: strides[1], dh: dilations[0], dw: dilations[1],
                                    padTop: pads[0], padLeft: pads[1], group: group)
        var out = [Double](repeating: 0, count: total)
        if total == 0 { return ONNXArray(doubles: out, shape: [n, m, oh, ow]) }
        if x.count == 0 || w.count == 0 {  // no input channels: the bias alone
            for p in 0 ..< n * m { for i in 0 ..< oh * ow { out[p * oh * ow + i] = b?.doubles[p % m] ?? 0 } }
            return ONNXArray(doubles: out, shape: [n, m, oh, ow])
        }
        x.doubles.withUnsafeBufferPointer { xp in
            w.doubles.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    geometry.run(x: xp, w: wp, bias: b?.doubles, out: op)
                }
            }
        }
        return ONNXArray(doubles: out, shape: [n, m, oh, ow])
    }

    static func batchNormalization(_ c: OpContext) throws -> ONNXArray {
        if c.node.outputs.count > 1 && c.node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
            throw c.unsupported("training-mode outputs (running mean/variance)")
        }
        if try c.int("training_mode", default: 0) != 0 { throw c.unsupported("training_mode = 1") }
        var x = try c.floatInput(0)
        let params = try (1 ... 4).map { try c.floatInput($0) }
        guard x.rank >= 2 else { throw c.fail("input rank \(x.rank) < 2") }
        let channels = x.shape[1]
        guard params.allSatisfy({ $0.count == channels }) else {
            throw c.fail("scale/bias/mean/var must each hold \(channels) values, got \(params.map(\.count))")
        }
        let eps = Double(try c.float("epsilon", default: 1e-5))
        let plane = x.shape.dropFirst(2).reduce(1, *)
        let (scale, bias, mean, variance) = (params[0].doubles, params[1].doubles, params[2].doubles, params[3].doubles)
        var a = [Double](repeating: 0, count: channels), s = a
        for k in 0 ..< channels {
            let inv = Double(scale[k]) / (Double(variance[k]) + eps).squareRoot()
            a[k] = Double(inv)
            s[k] = bias[k] - mean[k] * inv
        }
        x.doubles.withUnsafeMutableBufferPointer { p in
            for i in 0 ..< x.shape[0] * channels {
                let k = i % channels, ak = a[k], sk = s[k]
                for j in i * plane ..< (i + 1) * plane { p[j] = p[j] * ak + sk }
            }
        }
        x.elementType = .float
        return x
    }
}

/// The loops of one convolution. Each (image, output channel) plane is independent, so planes are
/// spread over the cores when the work is large enough to pay for it.
struct ConvGeometry {
    let n, c, h, w, m, cg, kh, kw, oh, ow, sh, sw, dh, dw, padTop, padLeft, group: Int

    func run(x: UnsafeBufferPointer<Double>, w weights: UnsafeBufferPointer<Double>, bias: [Double]?,
             out: UnsafeMutableBufferPointer<Double>) {
        if group == 1 && kh == 1 && kw == 1 && sh == 1 && sw == 1 && padTop == 0 && padLeft == 0 && oh == h && ow == w {
            return pointwise(x: x, weights: weights, bias: bias, out: out)
        }
        let planes = n * m
        let work = planes * oh * ow * cg * kh * kw
        let chunks = work > 1 << 22 ? min(planes, 8) : 1
        let buffers = Buffers(x: x, weights: weights, out: out)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lo = planes * chunk / chunks, hi = planes * (chunk + 1) / chunks
            for p in lo ..< hi { plane(p, x: buffers.x, weights: buffers.weights, bias: bias, out: buffers.out.baseAddress!) }
        }
    }

    /// A 1x1 convolution is a matrix product per image: out[M, P] = W[M, C] x X[C, P] + bias.
    /// Tiled so that a block of X columns stays in cache while four output rows accumulate over it
    /// (the untiled loop re-read all of X from memory once per output channel).
    private func pointwise(x: UnsafeBufferPointer<Double>, weights: UnsafeBufferPointer<Double>, bias: [Double]?,
                           out: UnsafeMutableBufferPointer<Double>) {
        let pixels = h * w, channels = c
        let tile = max(16, min(512, (1 << 15) / max(channels, 1) / 16 * 16))
        let tiles = (pixels + tile - 1) / tile
        let rowBlocks = (m + 3) / 4
        let jobs = n * tiles
        let chunks = jobs * rowBlocks * 4 * tile * channels > 1 << 22 ? min(jobs, 8) : 1
        let buffers = Buffers(x: x, weights: weights, out: out)
        let m = self.m
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let xb = buffers.x.baseAddress!, wb = buffers.weights.baseAddress!, ob = buffers.out.baseAddress!
            // Four output rows of one tile, accumulated in Double: the verification pass must be
            // far more exact than the float32 engines it judges (a 1x1 convolution sums up to
            // thousands of channels).
            let acc = UnsafeMutablePointer<Double>.allocate(capacity: 4 * tile)
            defer { acc.deallocate() }
            for job in jobs * chunk / chunks ..< jobs * (chunk + 1) / chunks {
                let image = job / tiles, p0 = (job % tiles) * tile, count = min(tile, pixels - p0)
                let xImage = xb + image * channels * pixels + p0
                let oImage = ob + image * m * pixels + p0
                var r = 0
                while r < m {
                    let rows = min(4, m - r)
                    for k in 0 ..< rows {
                        let b = Double(bias?[r + k] ?? 0)
                        for j in 0 ..< count { acc[k * tile + j] = b }
                    }
                    // With fewer than four rows left, w1...w3 alias the last real row and a1...a3
                    // land in spare accumulators that are never stored.
                    let w0 = wb + r * channels
                    let w1 = wb + (r + min(1, rows - 1)) * channels
                    let w2 = wb + (r + min(2, rows - 1)) * channels
                    let w3 = wb + (r + min(3, rows - 1)) * channels
                    let a0 = acc, a1 = acc + tile, a2 = acc + 2 * tile, a3 = acc + 3 * tile
                    for ci in 0 ..< channels {
                        let xr = xImage + ci * pixels
                        let v0 = Double(w0[ci]), v1 = Double(w1[ci]), v2 = Double(w2[ci]), v3 = Double(w3[ci])
                        for j in 0 ..< count {
                            let v = Double(xr[j])
                            a0[j] += v0 * v; a1[j] += v1 * v; a2[j] += v2 * v; a3[j] += v3 * v
                        }
                    }
                    for k in 0 ..< rows {
                        let o = oImage + (r + k) * pixels
                        for j in 0 ..< count { o[j] = Double(acc[k * tile + j]) }
                    }
                    r += rows
                }
            }
        }
    }

    /// The buffers shared by the workers: each writes only its own output planes.
    private struct Buffers: @unchecked Sendable {
        let x: UnsafeBufferPointer<Double>
        let weights: UnsafeBufferPointer<Double>
        let out: UnsafeMutableBufferPointer<Double>
    }

    /// Output plane `p` = image p / m, output channel p % m, accumulated in Double (see pointwise).
    private func plane(_ p: Int, x: UnsafeBufferPointer<Double>, weights: UnsafeBufferPointer<Double>, bias: [Double]?,
                       out: UnsafeMutablePointer<Double>) {
        let image = p / m, oc = p % m
        let g = oc / (m / group)
        let o = UnsafeMutablePointer<Double>.allocate(capacity: oh * ow)
        defer { o.deallocate() }
        o.initialize(repeating: Double(bias?[oc] ?? 0), count: oh * ow)
        let xb = x.baseAddress!, wb = weights.baseAddress!
        for ci in 0 ..< cg {
            let input = xb + ((image * c) + g * cg + ci) * h * w
            let wk = wb + (oc * cg + ci) * kh * kw
            for ky in 0 ..< kh {
                // Output rows whose input row ih = oy*sh - padTop + ky*dh lies inside the image.
                let offY = ky * dh - padTop
                let yLo = max(0, Self.ceilDiv(-offY, sh)), yHi = min(oh - 1, Self.floorDiv(h - 1 - offY, sh))
                if yLo > yHi { continue }
                for kx in 0 ..< kw {
                    let v = Double(wk[ky * kw + kx])
                    let offX = kx * dw - padLeft
                    let xLo = max(0, Self.ceilDiv(-offX, sw)), xHi = min(ow - 1, Self.floorDiv(w - 1 - offX, sw))
                    if xLo > xHi { continue }
                    for oy in yLo ... yHi {
                        let row = input + (oy * sh + offY) * w
                        let dst = o + oy * ow
                        if sw == 1 {
                            let src = row + offX
                            for ox in xLo ... xHi { dst[ox] += v * Double(src[ox]) }
                        } else {
                            for ox in xLo ... xHi { dst[ox] += v * Double(row[ox * sw + offX]) }
                        }
                    }
                }
            }
        }
        let plane = out + p * oh * ow
        for i in 0 ..< oh * ow { plane[i] = Double(o[i]) }
    }

    static func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
