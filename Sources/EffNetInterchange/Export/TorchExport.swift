import EffNet
import Foundation

/// A model under a PyTorch family's names: the family's module names for the Config's blocks
/// (each family's `blockNames`, the very function its reader matches names with) run through
/// `MappingBuilder` backwards, plus the `num_batches_tracked` counters every `nn.BatchNorm2d`
/// keeps, so that the state dict has exactly the keys `load_state_dict(strict=True)` expects.
enum TorchExport {
    /// The families whose state dicts this writes.
    static let families: [FamilyName] = [.torchvision, .timm, .timmTF, .lukemelas, .lite, .hf, .seed]

    /// One tensor of the state dict, in the order a framework's modules register it. It points at
    /// the model's own values: the bytes are read once, by the writer.
    struct Entry {
        var name: String
        var shape: [Int]
        var dtype: DType
        /// The parameter (float32); nil for a batch norm's update counter, a 0-d int64 zero.
        var tensor: Tensor?

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            if let tensor { return try tensor.scalars.withUnsafeBytes(body) }
            var zero = Int64(0).littleEndian
            return try withUnsafeBytes(of: &zero, body)
        }
    }

    /// The family's module names for `config`.
    /// - Throws: `ExportError.cannotHold` when the family has no names for a block's structure.
    static func modelNames(_ config: EfficientNetConfig, family: FamilyName) throws -> TorchModelNames {
        let positions = stagePositions(config)
        func blocks(_ name: (TorchBlockStructure, _ flat: Int, _ stage: Int, _ inStage: Int) -> TorchBlockNames?) throws -> [TorchBlockNames] {
            try config.blocks.enumerated().map { i, b in
                guard let n = name(TorchBlockStructure(b), i, positions[i].stage, positions[i].index) else {
                    throw ExportError.cannotHold(family: family, convention: "block \(i)'s structure (\(describe(b)))",
                                                 detail: "\(family.rawValue) has no module of that form")
                }
                return n
            }
        }
        switch family {
        case .torchvision:
            let stages = (positions.last?.stage ?? 0) + 1
            return TorchvisionFamily.modelNames(blocks: try blocks { s, _, stage, i in TorchvisionFamily.blockNames(s, feature: stage + 1, index: i) },
                                                lastFeature: stages + 1)
        case .timm, .timmTF:
            return TimmNaming.modelNames(blocks: try blocks { s, _, stage, i in TimmNaming.blockNames(s, stage: stage, index: i) })
        case .lukemelas, .lite:
            return LukemelasNaming.modelNames(blocks: try blocks { s, n, _, _ in LukemelasNaming.blockNames(s, index: n) })
        case .hf:
            return HuggingFaceFamily.modelNames(blocks: try blocks { s, n, _, _ in HuggingFaceFamily.blockNames(s, index: n) })
        case .seed:
            return SeedFamily.modelNames(blocks: try blocks { s, n, _, _ in SeedFamily.blockNames(s, index: n) })
        case .keras, .tfOfficial, .onnxGraph:
            throw ExportError.cannotHold(family: family, convention: "PyTorch state dicts", detail: "\(family.rawValue) is not a PyTorch family")
        }
    }

    /// The state dict of `model` under `family`'s names: every parameter of the declared layout,
    /// then `<norm>.num_batches_tracked` (0-d int64) after each batch norm's running variance.
    /// - Throws: `ExportError.cannotHold` when a parameter has no name in the family.
    static func stateDict(_ model: EfficientNet, family: FamilyName) throws -> [Entry] {
        let config = model.config
        let names = try modelNames(config, family: family)
        let mapping = MappingBuilder.mapping(family: family.rawValue, config: config) { unit, leaf in
            names.unit(unit.module).flatMap { LeafConvention.torch.source($0, leaf, unit: unit) }
        }
        let layout = ParameterLayout(config: config)
        guard mapping.assignments.count == layout.slots.count else {
            let named = Set(mapping.assignments.map(\.canonical))
            let missing = layout.slots.map(\.name).filter { !named.contains($0) }
            throw ExportError.cannotHold(family: family, convention: "parameters \(missing.prefix(3).joined(separator: ", "))",
                                         detail: "\(family.rawValue) has no name for them")
        }
        var entries: [Entry] = []
        for a in mapping.assignments {
            guard let t = model.parameter(named: a.canonical) else { continue }
            entries.append(Entry(name: a.source, shape: t.shape, dtype: .f32, tensor: t))
            if a.source.hasSuffix(".running_var") {
                let norm = String(a.source.dropLast(".running_var".count))
                entries.append(Entry(name: "\(norm).num_batches_tracked", shape: [], dtype: .i64, tensor: nil))
            }
        }
        return entries
    }

    /// The entries' names and shapes as a checkpoint a family's reader maps (which reads names,
    /// shapes and hub notes, never values): every tensor views one zero-filled buffer, so asking
    /// a family what it would read copies no weights.
    static func shapeCheckpoint(_ entries: [Entry], path: String) throws -> SourceCheckpoint {
        let largest = entries.map { $0.shape.reduce(1, *) * $0.dtype.size }.max() ?? 0
        let zeros = ByteStorage([UInt8](repeating: 0, count: largest))
        let tensors = try entries.map { e in
            SourceTensor(name: e.name, raw: try RawTensor(dtype: e.dtype, shape: e.shape, storage: zeros))
        }
        return SourceCheckpoint(path: path, format: .safetensors, tensors: tensors)
    }

    /// Each block's stage ordinal (0-based, in order of appearance) and index inside it.
    static func stagePositions(_ config: EfficientNetConfig) -> [(stage: Int, index: Int)] {
        var out: [(stage: Int, index: Int)] = []
        var previous: Int?
        for b in config.blocks {
            if let p = out.last, previous == b.stage {
                out.append((p.stage, p.index + 1))
            } else {
                out.append(((out.last?.stage ?? -1) + 1, 0))
            }
            previous = b.stage
        }
        return out
    }

    static func describe(_ b: EfficientNetConfig.Block) -> String {
        switch b.kind {
        case .mbconv: return "MBConv \(b.kernel)x\(b.kernel)" + (b.hasExpansion ? ", expanding" : "") + (b.seChannels != nil ? ", SE" : ", no SE")
        case .fused: return "Fused-MBConv \(b.kernel)x\(b.kernel)" + (b.hasProjection ? " with projection" : "") + (b.seChannels != nil ? ", SE" : "")
        }
    }
}
