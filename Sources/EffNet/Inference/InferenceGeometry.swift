/// Every layer's sizes and padding for one input height x width, and the buffer sizes a
/// `Workspace` needs for one image. Padding follows the reference exactly: 1x1 stride-1
/// convolutions never pad; the stem (conv index 0) and each block's depthwise conv (index i + 1)
/// take theirs from the config's rule.
struct InferenceGeometry: Equatable {
    let height, width: Int
    let stem: StemKernels.Shape
    /// Per block: its depthwise convolution (h, w = the block's input size).
    let depthwise: [DepthwiseKernels.Shape]
    /// Per block: expand and depthwise run fused, row by row through a ring of k expanded rows,
    /// instead of materialising the whole expanded activation. Chosen where that activation would
    /// not fit in L2 (the early, high-resolution blocks); elsewhere the unfused path splits better
    /// over threads.
    let fused: [Bool]
    let headHeight, headWidth: Int

    // Floats per image, per buffer role.
    let stemScratchCount: Int
    let stemPatchCount: Int
    let ioCount: Int
    let expandedCount: Int
    /// Floats of one thread's ring of expanded rows (fused blocks).
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
    /// - Parameter fuseAbove: bytes of expanded activation above which a block runs fused.
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
        let st = plan.stem
        let sp = pad(0, k: st.kernel, s: st.stride, h: height, w: width)
        let (sh, sw) = try out(height, width, sp, k: st.kernel, s: st.stride, what: "stem")
        stem = StemKernels.Shape(cin: st.cin, h: height, w: width, k: st.kernel, stride: st.stride, padding: sp,
                                 oh: sh, ow: sw, op: st.op)
        var h = sh, w = sw
        var io = h * w * st.op, expanded = 0, dwOut = 0, scaled = 0, maxC = st.op, maxS = 1
        var shapes: [DepthwiseKernels.Shape] = []
        var fusedBlocks: [Bool] = [], ring = 0, rowPools = 0
        for (i, b) in plan.blocks.enumerated() {
            let d = b.depthwise
            let p = pad(i + 1, k: d.kernel, s: d.stride, h: h, w: w)
            let (oh, ow) = try out(h, w, p, k: d.kernel, s: d.stride, what: "blocks.\(i).depthwise")
            shapes.append(DepthwiseKernels.Shape(h: h, w: w, cp: d.cp, k: d.kernel, stride: d.stride, padding: p, oh: oh, ow: ow))
            let fuse = b.expand != nil && h * w * d.cp * MemoryLayout<Float>.size > fuseAbove
            fusedBlocks.append(fuse)
            if fuse {
                ring = max(ring, d.kernel * w * d.cp)
            } else if b.expand != nil {
                expanded = max(expanded, h * w * d.cp)
            }
            dwOut = max(dwOut, oh * ow * d.cp)
            io = max(io, h * w * roundUpToLanes(b.config.inChannels), oh * ow * b.project.matrix.np)
            if let se = b.se {
                scaled = max(scaled, b.project.matrix.k * b.project.matrix.np)
                maxS = max(maxS, se.squeeze)
                rowPools = max(rowPools, oh * d.cp)
            }
            maxC = max(maxC, d.cp, b.project.matrix.np)
            h = oh
            w = ow
        }
        depthwise = shapes
        fused = fusedBlocks
        ringCount = ring
        headHeight = h
        headWidth = w
        stemScratchCount = stem.paddedHeight * stem.paddedWidth * st.cin
        stemPatchCount = sw * st.kernel * st.kernel * st.cin
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
