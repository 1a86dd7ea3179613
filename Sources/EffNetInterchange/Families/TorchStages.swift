import EffNet

/// Strides are not stored in weights. Every PyTorch family builds its blocks from EfficientNet-B0's
/// seven-stage table (`EfficientNetConfig.b0Stages`), where a stage's first block carries the
/// stage's stride and the others stride 1. So each block's stage decides its stride.
enum TorchStages {
    typealias Spec = EfficientNetConfig.StageSpec

    /// Strides for blocks whose stage and index the names give (torchvision, timm): a stage's
    /// first block strides as `EfficientNetConfig.stageStrides` says for the stage's position.
    /// EfficientNet (V1) has seven stages; EfficientNetV2 (recognised by its fused blocks) six
    /// (S, B0-B3) or seven (M, L).
    /// - Throws: `MappingError.unsupported` when the stage count fits neither.
    static func strides(explicit blocks: [TorchBlockNames], path: String) throws -> (strides: [Int], stages: [Int]) {
        let table = EfficientNetConfig.stageStrides
        let v2 = blocks.contains { $0.kind == .fused }
        var strides: [Int] = [], stages: [Int] = []
        var stageIDs: [Int] = []
        for b in blocks {
            guard let s = b.stage, let i = b.indexInStage else {
                throw MappingError.unsupported(path: path, detail: "block without a stage index")
            }
            if stageIDs.last != s { stageIDs.append(s) }
            let stage = stageIDs.count - 1
            guard stage < table.count else {
                throw MappingError.unsupported(path: path, detail: "the names have more than \(table.count) stages; EfficientNet has at most \(table.count), so the strides are unknown")
            }
            strides.append(i == 0 ? table[stage] : 1)
            stages.append(stage)
        }
        let allowed = v2 ? [6, 7] : [table.count]
        guard allowed.contains(stageIDs.count) else {
            let what = v2 ? "EfficientNetV2 has 6 (S, B0-B3) or 7 (M, L)" : "EfficientNet-B0..B7 have \(table.count)"
            throw MappingError.unsupported(path: path, detail: "the names have \(stageIDs.count) stages, \(what), so the strides are unknown")
        }
        return (strides, stages)
    }

    /// Stages for a flat block list (seed, lukemelas, lite): the partition into the table's
    /// stages in which every block after a stage's first keeps its channels (in == out) and every
    /// block has its stage's kernel and expansion. When several partitions fit (channel counts
    /// that round alike), the one compound depth scaling gives (repeats ceil(d * r) for one d;
    /// `fixedEndStages`: first and last stage unscaled, as in EfficientNet-Lite) decides.
    /// - Throws: `MappingError.unsupported` when no partition, or several, fit.
    static func strides(flat blocks: [TorchShapes.Block], table: [Spec] = EfficientNetConfig.b0Stages,
                        fixedEndStages: Bool, path: String) throws -> (strides: [Int], stages: [Int]) {
        let n = blocks.count, stageCount = table.count
        func fits(_ b: TorchShapes.Block, _ s: Int, continuing: Bool, strict: Bool) -> Bool {
            if continuing && b.inChannels != b.outChannels { return false }
            if !strict { return true }
            return b.kernel == table[s].kernel && b.hasExpansion == (table[s].expandRatio != 1)
        }
        // ways[i][s]: partitions of blocks i..<n given block i-1 is in stage s (capped at 2).
        func count(strict: Bool) -> (total: Int, ways: [[Int]]) {
            var ways = [[Int]](repeating: [Int](repeating: 0, count: stageCount), count: n + 1)
            ways[n][stageCount - 1] = 1
            if n >= 2 {
                for i in stride(from: n - 1, through: 1, by: -1) {
                    for s in 0 ..< stageCount {
                        var w = 0
                        if fits(blocks[i], s, continuing: true, strict: strict) { w += ways[i + 1][s] }
                        if s + 1 < stageCount, fits(blocks[i], s + 1, continuing: false, strict: strict) { w += ways[i + 1][s + 1] }
                        ways[i][s] = min(w, 2)
                    }
                }
            }
            let total = n > 0 && fits(blocks[0], 0, continuing: false, strict: strict) ? ways[1][0] : 0
            return (total, ways)
        }
        func result(_ stages: [Int]) -> (strides: [Int], stages: [Int]) {
            let strides = stages.enumerated().map { i, s in i == 0 || stages[i - 1] != s ? table[s].stride : 1 }
            return (strides, stages)
        }
        func valid(_ stages: [Int], strict: Bool) -> Bool {
            guard stages.count == n, stages.first == 0, stages.last == stageCount - 1 else { return false }
            for i in 0 ..< n {
                let continuing = i > 0 && stages[i - 1] == stages[i]
                if i > 0 && stages[i] != stages[i - 1] && stages[i] != stages[i - 1] + 1 { return false }
                if !fits(blocks[i], stages[i], continuing: continuing, strict: strict) { return false }
            }
            return true
        }
        let depthScaled = depthScaledRepeats(total: n, table: table, fixedEndStages: fixedEndStages)
            .map { reps in reps.enumerated().flatMap { s, r in [Int](repeating: s, count: r) } }

        let (total, ways) = count(strict: true)
        if total == 1 {
            var stages = [0]
            for i in 1 ..< max(n, 1) {
                let s = stages[i - 1]
                if fits(blocks[i], s, continuing: true, strict: true), ways[i + 1][s] > 0 { stages.append(s) } else { stages.append(s + 1) }
            }
            return result(stages)
        }
        if let d = depthScaled, valid(d, strict: total > 1) { return result(d) }
        let what = total > 1 ? "several stage partitions fit the block shapes and compound depth scaling does not pick one"
                             : "the \(n) blocks' kernels, expansions and channels fit no partition into EfficientNet-B0's \(stageCount) stages"
        throw MappingError.unsupported(path: path, detail: "cannot tell the strides: \(what)")
    }

