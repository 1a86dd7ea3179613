/// The one declaration of an EfficientNet's parameters, derived from its `EfficientNetConfig`:
/// which units (a convolution with its batch norm, a squeeze-and-excitation convolution, the
/// classifier) the network has, in execution order, and from them every parameter slot's
/// canonical name, shape and role.
///
/// Everything that walks a network's parameters derives from this table: the model's storage and
/// strict load check, `parameterShapes`, the fast path's inference plan, the families' mapping
/// builder (which asks a family "which source tensor holds this role?") and, run backwards, the
/// names a writer gives each tensor. A new block kind is a new case in `units(of:index:config:)`
/// plus its kernels.
///
///     unit (module)                       slots (role leaf: canonical name)
///     stem                  convNorm      weight: stem.conv.weight, bnWeight: stem.bn.weight, ...
///     block(3, .expand)     convNorm      blocks.3.expand.conv.weight, blocks.3.expand.bn.*
///     block(3, .seReduce)   conv + bias   blocks.3.se.reduce.weight, blocks.3.se.reduce.bias
///     head                  convNorm      head.conv.weight, head.bn.*
///     classifier            linear        classifier.weight, classifier.bias
public struct ParameterLayout: Sendable {
    /// A unit of the network: where a group of parameters sits.
    public enum Module: Hashable, Sendable, CustomStringConvertible {
        case stem
        case block(Int, BlockPart)
        case head
        case classifier
        /// Layer k of a classifier chain (`EfficientNetConfig.classifierChain`).
        case classifierLayer(Int)

        /// The canonical module path: "stem", "blocks.3.se.reduce", "classifier".
        public var path: String {
            switch self {
            case .stem: return "stem"
            case let .block(i, part): return "blocks.\(i).\(part.rawValue)"
            case .head: return "head"
            case .classifier: return "classifier"
            case let .classifierLayer(k): return "classifier.\(k)"
            }
        }

        public var description: String { path }

        /// The block index, for block modules.
        public var blockIndex: Int? {
            if case let .block(i, _) = self { return i }
            return nil
        }
    }

    /// The parts a block may have; which ones it has depends on its kind (see `units(of:)`).
    public enum BlockPart: String, CaseIterable, Sendable {
        /// MBConv: the 1x1 expansion (absent when the expand ratio is 1).
        case expand
        /// MBConv: the k x k depthwise convolution.
        case depthwise
        /// Fused-MBConv: the dense k x k convolution (expanding, or straight to the output
        /// channels when the expand ratio is 1).
        case fused
        case seReduce = "se.reduce"
        case seExpand = "se.expand"
        /// The linear 1x1 projection (absent in a Fused-MBConv block with expand ratio 1).
        case project
    }

    /// Which tensor of a unit a slot holds.
    public enum Leaf: String, CaseIterable, Sendable {
        /// Convolution kernel (OIHW; depthwise C,1,k,k) or linear weight (out, in).
        case weight
        /// Convolution or linear bias.
        case bias
        case bnWeight, bnBias, bnMean, bnVar

        public var isBatchNorm: Bool { self != .weight && self != .bias }
    }

    /// A slot's meaning: which leaf of which unit.
    public struct Role: Hashable, Sendable, CustomStringConvertible {
        public var module: Module
        public var leaf: Leaf
        public init(_ module: Module, _ leaf: Leaf) { self.module = module; self.leaf = leaf }
        public var description: String { "\(module.path) \(leaf.rawValue)" }
    }

