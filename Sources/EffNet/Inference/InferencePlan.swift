/// A model's weights rearranged for the fast kernels, built once from the module tree (which it
/// never modifies): batch norm folded into each convolution (w * scale, bias * scale + shift),
/// 1x1 convolutions packed for `GemmKernels`, dense k x k convolutions (the stem, Fused-MBConv
/// blocks) packed for their im2col product, depthwise weights laid out tap-major with channels
/// padded to 16, squeeze-and-excitation weights transposed so every step runs along channels.
/// Built by walking the model's declared units (`ParameterLayout`), one case per block kind, from
/// a `PlanSource` (the model's arrays, or a mapped .effw file), the stem, blocks, head and
/// classifier on as many threads as asked, into one `PlanArena`.
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
    /// The `WeightStore.version` of the parameters the plan was built from; see `isCurrent(for:)`.
    let version: Int
    /// Holds the packed weights' memory.
    private let arena: PlanArena

    /// The plan for `model`'s current parameters, built on one thread.
    convenience init(model: EfficientNet) {
        let (arrays, version) = model.weightStore.arrays()
        self.init(source: PlanSource(config: model.config, layout: model.layout, arrays: arrays),
                  paddingResolver: model.paddingResolver, version: version, threads: 1)
    }

    /// Builds the plan from `source` on up to `threads` threads. `alongside` are independent
    /// jobs run in the same parallel loop (the load's CRC and finite checks), so that a thread
    /// that finishes its share of one takes over the other.
    init(source: PlanSource, paddingResolver: PaddingResolver, version: Int, threads: Int,
         alongside: [() -> Void] = []) {
        let c = source.config, arena = PlanArena()
        config = c
        self.paddingResolver = paddingResolver
        self.version = version
        self.arena = arena
        let builder = Builder(source: source, arena: arena)
        // Jobs: stem, each block, head, classifier; results land in their own slots.
        let blockCount = c.blocks.count
        let results = JobResults<Part>(count: blockCount + 3)
        let jobs = blockCount + 3 + alongside.count
        let work = { (j: Int) in
            switch j {
            case 0: results[0] = .dense(builder.dense(source.layout.unit(.stem)!))
            case 1 ... blockCount: results[j] = .block(builder.block(j - 1))
            case blockCount + 1: results[j] = .pointwise(builder.pointwise(source.layout.unit(.head)!))
            case blockCount + 2: results[j] = builder.classifier()
            default: alongside[j - blockCount - 3]()
            }
        }
        if threads > 1 { Parallel.forEach(jobs, work) } else { for j in 0 ..< jobs { work(j) } }
        guard case let .dense(stem) = results[0], case let .pointwise(head) = results[blockCount + 1] else { fatalError("plan job missing") }
        self.stem = stem
        self.head = head
        blocks = (1 ... max(1, blockCount)).prefix(blockCount).map { j in
            guard case let .block(b) = results[j] else { fatalError("plan job missing") }
            return b
        }
        switch results[blockCount + 2] {
        case let .pointwise(p): classifier = p; chain = nil
        case let .chain(ch): classifier = nil; chain = ch
        default: fatalError("plan job missing")
        }
    }

    /// What one build job produces.
    enum Part {
        case dense(DenseConv)
        case block(Block)
        case pointwise(Pointwise)
        case chain(ClassifierChain)
    }

    /// True while `model`'s parameters are the ones the plan was built from: any change to them
    /// (`load(_:)`, a write through `weights`) raises the model's `WeightStore.version`.
    func isCurrent(for model: EfficientNet) -> Bool {
        model.weightStore.version == version
    }

    static func padded(_ v: [Float], to n: Int, arena: PlanArena?) -> FloatBuffer {
        let b = FloatBuffer(count: n, arena: arena)
        for (i, x) in v.enumerated() { b[i] = x }
        return b
    }
}
