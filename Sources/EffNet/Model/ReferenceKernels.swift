import Dispatch
import Foundation

/// Straightforward NCHW kernels: the reference the toolkit's numbers rest on. They favour obvious
/// correctness over speed. Weights are the model's float32 values. Activations are stored as `S`:
/// Float for the reference path (`InferenceOptions.Kernels.reference`, the fast path's yardstick,
/// float32 between layers as in the frameworks), Double for the verification pass of every
/// conversion (`EfficientNet.float64Forward`). Either way every sum (convolutions, pooling, linear
/// layers, softmax) and every per-element function accumulates and computes in Double, rounding
/// once into `S`.
///
/// Why the verification pass keeps Double between layers (issue 16): a deep EfficientNet amplifies
/// any float32 rounding, wherever it happens, about a thousandfold (full-depth B7 at 600 px: every
/// float32 engine, PyTorch, ONNX Runtime or these kernels with Double sums but float32 storage, lands
/// 5e-5...7e-5 from a float64 run), so a float32 pass adds its own noise to the reference's and fails
/// correct conversions. In Double its logits equal the float64 run's once rounded to float32, and its
/// error against a float32 reference is that reference's own rounding alone.
///
/// Output planes are independent, so a convolution spreads them over the cores; each plane's sums
/// run in one fixed order, so results do not depend on the thread count.
enum ReferenceKernels {
    /// NCHW activations stored as `S`.
    struct Activations<S: ActivationScalar> {
        var shape: [Int]
        var values: [S]
        var count: Int { values.count }
    }

    /// Grouped 2-D convolution with explicit asymmetric zero padding.
    static func conv2d(_ x: Tensor, _ conv: Conv2d, padding p: ConvPadding) -> Tensor {
        let y = conv2d(Activations(shape: x.shape, values: x.scalars), conv, padding: p)
        return Tensor(shape: y.shape, scalars: y.values)
    }

