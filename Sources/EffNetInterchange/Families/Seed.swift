import EffNet

/// The seed notebook's `EfficientNetB0Mini`:
///
///     stem.0 (conv) stem.1 (bn)
///     blocks.N.features.0/1 [+ .3/.4]   (expand conv/bn, then depthwise conv/bn; no expand: 0/1)
///     blocks.N.se.fc.0 / .fc.2           (SE reduce / expand, with bias; hidden = expanded // 4)
///     blocks.N.project.0 / .1
///     head.0 (conv) head.1 (bn) head.6 (linear)
///
/// Padding k//2 (`padding=kernel_size//2`), PyTorch's default BN eps 1e-5, SiLU everywhere.
/// The block list is flat, so stages (and strides) come from the B0 table (`TorchStages`).
public enum SeedFamily: ModelFamily {
    public static let name = FamilyName.seed

    static let conventions = TorchConventions(bnEpsilon: 1e-5, padding: .symmetric, activation: .silu)

    public static func detect(_ checkpoint: SourceCheckpoint) -> FamilyDetection? {
        let idx = TorchNames(checkpoint)
        guard idx.has("stem.0.weight"), idx.has("blocks.0.features.0.weight"), idx.has("head.0.weight") else { return nil }
        let score = 90 + (idx.has("head.6.weight") ? 10 : 0)
        return FamilyDetection(family: name, score: score, variant: describe(checkpoint, idx))
    }

    /// - Throws: `MappingError.unsupported` when sizes or strides cannot be derived.
    public static func mapping(for checkpoint: SourceCheckpoint) throws -> WeightMapping {
        try analyse(checkpoint, TorchNames(checkpoint)).mapping
    }

    static func modelNames(_ idx: TorchNames) -> TorchModelNames {
        let blockParts: Set<Substring> = ["features", "se", "project"]
        let blocks = idx.indices(after: "blocks.", next: { blockParts.contains($0) }).map { n in
            idx.block(among: TorchBlockStructure.allCases.map { blockNames($0, index: n) })
        }
        // The notebook's head.6 Linear, or the Sequential that replaced it.
        let classifierContainer = TorchHeadChain.container(in: "head", idx)
        return modelNames(blocks: blocks, classifier: idx.linear(in: classifierContainer, fallback: "head.6"),
                          head: TorchHeadChain.read(idx, container: classifierContainer))
    }

    static func modelNames(blocks: [TorchBlockNames], classifier: String = "head.6", head: HeadAlternatives? = nil) -> TorchModelNames {
        TorchModelNames(stemConv: "stem.0", stemBN: "stem.1", blocks: blocks, headConv: "head.0", headBN: "head.1", classifier: classifier, head: head, chainContainer: "head.6")
    }

    /// `blocks.<index>`: `features` holds [expansion conv, bn, SiLU], depthwise conv, bn (so the
    /// depthwise conv is features.3 after an expansion, else features.0); SE `se.fc.0/.fc.2`;
    /// `project.0/.1`. MBConv only.
    static func blockNames(_ s: TorchBlockStructure, index: Int) -> TorchBlockNames? {
        guard s.kind == .mbconv else { return nil }
        let p = "blocks.\(index)"
        let dw = s.hasPointwise ? 3 : 0
        return TorchBlockNames(
            expandConv: s.hasPointwise ? "\(p).features.0" : nil, expandBN: s.hasPointwise ? "\(p).features.1" : nil,
            depthwiseConv: "\(p).features.\(dw)", depthwiseBN: "\(p).features.\(dw + 1)",
            seReduce: s.hasSE ? "\(p).se.fc.0" : nil, seExpand: s.hasSE ? "\(p).se.fc.2" : nil,
            projectConv: "\(p).project.0", projectBN: "\(p).project.1")
    }

    static func analyse(_ checkpoint: SourceCheckpoint, _ idx: TorchNames) throws -> (mapping: WeightMapping, variant: String) {
        let names = modelNames(idx)
        let shapes = try TorchShapes(names, in: idx, path: checkpoint.path)
        let (strides, stages) = try TorchStages.strides(flat: shapes.blocks, fixedEndStages: false, path: checkpoint.path)
        var config = shapes.config(name: "seed_b0_mini", strides: strides, stages: stages, conventions: conventions)
        var variant: String
        if TorchVariant.sameStructure(config, .seedB0Mini()) {
            variant = "seed_b0_mini (EfficientNetB0Mini)"
        } else {
            config.name = "seed_b0_mini_custom"
            variant = "EfficientNetB0Mini-style, custom channels (stem \(shapes.stemChannels), \(shapes.blocks.count) blocks in stages \(TorchShapes.repeats(stages: stages)), head \(shapes.headChannels))"
        }
        variant += ", \(shapes.numClasses) classes; padding k//2, BN eps 1e-5, SiLU"
        return (TorchMapping.mapping(family: name, names: names, config: config, checkpoint: checkpoint), variant)
    }

    static func describe(_ checkpoint: SourceCheckpoint, _ idx: TorchNames) -> String {
        do { return try analyse(checkpoint, idx).variant } catch { return "structure not understood: \(error)" }
    }
}
