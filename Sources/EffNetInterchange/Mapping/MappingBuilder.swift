import EffNet

/// Where a family keeps the tensor of one role (`ParameterLayout.Role`).
public enum RoleSource: Sendable {
    /// A tensor of the file, by its name, and the layout change it needs.
    case tensor(String, LayoutTransform)
    /// A tensor the family computes (e.g. ONNX batch norm folded into a convolution).
    case computed(Tensor)
}

/// The one place assignments are made: a family answers "which source tensor holds this role?"
/// for each slot of the config's declared parameter layout, and this turns the answers into a
/// `WeightMapping`. A role without an answer gets no assignment, so the strict check reports its
/// canonical name as missing. Run backwards (canonical slot -> the family's name), the same
/// answers name a writer's tensors.
enum MappingBuilder {
    /// - Parameter source: the family's answer for one leaf of one unit; nil when it has none.
    /// - Throws: what `source` throws (a family that finds its names inconsistent).
    static func mapping(family: String, config: EfficientNetConfig,
                        skipped: [(source: String, reason: String)] = [], notes: [String] = [],
                        source: (ParameterLayout.Unit, ParameterLayout.Leaf) throws -> RoleSource?) rethrows -> WeightMapping {
        let layout = ParameterLayout(config: config)
        var assignments: [WeightMapping.Assignment] = []
        var synthesized: [String: Tensor] = [:]
        for unit in layout.units {
            for leaf in unit.leaves {
                switch try source(unit, leaf) {
                case let .tensor(name, transform)?:
                    assignments.append(.init(canonical: unit.name(leaf), source: name, transform: transform))
                case let .computed(t)?:
                    synthesized[unit.name(leaf)] = t
                case nil:
                    continue
                }
            }
        }
        return WeightMapping(family: family, config: config, assignments: assignments, skipped: skipped,
                             synthesized: synthesized, notes: notes)
    }
}

/// Where one unit sits in a framework's files: its convolution's (or linear layer's) module or
/// layer name, and its batch norm's.
struct SourceUnitName: Equatable {
    var conv: String
    var norm: String?
}

/// How a framework spells a unit's leaves, given the unit's module names.
enum LeafConvention {
    /// PyTorch state_dict keys: `<conv>.weight`, `<conv>.bias`, `<norm>.weight|bias|running_mean|running_var`.
    case torch
    /// Keras variables by layer (`kernel` HWIO, `depthwise_kernel` (k, k, C, 1), Dense `kernel`
    /// (in, out), `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`), looked up in the
    /// file's layer table.
    case keras(KerasLayerTable)

    func source(_ name: SourceUnitName, _ leaf: ParameterLayout.Leaf, unit: ParameterLayout.Unit) -> RoleSource? {
        switch self {
        case let .keras(table):
            let layer: String, variables: [String], transform: LayoutTransform
            switch leaf {
            case .weight:
                layer = name.conv
                variables = unit.isDepthwise ? [Self.kerasVariable(leaf, unit: unit), "kernel"] : ["kernel"]
                transform = Self.kerasTransform(unit)
            case .bias:
                (layer, variables, transform) = (name.conv, ["bias"], .identity)
            case .bnWeight, .bnBias, .bnMean, .bnVar:
                guard let norm = name.norm else { return nil }
                (layer, variables, transform) = (norm, [Self.kerasBatchNorm[leaf]!], .identity)
            }
            return .tensor(table.source(layer, variables) ?? "\(layer)/\(variables[0])", transform)
        case .torch:
            let key: String
            switch leaf {
            case .weight: key = "\(name.conv).weight"
            case .bias: key = "\(name.conv).bias"
            case .bnWeight, .bnBias, .bnMean, .bnVar:
                guard let norm = name.norm else { return nil }
                key = "\(norm).\(Self.torchBatchNorm[leaf]!)"
            }
            return .tensor(key, .identity)
        }
    }

    /// The tf.keras 2 name of a unit's variable: `kernel` (`depthwise_kernel` for a depthwise
    /// convolution), `bias`, and the batch norm's (Keras 3 stores the same variables in this
    /// order, by index).
    static func kerasVariable(_ leaf: ParameterLayout.Leaf, unit: ParameterLayout.Unit) -> String {
        switch leaf {
        case .weight: return unit.isDepthwise ? "depthwise_kernel" : "kernel"
        case .bias: return "bias"
        case .bnWeight, .bnBias, .bnMean, .bnVar: return kerasBatchNorm[leaf]!
        }
    }

    /// Keras layout -> canonical layout of a unit's weight: Conv2D HWIO -> OIHW, DepthwiseConv2D
    /// (k, k, C, 1) -> (C, 1, k, k), Dense (in, out) -> (out, in). A writer applies its inverse.
    static func kerasTransform(_ unit: ParameterLayout.Unit) -> LayoutTransform {
        unit.kind == .linear ? .transpose2D : unit.isDepthwise ? .depthwiseHWC1ToC1HW : .hwioToOIHW
    }

    /// Keras' BatchNormalization variable names by leaf.
    static let kerasBatchNorm: [ParameterLayout.Leaf: String] = [
        .bnWeight: "gamma", .bnBias: "beta", .bnMean: "moving_mean", .bnVar: "moving_variance",
    ]

    /// PyTorch's BatchNorm2d parameter and buffer names by leaf.
    static let torchBatchNorm: [ParameterLayout.Leaf: String] = [
        .bnWeight: "weight", .bnBias: "bias", .bnMean: "running_mean", .bnVar: "running_var",
    ]
}
