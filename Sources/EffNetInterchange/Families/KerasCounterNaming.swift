import EffNet

/// Renames a Keras 3 `.weights.h5` that only has class-name counters (`conv2d_7`,
/// `batch_normalization_12`, `depthwise_conv2d_3`, ...; written by Keras 3 releases before the
/// `name` attribute, and read without a config) to keras.applications' layer names.
///
/// Keras numbers the layers of each class in creation order, and `EfficientNet()` creates them
/// as: stem_conv; per block [expand_conv], dwconv, se_reduce, se_expand, project_conv (BN after
/// each conv but the SE ones); top_conv; predictions. Walking the conv2d, depthwise_conv2d and
/// batch_normalization lists together, checking every shape, gives each layer its role. Which
/// blocks form a stage (and so which have stride 2) is not stored at all: it follows from the
/// depth multiplier, found by trying every repeat distribution ceil(d * [1,2,2,3,3,4,1]) that
/// has the right number of blocks and keeping those whose kernels, expansions and channels fit
/// keras.applications' default block arguments.
enum KerasCounterNaming {
    struct BlockShape: Equatable {
        var kernel, expanded, inChannels, outChannels: Int
        var hasExpand: Bool
    }

    /// - Throws: `MappingError.unsupported` naming the layer where the walk stops fitting.
    static func rename(_ table: KerasLayerTable, path: String) throws -> KerasLayerTable {
        func fail(_ detail: String) -> MappingError {
            .unsupported(path: path, detail: "layers named by class counters do not follow keras.applications' EfficientNet: \(detail)")
        }
        func byClass(_ cls: String) -> [String] {
            table.layerOrder.filter { KerasLayerTable.splitCounter($0).0 == cls }
                .sorted { KerasLayerTable.splitCounter($0).1 < KerasLayerTable.splitCounter($1).1 }
        }
        let convs = byClass("conv2d"), dws = byClass("depthwise_conv2d"), bns = byClass("batch_normalization")
        var ci = 0, bi = 0
        var names: [String: String] = [:]
        func kernel(_ layer: String) -> [Int] { table.shape(layer, ["kernel"]) ?? [] }
        func hasBias(_ layer: String) -> Bool { table.source(layer, ["bias"]) != nil }
        func take(_ role: String, expect: (([Int], Bool) -> Bool)) throws -> String {
            guard ci < convs.count else { throw fail("ran out of conv2d layers looking for \(role)") }
            let layer = convs[ci]
            guard expect(kernel(layer), hasBias(layer)) else {
                throw fail("\(layer) (kernel \(kernel(layer))\(hasBias(layer) ? ", bias" : "")) does not fit \(role)")
            }
            ci += 1
            return layer
        }
        func takeBN(_ role: String) throws -> String {
            guard bi < bns.count else { throw fail("ran out of batch_normalization layers looking for \(role)") }
            bi += 1
            return bns[bi - 1]
        }

        let stem = try take("stem_conv", expect: { k, b in k.count == 4 && k[0] == k[1] && !b })
        names[stem] = KerasNames.stem.conv
        names[try takeBN("stem_bn")] = KerasNames.stem.norm
        var cin = kernel(stem)[3]
        var shapes: [BlockShape] = []
        var roles: [[(String, String)]] = []
        for dw in dws {
            let k = table.shape(dw, ["kernel", "depthwise_kernel"]) ?? []
            guard k.count == 4, k[0] == k[1], k[3] == 1 else { throw fail("\(dw) has kernel \(k), not (k, k, C, 1)") }
            let e = k[2]
            var r: [(String, String)] = []
            if e != cin {
                let c = cin
                r.append((try take("block expand_conv (1, 1, \(cin), \(e))", expect: { s, b in s == [1, 1, c, e] && !b }), "expand_conv"))
                r.append((try takeBN("expand_bn"), "expand_bn"))
            }
            r.append((dw, "dwconv"))
            r.append((try takeBN("bn"), "bn"))
            if ci < convs.count, hasBias(convs[ci]), kernel(convs[ci]).count == 4, kernel(convs[ci])[2] == e {
                let reduce = try take("se_reduce", expect: { s, _ in s.count == 4 && s[0] == 1 && s[1] == 1 })
                let width = kernel(reduce)[3]
                r.append((reduce, "se_reduce"))
                r.append((try take("se_expand (1, 1, \(width), \(e))", expect: { s, b in s == [1, 1, width, e] && b }), "se_expand"))
            }
            let project = try take("project_conv (1, 1, \(e), out)", expect: { s, b in s.count == 4 && s[0] == 1 && s[1] == 1 && s[2] == e && !b })
            r.append((project, "project_conv"))
            r.append((try takeBN("project_bn"), "project_bn"))
            let out = kernel(project)[3]
            shapes.append(BlockShape(kernel: k[0], expanded: e, inChannels: cin, outChannels: out, hasExpand: e != cin))
            roles.append(r)
            cin = out
        }
        let c = cin
        names[try take("top_conv (1, 1, \(cin), head)", expect: { s, b in s.count == 4 && s[0] == 1 && s[1] == 1 && s[2] == c && !b })] = KerasNames.head.conv
        names[try takeBN("top_bn")] = KerasNames.head.norm
        guard ci == convs.count, bi == bns.count else {
            throw fail("\(convs.count - ci) conv2d and \(bns.count - bi) batch_normalization layers left after top_conv")
        }
        let stages = try stageAssignment(shapes, path: path)
        for (i, r) in roles.enumerated() {
            let id = KerasNames.blockID(stage: stages[i].stage, index: stages[i].index)
            for (layer, role) in r { names[layer] = KerasNames.layer(id, role) }
        }
        let denses = byClass("dense")
        if denses.count == 1 { names[denses[0]] = KerasNames.classifier }
        return table.renamed(names)
    }

