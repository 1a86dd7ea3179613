extension InferencePlan {
    /// Folds and packs one part of the network from a `PlanSource` into an arena. Stateless
    /// apart from those two, so the parts can be built on different threads.
    struct Builder: @unchecked Sendable {
        let source: PlanSource
        let arena: PlanArena

        var layout: ParameterLayout { source.layout }

        /// Block `i`, by its kind.
        func block(_ i: Int) -> Block {
            let b = source.config.blocks[i]
            let unit = { (part: ParameterLayout.BlockPart) in layout.unit(.block(i, part)) }
            switch b.kind {
            case .mbconv:
                let dw = unit(.depthwise)!
                var se: SqueezeExcitation?
                if let r = unit(.seReduce), let e = unit(.seExpand) { se = squeezeExcitation(reduce: r, expand: e, channels: dw.outChannels) }
                return Block(config: b, kind: .mbconv(MBConv(expand: unit(.expand).map(pointwise), depthwise: depthwise(dw),
                                                             se: se, project: pointwise(unit(.project)!))))
            case .fused:
                return Block(config: b, kind: .fused(Fused(conv: dense(unit(.fused)!, winograd: true), project: unit(.project).map(pointwise))))
            }
        }

        /// The single Linear classifier packed for the GEMM tiles, or the classifier chain.
        func classifier() -> Part {
            guard source.config.classifierChain == nil else {
                return .chain(ClassifierChain(config: source.config) { source.array($0) })
            }
            let u = layout.unit(.classifier)!
            let w = source.values(u.module, .weight)!, b = source.values(u.module, .bias)!
            let matrix = PackedMatrix(k: u.inChannels, n: u.outChannels, transposing: w.baseAddress!, scale: nil, arena: arena)
            return .pointwise(Pointwise(matrix: matrix, bias: padded(Array(b), to: matrix.np, arena: arena), activation: nil))
        }

        /// Per-output-channel (scale, shift) such that conv+BN = conv(w * scale) + shift; the BN
        /// affine in Double, as `BatchNorm2d.affine()` computes it.
        func folding(_ u: ParameterLayout.Unit) -> (scale: [Float], shift: [Float]) {
            let n = u.outChannels
            let bias = source.values(u.module, .bias).map(Array.init) ?? [Float](repeating: 0, count: n)
            guard let w = source.values(u.module, .bnWeight), let b = source.values(u.module, .bnBias),
                  let mean = source.values(u.module, .bnMean), let variance = source.values(u.module, .bnVar) else {
                return ([Float](repeating: 1, count: n), bias)
            }
            let eps = Double(source.config.bnEpsilon)
            var scale = [Float](repeating: 0, count: n), shift = scale
            for c in 0 ..< n {
                let s = Double(w[c]) / (Double(variance[c]) + eps).squareRoot()
                scale[c] = Float(s)
                shift[c] = bias[c] * Float(s) + Float(Double(b[c]) - Double(mean[c]) * s)
            }
            return (scale, shift)
        }

        func pointwise(_ u: ParameterLayout.Unit) -> Pointwise {
            let (scale, shift) = folding(u)
            let k = u.inChannels, n = u.outChannels
            let w = source.values(u.module, .weight)!
            let matrix = PackedMatrix(k: k, n: n, transposing: w.baseAddress!, scale: scale, arena: arena)
            var pw = Pointwise(matrix: matrix, bias: padded(shift, to: matrix.np, arena: arena), activation: u.activation)
            if let f = ExternalGEMM.function {
                let plain = FloatBuffer(count: k * matrix.np)
                for kk in 0 ..< k { for nn in 0 ..< n { plain[kk * matrix.np + nn] = w[nn * k + kk] * scale[nn] } }
                pw.external = f
                pw.plain = plain
            }
            return pw
        }

        /// - Parameter winograd: also transform the kernels for Winograd when the convolution
        ///   is 3x3 with stride 1 (Fused-MBConv blocks; the stride-2 stem never is).
        func dense(_ u: ParameterLayout.Unit, winograd: Bool = false) -> DenseConv {
            let (scale, shift) = folding(u)
            let o = u.outChannels, k = u.kernel, cin = u.inChannels
            let w = source.values(u.module, .weight)!
            // Row (ky * k + kx) * cin + ci of B is weight [oc][ci][ky][kx].
            let matrix = PackedMatrix(k: k * k * cin, n: o, arena: arena) { t, oc in
                let ci = t % cin, kx = (t / cin) % k, ky = t / (cin * k)
                return w[((oc * cin + ci) * k + ky) * k + kx] * scale[oc]
            }
            let product = Pointwise(matrix: matrix, bias: padded(shift, to: matrix.np, arena: arena), activation: u.activation)
            var conv = DenseConv(cin: cin, outChannels: o, op: matrix.np, kernel: k, stride: u.stride, product: product)
            if winograd && k == 3 && u.stride == 1 && u.groups == 1 {
                conv.winograd = winogradKernels(cin: cin, out: o, np: matrix.np) { oc, ci, ky, kx in
                    w[((oc * cin + ci) * 3 + ky) * 3 + kx] * scale[oc]
                }
            }
            return conv
        }

        /// U_xi[ci][oc] = (G g G^T)[xi] of each folded 3x3 kernel g = weight(oc, ci, ., .),
        /// computed in Double, with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] (F(2x2, 3x3)).
        func winogradKernels(cin: Int, out o: Int, np: Int, weight: (Int, Int, Int, Int) -> Float) -> WinogradKernels {
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
            let u = FloatBuffer(count: 16 * cin * np, arena: arena)
            for xi in 0 ..< 16 {
                let packed = PackedMatrix(k: cin, n: o, arena: nil) { ci, oc in transformed[(oc * cin + ci) * 16 + xi] }
                (u.pointer + xi * cin * np).update(from: packed.data.pointer, count: cin * np)
            }
            return WinogradKernels(u: u, zeros: FloatBuffer(count: np, arena: arena))
        }

        func depthwise(_ u: ParameterLayout.Unit) -> Depthwise {
            let (scale, shift) = folding(u)
            let c = u.outChannels, cp = roundUpToLanes(c), k = u.kernel
            let w = source.values(u.module, .weight)!
            let dw = FloatBuffer(count: k * k * cp, arena: arena)
            for ch in 0 ..< c { for t in 0 ..< k * k { dw[t * cp + ch] = w[ch * k * k + t] * scale[ch] } }
            return Depthwise(channels: c, cp: cp, kernel: k, stride: u.stride, weights: dw,
                             bias: padded(shift, to: cp, arena: arena), activation: u.activation)
        }

        func squeezeExcitation(reduce: ParameterLayout.Unit, expand: ParameterLayout.Unit, channels c: Int) -> SqueezeExcitation {
            let cp = roundUpToLanes(c), sq = reduce.outChannels
            let w1 = FloatBuffer(count: sq * cp, arena: arena), w2 = FloatBuffer(count: sq * cp, arena: arena)
            let r = source.values(reduce.module, .weight)!, e = source.values(expand.module, .weight)!
            for j in 0 ..< sq { for ch in 0 ..< c {
                w1[j * cp + ch] = r[j * c + ch]
                w2[j * cp + ch] = e[ch * sq + j]
            } }
            return SqueezeExcitation(squeeze: sq, w1: w1, b1: source.values(reduce.module, .bias).map(Array.init) ?? [Float](repeating: 0, count: sq),
                                     w2: w2, b2: padded(source.values(expand.module, .bias).map(Array.init) ?? [], to: cp, arena: arena))
        }

        func padded(_ v: [Float], to n: Int, arena: PlanArena?) -> FloatBuffer { InferencePlan.padded(v, to: n, arena: arena) }
    }
}
