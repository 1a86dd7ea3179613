import EffNet
import EffNetKeras

/// keras.applications' layer list for a model, in `model.layers` order, with the variables in
/// Keras' layout. The order matters twice: a Keras 3 `.weights.h5` names groups by class and
/// a per-class counter over this order, and the Keras 2 loader pairs layers with weights by it.
///
/// keras' efficientnet.py (V1) and efficientnet_v2.py (V2) build, per block:
///
///     V1 MBConv   [expand_conv, expand_bn, expand_activation] [dwconv_pad if stride 2]
///                 dwconv, bn, activation, [se_squeeze, se_reshape, se_reduce, se_expand, se_excite]
///                 project_conv, project_bn, [drop if not the first block] [add]  (residual)
///     V2 MBConv   as V1 with dwconv2 and no padding layer
///     V2 Fused    [expand_conv, expand_bn, expand_activation] project_conv, project_bn,
///                 [project_activation when it does not expand], [drop] [add]
///
/// around input_layer, rescaling, normalization, [stem_conv_pad], stem_conv, stem_bn,
/// stem_activation ... top_conv, top_bn, top_activation, avg_pool, top_dropout, predictions.
/// (keras drops the first block's Dropout because its drop rate, 0.2 * b / blocks, is 0.)
extension KerasTarget {
    typealias Record = KerasLayerRecord

    /// - Throws: `MappingError.layout` when a weight does not have its unit's shape.
    func layers(_ model: EfficientNet, layout: KerasExport.Layout) throws -> [Record] {
        var out: [Record] = []
        func plain(_ name: String, _ cls: Record.LayerClass) { out.append(Record(name: name, layerClass: cls)) }

        plain(layout == .keras2H5 ? "input_1" : "input_layer", .inputLayer)
        plain("rescaling", .rescaling)
        if let norm = normalization {
            let c = norm.mean.count
            out.append(Record(name: "normalization", layerClass: .normalization, variables: [
                .init(name: "mean", shape: [c], values: .float32(norm.mean)),
                .init(name: "variance", shape: [c], values: .float32(norm.variance)),
                .init(name: "count", shape: [], values: .int64([0])),
            ]))
        } else if let v2Variant, !KerasAnalysis.v2RescalingOnlyVariants.contains(v2Variant) {
            plain("normalization", .normalization)  // constants in the layer config, no variables
        }

        let stem = KerasNames.stem
        if !isV2, config.stem.stride == 2 { plain(KerasNames.padding(of: stem.conv), .zeroPadding2D) }
        out += try unit(.stem, stem, model)
        plain("stem_activation", .activation)

        var indexInStage = 0
        for (i, b) in config.blocks.enumerated() {
            let stage = kerasBlocks[i].stage
            indexInStage = i > 0 && kerasBlocks[i - 1].stage == stage ? indexInStage + 1 : 0
            let id = KerasNames.blockID(stage: stage + 1, index: indexInStage)
            let dw = KerasNames.depthwise(id, v2: isV2)
            func names(_ part: ParameterLayout.BlockPart) -> SourceUnitName {
                KerasNames.unit(part, block: id, depthwise: dw, fusedExpands: b.hasProjection)
            }
            let layer = { (role: String) in KerasNames.layer(id, role) }
            switch b.kind {
            case .mbconv:
                if b.hasExpansion {
                    out += try unit(.block(i, .expand), names(.expand), model)
                    plain(layer("expand_activation"), .activation)
                }
                if !isV2, b.stride == 2 { plain(KerasNames.padding(of: dw), .zeroPadding2D) }
                out += try unit(.block(i, .depthwise), names(.depthwise), model)
                plain(layer("activation"), .activation)
                if b.seChannels != nil {
                    plain(layer("se_squeeze"), .globalAveragePooling2D)
                    plain(layer("se_reshape"), .reshape)
                    out += try unit(.block(i, .seReduce), names(.seReduce), model)
                    out += try unit(.block(i, .seExpand), names(.seExpand), model)
                    plain(layer("se_excite"), .multiply)
                }
                out += try unit(.block(i, .project), names(.project), model)
            case .fused:
                out += try unit(.block(i, .fused), names(.fused), model)
                if b.hasProjection {
                    plain(layer("expand_activation"), .activation)
                    out += try unit(.block(i, .project), names(.project), model)
                } else {
                    plain(layer("project_activation"), .activation)
                }
            }
            if b.hasResidual {
                if i > 0 { plain(layer("drop"), .dropout) }
                plain(layer("add"), .add)
            }
        }

        out += try unit(.head, KerasNames.head, model)
        plain("top_activation", .activation)
        plain("avg_pool", .globalAveragePooling2D)
        plain("top_dropout", .dropout)
        let classifierModule: ParameterLayout.Module = model.layout.unit(.classifier) != nil ? .classifier
            : model.layout.units.last { if case .classifierLayer = $0.module { return true } else { return false } }?.module ?? .classifier
        out += try unit(classifierModule, SourceUnitName(conv: KerasNames.classifier, norm: nil), model)
        return out
    }

    /// The Keras layers of one unit: its Conv2D / DepthwiseConv2D / Dense, then its
    /// BatchNormalization when it has one (identity batch norm around a folded conv bias).
    private func unit(_ module: ParameterLayout.Module, _ names: SourceUnitName, _ model: EfficientNet) throws -> [Record] {
        guard let u = model.layout.unit(module) else {
            throw MappingError.layout(name: module.path, transform: "Keras export: no such unit", shape: [])
        }
        func tensor(_ leaf: ParameterLayout.Leaf) throws -> Tensor {
            guard let t = model.parameter(.init(module, leaf)) else {
                throw MappingError.layout(name: u.name(leaf), transform: "Keras export: missing", shape: [])
            }
            return t
        }
        func variable(_ leaf: ParameterLayout.Leaf, _ t: Tensor) -> Record.Variable {
            .init(name: LeafConvention.kerasVariable(leaf, unit: u), shape: t.shape, values: .float32(t.scalars))
        }
        let kernel = try LeafConvention.kerasTransform(u).invert(try tensor(.weight), name: u.name(.weight))
        let cls: Record.LayerClass = u.kind == .linear ? .dense : u.isDepthwise ? .depthwiseConv2D : .conv2D
        var conv = Record(name: names.conv, layerClass: cls, variables: [variable(.weight, kernel)])
        switch u.kind {
        case .convBias, .linear:
            conv.variables.append(variable(.bias, try tensor(.bias)))
            return [conv]
        case .batchNorm:
            throw MappingError.layout(name: module.path, transform: "Keras export: a batch norm in the classifier", shape: [])
        case .convNorm:
            guard let norm = names.norm else { return [conv] }
            let c = u.outChannels
            let leaves: [ParameterLayout.Leaf] = [.bnWeight, .bnBias, .bnMean, .bnVar]
            let values: [Tensor]
            if u.folded {
                let eps = KerasTarget.kerasEpsilon
                values = [Tensor(shape: [c], scalars: .init(repeating: 1, count: c)), try tensor(.bias),
                          Tensor(zeros: [c]), Tensor(shape: [c], scalars: .init(repeating: 1 - eps, count: c))]
            } else {
                values = try leaves.map(tensor)
            }
            let bn = Record(name: norm, layerClass: .batchNormalization,
                            variables: zip(leaves, values).map { variable($0, $1) })
            return [conv, bn]
        }
    }
}