    /// Stage number (1-based) and index within the stage of every block.
    /// - Throws: `MappingError.unsupported` when no repeat distribution fits, or when several
    ///   fit and disagree on the strides.
    static func stageAssignment(_ blocks: [BlockShape], path: String) throws -> [(stage: Int, index: Int)] {
        let stages = EfficientNetConfig.b0Stages
        let n = blocks.count
        var candidates: [[Int]] = []
        // Distributions change only where d * r crosses an integer: try every such d and a hair above.
        for r in 1 ... 4 {
            for k in 1 ... max(1, 4 * n) {
                for d in [Double(k) / Double(r), Double(k) / Double(r) + 1e-9] {
                    let reps = stages.map { Int((d * Double($0.repeats)).rounded(.up)) }
                    if reps.reduce(0, +) == n, !candidates.contains(reps) { candidates.append(reps) }
                }
            }
        }
        func fits(_ reps: [Int]) -> Bool {
            var b = 0
            for (s, spec) in stages.enumerated() {
                for j in 0 ..< reps[s] {
                    let blk = blocks[b]
                    if blk.kernel != spec.kernel || blk.hasExpand != (spec.expandRatio != 1) { return false }
                    if blk.hasExpand, blk.expanded != blk.inChannels * spec.expandRatio { return false }
                    if j > 0, blk.inChannels != blk.outChannels { return false }
                    if j > 0, blk.outChannels != blocks[b - 1].outChannels { return false }
                    b += 1
                }
            }
            return true
        }
        let fitting = candidates.filter(fits)
        guard let first = fitting.first else {
            throw MappingError.unsupported(path: path, detail: "the \(n) blocks match no depth scaling of keras.applications' default EfficientNet block arguments; the strides cannot be derived without the model config")
        }
        func strides(_ reps: [Int]) -> [Int] { zip(reps, stages).flatMap { r, s in (0 ..< r).map { $0 == 0 ? s.stride : 1 } } }
        if let other = fitting.first(where: { strides($0) != strides(first) }) {
            throw MappingError.unsupported(path: path, detail: "the blocks fit stage repeats \(first) and \(other), which place the stride-2 blocks differently; the model config is needed")
        }
        return first.enumerated().flatMap { s, r in (0 ..< r).map { (stage: s + 1, index: $0) } }
    }
}
