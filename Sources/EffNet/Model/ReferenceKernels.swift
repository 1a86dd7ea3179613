#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Straightforward float32 NCHW kernels: the reference the toolkit's numbers rest on. They favour
/// obvious correctness; each inner loop runs over contiguous memory so the compiler vectorises it.
enum ReferenceKernels {
    /// Grouped 2-D convolution with explicit asymmetric zero padding.
    static func conv2d(_ x: Tensor, _ conv: Conv2d, padding p: ConvPadding) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let k = conv.kernelSize, s = conv.stride, g = conv.groups
        guard let oh = ConvPadding.outputSize(h, before: p.top, after: p.bottom, kernel: k, stride: s),
              let ow = ConvPadding.outputSize(w, before: p.left, after: p.right, kernel: k, stride: s) else {
            preconditionFailure("conv2d: kernel \(k) does not fit input \(h)x\(w)")
        }
        let o = conv.outputChannels
        let cPerG = c / g, oPerG = o / g
        var out = [Float](repeating: 0, count: n * o * oh * ow)
        x.scalars.withUnsafeBufferPointer { xp in
            conv.weight.scalars.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    if k == 1 && s == 1 && g == 1 && p == ConvPadding(top: 0, bottom: 0, left: 0, right: 0) {
                        // Pointwise: out[o, :] += w[o, c] * x[c, :]
                        let hw = h * w
                        for b in 0 ..< n {
                            for oc in 0 ..< o {
                                let dst = op.baseAddress! + (b * o + oc) * hw
                                for ic in 0 ..< c {
                                    let wv = wp[oc * c + ic]
                                    let src = xp.baseAddress! + (b * c + ic) * hw
                                    for i in 0 ..< hw { dst[i] += wv * src[i] }
                                }
                            }
                        }
                        return
                    }
                    for b in 0 ..< n {
                        for oc in 0 ..< o {
                            let grp = oc / oPerG
                            let dst = op.baseAddress! + (b * o + oc) * oh * ow
                            for icg in 0 ..< cPerG {
                                let ic = grp * cPerG + icg
                                let src = xp.baseAddress! + (b * c + ic) * h * w
                                for ky in 0 ..< k {
                                    for kx in 0 ..< k {
                                        let wv = wp[((oc * cPerG + icg) * k + ky) * k + kx]
                                        for oy in 0 ..< oh {
                                            let iy = oy * s + ky - p.top
                                            if iy < 0 || iy >= h { continue }
                                            let row = src + iy * w
                                            let drow = dst + oy * ow
                                            // valid ox range: 0 <= ox*s + kx - left < w. When the
                                            // last column is left of the kernel tap no ox fits
                                            // (division truncates toward zero: guard it).
                                            let last = w - 1 + p.left - kx
                                            if last < 0 { continue }
                                            let lo = max(0, (p.left - kx + s - 1) / s)
                                            let hiExcl = min(ow, last / s + 1)
                                            if lo >= hiExcl { continue }
                                            for ox in lo ..< hiExcl {
                                                drow[ox] += wv * row[ox * s + kx - p.left]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var t = Tensor(shape: [n, o, oh, ow], scalars: out)
        if let bias = conv.bias { addChannelBias(&t, bias.scalars) }
        return t
    }

    static func addChannelBias(_ t: inout Tensor, _ bias: [Float]) {
        let n = t.shape[0], c = t.shape[1], hw = t.count / max(1, n * c)
        t.scalars.withUnsafeMutableBufferPointer { p in
            for b in 0 ..< n { for ch in 0 ..< c {
                let v = bias[ch]
                let base = (b * c + ch) * hw
                for i in 0 ..< hw { p[base + i] += v }
            } }
        }
    }

    /// Batch norm in inference mode, then the activation, in place.
    static func batchNormActivation(_ t: inout Tensor, _ bn: BatchNorm2d?, _ act: EfficientNetConfig.Activation?) {
        let n = t.shape[0], c = t.shape[1], hw = t.count / max(1, n * c)
        let affine = bn?.affine()
        t.scalars.withUnsafeMutableBufferPointer { p in
            for b in 0 ..< n { for ch in 0 ..< c {
                let base = (b * c + ch) * hw
                if let affine {
                    let sc = affine.scale[ch], sh = affine.shift[ch]
                    for i in 0 ..< hw { p[base + i] = p[base + i] * sc + sh }
                }
                if let act { for i in 0 ..< hw { p[base + i] = activate(p[base + i], act) } }
            } }
        }
    }

    @inline(__always)
    static func activate(_ v: Float, _ act: EfficientNetConfig.Activation) -> Float {
        switch act {
        case .silu: return v / (1 + expf(-v))
        case .relu6: return min(max(v, 0), 6)
        }
    }

    @inline(__always)
    static func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

    /// Mean over H and W: [N, C, H, W] -> [N, C].
    static func globalAveragePool(_ t: Tensor) -> Tensor {
        let n = t.shape[0], c = t.shape[1], hw = t.shape[2] * t.shape[3]
        var out = [Float](repeating: 0, count: n * c)
        for i in 0 ..< n * c {
            var acc: Double = 0
            for j in 0 ..< hw { acc += Double(t.scalars[i * hw + j]) }
            out[i] = Float(acc / Double(hw))
        }
        return Tensor(shape: [n, c], scalars: out)
    }

    /// y = x W^T + b for x [N, in], W [out, in].
    static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let n = x.shape[0], fin = x.shape[1], fout = weight.shape[0]
        var out = [Float](repeating: 0, count: n * fout)
        for b in 0 ..< n {
            for o in 0 ..< fout {
                var acc: Float = bias?.scalars[o] ?? 0
                for i in 0 ..< fin { acc += x.scalars[b * fin + i] * weight.scalars[o * fin + i] }
                out[b * fout + o] = acc
            }
        }
        return Tensor(shape: [n, fout], scalars: out)
    }

    static func squeezeExcitation(_ t: inout Tensor, _ se: SqueezeExcitation, _ act: EfficientNetConfig.Activation) {
        let n = t.shape[0], c = t.shape[1], hw = t.shape[2] * t.shape[3]
        let pooled = globalAveragePool(t)
        let w1 = se.reduce.weight.shape[0]
        var hidden = linear(pooled, weight: Tensor(shape: [w1, c], scalars: se.reduce.weight.scalars), bias: se.reduce.bias)
        for i in 0 ..< hidden.count { hidden.scalars[i] = activate(hidden.scalars[i], act) }
        let gate = linear(hidden, weight: Tensor(shape: [c, w1], scalars: se.expand.weight.scalars), bias: se.expand.bias)
        t.scalars.withUnsafeMutableBufferPointer { p in
            for b in 0 ..< n { for ch in 0 ..< c {
                let g = sigmoid(gate.scalars[b * c + ch])
                let base = (b * c + ch) * hw
                for i in 0 ..< hw { p[base + i] *= g }
            } }
        }
    }

    /// Softmax over the last axis of [N, K], in place, max-subtracted.
    static func softmax(_ t: inout Tensor) {
        let k = t.shape.last ?? 1
        guard k > 0 else { return }
        for r in 0 ..< t.count / k {
            let base = r * k
            var m = -Float.infinity
            for i in 0 ..< k { m = max(m, t.scalars[base + i]) }
            var sum: Float = 0
            for i in 0 ..< k { let e = expf(t.scalars[base + i] - m); t.scalars[base + i] = e; sum += e }
            for i in 0 ..< k { t.scalars[base + i] /= sum }
        }
    }

    static func inputTransform(_ t: inout Tensor, _ tr: EfficientNetConfig.InputTransform) {
        let n = t.shape[0], c = t.shape[1], hw = t.count / max(1, n * c)
        for b in 0 ..< n { for ch in 0 ..< c {
            let base = (b * c + ch) * hw
            for i in 0 ..< hw { t.scalars[base + i] = t.scalars[base + i] * tr.scale[ch] + tr.offset[ch] }
        } }
    }
}
