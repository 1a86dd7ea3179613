/// The fast forward pass: one image at a time through NHWC buffers of a `Workspace`, the layers
/// run by `GemmKernels`, `DepthwiseKernels` and `DenseConvKernels` with BN folded and activations,
/// squeeze-and-excitation pooling and residual additions fused into them. A batch is spread over
/// the threads image by image; a lone image (or the remainder of a batch) has its large layers
/// split instead. The pooled features of all images go through the classifier as one matrix
/// product at the end.
struct FastForward {
    let plan: InferencePlan
    let geometry: InferenceGeometry
    let threads: Int

    /// Runs `input` ([N, C, H, W], already validated); `recorder` receives the per-stage NCHW
    /// activations when the caller observes them. `pooledOnly` stops before the classifier and
    /// returns the pooled features [N, headChannels] (`pooled(_:count:)`).
    func run(_ input: Tensor, state: InferenceState, recorder: StageRecorder?, pooledOnly: Bool = false) -> Tensor {
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
                Parallel.forEach(concurrentImages, threads: concurrentImages) { t, _ in
                    let i = first + t
                    runImage(i, base + i * imageSize, workspaces[t], threads: 1, features.pointer + i * featureStride, recorder)
                }
                next += concurrentImages
            }
            // The rest one by one, each layer split over the threads.
            while next < n {
                runImage(next, base + next * imageSize, workspaces[0], threads: threads, features.pointer + next * featureStride, recorder)
                next += 1
            }
        }
        return pooledOnly ? pooled(features.pointer, count: n) : LayerProfile.measure(.classifier) { classify(features.pointer, count: n) }
    }

    private func classify(_ features: UnsafeMutablePointer<Float>, count n: Int) -> Tensor {
        guard let cls = plan.classifier else {
            // A classifier chain: small products on the pooled features, in Double.
            let chain = plan.chain!, width = plan.config.headChannels, stride = plan.head.matrix.np
            var x = [Double](repeating: 0, count: n * width)
            for i in 0 ..< n { for j in 0 ..< width { x[i * width + j] = Double(features[i * stride + j]) } }
            var t = Tensor(shape: [n, chain.outputs], scalars: chain.apply(x, rows: n).map { Float($0) })
            if plan.config.finalSoftmax { ReferenceKernels.softmax(&t) }
            return t
        }
        let logits = FloatBuffer(count: n * cls.matrix.np)
        gemm(cls, b: cls.matrix.data.pointer, m: n, a: features, lda: plan.head.matrix.np,
             c: logits.pointer, ldc: cls.matrix.np, residual: false, threads: threads)
        let classes = cls.matrix.n
        var out = [Float](repeating: 0, count: n * classes)
        for i in 0 ..< n { for j in 0 ..< classes { out[i * classes + j] = logits[i * cls.matrix.np + j] } }
        var t = Tensor(shape: [n, classes], scalars: out)
        if plan.config.finalSoftmax { ReferenceKernels.softmax(&t) }
        return t
    }

    /// One image: stem, blocks, head, global average pool into `features`. `threads` > 1 splits
    /// each large layer into parts (rows, or column panels for products with few rows); the
    /// results do not depend on how, so any thread count gives the same floats.
    private func runImage(_ index: Int, _ image: UnsafePointer<Float>, _ ws: Workspace, threads: Int,
                          _ features: UnsafeMutablePointer<Float>, _ recorder: StageRecorder?) {
        let g = geometry
        // Stem: the padded copy of the input, then the convolution, both by rows.
        let st = g.stem
        let stemParts = Parallel.parts(threads: threads, work: st.work, units: st.oh)
        LayerProfile.measure(.stem) {
            Parallel.forEach(stemParts, threads: threads) { p, _ in
                DenseConvKernels.pad(st, input: image, transform: plan.config.inputTransform, into: ws.stemScratch.pointer,
                                     rows: Parallel.slice(st.paddedHeight, p, of: stemParts))
            }
            Parallel.forEach(stemParts, threads: threads) { p, t in
                DenseConvKernels.runPadded(st, xp: ws.stemScratch.pointer, weights: plan.stem.product, y: ws.io[0].pointer,
                                           rows: Parallel.slice(st.oh, p, of: stemParts), patches: ws.patches(t))
            }
        }
        recorder?.record(stage: 0, image: index, ws.io[0].pointer, cp: st.op)

        var cur = 0
        for (i, b) in plan.blocks.enumerated() {
            switch (b.kind, g.blocks[i]) {
            case let (.mbconv(m), .mbconv(d, rowFused)):
                cur = mbconv(m, b.config, d, rowFused: rowFused, ws: ws, cur: cur, threads: threads)
            case let (.fused(f), .fused(d)):
                cur = fused(f, b.config, d, ws: ws, cur: cur, threads: threads)
            default:
                preconditionFailure("the geometry was built from another plan")
            }
            recorder?.record(stage: i + 1, image: index, ws.io[cur].pointer, cp: b.output.matrix.np)
        }

        let hm = plan.head.matrix
        let pixels = g.headHeight * g.headWidth
        LayerProfile.measure(.head) {
            gemm(plan.head, b: hm.data.pointer, m: pixels, a: ws.io[cur].pointer, lda: roundUpToLanes(hm.k),
                 c: ws.head.pointer, ldc: hm.np, residual: false, threads: threads)
        }
        recorder?.record(stage: plan.blocks.count + 1, image: index, ws.head.pointer, cp: hm.np)
        LayerProfile.measure(.pool) { averagePool(ws.head.pointer, pixels: pixels, cp: hm.np, into: features, scratch: ws.rowPools.pointer) }
    }

    /// An MBConv block on the image in io[cur]; returns the io buffer holding its output.
    private func mbconv(_ b: InferencePlan.MBConv, _ config: EfficientNetConfig.Block, _ d: DepthwiseKernels.Shape,
                        rowFused: Bool, ws: Workspace, cur: Int, threads: Int) -> Int {
        let x = ws.io[cur].pointer
        // Depthwise (after the expansion, row-fused with it where the blocks are large), with the
        // SE average pool's per-row sums written on the way.
        let pools = b.se != nil ? ws.rowPools.pointer : nil
        if rowFused, let e = b.expand {
            // A thread runs its own parts in order, continuing from its ring; only a part taken
            // over from another thread recomputes the expanded rows above its first.
            let work = d.oh * d.ow * d.cp * d.k * d.k + d.h * d.w * e.matrix.k * d.cp
            let parts = Parallel.parts(threads: threads, work: work, units: d.oh)
            ws.ringRows.initialize(repeating: 0, count: 2 * ws.parts)
            LayerProfile.measure(.expandDepthwise) {
                Parallel.forEach(parts, threads: threads) { p, t in
                    expandDepthwise(b, e, d, x: x, ws: ws, thread: t, rows: Parallel.slice(d.oh, p, of: parts), pools: pools)
                }
            }
        } else {
            var dwIn = UnsafePointer(x)
            if let e = b.expand {
                LayerProfile.measure(.expand) {
                    gemm(e, b: e.matrix.data.pointer, m: d.h * d.w, a: x, lda: roundUpToLanes(e.matrix.k),
                         c: ws.expanded.pointer, ldc: e.matrix.np, residual: false, threads: threads)
                }
                dwIn = UnsafePointer(ws.expanded.pointer)
            }
            let parts = Parallel.parts(threads: threads, work: d.oh * d.ow * d.cp * d.k * d.k, units: d.oh)
            LayerProfile.measure(.depthwise) {
                Parallel.forEach(parts, threads: threads) { p, t in
                    DepthwiseKernels.run(activation: b.depthwise.activation, shape: d, x: dwIn,
                                         weights: b.depthwise.weights.pointer, bias: b.depthwise.bias.pointer,
                                         y: ws.depthwise.pointer, rows: Parallel.slice(d.oh, p, of: parts),
                                         pools: pools, rowSum: ws.rowSum(t))
                }
            }
        }
        var gate: UnsafePointer<Float>?
        if let se = b.se {
            LayerProfile.measure(.squeezeExcite) { squeezeExcitation(se, b.depthwise, ws, rows: d.oh, pixels: d.oh * d.ow, threads: threads) }
            gate = UnsafePointer(ws.gate.pointer)
        }
        let residual = config.hasResidual
        let out = residual ? cur : 1 - cur
        LayerProfile.measure(.project) {
            project(b.project, gate: gate, m: d.oh * d.ow, a: ws.depthwise.pointer, lda: d.cp,
                    c: ws.io[out].pointer, residual: residual, ws: ws, threads: threads)
        }
        return out
    }

    /// A Fused-MBConv block on the image in io[cur]: the dense k x k convolution by output rows
    /// (into the expanded buffer, or straight into the output when there is no projection), then
    /// the projection; by Winograd, each part projects its own rows of tiles right after their
    /// convolution, while they are in cache. Returns the io buffer holding its output.
    private func fused(_ f: InferencePlan.Fused, _ config: EfficientNetConfig.Block, _ d: DenseConvKernels.Shape,
                       ws: Workspace, cur: Int, threads: Int) -> Int {
        let x = UnsafePointer(ws.io[cur].pointer), ldx = roundUpToLanes(config.inChannels)
        let residual = config.hasResidual
        guard let project = f.project else {
            // The convolution writes the block's output: into the other io buffer (it reads its
            // neighbours' input rows), holding a copy of the input when the residual is added.
            let out = 1 - cur
            if residual { ws.io[out].pointer.update(from: x, count: d.h * d.w * ldx) }
            LayerProfile.measure(f.conv.winograd == nil ? .fusedConv : .fusedWinograd) {
                denseConv(f.conv, d, x: x, ldx: ldx, y: ws.io[out].pointer, residual: residual, ws: ws, threads: threads)
            }
            return out
        }
        if let kernels = f.conv.winograd {
            LayerProfile.measure(.fusedWinograd) {
                winogradProjected(f.conv, kernels, project, d, x: x, ldx: ldx, y: ws.io[1 - cur].pointer, residual: residual,
                                  ws: ws, threads: threads)
            }
            return 1 - cur
        }
        LayerProfile.measure(.fusedConv) {
            denseConv(f.conv, d, x: x, ldx: ldx, y: ws.expanded.pointer, residual: false, ws: ws, threads: threads)
        }
        let out = residual ? cur : 1 - cur
        LayerProfile.measure(.project) {
            gemm(project, b: project.matrix.data.pointer, m: d.oh * d.ow, a: ws.expanded.pointer, lda: d.op,
                 c: ws.io[out].pointer, ldc: project.matrix.np, residual: residual, threads: threads)
        }
        return out
    }

    /// A Fused-MBConv block's dense convolution, split by output rows (Winograd: by tile rows).
    private func denseConv(_ conv: InferencePlan.DenseConv, _ d: DenseConvKernels.Shape, x: UnsafePointer<Float>, ldx: Int,
                           y: UnsafeMutablePointer<Float>, residual: Bool, ws: Workspace, threads: Int) {
        if let kernels = conv.winograd {
            let tileRows = DenseConvKernels.winogradTileRows(d)
            let parts = Parallel.parts(threads: threads, work: d.work, units: tileRows)
            Parallel.forEach(parts, threads: threads) { p, t in
                DenseConvKernels.runWinograd(d, x: x, ldx: ldx, conv: conv, kernels: kernels, y: y,
                                             tileRows: Parallel.slice(tileRows, p, of: parts), scratch: ws.winograd(t),
                                             residual: residual)
            }
            return
        }
        let parts = Parallel.parts(threads: threads, work: d.work, units: d.oh)
        Parallel.forEach(parts, threads: threads) { p, t in
            DenseConvKernels.runNHWC(d, x: x, ldx: ldx, weights: conv.product, y: y, rows: Parallel.slice(d.oh, p, of: parts),
                                     patches: ws.patches(t), residual: residual)
        }
    }

    /// A Winograd convolution followed by the block's projection, fused per row of tiles: the two
    /// convolved rows (in the expanded buffer) are projected into `y` at once. `y` is not the
    /// input: later tile rows still read the input rows above theirs. With the residual, each
    /// part copies its input rows into `y` first and the projection adds to them.
    private func winogradProjected(_ conv: InferencePlan.DenseConv, _ kernels: InferencePlan.WinogradKernels,
                                   _ project: InferencePlan.Pointwise, _ d: DenseConvKernels.Shape, x: UnsafePointer<Float>,
                                   ldx: Int, y: UnsafeMutablePointer<Float>, residual: Bool, ws: Workspace, threads: Int) {
        let pm = project.matrix, tileRows = DenseConvKernels.winogradTileRows(d)
        precondition(!residual || (ldx == pm.np && d.w == d.ow && d.h == d.oh))
        let work = d.work + d.oh * d.ow * pm.k * pm.np
        let parts = Parallel.parts(threads: threads, work: work, units: tileRows)
        let expanded = ws.expanded.pointer
        Parallel.forEach(parts, threads: threads) { p, t in
            for ty in Parallel.slice(tileRows, p, of: parts) {
                DenseConvKernels.runWinograd(d, x: x, ldx: ldx, conv: conv, kernels: kernels, y: expanded,
                                             tileRows: ty ..< ty + 1, scratch: ws.winograd(t), residual: false)
                let r0 = 2 * ty, m = (min(d.oh, r0 + 2) - r0) * d.ow
                let c = y + r0 * d.ow * pm.np
                if residual { c.update(from: x + r0 * d.w * ldx, count: m * ldx) }
                GemmKernels.product(project, b: pm.data.pointer, m: m, a: expanded + r0 * d.ow * d.op, lda: d.op,
                                    c: c, ldc: pm.np, residual: residual,
                                    tiles: 0 ..< GemmKernels.tileCount(m: m), panels: 0 ..< pm.panelCount)
            }
        }
    }

    /// Output rows `rows` of a block's depthwise convolution, its input computed on demand by the
    /// expansion, one row at a time, into this thread's ring of k rows (row iy in slot iy % k: by
    /// the time row iy + k is computed, no remaining output row needs row iy). The expanded rows
    /// the ring holds (ws.ringRows) carry over to the thread's next part of the same layer.
    private func expandDepthwise(_ b: InferencePlan.MBConv, _ e: InferencePlan.Pointwise, _ d: DepthwiseKernels.Shape,
                                 x: UnsafePointer<Float>, ws: Workspace, thread: Int, rows: Range<Int>,
                                 pools: UnsafeMutablePointer<Double>?) {
        guard !rows.isEmpty else { return }
        let ring = ws.ring(thread), rowFloats = d.w * d.cp
        let lda = roundUpToLanes(e.matrix.k), tiles = GemmKernels.tileCount(m: d.w)
        // Valid rows [held[0], held[1]) of the ring; reused if this part starts inside them.
        let held = ws.ringRows + 2 * thread
        let first = max(0, rows.lowerBound * d.stride - d.padding.top)
        var next = held[0] <= first && first <= held[1] ? held[1] : first
        let start = min(first, next)
        defer {
            held[0] = max(start, next - d.k)
            held[1] = next
        }
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
                let pool = pools.map { $0 + oy * d.cp }
                pool?.initialize(repeating: 0, count: d.cp)
                DepthwiseKernels.row(activation: b.depthwise.activation, shape: d, oy: oy,
                                     inputRows: UnsafePointer(inputRows.baseAddress!),
                                     weights: b.depthwise.weights.pointer, bias: b.depthwise.bias.pointer,
                                     y: ws.depthwise.pointer, pool: pool, rowSum: ws.rowSum(thread))
            }
        }
    }

    /// How a product with m rows is cut: by row tiles, or by column panels when there are few
    /// rows. Chosen from the shape alone (not the thread count), so that the SE gate below is
    /// applied the same way, and the results are the same, whatever the thread count.
    private func split(_ pw: InferencePlan.Pointwise, m: Int, threads: Int) -> (byRows: Bool, parts: Int) {
        let tiles = GemmKernels.tileCount(m: m), panels = pw.matrix.panelCount
        let byRows = tiles >= 8 || tiles >= panels
        return (byRows, Parallel.parts(threads: threads, work: m * pw.matrix.k * pw.matrix.np, units: byRows ? tiles : panels))
    }

    /// The part-th share of a product cut by `split`: (row tiles, column panels).
    private func share(_ pw: InferencePlan.Pointwise, m: Int, byRows: Bool, part: Int, of parts: Int) -> (Range<Int>, Range<Int>) {
        let tiles = GemmKernels.tileCount(m: m), panels = pw.matrix.panelCount
        return byRows ? (Parallel.slice(tiles, part, of: parts), 0 ..< panels)
            : (0 ..< tiles, Parallel.slice(panels, part, of: parts))
    }

    /// C = act(A B + bias) [+ C], split over `threads` threads.
    private func gemm(_ pw: InferencePlan.Pointwise, b: UnsafePointer<Float>, m: Int, a: UnsafePointer<Float>, lda: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, residual: Bool, threads: Int) {
        let (byRows, parts) = split(pw, m: m, threads: threads)
        Parallel.forEach(parts, threads: threads) { part, _ in
            let (tiles, panels) = share(pw, m: m, byRows: byRows, part: part, of: parts)
            GemmKernels.product(pw, b: b, m: m, a: a, lda: lda, c: c, ldc: ldc, residual: residual, tiles: tiles, panels: panels)
        }
    }

    /// A block's projection with the squeeze-and-excitation gate (when there is one) applied to
    /// whichever operand is smaller: the input's channels, or the weights' rows (a scaled copy).
    /// The gating runs inside the product's parts where it can (each part its own rows of input,
    /// or its own panels of weights), else in a split pass of its own. Which operand is scaled
    /// depends on the shapes only, so the results do not depend on the thread count.
    private func project(_ pw: InferencePlan.Pointwise, gate: UnsafePointer<Float>?, m: Int, a: UnsafeMutablePointer<Float>,
                         lda: Int, c: UnsafeMutablePointer<Float>, residual: Bool, ws: Workspace, threads: Int) {
        let pm = pw.matrix
        guard let gate else {
            gemm(pw, b: pm.data.pointer, m: m, a: a, lda: lda, c: c, ldc: pm.np, residual: residual, threads: threads)
            return
        }
        let (byRows, parts) = split(pw, m: m, threads: threads)
        // ExternalGEMM multiplies the plain (unpacked) weights, so there the input is scaled.
        let scaleInput = pw.plain != nil || m * lda <= pm.k * pm.np
        let scaled = ws.scaledWeights.pointer
        if scaleInput && !byRows {
            let tiles = GemmKernels.tileCount(m: m)
            let scaleParts = Parallel.parts(threads: threads, work: m * lda * 8, units: tiles)
            Parallel.forEach(scaleParts, threads: threads) { p, _ in
                scaleRows(a, Parallel.slice(tiles, p, of: scaleParts), m: m, cp: lda, by: gate)
            }
        } else if !scaleInput && byRows {
            let scaleParts = Parallel.parts(threads: threads, work: pm.k * pm.np * 8, units: pm.panelCount)
            Parallel.forEach(scaleParts, threads: threads) { p, _ in
                pm.writeRowScaled(by: gate, to: scaled, panels: Parallel.slice(pm.panelCount, p, of: scaleParts))
            }
        }
        Parallel.forEach(parts, threads: threads) { part, _ in
            let (tiles, panels) = share(pw, m: m, byRows: byRows, part: part, of: parts)
            if scaleInput && byRows {
                scaleRows(a, tiles, m: m, cp: lda, by: gate)
            } else if !scaleInput && !byRows {
                pm.writeRowScaled(by: gate, to: scaled, panels: panels)
            }
            GemmKernels.product(pw, b: scaleInput ? pm.data.pointer : scaled, m: m, a: a, lda: lda, c: c, ldc: pm.np,
                                residual: residual, tiles: tiles, panels: panels)
        }
    }

    /// Multiplies the rows of row tiles `tiles` (of an m-row matrix, row stride cp) by the gate.
    private func scaleRows(_ a: UnsafeMutablePointer<Float>, _ tiles: Range<Int>, m: Int, cp: Int, by gate: UnsafePointer<Float>) {
        let r0 = tiles.lowerBound * GemmKernels.tileRows, r1 = min(m, tiles.upperBound * GemmKernels.tileRows)
        if r1 > r0 { scaleChannels(a + r0 * cp, pixels: r1 - r0, cp: cp, by: gate) }
    }

    /// gate = sigmoid(W2 act(W1 mean + b1) + b2) from the per-row pooled sums of `rows` output
    /// rows, added up in row order (the same sums whatever the split).
    private func squeezeExcitation(_ se: InferencePlan.SqueezeExcitation, _ d: InferencePlan.Depthwise, _ ws: Workspace,
                                   rows: Int, pixels: Int, threads: Int) {
        let cp = d.cp, squeeze = se.squeeze
        let sum = ws.rowPools.pointer
        for r in 1 ..< max(1, rows) { let o = sum + r * cp; for c in 0 ..< cp { sum[c] += o[c] } }
        let mean = UnsafeMutablePointer(ws.rowSum(0))
        for c in 0 ..< cp { mean[c] = Float(sum[c] / Double(pixels)) }
        let act = plan.config.activation, b1 = se.b1
        let hidden = ws.hidden.pointer, gate = ws.gate.pointer
        let w1 = UnsafePointer(se.w1.pointer), w2 = UnsafePointer(se.w2.pointer), b2 = UnsafePointer(se.b2.pointer)
        // Each product reads squeeze x cp weights that are used once per image, so they come from
        // memory, not cache: large ones are split over the threads. Four independent accumulators
        // keep the FMA latency hidden.
        let parts1 = Parallel.parts(threads: threads, work: squeeze * cp, units: squeeze, minimum: Self.seMinimumWork)
        Parallel.forEach(parts1, threads: threads) { p, _ in
            for j in Parallel.slice(squeeze, p, of: parts1) {
                let w = w1 + j * cp
                var a0 = Vec(), a1 = Vec(), a2 = Vec(), a3 = Vec()
                var c = 0
                while c + 4 * lanes <= cp {
                    a0 = madd(loadVec(mean + c), loadVec(w + c), a0)
                    a1 = madd(loadVec(mean + c + lanes), loadVec(w + c + lanes), a1)
                    a2 = madd(loadVec(mean + c + 2 * lanes), loadVec(w + c + 2 * lanes), a2)
                    a3 = madd(loadVec(mean + c + 3 * lanes), loadVec(w + c + 3 * lanes), a3)
                    c += 4 * lanes
                }
                while c < cp { a0 = madd(loadVec(mean + c), loadVec(w + c), a0); c += lanes }
                hidden[j] = ReferenceKernels.activate(b1[j] + ((a0 + a1) + (a2 + a3)).sum(), act)
            }
        }
        let vectors = cp / lanes
        let parts2 = Parallel.parts(threads: threads, work: squeeze * cp, units: vectors, minimum: Self.seMinimumWork)
        Parallel.forEach(parts2, threads: threads) { p, _ in
            let share = Parallel.slice(vectors, p, of: parts2)
            var c = share.lowerBound * lanes
            while c + 4 * lanes <= share.upperBound * lanes {
                var a0 = loadVec(b2 + c), a1 = loadVec(b2 + c + lanes)
                var a2 = loadVec(b2 + c + 2 * lanes), a3 = loadVec(b2 + c + 3 * lanes)
                for j in 0 ..< squeeze {
                    let h = Vec(repeating: hidden[j]), w = w2 + j * cp + c
                    a0 = madd(h, loadVec(w), a0)
                    a1 = madd(h, loadVec(w + lanes), a1)
                    a2 = madd(h, loadVec(w + 2 * lanes), a2)
                    a3 = madd(h, loadVec(w + 3 * lanes), a3)
                }
                storeVec(vsigmoid(a0), gate + c)
                storeVec(vsigmoid(a1), gate + c + lanes)
                storeVec(vsigmoid(a2), gate + c + 2 * lanes)
                storeVec(vsigmoid(a3), gate + c + 3 * lanes)
                c += 4 * lanes
            }
            while c < share.upperBound * lanes {
                var acc = loadVec(b2 + c)
                for j in 0 ..< squeeze { acc = madd(Vec(repeating: hidden[j]), loadVec(w2 + j * cp + c), acc) }
                storeVec(vsigmoid(acc), gate + c)
                c += lanes
            }
        }
    }

    /// Weights (squeeze x channels) of one SE product above which it is split over threads.
    private static let seMinimumWork = 20_000

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
