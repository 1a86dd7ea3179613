import EffNet

/// effnet-predict --json: the top K classes of every image or batch row (docs/JSON.md,
/// Schemas/predict.schema.json). Also the document of a failure, with `error` set.
public struct PredictDocument: Encodable {
    public static let schema = "effnet-predict/1"

    public struct Class: Encodable {
        public var index: Int
        /// The class name (ImageNet's for 1000-class models), null when unknown.
        public var name: String?
        /// Softmax probability (the model's own output when it ends in softmax).
        public var probability: Float?

        enum CodingKeys: String, CodingKey { case index, name, probability }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index); try c.encode(name, forKey: .name); try c.encode(probability, forKey: .probability)
        }
    }

    public struct Result: Encodable {
        /// The image file, or the .npy batch.
        public var input: String
        /// The row in the input batch (0 for an image).
        public var row: Int
        public var top: [Class]

        public init(input: String, row: Int, top: [Class]) { self.input = input; self.row = row; self.top = top }
    }

    public var model: String?
    public var format: String?
    public var family: String?
    public var classes: Int?
    public var results: [Result] = []
    /// The [N, classes] .npy written in tensor mode with --output, else null.
    public var output: String?
    public var error: String?

    public init(model: String?, format: String? = nil, family: String? = nil, classes: Int? = nil) {
        self.model = model; self.format = format; self.family = family; self.classes = classes
    }

    /// The top `k` of one row of probabilities, with names from `names` when it has one per class.
    public static func top(_ probabilities: [Float], k: Int, names: [String]?) -> [Class] {
        Comparison.topK(probabilities, min(k, probabilities.count)).map { i in
            Class(index: i, name: names.flatMap { $0.count == probabilities.count ? $0[i] : nil },
                  probability: ToolJSON.finite(probabilities[i]))
        }
    }

    enum CodingKeys: String, CodingKey { case schema, tool, version, model, format, family, classes, results, output, error }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema); try c.encode("effnet-predict", forKey: .tool)
        try c.encode(EffNetKitVersion.string, forKey: .version)
        try c.encode(model, forKey: .model); try c.encode(format, forKey: .format); try c.encode(family, forKey: .family)
        try c.encode(classes, forKey: .classes); try c.encode(results, forKey: .results)
        try c.encode(output, forKey: .output); try c.encode(error, forKey: .error)
    }
}
