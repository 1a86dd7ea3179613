/// A model's weights rearranged for the fast kernels, built once from the module tree (which it
/// never modifies): batch norm folded into each convolution (w * scale, bias * scale + shift),
/// 1x1 convolutions packed for `GemmKernels`, dense k x k convolutions (the stem, Fused-MBConv
/// blocks) packed for their im2col product, depthwise weights laid out tap-major with channels
/// padded to 16, squeeze-and-excitation weights transposed so every step runs along channels.
/// Built by walking the model's declared units (`ParameterLayout`), one case per block kind.
final class InferencePlan: @unchecked Sendable {
    struct Pointwise {
        let matrix: PackedMatrix
        let bias: FloatBuffer
        let activation: EfficientNetConfig.Activation?
        /// Set (with `plain`, B as k x np row-major) only when `ExternalGEMM` was set at build time.
        var external: ExternalGEMM.Function? = nil
        var plain: FloatBuffer? = nil
    }

    struct Depthwise {
        let channels, cp, kernel, stride: Int
        /// [ky * k + kx][cp]
        let weights: FloatBuffer
        let bias: FloatBuffer
        let activation: EfficientNetConfig.Activation?
    }

    struct SqueezeExcitation {
        let squeeze: Int
        /// reduce weight transposed to [s][cp], so hidden[s] = dot(mean, w1[s]).
        let w1: FloatBuffer
        let b1: [Float]
        /// expand weight as [s][cp], so gate = b2 + sum_s hidden[s] * w2[s].
        let w2: FloatBuffer
        let b2: FloatBuffer
    }

    /// A block of MBConv kind: [expand] -> depthwise -> [SE] -> project.
    struct MBConv {
        let expand: Pointwise?
        let depthwise: Depthwise
        let se: SqueezeExcitation?
        let project: Pointwise
    }

    /// A block of Fused-MBConv kind: dense k x k conv -> [project].
    struct Fused {
        let conv: DenseConv
        /// nil when the expand ratio is 1 (the dense conv goes straight to the output channels).
        let project: Pointwise?
    }

    struct Block {
        enum Kind {
            case mbconv(MBConv)
            case fused(Fused)
        }
        let config: EfficientNetConfig.Block
        let kind: Kind
        /// The block's last product, which writes its output (and adds the residual).
        var output: Pointwise {
            switch kind {
            case let .mbconv(b): return b.project
            case let .fused(f): return f.project ?? f.conv.product
            }
        }
    }

    /// A dense k x k convolution (the stem, Fused-MBConv blocks) as an im2col product, or for
    /// the 3x3 stride-1 ones of Fused-MBConv blocks by Winograd F(2x2, 3x3).
    struct DenseConv {
        let cin, outChannels, op, kernel, stride: Int
        /// B = [(ky * k + kx) * cin + ci][o] for the im2col product.
        let product: Pointwise
        /// For Winograd: the 16 transformed kernels U_xi = (G g G^T)[xi] (xi = 4 i + j), each a
        /// cin x op matrix packed as `PackedMatrix`, one after another.
        var winograd: WinogradKernels? = nil
    }

    /// The transformed kernels of a 3x3 stride-1 convolution for `DenseConvKernels.runWinograd`.
    struct WinogradKernels {
        let u: FloatBuffer
        /// op zeros: the bias of the 16 products (the real bias is added after the transform).
        let zeros: FloatBuffer
    }

    let config: EfficientNetConfig
    let stem: DenseConv
    let blocks: [Block]
    let head: Pointwise
    /// A single Linear classifier, packed for the GEMM tiles; nil for a classifier chain.
    let classifier: Pointwise?
    /// The classifier chain on the pooled features (config.classifierChain), nil for one Linear.
    let chain: ClassifierChain?
    let paddingResolver: PaddingResolver
    /// The model's parameter arrays the plan was built from (shared storage, not copies); see
    /// `isCurrent(for:)`.
    private let sources: [[Float]]

