import EffNet
import Foundation
import EffNetKeras

/// Turns a Keras checkpoint with keras.applications' EfficientNet layer names into a Config and
/// the assignments canonical <- source. Structure comes from the shapes (channels, kernels, SE
/// width); strides, padding, epsilon, activation, preprocessing and the output activation from
/// the model config when the file has one, else from keras.applications' defaults (each such
/// assumption is listed in `decisions`).
struct KerasAnalysis {
    let path: String
    var table: KerasLayerTable
    let config: KerasModelConfig?
    /// Flattened config layers by name.
    private var configLayers: [String: KerasModelConfig.Layer] = [:]
    private(set) var mapping: WeightMapping
    /// "efficientnet_b0 (width 1.0, depth 1.0)" or a custom structure's description.
    private(set) var variant = ""
    /// The convention decisions, one line each, for reports.
    var decisions: [String] = []
    /// Index into `compoundScaling` when the structure is exactly a B0-B7.
    private(set) var matchedVariant: Int?
    /// Keras ids of the blocks in order ("block1a", "block2a", ...).
    private(set) var blockIDs: [String] = []
    /// Each block's k x k convolution layer (depthwise, or fused), in order.
    private(set) var spatialLayers: [String] = []
    /// The layers of a model's own classifier chain (`KerasHeadChain`), empty for one Dense.
    private(set) var headLayers = Set<String>()

    /// One MBConv block as the names and shapes describe it.
    private struct NamedBlock {
        var id: String
        var stage: Int
        var letter: String
    }

    /// - Throws: `MappingError` describing what does not fit.
    init(_ checkpoint: SourceCheckpoint, imageSize: [Int]? = nil) throws {
        path = checkpoint.path
        var table = KerasLayerTable(checkpoint)
        switch table.scheme {
        case .applications?: break
        case .counters?: table = try KerasCounterNaming.rename(table, path: path)
        case nil:
            throw MappingError.unknownFamily(path: path, detail: "no keras.applications EfficientNet layer names (stem_conv, block1a_dwconv, ...) or Keras class-counter groups")
        }
        self.table = table
        if let text = checkpoint.notes[SourceReader.KerasNotes.modelConfig] {
            do { config = try KerasModelConfig(json: text, source: path) } catch {
                throw MappingError.unsupported(path: path, detail: "the stored Keras model config cannot be read: \(error)")
            }
        } else {
            config = nil
        }
        mapping = WeightMapping(family: FamilyName.keras.rawValue, config: .b(0))
        for layer in config?.flattenedLayers ?? [] where configLayers[layer.name] == nil { configLayers[layer.name] = layer }
        try analyse(checkpoint, imageSize: imageSize)
    }

    func failure(_ detail: String) -> MappingError { .unsupported(path: path, detail: detail) }

    func configLayer(_ name: String) -> KerasModelConfig.Layer? { configLayers[name] }

    /// The Keras id ("block2a") of block `index`.
    func blockID(_ index: Int) -> String { blockIDs.indices.contains(index) ? blockIDs[index] : "block?" }

    // MARK: Structure