    /// Repeats per stage such that ceil(d * r) sums to `total` for some depth multiplier d, if any.
    /// As d grows, stage s gains its next block when d passes n_s / r_s, so walking those events in
    /// order visits every distribution (there is at most one per total).
    static func depthScaledRepeats(total: Int, table: [Spec], fixedEndStages: Bool) -> [Int]? {
        let fixed = table.indices.map { fixedEndStages && ($0 == 0 || $0 == table.count - 1) }
        var reps = table.indices.map { fixed[$0] ? table[$0].repeats : 1 }
        for _ in 0 ... max(total, 0) {
            let sum = reps.reduce(0, +)
            if sum == total { return reps }
            if sum > total { return nil }
            // The smallest n_s / r_s among scalable stages (compared as fractions).
            var best: Int?
            for s in table.indices where !fixed[s] && table[s].repeats > 0 {
                if let b = best, reps[s] * table[b].repeats >= reps[b] * table[s].repeats { continue }
                best = s
            }
            guard let b = best else { return nil }
            for s in table.indices where !fixed[s] && reps[s] * table[b].repeats == reps[b] * table[s].repeats { reps[s] += 1 }
        }
        return nil
    }

    /// Stages for a flat EfficientNetV2 block list (google/automl's `blocks_K`): every V2 table
    /// (S, M, L, XL, B0-B3) starts each stage after the first with a change of width, and keeps
    /// the width inside a stage, so a block whose input and output widths differ (or whose kind
    /// or kernel differs from its predecessor's) starts a stage. A stage's first block strides
    /// `EfficientNetConfig.stageStrides` of its position, the others 1.
    /// - Throws: `MappingError.unsupported` unless that gives 6 (S, B0-B3) or 7 (M, L, XL) stages,
    ///   e.g. when a narrow width rounds two stages to the same channels.
    static func strides(v2Flat blocks: [TorchShapes.Block], path: String) throws -> (strides: [Int], stages: [Int]) {
        var strides: [Int] = [], stages: [Int] = []
        for (i, b) in blocks.enumerated() {
            let starts = i == 0 || b.inChannels != b.outChannels || b.kind != blocks[i - 1].kind || b.kernel != blocks[i - 1].kernel
            let stage = i == 0 ? 0 : stages[i - 1] + (starts ? 1 : 0)
            guard stage < EfficientNetConfig.stageStrides.count else { break }
            strides.append(starts ? EfficientNetConfig.stageStrides[stage] : 1)
            stages.append(stage)
        }
        let count = (stages.last ?? -1) + 1
        guard stages.count == blocks.count, [6, 7].contains(count) else {
            let widths = blocks.map { "\($0.inChannels)->\($0.outChannels)" }.joined(separator: " ")
            throw MappingError.unsupported(path: path, detail: "the EfficientNetV2 blocks' widths (\(widths)) do not split into 6 (S, B0-B3) or 7 (M, L, XL) stages, so the strides are unknown")
        }
        return (strides, stages)
    }
}