    init(model: EfficientNet) {
        let layout = model.layout
        config = model.config
        paddingResolver = model.paddingResolver
        sources = model.weights.map(\.scalars)
        stem = Self.dense(model.convNorm(layout.unit(.stem)!))
        blocks = model.config.blocks.indices.map { Self.block($0, of: model) }
        head = Self.pointwise(model.convNorm(layout.unit(.head)!))
        if model.config.classifierChain != nil {
            classifier = nil
            chain = ClassifierChain(model: model)
        } else {
            let cls = model.classifier
            let inF = cls.weight.shape[1], outF = cls.weight.shape[0]
            let matrix = PackedMatrix(k: inF, n: outF) { kk, nn in cls.weight.scalars[nn * inF + kk] }
            classifier = Pointwise(matrix: matrix, bias: Self.padded(cls.bias.scalars, to: matrix.np), activation: nil)
            chain = nil
        }
    }

    /// True while every parameter array of `model` is still the one the plan was built from.
    /// The plan holds a reference to each, so any change to a parameter (`load(_:)` replaces the
    /// arrays; an in-place write copies a shared array first) gives it a new buffer address.
    func isCurrent(for model: EfficientNet) -> Bool {
        let now = model.weights
        guard now.count == sources.count else { return false }
        for (t, b) in zip(now, sources) {
            let same = t.scalars.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
            if !same || t.scalars.count != b.count { return false }
        }
        return true
    }

    static func block(_ i: Int, of model: EfficientNet) -> Block {
        let b = model.config.blocks[i], layout = model.layout
        let unit = { (part: ParameterLayout.BlockPart) in layout.unit(.block(i, part)).map(model.convNorm) }
        switch b.kind {
        case .mbconv:
            let depthwise = unit(.depthwise)!
            return Block(config: b, kind: .mbconv(MBConv(
                expand: unit(.expand).map(pointwise), depthwise: Self.depthwise(depthwise),
                se: model.squeezeExcitation(ofBlock: i).map { squeezeExcitation($0, channels: depthwise.conv.outputChannels) },
                project: pointwise(unit(.project)!))))
        case .fused:
            return Block(config: b, kind: .fused(Fused(conv: dense(unit(.fused)!, winograd: true), project: unit(.project).map(pointwise))))
        }
    }

    /// Per-output-channel (scale, shift) such that conv+BN = conv(w * scale) + shift.
    static func folding(_ m: ConvNormActivation) -> (scale: [Float], shift: [Float]) {
        let n = m.conv.outputChannels
        let bias = m.conv.bias?.scalars ?? [Float](repeating: 0, count: n)
        guard let bn = m.bn else { return ([Float](repeating: 1, count: n), bias) }
        let a = bn.affine()
        return (a.scale, (0 ..< n).map { bias[$0] * a.scale[$0] + a.shift[$0] })
    }

    static func padded(_ v: [Float], to n: Int) -> FloatBuffer {
        let b = FloatBuffer(count: n)
        for (i, x) in v.enumerated() { b[i] = x }
        return b
    }

    static func pointwise(_ m: ConvNormActivation) -> Pointwise {
        let (scale, shift) = folding(m)
        let k = m.conv.inputChannels, n = m.conv.outputChannels
        let w = m.conv.weight.scalars
        let matrix = PackedMatrix(k: k, n: n) { kk, nn in w[nn * k + kk] * scale[nn] }
        var pw = Pointwise(matrix: matrix, bias: padded(shift, to: matrix.np), activation: m.activation)
        if let f = ExternalGEMM.function {
            let plain = FloatBuffer(count: k * matrix.np)
            for kk in 0 ..< k { for nn in 0 ..< n { plain[kk * matrix.np + nn] = w[nn * k + kk] * scale[nn] } }
            pw.external = f
            pw.plain = plain
        }
        return pw
    }