    private mutating func analyse(_ checkpoint: SourceCheckpoint, imageSize: [Int]?) throws {
        if let cf = configLayers.values.first(where: { $0.dataFormat == "channels_first" }) {
            throw failure("layer '\(cf.name)' uses channels_first data; only channels_last Keras models are supported")
        }
        // Where each unit of the layout sits: its conv (or Dense) layer and batch-norm layer.
        var units: [ParameterLayout.Module: SourceUnitName] = [:]

        // Stem.
        let stemKernel = try kernel4(KerasNames.stem.conv)
        guard stemKernel[0] == stemKernel[1] else { throw failure("\(KerasNames.stem.conv) kernel \(stemKernel) is not square") }
        let stemStride = try stride(of: KerasNames.stem.conv, default: 2)
        try noBias(KerasNames.stem.conv)
        units[.stem] = KerasNames.stem
        let inputChannels = stemKernel[2]

        // Blocks, ordered by stage number then letter.
        let named: [NamedBlock] = table.layerOrder.compactMap(Self.parseBlock).sorted {
            $0.stage != $1.stage ? $0.stage < $1.stage : ($0.letter.count, $0.letter) < ($1.letter.count, $1.letter)
        }
        guard !named.isEmpty else { throw failure("no blocks (block1a_project_conv, ...)") }
        blockIDs = named.map(\.id)
        var blocks: [EfficientNetConfig.Block] = []
        var cin = stemKernel[3]
        var firstLetter: [Int: String] = [:]
        for b in named where firstLetter[b.stage] == nil { firstLetter[b.stage] = b.letter }
        for (i, b) in named.enumerated() {
            let defaultStride = b.letter == firstLetter[b.stage] && (1 ... 7).contains(b.stage) ? EfficientNetConfig.stageStrides[b.stage - 1] : 1
            if config == nil, b.stage > 7 { throw failure("\(b.id): stage \(b.stage) is beyond EfficientNet's seven stages; its stride needs the model config") }
            let block = table.has(dwLayer(b.id)) ? try mbconv(b, i, cin: cin, defaultStride: defaultStride, into: &units)
                : try fused(b, i, cin: cin, defaultStride: defaultStride, into: &units)
            blocks.append(block)
            cin = block.outChannels
        }

        // Head and classifier.
        let top = try kernel4(KerasNames.head.conv)
        guard top[0] == 1, top[1] == 1, top[2] == cin else { throw failure("\(KerasNames.head.conv) kernel \(top) does not take the last block's \(cin) channels") }
        try noBias(KerasNames.head.conv)
        units[.head] = KerasNames.head
        let head = top[3]
        // A model's own top (a fine-tuned head), else the one classifier Dense.
        let headChain = try KerasHeadChain.read(table, config: config, headChannels: head, path: path)
        let classifierLayer: String, classes: Int
        if let headChain {
            for (k, layer) in headChain.layers { units[.classifierLayer(k)] = .init(conv: layer, norm: layer) }
            (classifierLayer, classes) = (headChain.lastDense, headChain.numClasses)
            headLayers = Set(headChain.layers.values)
        } else {
            classifierLayer = try findClassifier(headChannels: head)
            guard let ck = table.shape(classifierLayer, ["kernel"]), ck.count == 2, ck[0] == head else {
                throw failure("classifier '\(classifierLayer)' kernel \(table.shape(classifierLayer, ["kernel"]) ?? []) does not take \(head) features")
            }
            units[.classifier] = .init(conv: classifierLayer, norm: nil)
            classes = ck[1]
        }

        var cfg = EfficientNetConfig(name: config?.name.isEmpty == false ? config!.name : "keras_efficientnet",
                                     inputChannels: inputChannels,
                                     stem: .init(outChannels: stemKernel[3], kernel: stemKernel[0], stride: stemStride),
                                     blocks: blocks, headChannels: head, numClasses: classes, bnEpsilon: 1e-3,
                                     padding: .symmetric, activation: .silu, classifierChain: headChain?.chain)
        matchedVariant = cfg.isV2 ? nil : Self.matchVariant(cfg)
        if config == nil, let n = matchedVariant { cfg.name = "efficientnet_b\(n)" }
        if config == nil, cfg.isV2, let p = TorchVariant.matchV2(cfg, presets: TorchVariant.v2Presets { $0.name }) { cfg.name = p.name }
        variant = describeStructure(cfg)

        // Conventions.
        try conventions(&cfg, classifierLayer: classifierLayer, imageSize: imageSize)
        let folded = try inputTransform(&cfg, checkpoint)
        let convention = LeafConvention.keras(table)
        mapping = MappingBuilder.mapping(family: FamilyName.keras.rawValue, config: cfg) { unit, leaf in
            units[unit.module].flatMap { convention.source($0, leaf, unit: unit) }
        }
        let assigned = Set(mapping.assignments.map(\.source))
        for layer in folded {
            for (_, s) in self.table.variables[layer] ?? [:] where !assigned.contains(s) {
                mapping.skipped.append((s, "folded into the input transform"))
            }
        }
        // Reports and effnet-inspect show these: what a weights-only file left open is visible.
        mapping.notes = decisions + (headChain?.decisions ?? [])
        mapping.head = headChain?.alternatives
    }

    func kernel4(_ layer: String, _ names: [String] = ["kernel"]) throws -> [Int] {
        guard let s = table.shape(layer, names) else { throw failure("no kernel for layer '\(layer)'") }
        guard s.count == 4 else { throw failure("'\(table.source(layer, names) ?? layer)' has shape \(s), expected a 4-D kernel") }
        return s
    }

    func noBias(_ layer: String) throws {
        if let b = table.source(layer, ["bias"]) { throw failure("'\(b)': a bias on \(layer), which keras.applications' EfficientNet does not have and the Swift model cannot hold next to batch norm") }
    }

    /// The depthwise layer of block `id`: `_dwconv` (EfficientNet), `_dwconv2` (EfficientNetV2).
    func dwLayer(_ id: String) -> String {
        table.has(KerasNames.depthwise(id, v2: true)) ? KerasNames.depthwise(id, v2: true) : KerasNames.depthwise(id, v2: false)
    }

