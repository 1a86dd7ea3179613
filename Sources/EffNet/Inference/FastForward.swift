/// The fast forward pass: one image at a time through NHWC buffers of a `Workspace`, the layers
/// run by `GemmKernels`, `DepthwiseKernels` and `StemKernels` with BN folded and activations,
/// squeeze-and-excitation pooling and residual additions fused into them. A batch is spread over
/// the threads image by image; a lone image (or the remainder of a batch) has its large layers
/// split instead. The pooled features of all images go through the classifier as one matrix
/// product at the end.
struct FastForward {
    let plan: InferencePlan
    let geometry: InferenceGeometry
    let threads: Int

    /// Runs `input` ([N, C, H, W], already validated); `recorder` receives the per-stage NCHW
    /// activations when the caller observes them.
    func run(_ input: Tensor, state: InferenceState, recorder: StageRecorder?) -> Tensor {
        let n = input.shape[0]
        let imageSize = input.count / n
        let featureStride = plan.head.matrix.np
        let features = FloatBuffer(count: n * featureStride)
        let concurrentImages = threads > 1 && n > 1 ? min(threads, n) : 1
        let workspaces = state.takeWorkspaces(concurrentImages, geometry: geometry, parts: threads)
        defer { state.returnWorkspaces(workspaces) }
        input.scalars.withUnsafeBufferPointer { xp in
            guard let base = xp.baseAddress else { return }
            var next = 0
            // Whole rounds: one image per thread, each thread on its own workspace.
            while concurrentImages > 1 && n - next >= concurrentImages {
                let first = next
                Parallel.forEach(concurrentImages) { t in
                    let i = first + t
                    runImage(i, base + i * imageSize, workspaces[t], parts: 1, features.pointer + i * featureStride, recorder)
                }
                next += concurrentImages
            }
            // The rest one by one, each layer split over the threads.
            while next < n {
                runImage(next, base + next * imageSize, workspaces[0], parts: threads, features.pointer + next * featureStride, recorder)
                next += 1
            }
        }
        return classify(features.pointer, count: n)
    }

    private func classify(_ features: UnsafeMutablePointer<Float>, count n: Int) -> Tensor {
        let cls = plan.classifier
        let logits = FloatBuffer(count: n * cls.matrix.np)
        gemm(cls, b: cls.matrix.data.pointer, m: n, a: features, lda: plan.head.matrix.np,
             c: logits.pointer, ldc: cls.matrix.np, residual: false, parts: threads)
        let classes = cls.matrix.n
        var out = [Float](repeating: 0, count: n * classes)
        for i in 0 ..< n { for j in 0 ..< classes { out[i * classes + j] = logits[i * cls.matrix.np + j] } }
        var t = Tensor(shape: [n, classes], scalars: out)
        if plan.config.finalSoftmax { ReferenceKernels.softmax(&t) }
        return t
    }