    /// What a unit computes; its slots follow from it.
    public struct Unit: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Convolution, then batch norm (or a conv bias when BN is folded), then `activation`.
            case convNorm
            /// Convolution with a bias, no norm (the SE convolutions; the activation is applied by
            /// the SE itself).
            case convBias
            /// Linear layer (out, in) with a bias.
            case linear
            /// Batch norm on features (a classifier chain's BatchNorm1d).
            case batchNorm
        }
        public var module: Module
        public var kind: Kind
        public var inChannels: Int
        public var outChannels: Int
        public var kernel: Int
        public var stride: Int
        public var groups: Int
        /// The activation after the norm; nil for a linear unit (projections, classifier).
        public var activation: EfficientNetConfig.Activation?
        /// True for a `convNorm` unit whose batch norm is folded into a conv bias.
        public var folded: Bool

        public var isDepthwise: Bool { groups > 1 && groups == inChannels && groups == outChannels }

        /// The unit's leaves, in storage order.
        public var leaves: [Leaf] {
            switch kind {
            case .convNorm: return folded ? [.weight, .bias] : [.weight, .bnWeight, .bnBias, .bnMean, .bnVar]
            case .convBias, .linear: return [.weight, .bias]
            case .batchNorm: return [.bnWeight, .bnBias, .bnMean, .bnVar]
            }
        }

        /// The canonical name of one of this unit's leaves.
        public func name(_ leaf: Leaf) -> String {
            let p = module.path
            if kind == .batchNorm {
                return "\(p)." + [.bnWeight: "weight", .bnBias: "bias", .bnMean: "running_mean", .bnVar: "running_var"][leaf, default: "?"]
            }
            guard kind == .convNorm else { return "\(p).\(leaf == .weight ? "weight" : "bias")" }
            switch leaf {
            case .weight: return "\(p).conv.weight"
            case .bias: return "\(p).conv.bias"
            case .bnWeight: return "\(p).bn.weight"
            case .bnBias: return "\(p).bn.bias"
            case .bnMean: return "\(p).bn.running_mean"
            case .bnVar: return "\(p).bn.running_var"
            }
        }

        /// The shape of one of this unit's leaves.
        public func shape(_ leaf: Leaf) -> [Int] {
            switch leaf {
            case .weight:
                return kind == .linear ? [outChannels, inChannels] : [outChannels, inChannels / groups, kernel, kernel]
            default:
                return [outChannels]
            }
        }
    }

    /// One parameter tensor.
    public struct Slot: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var role: Role
    }

    public let config: EfficientNetConfig
    /// Every unit in execution order.
    public let units: [Unit]
    /// Every parameter in storage order (units in order, each unit's `leaves` in order): the
    /// order .effw files store them in.
    public let slots: [Slot]
    private let slotIndexByRole: [Role: Int]
    private let slotIndexByName: [String: Int]
    private let unitIndexByModule: [Module: Int]

    public init(config c: EfficientNetConfig) {
        config = c
        var units: [Unit] = []
        func convNorm(_ m: Module, in i: Int, out o: Int, k: Int, stride: Int = 1, groups: Int = 1,
                      activation: EfficientNetConfig.Activation?) -> Unit {
            Unit(module: m, kind: .convNorm, inChannels: i, outChannels: o, kernel: k, stride: stride, groups: groups,
                 activation: activation, folded: c.batchNormFolded)
        }
        units.append(convNorm(.stem, in: c.inputChannels, out: c.stem.outChannels, k: c.stem.kernel, stride: c.stem.stride,
                              activation: c.activation))
        for (i, b) in c.blocks.enumerated() { units += Self.units(of: b, index: i, config: c) }
        units.append(convNorm(.head, in: c.lastBlockChannels, out: c.headChannels, k: 1, activation: c.activation))
        if let chain = c.classifierChain {
            var width = c.headChannels
            for (k, l) in chain.enumerated() {
                switch l.kind {
                case .linear:
                    let out = l.outFeatures ?? 0
                    units.append(Unit(module: .classifierLayer(k), kind: .linear, inChannels: width, outChannels: out,
                                      kernel: 1, stride: 1, groups: 1, activation: nil, folded: false))
                    width = out
                case .batchNorm:
                    units.append(Unit(module: .classifierLayer(k), kind: .batchNorm, inChannels: width, outChannels: width,
                                      kernel: 1, stride: 1, groups: 1, activation: nil, folded: false))
                default:
                    continue
                }
            }
        } else {
            units.append(Unit(module: .classifier, kind: .linear, inChannels: c.headChannels, outChannels: c.numClasses,
                              kernel: 1, stride: 1, groups: 1, activation: nil, folded: false))
        }
        self.units = units
        var slots: [Slot] = []
        for u in units { for leaf in u.leaves { slots.append(Slot(name: u.name(leaf), shape: u.shape(leaf), role: Role(u.module, leaf))) } }
        self.slots = slots
        var byRole: [Role: Int] = [:], byName: [String: Int] = [:], byModule: [Module: Int] = [:]
        for (i, s) in slots.enumerated() { byRole[s.role] = i; byName[s.name] = i }
        for (i, u) in units.enumerated() { byModule[u.module] = i }
        slotIndexByRole = byRole
        slotIndexByName = byName
        unitIndexByModule = byModule
    }

    /// The units one block consists of, by its kind. This is where a block kind is declared.
    static func units(of b: EfficientNetConfig.Block, index i: Int, config c: EfficientNetConfig) -> [Unit] {
        let act = c.activation, folded = c.batchNormFolded
        func convNorm(_ part: BlockPart, in cin: Int, out: Int, k: Int, stride: Int = 1, groups: Int = 1,
                      activation: EfficientNetConfig.Activation?) -> Unit {
            Unit(module: .block(i, part), kind: .convNorm, inChannels: cin, outChannels: out, kernel: k, stride: stride,
                 groups: groups, activation: activation, folded: folded)
        }
        func se(_ width: Int?, channels: Int) -> [Unit] {
            guard let width else { return [] }
            return [Unit(module: .block(i, .seReduce), kind: .convBias, inChannels: channels, outChannels: width, kernel: 1,
                         stride: 1, groups: 1, activation: nil, folded: false),
                    Unit(module: .block(i, .seExpand), kind: .convBias, inChannels: width, outChannels: channels, kernel: 1,
                         stride: 1, groups: 1, activation: nil, folded: false)]
        }
        switch b.kind {
        case .mbconv:
            var u: [Unit] = []
            if b.hasExpansion { u.append(convNorm(.expand, in: b.inChannels, out: b.expandedChannels, k: 1, activation: act)) }
            u.append(convNorm(.depthwise, in: b.expandedChannels, out: b.expandedChannels, k: b.kernel, stride: b.stride,
                              groups: b.expandedChannels, activation: act))
            u += se(b.seChannels, channels: b.expandedChannels)
            u.append(convNorm(.project, in: b.expandedChannels, out: b.outChannels, k: 1, activation: nil))
            return u
        case .fused:
            guard b.hasProjection else {
                return [convNorm(.fused, in: b.inChannels, out: b.outChannels, k: b.kernel, stride: b.stride, activation: act)]
            }
            return [convNorm(.fused, in: b.inChannels, out: b.expandedChannels, k: b.kernel, stride: b.stride, activation: act),
                    convNorm(.project, in: b.expandedChannels, out: b.outChannels, k: 1, activation: nil)]
        }
    }

    public func slotIndex(_ role: Role) -> Int? { slotIndexByRole[role] }
    public func slotIndex(named name: String) -> Int? { slotIndexByName[name] }
    public func unit(_ module: Module) -> Unit? { unitIndexByModule[module].map { units[$0] } }

    /// The unit that does block `i`'s k x k spatial convolution (depthwise or fused).
    public func spatialUnit(ofBlock i: Int) -> Unit? { unit(.block(i, .depthwise)) ?? unit(.block(i, .fused)) }

    /// The units of block `i`, in execution order.
    public func units(ofBlock i: Int) -> [Unit] { units.filter { $0.module.blockIndex == i } }
}

extension EfficientNet {
    /// Every canonical parameter name and shape a config implies, in the order .effw files store
    /// them (the declared `ParameterLayout`). Computed from the config alone, without allocating
    /// any weights (the converter's streaming path checks shapes with it).
    public static func parameterShapes(for c: EfficientNetConfig) -> [(name: String, shape: [Int])] {
        ParameterLayout(config: c).slots.map { ($0.name, $0.shape) }
    }
}