    /// An MBConv block: [expand_conv 1x1] -> dwconv -> [se_reduce, se_expand] -> project_conv.
    private mutating func mbconv(_ b: NamedBlock, _ i: Int, cin: Int, defaultStride: Int,
                                 into units: inout [ParameterLayout.Module: SourceUnitName]) throws -> EfficientNetConfig.Block {
        let dwName = dwLayer(b.id)
        let dw = try kernel4(dwName, ["depthwise_kernel", "kernel"])
        guard dw[0] == dw[1], dw[3] == 1 else { throw failure("\(dwName) kernel \(dw) is not (k, k, C, 1)") }
        let e = dw[2]
        func unit(_ part: ParameterLayout.BlockPart) -> SourceUnitName {
            KerasNames.unit(part, block: b.id, depthwise: dwName, fusedExpands: false)
        }
        let hasExpand = table.has(unit(.expand).conv)
        if hasExpand {
            let k = try kernel4(unit(.expand).conv)
            guard k == [1, 1, cin, e] else { throw failure("\(unit(.expand).conv) kernel \(k), expected \([1, 1, cin, e])") }
            try noBias(unit(.expand).conv)
            units[.block(i, .expand)] = unit(.expand)
        } else if e != cin {
            throw failure("\(b.id) has no expand_conv but its depthwise conv has \(e) channels, not \(cin)")
        }
        try noBias(dwName)
        units[.block(i, .depthwise)] = unit(.depthwise)
        var se: Int? = nil
        if table.has(unit(.seReduce).conv) {
            let r = try kernel4(unit(.seReduce).conv), x = try kernel4(unit(.seExpand).conv)
            guard r[0] == 1, r[1] == 1, r[2] == e, x == [1, 1, r[3], e] else {
                throw failure("\(b.id) squeeze-excitation kernels \(r) and \(x) do not fit \(e) channels")
            }
            se = r[3]
            units[.block(i, .seReduce)] = unit(.seReduce)
            units[.block(i, .seExpand)] = unit(.seExpand)
        }
        let pr = try kernel4(unit(.project).conv)
        guard pr[0] == 1, pr[1] == 1, pr[2] == e else { throw failure("\(unit(.project).conv) kernel \(pr) does not take \(e) channels") }
        try noBias(unit(.project).conv)
        units[.block(i, .project)] = unit(.project)
        spatialLayers.append(dwName)
        let ratio = hasExpand ? max(2, Int((Double(e) / Double(cin)).rounded())) : 1
        return .init(expandRatio: ratio, kernel: dw[0], stride: try stride(of: dwName, default: defaultStride), inChannels: cin,
                     outChannels: pr[3], expandedChannels: e, seChannels: se, stage: b.stage - 1)
    }

    /// A Fused-MBConv block (keras' efficientnet_v2.py): expand_conv k x k (strided) ->
    /// project_conv 1x1, or at expand ratio 1 the k x k (strided) project_conv alone.
    private mutating func fused(_ b: NamedBlock, _ i: Int, cin: Int, defaultStride: Int,
                                into units: inout [ParameterLayout.Module: SourceUnitName]) throws -> EfficientNetConfig.Block {
        func unit(_ part: ParameterLayout.BlockPart, expands: Bool) -> SourceUnitName {
            KerasNames.unit(part, block: b.id, depthwise: dwLayer(b.id), fusedExpands: expands)
        }
        let project = unit(.project, expands: true), expand = unit(.expand, expands: true)
        if table.has(unit(.seReduce, expands: true).conv) { throw failure("\(b.id): a fused block with squeeze-and-excitation is not supported") }
        let pr = try kernel4(project.conv)
        try noBias(project.conv)
        guard table.has(expand.conv) else {
            guard pr[0] == pr[1], pr[0] > 1, pr[2] == cin else {
                throw failure("\(b.id) has neither a depthwise conv nor an expand_conv, and its project_conv kernel \(pr) is not a k x k conv on \(cin) channels")
            }
            units[.block(i, .fused)] = project
            spatialLayers.append(project.conv)
            return .init(kind: .fused, expandRatio: 1, kernel: pr[0], stride: try stride(of: project.conv, default: defaultStride),
                         inChannels: cin, outChannels: pr[3], expandedChannels: cin, seChannels: nil, stage: b.stage - 1)
        }
        let ex = try kernel4(expand.conv)
        guard ex[0] == ex[1], ex[2] == cin, pr[0] == 1, pr[1] == 1, pr[2] == ex[3] else {
            throw failure("\(b.id): expand_conv kernel \(ex) and project_conv kernel \(pr) do not make a fused block on \(cin) channels")
        }
        try noBias(expand.conv)
        units[.block(i, .fused)] = expand
        units[.block(i, .project)] = project
        spatialLayers.append(expand.conv)
        let e = ex[3]
        let ratio = e == cin ? 1 : max(2, Int((Double(e) / Double(cin)).rounded()))
        return .init(kind: .fused, expandRatio: ratio, kernel: ex[0], stride: try stride(of: expand.conv, default: defaultStride),
                     inChannels: cin, outChannels: pr[3], expandedChannels: e, seChannels: nil, stage: b.stage - 1,
                     fusedProjection: e == cin ? true : nil)
    }

