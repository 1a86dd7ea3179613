import EffNet

/// `--names` maps whose "family" is "canonical": the user's names go onto the toolkit's own
/// canonical roles, the names `EfficientNet.parameterShapes` lists and an .effw stores, in
/// PyTorch layouts ("stem.conv.weight", "blocks.3.depthwise.bn.running_var",
/// "blocks.3.se.reduce.weight", "blocks.0.fused.conv.weight", "head.bn.bias",
/// "classifier.weight"). Blocks are one flat list, as in the model.
///
/// Roles carry the structure but not the conventions a module's code adds (batch-norm epsilon,
/// padding, activation, when a block adds its input, the variant's strides): those are a
/// family's. So the roles are renamed once more onto a PyTorch family's own names (the names its
/// files use, the same function the exporter writes with, `TorchExport.modelNames`), and that
/// family's reader maps them exactly as it maps its own files. The family is the map's
/// "conventions" or `--family`; without one, every PyTorch family that can spell the structure is
/// a candidate, and the conversion asks for a reference pair to decide, as for timm and timm-tf.
enum CanonicalRoles {
    /// The families whose conventions a user's module may follow.
    static let families: [FamilyName] = [.torchvision, .timm, .timmTF, .lukemelas, .lite, .hf, .seed]

    /// One reading of the roles: the family's mapping, whose source names are the family's, and
    /// the way back from them to the role names.
    struct Reading {
        var mapping: WeightMapping
        /// family name -> role name, for every renamed tensor.
        var roleOf: [String: String]
    }

    /// The readings of `checkpoint` (whose names are roles) under `conventions`, or under every
    /// family that can spell the structure.
    /// - Throws: `MappingError.unsupported` when the roles do not describe a network (naming the
    ///   missing role) or no family can hold it (naming each family's reason).
    /// `fileNames` (name after the user's map -> the file's) lets errors name the file's tensors.
    static func readings(_ checkpoint: SourceCheckpoint, conventions: FamilyName?,
                         fileNames: [String: String] = [:]) throws -> [Reading] {
        let index = TorchNames(checkpoint)
        guard index.has("stem.conv.weight") else {
            let sample = checkpoint.names.prefix(4).joined(separator: ", ")
            throw MappingError.unsupported(path: checkpoint.path, detail: "the names map gives canonical roles, but no tensor is 'stem.conv.weight' after renaming (names such as \(sample))")
        }
        let roles = modelNames(index)
        let shapes = try TorchShapes(roles, in: index, path: checkpoint.path)
        let v2 = shapes.blocks.contains { $0.kind == .fused }
        let (strides, stages) = v2 ? try TorchStages.strides(v2Flat: shapes.blocks, path: checkpoint.path)
            : try TorchStages.strides(flat: shapes.blocks, fixedEndStages: conventions == .lite, path: checkpoint.path)
        // Names depend on the structure and the stages only; the family's reader decides the rest.
        let structure = shapes.config(name: "roles", strides: strides, stages: stages,
                                      conventions: TorchConventions(bnEpsilon: 1e-5, padding: .symmetric, activation: .silu))
        var out: [Reading] = [], refusals: [String] = []
        for family in conventions.map({ [$0] }) ?? families {
            do {
                guard Self.families.contains(family), let reader = FamilyRegistry.family(named: family) else {
                    throw MappingError.unsupported(path: checkpoint.path, detail: "canonical roles take a PyTorch family's conventions (\(Self.families.map(\.rawValue).joined(separator: ", "))), not \(family.rawValue)'s")
                }
                let target = try TorchExport.modelNames(structure, family: family)
                let (renamed, roleOf) = try rename(checkpoint, from: roles, to: target, family: family, fileNames: fileNames)
                out.append(Reading(mapping: try reader.mapping(for: renamed), roleOf: roleOf))
            } catch {
                if conventions != nil { throw error }
                refusals.append("\(family.rawValue): \(error)")
            }
        }
        guard !out.isEmpty else {
            throw MappingError.unsupported(path: checkpoint.path, detail: "no PyTorch family holds these roles: " + refusals.joined(separator: "; "))
        }
        return out
    }

    /// The canonical module paths as a family's names: every conv unit is "<path>.conv" and
    /// "<path>.bn", SE convolutions and the classifier are "<path>" itself.
    static func modelNames(_ index: TorchNames) -> TorchModelNames {
        TorchModelNames(
            stemConv: "stem.conv", stemBN: "stem.bn",
            blocks: index.indices(after: "blocks.").map { n in
                index.block(among: TorchBlockStructure.allCases.map { blockNames($0, index: n) })
            },
            headConv: "head.conv", headBN: "head.bn", classifier: "classifier")
    }

    static func blockNames(_ s: TorchBlockStructure, index n: Int) -> TorchBlockNames? {
        let p = "blocks.\(n)"
        switch s.kind {
        case .mbconv:
            return TorchBlockNames(
                expandConv: s.hasPointwise ? "\(p).expand.conv" : nil, expandBN: s.hasPointwise ? "\(p).expand.bn" : nil,
                depthwiseConv: "\(p).depthwise.conv", depthwiseBN: "\(p).depthwise.bn",
                seReduce: s.hasSE ? "\(p).se.reduce" : nil, seExpand: s.hasSE ? "\(p).se.expand" : nil,
                projectConv: "\(p).project.conv", projectBN: "\(p).project.bn")
        case .fused:
            guard !s.hasSE else { return nil }
            return TorchBlockNames(fusedConv: "\(p).fused.conv", fusedBN: "\(p).fused.bn",
                                   projectConv: s.hasPointwise ? "\(p).project.conv" : nil, projectBN: s.hasPointwise ? "\(p).project.bn" : nil,
                                   stage: nil, indexInStage: nil)
        }
    }

    /// Each tensor "<role module>.<leaf>" renamed "<family module>.<leaf>" (PyTorch leaves are
    /// the same in every family: weight, bias, running_mean, running_var, num_batches_tracked).
    /// Names that are no role stay as they are, so the family's reader reports them unused.
    /// - Throws: `MappingError.unsupported` when a role's family name is already a tensor's (the
    ///   reader would see one name twice and take either).
    static func rename(_ checkpoint: SourceCheckpoint, from roles: TorchModelNames,
                       to target: TorchModelNames, family: FamilyName,
                       fileNames: [String: String]) throws -> (SourceCheckpoint, [String: String]) {
        var modules: [String: String] = [:]
        var units: [ParameterLayout.Module] = [.stem, .head, .classifier]
        for (i, b) in roles.blocks.enumerated() { units += b.units.keys.map { .block(i, $0) } }
        for m in units {
            guard let from = roles.unit(m), let to = target.unit(m) else { continue }
            modules[from.conv] = to.conv
            if let a = from.norm, let b = to.norm { modules[a] = b }
        }
        var copy = checkpoint
        var roleOf: [String: String] = [:], holder: [String: String] = [:]
        copy.tensors = try checkpoint.tensors.map { t in
            var new = t.name
            if let dot = t.name.lastIndex(of: "."), let module = modules[String(t.name[..<dot])] {
                new = module + t.name[dot...]
                roleOf[new] = t.name
            }
            if let other = holder[new] {
                throw MappingError.unsupported(path: checkpoint.path, detail: "'\(new)' would name both '\(fileNames[other] ?? other)' and '\(fileNames[t.name] ?? t.name)' once the roles are spelled in \(family.rawValue)'s names")
            }
            holder[new] = t.name
            return new == t.name ? t : SourceTensor(name: new, raw: t.raw)
        }
        return (copy, roleOf)
    }
}