    /// One image: stem, blocks, head, global average pool into `features`.
    private func runImage(_ index: Int, _ image: UnsafePointer<Float>, _ ws: Workspace, parts: Int,
                          _ features: UnsafeMutablePointer<Float>, _ recorder: StageRecorder?) {
        let g = geometry
        // Stem
        let st = g.stem
        StemKernels.pad(st, input: image, transform: plan.config.inputTransform, into: ws.stemScratch.pointer)
        let stemParts = Parallel.parts(threads: parts, work: st.oh * st.ow * st.op * st.k * st.k * st.cin, units: st.oh)
        Parallel.forEach(stemParts) { p in
            StemKernels.run(st, xp: ws.stemScratch.pointer, weights: plan.stem.product, y: ws.io[0].pointer,
                            rows: Parallel.slice(st.oh, p, of: stemParts), patches: ws.patches(p))
        }
        recorder?.record(stage: 0, image: index, ws.io[0].pointer, cp: st.op)

        var cur = 0
        for (i, b) in plan.blocks.enumerated() {
            let d = g.depthwise[i]
            let x = ws.io[cur].pointer
            // Depthwise (after the expansion, fused with it where the blocks are large), with the SE
            // average pool accumulated on the way.
            let fused = g.fused[i]
            let expandWork = fused ? d.h * d.w * (b.expand?.matrix.k ?? 0) * d.cp : 0
            let dwParts = Parallel.parts(threads: parts, work: d.oh * d.ow * d.cp * d.k * d.k + expandWork, units: d.oh)
            if b.se != nil { for p in 0 ..< dwParts { ws.pool(p).initialize(repeating: 0, count: d.cp) } }
            if fused, let e = b.expand {
                Parallel.forEach(dwParts) { p in
                    expandDepthwise(b, e, d, x: x, ws: ws, part: p, rows: Parallel.slice(d.oh, p, of: dwParts))
                }
            } else {
                var dwIn = UnsafePointer(x)
                if let e = b.expand {
                    gemm(e, b: e.matrix.data.pointer, m: d.h * d.w, a: x, lda: roundUpToLanes(e.matrix.k),
                         c: ws.expanded.pointer, ldc: e.matrix.np, residual: false, parts: parts)
                    dwIn = UnsafePointer(ws.expanded.pointer)
                }
                Parallel.forEach(dwParts) { p in
                    DepthwiseKernels.run(activation: b.depthwise.activation, shape: d, x: dwIn,
                                         weights: b.depthwise.weights.pointer, bias: b.depthwise.bias.pointer,
                                         y: ws.depthwise.pointer, rows: Parallel.slice(d.oh, p, of: dwParts),
                                         pool: b.se != nil ? ws.pool(p) : nil, rowSum: ws.rowSum(p))
                }
            }
            var projectWeights = UnsafePointer(b.project.matrix.data.pointer)
            if let se = b.se {
                squeezeExcitation(se, b.depthwise, ws, pixels: d.oh * d.ow, pools: dwParts)
                let pm = b.project.matrix
                if d.oh * d.ow * d.cp <= pm.k * pm.np || b.project.plain != nil {
                    scaleChannels(ws.depthwise.pointer, pixels: d.oh * d.ow, cp: d.cp, by: ws.gate.pointer)
                } else {
                    pm.writeRowScaled(by: ws.gate.pointer, to: ws.scaledWeights.pointer)
                    projectWeights = UnsafePointer(ws.scaledWeights.pointer)
                }
            }
            let residual = b.config.hasResidual
            let out = residual ? cur : 1 - cur
            gemm(b.project, b: projectWeights, m: d.oh * d.ow, a: ws.depthwise.pointer, lda: d.cp,
                 c: ws.io[out].pointer, ldc: b.project.matrix.np, residual: residual, parts: parts)
            cur = out
            recorder?.record(stage: i + 1, image: index, ws.io[cur].pointer, cp: b.project.matrix.np)
        }

        let hm = plan.head.matrix
        let pixels = g.headHeight * g.headWidth
        gemm(plan.head, b: hm.data.pointer, m: pixels, a: ws.io[cur].pointer, lda: roundUpToLanes(hm.k),
             c: ws.head.pointer, ldc: hm.np, residual: false, parts: parts)
        recorder?.record(stage: plan.blocks.count + 1, image: index, ws.head.pointer, cp: hm.np)
        averagePool(ws.head.pointer, pixels: pixels, cp: hm.np, into: features, scratch: ws.pool(0))
    }

