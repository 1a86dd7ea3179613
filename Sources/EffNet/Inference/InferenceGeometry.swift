/// Every layer's sizes and padding for one input height x width, and the buffer sizes a
/// `Workspace` needs for one image. Padding follows the reference exactly: 1x1 stride-1
/// convolutions never pad; the stem (conv index 0) and each block's k x k convolution (index
/// i + 1, depthwise or fused) take theirs from the config's rule.
struct InferenceGeometry: Equatable {
    /// One block's spatial convolution.
    enum BlockShape: Equatable {
        /// MBConv: its depthwise convolution (h, w = the block's input size); `rowFused`: expand
        /// and depthwise run fused, row by row through a ring of k expanded rows, instead of
        /// materialising the whole expanded activation. Chosen where that activation would not
        /// fit in L2 (the early, high-resolution blocks); elsewhere the unfused path splits
        /// better over threads.
        case mbconv(DepthwiseKernels.Shape, rowFused: Bool)
        /// Fused-MBConv: its dense k x k convolution.
        case fused(DenseConvKernels.Shape)

        var outputHeight: Int {
            switch self { case let .mbconv(d, _): return d.oh; case let .fused(d): return d.oh }
        }
        var outputWidth: Int {
            switch self { case let .mbconv(d, _): return d.ow; case let .fused(d): return d.ow }
        }
    }

    let height, width: Int
    let stem: DenseConvKernels.Shape
    let blocks: [BlockShape]
    let headHeight, headWidth: Int

    // Floats per image, per buffer role.
    let stemScratchCount: Int
    /// One output row's im2col patches (the largest dense convolution's).
    let patchCount: Int
    /// One tile row's Winograd scratch (the largest Winograd convolution's).
    let winogradCount: Int
    let ioCount: Int
    let expandedCount: Int
    /// Floats of one thread's ring of expanded rows (row-fused MBConv blocks).
    let ringCount: Int
    let depthwiseCount: Int
    let headCount: Int
    let scaledWeightsCount: Int
    let maxChannels: Int
    let maxSqueeze: Int
    /// Doubles of per-row pooling sums: the largest depthwise output rows x channels of a block
    /// with SE, or the head's channels.
    let rowPoolCount: Int

    /// - Throws: `InputShapeError` when some convolution's kernel does not fit its input.
    /// - Parameter fuseAbove: bytes of expanded activation above which an MBConv block runs
    ///   row-fused.
    init(plan: InferencePlan, height: Int, width: Int, fuseAbove: Int) throws {
        self.height = height
        self.width = width
        func pad(_ index: Int, k: Int, s: Int, h: Int, w: Int) -> ConvPadding {
            k == 1 && s == 1 ? ConvPadding(top: 0, bottom: 0, left: 0, right: 0)
                : plan.paddingResolver.padding(convIndex: index, kernel: k, stride: s, height: h, width: w)
        }
        func out(_ h: Int, _ w: Int, _ p: ConvPadding, k: Int, s: Int, what: String) throws -> (Int, Int) {
            guard let oh = ConvPadding.outputSize(h, before: p.top, after: p.bottom, kernel: k, stride: s),
                  let ow = ConvPadding.outputSize(w, before: p.left, after: p.right, kernel: k, stride: s) else {
                throw InputShapeError(shape: [height, width], reason: "\(what): kernel \(k) does not fit its \(h)x\(w) input")
            }
            return (oh, ow)
        }
        func dense(_ d: InferencePlan.DenseConv, index: Int, h: Int, w: Int, what: String) throws -> DenseConvKernels.Shape {
            let p = pad(index, k: d.kernel, s: d.stride, h: h, w: w)
            let (oh, ow) = try out(h, w, p, k: d.kernel, s: d.stride, what: what)
            return DenseConvKernels.Shape(cin: d.cin, h: h, w: w, k: d.kernel, stride: d.stride, padding: p,
                                          oh: oh, ow: ow, op: d.op)
        }
        stem = try dense(plan.stem, index: 0, h: height, w: width, what: "stem")
        var h = stem.oh, w = stem.ow
        var io = h * w * stem.op, expanded = 0, dwOut = 0, scaled = 0, maxC = stem.op, maxS = 1
        var patches = stem.ow * stem.k * stem.k * stem.cin
        var shapes: [BlockShape] = [], ring = 0, rowPools = 0, winograd = 0
        for (i, b) in plan.blocks.enumerated() {
            let shape: BlockShape
            switch b.kind {
            case let .mbconv(m):
                let d = m.depthwise
                let p = pad(i + 1, k: d.kernel, s: d.stride, h: h, w: w)
                let (oh, ow) = try out(h, w, p, k: d.kernel, s: d.stride, what: "blocks.\(i).depthwise")
                let fuse = m.expand != nil && h * w * d.cp * MemoryLayout<Float>.size > fuseAbove
                shape = .mbconv(DepthwiseKernels.Shape(h: h, w: w, cp: d.cp, k: d.kernel, stride: d.stride, padding: p,
                                                       oh: oh, ow: ow), rowFused: fuse)
                if fuse {
                    ring = max(ring, d.kernel * w * d.cp)
                } else if m.expand != nil {
                    expanded = max(expanded, h * w * d.cp)
                }
                dwOut = max(dwOut, oh * ow * d.cp)
                if let se = m.se {
                    scaled = max(scaled, m.project.matrix.k * m.project.matrix.np)
                    maxS = max(maxS, se.squeeze)
                    rowPools = max(rowPools, oh * d.cp)
                }
                maxC = max(maxC, d.cp)
            case let .fused(f):
                let d = try dense(f.conv, index: i + 1, h: h, w: w, what: "blocks.\(i).fused")
                shape = .fused(d)
                if f.conv.winograd != nil {
                    winograd = max(winograd, DenseConvKernels.winogradScratchCount(d))
                } else {
                    patches = max(patches, d.ow * d.k * d.k * d.cin)
                }
                if f.project != nil { expanded = max(expanded, d.oh * d.ow * d.op) }
                maxC = max(maxC, d.op)
            }
            shapes.append(shape)
            let oh = shape.outputHeight, ow = shape.outputWidth
            io = max(io, h * w * roundUpToLanes(b.config.inChannels), oh * ow * b.output.matrix.np)
            maxC = max(maxC, b.output.matrix.np)
            h = oh
            w = ow
        }
        blocks = shapes
        ringCount = ring
        headHeight = h
        headWidth = w
        stemScratchCount = stem.paddedHeight * stem.paddedWidth * stem.cin
        patchCount = patches
        winogradCount = winograd
        ioCount = io
        expandedCount = expanded
        depthwiseCount = dwOut
        headCount = h * w * plan.head.matrix.np
        scaledWeightsCount = scaled
        maxChannels = max(maxC, plan.head.matrix.np)
        maxSqueeze = maxS
        rowPoolCount = max(rowPools, plan.head.matrix.np)
    }
}
