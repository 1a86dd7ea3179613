/// Collects the per-stage activations ("stem", "blocks.i", "head") of a fast forward pass as NCHW
/// tensors, for `forward(_:observe:)`. Only made when the caller observes; each image writes its
/// own slice, so images running on different threads never touch the same memory.
final class StageRecorder: @unchecked Sendable {
    struct Stage {
        let name: String
        let channels, height, width: Int
        let data: FloatBuffer
    }

    let batch: Int
    let stages: [Stage]

    init(plan: InferencePlan, geometry g: InferenceGeometry, batch: Int) {
        self.batch = batch
        func stage(_ name: String, _ c: Int, _ h: Int, _ w: Int) -> Stage {
            Stage(name: name, channels: c, height: h, width: w, data: FloatBuffer(count: batch * c * h * w))
        }
        var s = [stage("stem", plan.stem.outChannels, g.stem.oh, g.stem.ow)]
        for (i, b) in plan.blocks.enumerated() {
            s.append(stage("blocks.\(i)", b.config.outChannels, g.blocks[i].outputHeight, g.blocks[i].outputWidth))
        }
        s.append(stage("head", plan.head.matrix.n, g.headHeight, g.headWidth))
        stages = s
    }

    /// Copies image `image`'s NHWC activation (channel stride cp) into stage `stage`, as NCHW.
    func record(stage index: Int, image: Int, _ src: UnsafePointer<Float>, cp: Int) {
        let s = stages[index]
        let hw = s.height * s.width
        let dst = s.data.pointer + image * s.channels * hw
        for p in 0 ..< hw {
            for c in 0 ..< s.channels { dst[c * hw + p] = src[p * cp + c] }
        }
    }

    /// (name, [N, C, H, W]) in execution order.
    func tensors() -> [(String, Tensor)] {
        stages.map { s in
            let count = batch * s.channels * s.height * s.width
            return (s.name, Tensor(shape: [batch, s.channels, s.height, s.width],
                                   scalars: Array(UnsafeBufferPointer(start: s.data.pointer, count: count))))
        }
    }
}
