/// A model's weights rearranged for the fast kernels, built once from the module tree (which it
/// never modifies): batch norm folded into each convolution (w * scale, bias * scale + shift),
/// 1x1 convolutions packed for `GemmKernels`, depthwise and stem weights laid out tap-major with
/// channels padded to 16, squeeze-and-excitation weights transposed so every step runs along
/// channels.
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

    struct Block {
        let config: EfficientNetConfig.Block
        let expand: Pointwise?
        let depthwise: Depthwise
        let se: SqueezeExcitation?
        let project: Pointwise
    }

    struct Stem {
        let cin, outChannels, op, kernel, stride: Int
        /// B = [(ky * k + kx) * cin + ci][o] for the im2col product.
        let product: Pointwise
    }

    let config: EfficientNetConfig
    let stem: Stem
    let blocks: [Block]
    let head: Pointwise
    let classifier: Pointwise
    let paddingResolver: PaddingResolver
    /// The model's parameter arrays the plan was built from (shared storage, not copies); see
    /// `isCurrent(for:)`.
    private let sources: [[Float]]

    init(model: EfficientNet) {
        config = model.config
        paddingResolver = PaddingResolver(config: model.config)
        sources = Self.parameterArrays(of: model)
        stem = Self.stem(model.stem, cin: model.config.inputChannels)
        blocks = model.blocks.map(Self.block)
        head = Self.pointwise(model.head)
        let cls = model.classifier
        let inF = cls.weight.shape[1], outF = cls.weight.shape[0]
        let matrix = PackedMatrix(k: inF, n: outF) { kk, nn in cls.weight.scalars[nn * inF + kk] }
        classifier = Pointwise(matrix: matrix, bias: Self.padded(cls.bias.scalars, to: matrix.np), activation: nil)
    }

    /// True while every parameter array of `model` is still the one the plan was built from.
    /// The plan holds a reference to each, so any change to a parameter (`load(_:)` replaces the
    /// arrays; an in-place write copies a shared array first) gives it a new buffer address.
    func isCurrent(for model: EfficientNet) -> Bool {
        let now = Self.parameterArrays(of: model)
        guard now.count == sources.count else { return false }
        for (a, b) in zip(now, sources) {
            let same = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
            if !same || a.count != b.count { return false }
        }
        return true
    }

    static func parameterArrays(of model: EfficientNet) -> [[Float]] {
        var r: [[Float]] = []
        func cna(_ m: ConvNormActivation) {
            r.append(m.conv.weight.scalars)
            if let b = m.conv.bias { r.append(b.scalars) }
            if let bn = m.bn { r += [bn.weight.scalars, bn.bias.scalars, bn.runningMean.scalars, bn.runningVar.scalars] }
        }
        cna(model.stem)
        for b in model.blocks {
            if let e = b.expand { cna(e) }
            cna(b.depthwise)
            if let se = b.se {
                r += [se.reduce.weight.scalars, se.reduce.bias?.scalars ?? [], se.expand.weight.scalars, se.expand.bias?.scalars ?? []]
            }
            cna(b.project)
        }
        cna(model.head)
        r += [model.classifier.weight.scalars, model.classifier.bias.scalars]
        return r
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

    static func stem(_ m: ConvNormActivation, cin: Int) -> Stem {
        let (scale, shift) = folding(m)
        let o = m.conv.outputChannels, k = m.conv.kernelSize
        let w = m.conv.weight.scalars
        // Row (ky * k + kx) * cin + ci of B is weight [oc][ci][ky][kx].
        let matrix = PackedMatrix(k: k * k * cin, n: o) { t, oc in
            let ci = t % cin, kx = (t / cin) % k, ky = t / (cin * k)
            return w[((oc * cin + ci) * k + ky) * k + kx] * scale[oc]
        }
        let product = Pointwise(matrix: matrix, bias: padded(shift, to: matrix.np), activation: m.activation)
        return Stem(cin: cin, outChannels: o, op: matrix.np, kernel: k, stride: m.conv.stride, product: product)
    }

    static func block(_ b: MBConvBlock) -> Block {
        let d = b.depthwise
        let (scale, shift) = folding(d)
        let c = d.conv.outputChannels, cp = roundUpToLanes(c), k = d.conv.kernelSize
        let w = d.conv.weight.scalars
        let dw = FloatBuffer(count: k * k * cp)
        for ch in 0 ..< c { for t in 0 ..< k * k { dw[t * cp + ch] = w[ch * k * k + t] * scale[ch] } }
        let depthwise = Depthwise(channels: c, cp: cp, kernel: k, stride: d.conv.stride, weights: dw,
                                  bias: padded(shift, to: cp), activation: d.activation)
        var se: SqueezeExcitation?
        if let s = b.se {
            let sq = s.reduce.outputChannels
            let w1 = FloatBuffer(count: sq * cp), w2 = FloatBuffer(count: sq * cp)
            let r = s.reduce.weight.scalars, e = s.expand.weight.scalars
            for j in 0 ..< sq { for ch in 0 ..< c {
                w1[j * cp + ch] = r[j * c + ch]
                w2[j * cp + ch] = e[ch * sq + j]
            } }
            se = SqueezeExcitation(squeeze: sq, w1: w1, b1: s.reduce.bias?.scalars ?? [Float](repeating: 0, count: sq),
                                   w2: w2, b2: padded(s.expand.bias?.scalars ?? [], to: cp))
        }
        return Block(config: b.config, expand: b.expand.map(pointwise), depthwise: depthwise, se: se,
                     project: pointwise(b.project))
    }
}
