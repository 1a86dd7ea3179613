import EffNet
import EffNetONNX

/// Builds the ONNX graph of one `EfficientNet` (see `ONNXExport`). Every node's single output
/// value takes the node's name; the last node's output is renamed to the graph output.
struct ONNXGraphBuilder {
    typealias Attribute = ONNXModelWriter.Attribute
    let model: EfficientNet
    let config: EfficientNetConfig
    let options: ONNXExportOptions
    /// TF "SAME" pads per k x k convolution (0 the stem, i + 1 block i) when they are fixed;
    /// nil when the graph computes them (or the rule is symmetric).
    let samePads: [ConvPadding]?
    private(set) var writer: ONNXModelWriter
    private(set) var stages: [(stage: String, value: String)] = []
    private var constantNames = Set<String>()

    /// - Throws: `ONNXExportError` for an unusable option or a missing input size.
    init(model: EfficientNet, options: ONNXExportOptions) throws {
        let c = model.config
        self.model = model
        config = c
        self.options = options
        if let s = options.inputSize, !(32 ... 8192).contains(s) {
            throw ONNXExportError.invalidOption(model: c.name, option: "inputSize", detail: "\(s) is outside 32...8192")
        }
        if options.includePreprocessing {
            let p = c.imagePreprocessing
            guard p.pixelScale.isFinite, p.pixelScale > 0, p.mean.allSatisfy(\.isFinite), p.std.allSatisfy({ $0.isFinite && $0 != 0 }) else {
                throw ONNXExportError.invalidOption(model: c.name, option: "includePreprocessing",
                                                    detail: "the config's image preprocessing needs a positive pixel scale, finite means and non-zero stds")
            }
        }
        switch c.padding.mode {
        case .symmetric: samePads = nil
        case .sameStatic:
            // (A validated config always has the nominal size; checked anyway, never trapped on.)
            guard let size = c.padding.imageSize, size.count == 2 else {
                throw ONNXExportError.unsupported(model: c.name, what: "static SAME padding", detail: "the config gives no nominal image size [h, w]")
            }
            samePads = ConvPadding.same(config: c, height: size[0], width: size[1])
        case .sameDynamic:
            if let s = options.inputSize, options.samePadding == .fixedInputSize {
                samePads = ConvPadding.same(config: c, height: s, width: s)
            } else if options.samePadding == .shapeArithmetic {
                samePads = nil
            } else {
                throw ONNXExportError.inputSizeRequired(model: c.name)
            }
        }
        writer = ONNXModelWriter(graphName: c.name, opsetVersion: ONNXExport.opsetVersion)
    }

    mutating func build() {
        let size: ONNXModelWriter.ValueInfo.Dimension? = options.inputSize.map { .fixed($0) }
        writer.inputs = [.init(name: ONNXExport.inputName, dimensions: [.symbolic("batch"), .fixed(config.inputChannels),
                                                                        size ?? .symbolic("height"), size ?? .symbolic("width")])]
        var x = ONNXExport.inputName
        if options.includePreprocessing {
            let p = config.imagePreprocessing
            let scale = zip(p.std, p.mean).map { std, _ in Float(Double(p.pixelScale) / Double(std)) }
            let offset = zip(p.std, p.mean).map { std, mean in Float(-Double(mean) / Double(std)) }
            x = affine("preprocess", x, scale: scale, offset: offset)
        }
        if let t = config.inputTransform { x = affine("input_transform", x, scale: t.scale, offset: t.offset) }
        x = convUnit(model.layout.unit(.stem)!, x, convIndex: 0)
        stages.append(("stem", x))
        for i in config.blocks.indices {
            x = block(i, x)
            stages.append(("blocks.\(i)", x))
        }
        x = convUnit(model.layout.unit(.head)!, x, convIndex: nil)
        stages.append(("head", x))
        x = node("GlobalAveragePool", "pool", [x])
        x = node("Flatten", "flatten", [x], [.int("axis", 1)])
        x = classifier(x)
        if config.finalSoftmax && options.softmax { x = node("Softmax", "softmax", [x], [.int("axis", -1)]) }
        let output = ONNXExport.outputName(config, options: options)
        writer.nodes[writer.nodes.count - 1].outputs = [output]
        writer.outputs = [.init(name: output, dimensions: [.symbolic("batch"), .fixed(config.numClasses)])]
        writer.docString = "\(config.name) exported by EffNetKit \(EffNetKitVersion.string)"
        writer.metadata = [
            ("effnetkit.config", config.name),
            ("effnetkit.input", ONNXExport.inputConvention(config, options: options)),
            ("effnetkit.padding", paddingDescription),
            ("effnetkit.batch_norm", options.foldBatchNorm || config.batchNormFolded ? "folded into the convolutions" : "BatchNormalization nodes"),
        ]
    }

    private var paddingDescription: String {
        switch config.padding.mode {
        case .symmetric: return "symmetric k//2 (explicit Conv pads)"
        case .sameStatic: return "TensorFlow SAME fixed from the nominal size \(config.padding.imageSize ?? []) (explicit Conv pads)"
        case .sameDynamic:
            if let pads = samePads, !pads.isEmpty, let s = options.inputSize { return "TensorFlow SAME for a \(s)x\(s) input (explicit Conv pads; input size fixed)" }
            return "TensorFlow SAME computed from the actual input (Shape arithmetic, then Pad)"
        }
    }

    // MARK: Graph primitives

    /// Appends a node whose one output is named after it; returns that output.
    @discardableResult
    mutating func node(_ op: String, _ name: String, _ inputs: [String], _ attributes: [Attribute] = []) -> String {
        writer.nodes.append(.init(op, name: name, inputs: inputs, outputs: [name], attributes: attributes))
        return name
    }

    mutating func initializer(_ name: String, shape: [Int], _ values: [Float]) -> String {
        writer.initializers.append(.float(name, shape: shape, values))
        return name
    }

    /// A shared float constant (scalar unless `shape` says otherwise), written once.
    mutating func constant(_ name: String, _ values: [Float], shape: [Int] = []) -> String {
        if constantNames.insert(name).inserted { writer.initializers.append(.float(name, shape: shape, values)) }
        return name
    }

    /// A shared int64 constant, written once.
    mutating func int64Constant(_ name: String, _ values: [Int64], shape: [Int] = []) -> String {
        if constantNames.insert(name).inserted { writer.initializers.append(.int64(name, shape: shape, values)) }
        return name
    }

    /// x * scale[c] + offset[c] per channel: Mul then Add with [1, C, 1, 1] constants.
    private mutating func affine(_ name: String, _ x: String, scale: [Float], offset: [Float]) -> String {
        let shape = [1, scale.count, 1, 1]
        let s = initializer("\(name).scale", shape: shape, scale), o = initializer("\(name).offset", shape: shape, offset)
        return node("Add", "\(name).add", [node("Mul", "\(name).mul", [x, s]), o])
    }
}