    /// Output rows `rows` of a block's depthwise convolution, its input computed on demand by the
    /// expansion, one row at a time, into this thread's ring of k rows (row iy in slot iy % k: by
    /// the time row iy + k is computed, no remaining output row needs row iy).
    private func expandDepthwise(_ b: InferencePlan.Block, _ e: InferencePlan.Pointwise, _ d: DepthwiseKernels.Shape,
                                 x: UnsafePointer<Float>, ws: Workspace, part: Int, rows: Range<Int>) {
        guard !rows.isEmpty else { return }
        let ring = ws.ring(part), rowFloats = d.w * d.cp
        let lda = roundUpToLanes(e.matrix.k), tiles = GemmKernels.tileCount(m: d.w)
        var next = 0
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: d.k) { inputRows in
            for oy in rows {
                let iy0 = oy * d.stride - d.padding.top
                next = max(next, iy0)
                while next < min(d.h, iy0 + d.k) {
                    GemmKernels.product(e, b: e.matrix.data.pointer, m: d.w, a: x + next * d.w * lda, lda: lda,
                                        c: ring + (next % d.k) * rowFloats, ldc: d.cp, residual: false,
                                        tiles: 0 ..< tiles, panels: 0 ..< e.matrix.panelCount)
                    next += 1
                }
                for ky in 0 ..< d.k where iy0 + ky >= 0 && iy0 + ky < d.h {
                    inputRows[ky] = UnsafePointer(ring + ((iy0 + ky) % d.k) * rowFloats)
                }
                DepthwiseKernels.row(activation: b.depthwise.activation, shape: d, oy: oy,
                                     inputRows: UnsafePointer(inputRows.baseAddress!),
                                     weights: b.depthwise.weights.pointer, bias: b.depthwise.bias.pointer,
                                     y: ws.depthwise.pointer, pool: b.se != nil ? ws.pool(part) : nil,
                                     rowSum: ws.rowSum(part))
            }
        }
    }

    /// C = act(A B + bias) [+ C], split over `parts` threads by row tiles (or by column panels
    /// when there are few rows).
    private func gemm(_ pw: InferencePlan.Pointwise, b: UnsafePointer<Float>, m: Int, a: UnsafePointer<Float>, lda: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool, parts: Int) {
        let tiles = GemmKernels.tileCount(m: m), panels = pw.matrix.panelCount
        let byRows = tiles >= 4 * parts || tiles >= panels
        let p = Parallel.parts(threads: parts, work: m * pw.matrix.k * pw.matrix.np, units: byRows ? tiles : panels)
        Parallel.forEach(p) { part in
            GemmKernels.product(pw, b: b, m: m, a: a, lda: lda, c: c, ldc: ldc, residual: residual,
                                tiles: byRows ? Parallel.slice(tiles, part, of: p) : 0 ..< tiles,
                                panels: byRows ? 0 ..< panels : Parallel.slice(panels, part, of: p))
        }
    }

    /// gate = sigmoid(W2 act(W1 mean + b1) + b2) from the pooled sums of `pools` parts.
    private func squeezeExcitation(_ se: InferencePlan.SqueezeExcitation, _ d: InferencePlan.Depthwise, _ ws: Workspace,
                                   pixels: Int, pools: Int) {
        let cp = d.cp
        let sum = ws.pool(0)
        for p in 1 ..< max(1, pools) { let o = ws.pool(p); for c in 0 ..< cp { sum[c] += o[c] } }
        let mean = ws.rowSum(0)
        for c in 0 ..< cp { mean[c] = Float(sum[c] / Double(pixels)) }
        let act = plan.config.activation
        for j in 0 ..< se.squeeze {
            var acc = Vec()
            let w = se.w1.pointer + j * cp
            var c = 0
            while c < cp { acc = madd(loadVec(mean + c), loadVec(w + c), acc); c += lanes }
            ws.hidden[j] = ReferenceKernels.activate(se.b1[j] + acc.sum(), act)
        }
        var c = 0
        while c < cp {
            var acc = loadVec(se.b2.pointer + c)
            for j in 0 ..< se.squeeze { acc = madd(Vec(repeating: ws.hidden[j]), loadVec(se.w2.pointer + j * cp + c), acc) }
            storeVec(vsigmoid(acc), ws.gate.pointer + c)
            c += lanes
        }
    }

    private func scaleChannels(_ x: UnsafeMutablePointer<Float>, pixels: Int, cp: Int, by gate: UnsafePointer<Float>) {
        var p = x
        for _ in 0 ..< pixels {
            var c = 0
            while c < cp { storeVec(loadVec(p + c) * loadVec(gate + c), p + c); c += lanes }
            p += cp
        }
    }

    /// features[c] = mean over pixels, summed in Double (as the reference) from Float partial
    /// sums of up to 64 pixels.
    private func averagePool(_ x: UnsafePointer<Float>, pixels: Int, cp: Int, into features: UnsafeMutablePointer<Float>,
                             scratch: UnsafeMutablePointer<Double>) {
        scratch.initialize(repeating: 0, count: cp)
        var c = 0
        while c < cp {
            var p0 = 0
            while p0 < pixels {
                var acc = Vec()
                for p in p0 ..< min(pixels, p0 + 64) { acc += loadVec(x + p * cp + c) }
                for l in 0 ..< lanes { scratch[c + l] += Double(acc[l]) }
                p0 += 64
            }
            c += lanes
        }
        for c in 0 ..< cp { features[c] = Float(scratch[c] / Double(pixels)) }
    }
}