    /// "block12b_project_conv" -> ("block12b", 12, "b"): every block, V1 or V2, has a project_conv.
    private static func parseBlock(_ layer: String) -> NamedBlock? {
        guard layer.hasPrefix("block"), layer.hasSuffix("_project_conv") else { return nil }
        let id = layer.dropLast("_project_conv".count)
        let body = id.dropFirst("block".count)
        let digits = body.prefix { $0.isASCII && $0.isNumber }
        let letter = body.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count < 4, let stage = Int(digits), !letter.isEmpty,
              letter.unicodeScalars.allSatisfy({ (97 ... 126).contains($0.value) }) else { return nil }
        return NamedBlock(id: String(id), stage: stage, letter: String(letter))
    }

    private func findClassifier(headChannels: Int) throws -> String {
        if table.has(KerasNames.classifier) { return KerasNames.classifier }
        let dense = table.layerOrder.filter { l in
            table.shape(l, ["kernel"]).map { $0.count == 2 && $0[0] == headChannels } ?? false
        }
        guard dense.count == 1 else {
            throw failure(dense.isEmpty
                ? "no classifier layer ('predictions' or one Dense on the \(headChannels) head features); a model saved with include_top=False has no classifier to convert"
                : "several Dense layers could be the classifier: \(dense.joined(separator: ", "))")
        }
        return dense[0]
    }

    private func stride(of layer: String, default value: Int) throws -> Int {
        guard let c = configLayers[layer] else { return value }
        guard let s = c.strides else { return 1 }
        guard s[0] == s[1] else { throw failure("\(layer) has strides \(s); only equal strides are supported") }
        return s[0]
    }

    /// keras.applications' class name for a V2 variant ("efficientnet_v2_b0" -> "EfficientNetV2B0").
    static func kerasV2Name(_ name: String) -> String {
        guard name.hasPrefix("efficientnet_v2_") else { return name }
        return "EfficientNetV2" + name.dropFirst("efficientnet_v2_".count).uppercased()
    }

    /// The B variant whose structure this is exactly, if any.
    static func matchVariant(_ c: EfficientNetConfig) -> Int? {
        (0 ... 7).first { n in
            let p = EfficientNetConfig.b(n, numClasses: c.numClasses, seRule: .quarterOfBlockInput)
            return p.stem == c.stem && p.headChannels == c.headChannels && p.blocks == c.blocks && p.inputChannels == c.inputChannels
        }
    }

    private func describeStructure(_ c: EfficientNetConfig) -> String {
        let origin = table.renamedFromCounters ? " (layers named from Keras class counters)" : ""
        if c.isV2 {
            let fused = c.blocks.filter { $0.kind == .fused }.count
            if let p = TorchVariant.matchV2(c, presets: TorchVariant.v2Presets { Self.kerasV2Name($0.name) }) {
                return "keras.applications \(p.name) (\(c.blocks.count) blocks, \(fused) fused), \(c.numClasses) classes\(origin)"
            }
            return "keras EfficientNetV2 builder, custom scaling: stem \(c.stem.outChannels), \(c.blocks.count) blocks (\(fused) fused), head \(c.headChannels), \(c.numClasses) classes\(origin)"
        }
        if let n = matchedVariant {
            let s = EfficientNetConfig.compoundScaling[n]
            return "keras.applications efficientnet_b\(n) (width \(s.width), depth \(s.depth)), \(c.numClasses) classes\(origin)"
        }
        let stages = Set(c.blocks.map(\.stage)).count
        return "keras.applications EfficientNet builder, custom scaling: stem \(c.stem.outChannels), \(c.blocks.count) blocks in \(stages) stages, head \(c.headChannels), \(c.numClasses) classes\(origin)"
    }
}
