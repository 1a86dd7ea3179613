/// A Keras model config (`model_config` of a .h5, `config.json` of a .keras), as far as weight
/// reading and model mapping need it: the layer list in model order.
public struct KerasModelConfig: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        /// "Conv2D", "BatchNormalization", "TFOpLambda", ...
        public var className: String
        public var name: String
        /// The layer's own `config` object.
        public var config: KerasJSON
        /// `inbound_nodes` as stored (Keras 2 and 3 spell them differently).
        public var inboundNodes: KerasJSON

        public init(className: String, name: String, config: KerasJSON, inboundNodes: KerasJSON = .null) {
            self.className = className; self.name = name; self.config = config; self.inboundNodes = inboundNodes
        }

        /// The class name as Keras 3 spells it in `.weights.h5` group names ("conv2d").
        public var snakeClassName: String { KerasModelConfig.snakeCase(className) }
    }

    /// "Functional", "Model", "Sequential", ...
    public var className: String
    public var name: String
    public var layers: [Layer]
    /// The whole parsed JSON, for anything else a reader wants.
    public var json: KerasJSON

    /// Parses a model config.
    /// - Throws: `KerasJSONError` naming `source` when the text is not JSON or has no layer list.
    public init(json text: String, source: String) throws {
        let json = try KerasJSON.parse(text, source: source)
        guard let config = json["config"], let list = config["layers"]?.array else {
            throw KerasJSONError(source: source, detail: "model config without config.layers")
        }
        self.json = json
        className = json["class_name"]?.string ?? ""
        name = config["name"]?.string ?? ""
        layers = try list.enumerated().map { i, entry in
            guard let cls = entry["class_name"]?.string else {
                throw KerasJSONError(source: source, detail: "layer \(i) of the model config has no class_name")
            }
            let layerConfig = entry["config"] ?? .null
            let name = layerConfig["name"]?.string ?? entry["name"]?.string ?? ""
            return Layer(className: cls, name: name, config: layerConfig, inboundNodes: entry["inbound_nodes"] ?? .null)
        }
    }

    public func layer(named name: String) -> Layer? { layers.first { $0.name == name } }

    /// Nested models followed below the top level.
    public static let maxNesting = 16

    /// The layers with every nested model (a layer whose config holds its own `layers`, such
    /// as a pretrained EfficientNet inside a transfer-learning model) replaced by its layers,
    /// in config order.
    public var flattenedLayers: [Layer] {
        func flatten(_ list: [Layer], depth: Int) -> [Layer] {
            list.flatMap { layer -> [Layer] in
                guard depth < Self.maxNesting, let inner = layer.config["layers"]?.array else { return [layer] }
                let nested = inner.compactMap { entry -> Layer? in
                    guard let cls = entry["class_name"]?.string else { return nil }
                    let config = entry["config"] ?? .null
                    return Layer(className: cls, name: config["name"]?.string ?? entry["name"]?.string ?? "",
                                 config: config, inboundNodes: entry["inbound_nodes"] ?? .null)
                }
                return flatten(nested, depth: depth + 1)
            }
        }
        return flatten(layers, depth: 0)
    }

    /// Keras' `naming.to_snake_case`: drop non-word characters, then put "_" before an
    /// upper-case letter that starts a capitalised word ("DepthwiseConv2D" ->
    /// "depthwise_conv2d") and between a lower-case letter and an upper-case one.
    public static func snakeCase(_ name: String) -> String {
        let chars = Array(name.filter { $0.isLetter || $0.isNumber || $0 == "_" })
        // re.sub("(.)([A-Z][a-z]+)", r"\1_\2"): left to right, non-overlapping.
        var pass1: [Character] = []
        var i = 0
        while i < chars.count {
            if i + 1 < chars.count, chars[i + 1].isUppercase, i + 2 < chars.count, chars[i + 2].isLowercase {
                pass1.append(chars[i]); pass1.append("_"); pass1.append(chars[i + 1])
                i += 2
                while i < chars.count, chars[i].isLowercase { pass1.append(chars[i]); i += 1 }
                continue
            }
            pass1.append(chars[i])
            i += 1
        }
        // re.sub("([a-z])([A-Z])", r"\1_\2")
        var pass2: [Character] = []
        for (j, c) in pass1.enumerated() {
            if j > 0, pass1[j - 1].isLowercase, c.isUppercase { pass2.append("_") }
            pass2.append(c)
        }
        return String(pass2).lowercased()
    }
}