    /// - Parameter winograd: also transform the kernels for Winograd when the convolution is
    ///   3x3 with stride 1 (Fused-MBConv blocks; the stride-2 stem never is).
    static func dense(_ m: ConvNormActivation, winograd: Bool = false) -> DenseConv {
        let (scale, shift) = folding(m)
        let o = m.conv.outputChannels, k = m.conv.kernelSize, cin = m.conv.inputChannels
        let w = m.conv.weight.scalars
        // Row (ky * k + kx) * cin + ci of B is weight [oc][ci][ky][kx].
        let matrix = PackedMatrix(k: k * k * cin, n: o) { t, oc in
            let ci = t % cin, kx = (t / cin) % k, ky = t / (cin * k)
            return w[((oc * cin + ci) * k + ky) * k + kx] * scale[oc]
        }
        let product = Pointwise(matrix: matrix, bias: padded(shift, to: matrix.np), activation: m.activation)
        var conv = DenseConv(cin: cin, outChannels: o, op: matrix.np, kernel: k, stride: m.conv.stride, product: product)
        if winograd && k == 3 && m.conv.stride == 1 && m.conv.groups == 1 {
            conv.winograd = winogradKernels(cin: cin, out: o, np: matrix.np) { oc, ci, ky, kx in
                w[((oc * cin + ci) * 3 + ky) * 3 + kx] * scale[oc]
            }
        }
        return conv
    }

    /// U_xi[ci][oc] = (G g G^T)[xi] of each folded 3x3 kernel g = weight(oc, ci, ., .), computed in
    /// Double, with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] (F(2x2, 3x3)).
    static func winogradKernels(cin: Int, out o: Int, np: Int, weight: (Int, Int, Int, Int) -> Float) -> WinogradKernels {
        let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        // transformed[(oc * cin + ci) * 16 + xi]
        var transformed = [Float](repeating: 0, count: o * cin * 16)
        for oc in 0 ..< o {
            for ci in 0 ..< cin {
                for i in 0 ..< 4 {
                    for j in 0 ..< 4 {
                        var sum = 0.0
                        for a in 0 ..< 3 { for b in 0 ..< 3 { sum += g[i][a] * Double(weight(oc, ci, a, b)) * g[j][b] } }
                        transformed[(oc * cin + ci) * 16 + i * 4 + j] = Float(sum)
                    }
                }
            }
        }
        let u = FloatBuffer(count: 16 * cin * np)
        for xi in 0 ..< 16 {
            let packed = PackedMatrix(k: cin, n: o) { ci, oc in transformed[(oc * cin + ci) * 16 + xi] }
            (u.pointer + xi * cin * np).update(from: packed.data.pointer, count: cin * np)
        }
        return WinogradKernels(u: u, zeros: FloatBuffer(count: np))
    }

    static func depthwise(_ d: ConvNormActivation) -> Depthwise {
        let (scale, shift) = folding(d)
        let c = d.conv.outputChannels, cp = roundUpToLanes(c), k = d.conv.kernelSize
        let w = d.conv.weight.scalars
        let dw = FloatBuffer(count: k * k * cp)
        for ch in 0 ..< c { for t in 0 ..< k * k { dw[t * cp + ch] = w[ch * k * k + t] * scale[ch] } }
        return Depthwise(channels: c, cp: cp, kernel: k, stride: d.conv.stride, weights: dw,
                         bias: padded(shift, to: cp), activation: d.activation)
    }

    static func squeezeExcitation(_ s: EffNet.SqueezeExcitation, channels c: Int) -> SqueezeExcitation {
        let cp = roundUpToLanes(c), sq = s.reduce.outputChannels
        let w1 = FloatBuffer(count: sq * cp), w2 = FloatBuffer(count: sq * cp)
        let r = s.reduce.weight.scalars, e = s.expand.weight.scalars
        for j in 0 ..< sq { for ch in 0 ..< c {
            w1[j * cp + ch] = r[j * c + ch]
            w2[j * cp + ch] = e[ch * sq + j]
        } }
        return SqueezeExcitation(squeeze: sq, w1: w1, b1: s.reduce.bias?.scalars ?? [Float](repeating: 0, count: sq),
                                 w2: w2, b2: padded(s.expand.bias?.scalars ?? [], to: cp))
    }
}