    static func conv2d<S: ActivationScalar>(_ x: Activations<S>, _ conv: Conv2d, padding p: ConvPadding) -> Activations<S> {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let k = conv.kernelSize, s = conv.stride, g = conv.groups
        guard let oh = ConvPadding.outputSize(h, before: p.top, after: p.bottom, kernel: k, stride: s),
              let ow = ConvPadding.outputSize(w, before: p.left, after: p.right, kernel: k, stride: s) else {
            preconditionFailure("conv2d: kernel \(k) does not fit input \(h)x\(w)")
        }
        let o = conv.outputChannels
        let cPerG = c / g, oPerG = o / g
        let bias = conv.bias?.scalars
        var out = [S](repeating: 0, count: n * o * oh * ow)
        let pointwise = k == 1 && s == 1 && g == 1 && p == ConvPadding(top: 0, bottom: 0, left: 0, right: 0)
        x.values.withUnsafeBufferPointer { xp in
            conv.weight.scalars.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    let buffers = ConvBuffers(x: xp.baseAddress!, w: wp.baseAddress!, out: op.baseAddress!)
                    if pointwise { return pointwiseConv(buffers, bias: bias, n: n, c: c, o: o, pixels: h * w) }
                    let planes = n * o
                    // Enough work per part to pay for a thread; a plane is never split.
                    let work = planes * oh * ow * cPerG * k * k
                    let parts = work >= 1 << 20 ? min(planes, 4 * max(1, activeProcessorCount)) : 1
                    DispatchQueue.concurrentPerform(iterations: parts) { part in
                        let acc = UnsafeMutablePointer<Double>.allocate(capacity: oh * ow)
                        defer { acc.deallocate() }
                        for plane in planes * part / parts ..< planes * (part + 1) / parts {
                            let b = plane / o, oc = plane % o
                            acc.initialize(repeating: Double(bias?[oc] ?? 0), count: oh * ow)
                            convolvePlane(acc, buffers, b: b, oc: oc, channels: c, groupStart: (oc / oPerG) * cPerG,
                                          perGroup: cPerG, h: h, w: w, oh: oh, ow: ow, k: k, s: s, p: p)
                            let dst = buffers.out + plane * oh * ow
                            for i in 0 ..< oh * ow { dst[i] = S(double: acc[i]) }
                        }
                    }
                }
            }
        }
        return Activations(shape: [n, o, oh, ow], values: out)
    }

    /// A 1x1 convolution, out[o, :] = bias[o] + sum over c of w[o, c] * x[c, :]: four output channels
    /// at a time over a tile of pixels, so each input value read serves four sums (the bulk of an
    /// EfficientNet's arithmetic is here). Each sum still runs over c in order, in Double.
    private static func pointwiseConv<S: ActivationScalar>(_ buffers: ConvBuffers<S>, bias: [Float]?, n: Int, c: Int, o: Int, pixels: Int) {
        let tile = 512, tiles = (pixels + tile - 1) / tile, blocks = (o + 3) / 4
        let jobs = n * blocks * tiles
        let parts = n * o * pixels * c >= 1 << 20 ? min(jobs, 4 * max(1, activeProcessorCount)) : 1
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let acc = UnsafeMutablePointer<Double>.allocate(capacity: 4 * tile)
            defer { acc.deallocate() }
            for job in jobs * part / parts ..< jobs * (part + 1) / parts {
                let b = job / (blocks * tiles), block = (job / tiles) % blocks, p0 = (job % tiles) * tile
                let count = min(tile, pixels - p0), o0 = 4 * block, rows = min(4, o - o0)
                for r in 0 ..< 4 { (acc + r * tile).initialize(repeating: r < rows ? Double(bias?[o0 + r] ?? 0) : 0, count: tile) }
                // Rows past the last output channel reuse its weights into accumulators never stored.
                let w0 = buffers.w + o0 * c, w1 = buffers.w + (o0 + min(1, rows - 1)) * c
                let w2 = buffers.w + (o0 + min(2, rows - 1)) * c, w3 = buffers.w + (o0 + min(3, rows - 1)) * c
                let a0 = acc, a1 = acc + tile, a2 = acc + 2 * tile, a3 = acc + 3 * tile
                for ic in 0 ..< c {
                    let src = buffers.x + (b * c + ic) * pixels + p0
                    let v0 = Double(w0[ic]), v1 = Double(w1[ic]), v2 = Double(w2[ic]), v3 = Double(w3[ic])
                    for i in 0 ..< count {
                        let v = src[i].double
                        a0[i] += v0 * v; a1[i] += v1 * v; a2[i] += v2 * v; a3[i] += v3 * v
                    }
                }
                for r in 0 ..< rows {
                    let dst = buffers.out + (b * o + o0 + r) * pixels + p0
                    for i in 0 ..< count { dst[i] = S(double: acc[r * tile + i]) }
                }
            }
        }
    }

    /// The raw buffers of one convolution, shared by the threads (each writes its own planes).
    private struct ConvBuffers<S>: @unchecked Sendable {
        let x: UnsafePointer<S>
        let w: UnsafePointer<Float>
        let out: UnsafeMutablePointer<S>
    }

    private static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Adds one output plane's taps (input channels of its group, kernel rows and columns) to `acc`.
    private static func convolvePlane<S: ActivationScalar>(_ acc: UnsafeMutablePointer<Double>, _ buffers: ConvBuffers<S>, b: Int, oc: Int,
                                      channels c: Int, groupStart: Int, perGroup cPerG: Int, h: Int, w: Int,
                                      oh: Int, ow: Int, k: Int, s: Int, p: ConvPadding) {
        for icg in 0 ..< cPerG {
            let ic = groupStart + icg
            let src = buffers.x + (b * c + ic) * h * w
            for ky in 0 ..< k {
                for kx in 0 ..< k {
                    let wv = Double(buffers.w[((oc * cPerG + icg) * k + ky) * k + kx])
                    // valid ox range: 0 <= ox*s + kx - left < w. When the last column is left of
                    // the kernel tap no ox fits (division truncates toward zero: guard it).
                    let last = w - 1 + p.left - kx
                    if last < 0 { continue }
                    let lo = max(0, (p.left - kx + s - 1) / s)
                    let hiExcl = min(ow, last / s + 1)
                    if lo >= hiExcl { continue }
                    for oy in 0 ..< oh {
                        let iy = oy * s + ky - p.top
                        if iy < 0 || iy >= h { continue }
                        let row = src + iy * w
                        let drow = acc + oy * ow
                        for ox in lo ..< hiExcl { drow[ox] += wv * row[ox * s + kx - p.left].double }
                    }
                }
            }
        }
    }

    /// Batch norm in inference mode, then the activation, in place.
    static func batchNormActivation(_ t: inout Tensor, _ bn: BatchNorm2d?, _ act: EfficientNetConfig.Activation?) {
        var a = Activations(shape: t.shape, values: t.scalars)
        batchNormActivation(&a, bn, act)
        t.scalars = a.values
    }

    /// y = act(x * scale + shift) per channel, in Double; scale = weight / sqrt(var + eps) and
    /// shift = bias - mean * scale in Double too.
    static func batchNormActivation<S: ActivationScalar>(_ t: inout Activations<S>, _ bn: BatchNorm2d?,
                                                         _ act: EfficientNetConfig.Activation?) {
        let n = t.shape[0], c = t.shape[1], hw = t.count / max(1, n * c)
        // The frameworks' epsilon is a decimal literal (1e-3, 1e-5, 1.001e-5) used as a double; the
        // config holds it as Float. Its shortest decimal spelling gives the literal back (Float
        // 1e-3 is 1.0000000475e-3, which alone moves a full-size B7's logits by ~1e-6 relative).
        let eps = bn.map { Double("\($0.epsilon)") ?? Double($0.epsilon) } ?? 0
        t.values.withUnsafeMutableBufferPointer { p in
            for b in 0 ..< n { for ch in 0 ..< c {
                let base = (b * c + ch) * hw
                var scale = 1.0, shift = 0.0
                if let bn {
                    scale = Double(bn.weight.scalars[ch]) / (Double(bn.runningVar.scalars[ch]) + eps).squareRoot()
                    shift = Double(bn.bias.scalars[ch]) - Double(bn.runningMean.scalars[ch]) * scale
                }
                for i in 0 ..< hw {
                    let v = p[base + i].double * scale + shift
                    p[base + i] = S(double: act.map { activate(v, $0) } ?? v)
                }
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
    static func activate(_ v: Double, _ act: EfficientNetConfig.Activation) -> Double {
        switch act {
        case .silu: return v / (1 + exp(-v))
        case .relu6: return min(max(v, 0), 6)
        }
    }

    /// Mean over H and W: [N, C, H, W] -> [N, C].
    static func globalAveragePool(_ t: Tensor) -> Tensor {
        Tensor(shape: [t.shape[0], t.shape[1]], scalars: globalAveragePool(Activations(shape: t.shape, values: t.scalars)).map { Float($0) })
    }

    /// Mean over H and W, [N * C] in Double.
    static func globalAveragePool<S: ActivationScalar>(_ t: Activations<S>) -> [Double] {
        let n = t.shape[0], c = t.shape[1], hw = t.shape[2] * t.shape[3]
        var out = [Double](repeating: 0, count: n * c)
        for i in 0 ..< n * c {
            var acc: Double = 0
            for j in 0 ..< hw { acc += t.values[i * hw + j].double }
            out[i] = acc / Double(hw)
        }
        return out
    }

    /// y = x W^T + b for x [N, in], W [out, in].
    static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let y = linear(x.scalars.map { Double($0) }, rows: x.shape[0], weight: weight.scalars, outputs: weight.shape[0], bias: bias?.scalars)
        return Tensor(shape: [x.shape[0], weight.shape[0]], scalars: y.map { Float($0) })
    }

    /// y = x W^T + b for x [rows, in] in Double, W [outputs, in]; the result in Double.
    static func linear(_ x: [Double], rows n: Int, weight: [Float], outputs fout: Int, bias: [Float]?) -> [Double] {
        let fin = n > 0 ? x.count / n : 0
        var out = [Double](repeating: 0, count: n * fout)
        for b in 0 ..< n {
            for o in 0 ..< fout {
                var acc = Double(bias?[o] ?? 0)
                for i in 0 ..< fin { acc += x[b * fin + i] * Double(weight[o * fin + i]) }
                out[b * fout + o] = acc
            }
        }
        return out
    }

    static func squeezeExcitation(_ t: inout Tensor, _ se: SqueezeExcitation, _ act: EfficientNetConfig.Activation) {
        var a = Activations(shape: t.shape, values: t.scalars)
        squeezeExcitation(&a, se, act)
        t.scalars = a.values
    }

    /// Pool, reduce, activate, expand, sigmoid, all in Double; then the gate scales the activations.
    static func squeezeExcitation<S: ActivationScalar>(_ t: inout Activations<S>, _ se: SqueezeExcitation,
                                                       _ act: EfficientNetConfig.Activation) {
        let n = t.shape[0], c = t.shape[1], hw = t.shape[2] * t.shape[3]
        let w1 = se.reduce.weight.shape[0]
        let hidden = linear(globalAveragePool(t), rows: n, weight: se.reduce.weight.scalars, outputs: w1, bias: se.reduce.bias?.scalars)
            .map { activate($0, act) }
        let gate = linear(hidden, rows: n, weight: se.expand.weight.scalars, outputs: c, bias: se.expand.bias?.scalars)
        t.values.withUnsafeMutableBufferPointer { p in
            for b in 0 ..< n { for ch in 0 ..< c {
                let g = 1 / (1 + exp(-gate[b * c + ch]))
                let base = (b * c + ch) * hw
                for i in 0 ..< hw { p[base + i] = S(double: p[base + i].double * g) }
            } }
        }
    }

    /// Softmax over the last axis of [N, K], in place, max-subtracted.
    static func softmax(_ t: inout Tensor) {
        var a = Activations(shape: t.shape, values: t.scalars)
        softmax(&a)
        t.scalars = a.values
    }

    static func softmax<S: ActivationScalar>(_ t: inout Activations<S>) {
        let k = t.shape.last ?? 1
        guard k > 0 else { return }
        for r in 0 ..< t.count / k {
            let base = r * k
            var m = -Double.infinity
            for i in 0 ..< k { m = max(m, t.values[base + i].double) }
            var e = [Double](repeating: 0, count: k), sum: Double = 0
            for i in 0 ..< k { e[i] = exp(t.values[base + i].double - m); sum += e[i] }
            for i in 0 ..< k { t.values[base + i] = S(double: e[i] / sum) }
        }
    }

    static func inputTransform(_ t: inout Tensor, _ tr: EfficientNetConfig.InputTransform) {
        var a = Activations(shape: t.shape, values: t.scalars)
        inputTransform(&a, tr)
        t.scalars = a.values
    }

    static func inputTransform<S: ActivationScalar>(_ t: inout Activations<S>, _ tr: EfficientNetConfig.InputTransform) {
        let n = t.shape[0], c = t.shape[1], hw = t.count / max(1, n * c)
        for b in 0 ..< n { for ch in 0 ..< c {
            let base = (b * c + ch) * hw
            for i in 0 ..< hw { t.values[base + i] = S(double: t.values[base + i].double * Double(tr.scale[ch]) + Double(tr.offset[ch])) }
        } }
    }
}

/// The storage types of reference activations: Float and Double, each converting to and from Double.
protocol ActivationScalar: BinaryFloatingPoint {
    var double: Double { get }
    init(double: Double)
}

extension Float: ActivationScalar {
    @inline(__always) var double: Double { Double(self) }
    @inline(__always) init(double: Double) { self = Float(double) }
}

extension Double: ActivationScalar {
    @inline(__always) var double: Double { self }
    @inline(__always) init(double: Double) { self = double }
}
