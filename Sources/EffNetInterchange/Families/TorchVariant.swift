import EffNet

/// Names a detected network: a known variant when its structure equals a preset's, else the
/// width and depth multipliers its channels and repeats are consistent with.
enum TorchVariant {
    struct Match {
        /// Index into the preset list (B0...B7 [B8, L2], Lite0...4), nil for a custom network.
        var index: Int?
        /// "efficientnet_b3 (width 1.2, depth 1.4)" or "custom: width 0.094-0.11, depth 0.34-0.5 (...)".
        var description: String
    }

    /// Structure only (channels, kernels, strides, stem and head): SE widths and conventions differ
    /// between families and classes are free.
    static func sameStructure(_ a: EfficientNetConfig, _ b: EfficientNetConfig) -> Bool {
        guard a.stem == b.stem, a.headChannels == b.headChannels, a.blocks.count == b.blocks.count else { return false }
        for (x, y) in zip(a.blocks, b.blocks) {
            guard x.kind == y.kind, x.hasProjection == y.hasProjection,
                  x.inChannels == y.inChannels, x.outChannels == y.outChannels, x.expandedChannels == y.expandedChannels,
                  x.kernel == y.kernel, x.stride == y.stride, (x.seChannels == nil) == (y.seChannels == nil) else { return false }
        }
        return true
    }

    /// - Parameters:
    ///   - presets: (name, width, depth, config) of the family's known variants.
    ///   - fixedStemHead: stem and head channels are not scaled (Lite).
    static func match(_ config: EfficientNetConfig, stages: [Int], presets: [Preset], fixedStemHead: Bool = false) -> Match {
        for (i, p) in presets.enumerated() where sameStructure(config, p.config) {
            return Match(index: i, description: "\(p.name) (width \(p.width), depth \(p.depth))")
        }
        let shapes = config.blocks
        var outs: [Int] = [], reps: [Int] = []
        for (b, s) in zip(shapes, stages) {
            if s < outs.count { outs[s] = b.outChannels; reps[s] += 1 } else { outs.append(b.outChannels); reps.append(1) }
        }
        let w = widthRange(stageOutputs: outs, stem: fixedStemHead ? nil : config.stem.outChannels,
                           head: fixedStemHead ? nil : config.headChannels)
        let d = depthRange(repeats: reps, fixedEnds: fixedStemHead)
        let wText = w.map { $0.lo == $0.hi ? "width \(fmt($0.lo))" : "width \(fmt($0.lo))-\(fmt($0.hi))" } ?? "no single width multiplier"
        let dText = d.map { "depth \(fmt($0.lo))-\(fmt($0.hi))" } ?? "no single depth multiplier"
        return Match(index: nil, description: "custom: \(wText), \(dText) (stem \(config.stem.outChannels), \(config.blocks.count) blocks in stages \(reps), head \(config.headChannels))")
    }

    /// The width multipliers (grid 0.001) for which rounding B0's channels gives these.
    static func widthRange(stageOutputs: [Int], stem: Int?, head: Int?) -> (lo: Double, hi: Double)? {
        let table = EfficientNetConfig.b0Stages
        guard stageOutputs.count == table.count else { return nil }
        var lo: Double?, hi: Double?
        for step in 20 ... 5000 {
            let w = Double(step) / 1000
            var ok = zip(table, stageOutputs).allSatisfy { EfficientNetConfig.roundChannels($0.outChannels, width: w) == $1 }
            if ok, let stem { ok = EfficientNetConfig.roundChannels(32, width: w) == stem }
            if ok, let head { ok = EfficientNetConfig.roundChannels(1280, width: w) == head || head == 4 * stageOutputs[stageOutputs.count - 1] }
            if ok { lo = lo ?? w; hi = w }
        }
        guard let lo, let hi else { return nil }
        return (lo, hi)
    }

    /// The depth multipliers d with ceil(d * r_s) == repeats_s for every scaled stage: (lo, hi].
    static func depthRange(repeats: [Int], fixedEnds: Bool) -> (lo: Double, hi: Double)? {
        let table = EfficientNetConfig.b0Stages
        guard repeats.count == table.count else { return nil }
        var lo = 0.0, hi = Double.infinity
        for (s, (spec, n)) in zip(table, repeats).enumerated() {
            if fixedEnds && (s == 0 || s == table.count - 1) { continue }
            lo = max(lo, Double(n - 1) / Double(spec.repeats))
            hi = min(hi, Double(n) / Double(spec.repeats))
        }
        guard lo < hi, hi.isFinite else { return nil }
        return (lo, hi)
    }

    static func fmt(_ x: Double) -> String {
        let r = (x * 1000).rounded() / 1000
        return r == r.rounded() ? String(Int(r)) + ".0" : String(r)
    }

    /// A known variant: its name, multipliers, nominal resolution and structure.
    struct Preset {
        var name: String
        var width: Double
        var depth: Double
        var resolution: Int
        var config: EfficientNetConfig
    }

    /// EfficientNet-B0...B7 (`name(i)`), and with `beyondB7` also B8 and L2 (timm's
    /// tf_efficientnet_b8/l2, lukemelas' efficientnet-b8/l2: `name(8)`, `name(9)`).
    static func bPresets(beyondB7: Bool = false, _ name: (Int) -> String) -> [Preset] {
        var scaling = EfficientNetConfig.compoundScaling
        if beyondB7 { scaling += [(2.2, 3.6, 672), (4.3, 5.3, 800)] }
        return scaling.enumerated().map { i, s in
            Preset(name: name(i), width: s.width, depth: s.depth, resolution: s.resolution,
                   config: .scaled(name: name(i), width: s.width, depth: s.depth))
        }
    }

    /// EfficientNetV2 structures (`EfficientNetConfig.v2Variants`), named by `name`.
    static func v2Presets(_ name: (EfficientNetConfig.V2Variant) -> String) -> [Preset] {
        EfficientNetConfig.v2Variants.map { v in
            Preset(name: name(v), width: v.width, depth: v.depth[0], resolution: v.resolution, config: v.config())
        }
    }

    /// The V2 preset whose structure `config` has, if any.
    static func matchV2(_ config: EfficientNetConfig, presets: [Preset]) -> Preset? {
        presets.first { sameStructure(config, $0.config) }
    }

    /// EfficientNet-Lite0...4 structures.
    static func litePresets(_ name: (Int) -> String) -> [Preset] {
        EfficientNetConfig.liteScaling.enumerated().map { i, s in
            Preset(name: name(i), width: s.width, depth: s.depth, resolution: s.resolution, config: .lite(i))
        }
    }
}
