/// One node of the graph, as the file states it. Attribute names are unique (checked on reading).
public struct ONNXNode: @unchecked Sendable {
    public let name: String
    public let opType: String
    /// "" for the default ai.onnx domain.
    public let domain: String
    /// Input value names; "" marks an omitted optional input.
    public let inputs: [String]
    public let outputs: [String]
    /// Attributes in file order.
    public let attributes: [(name: String, value: ONNXAttribute)]

    public init(name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [(name: String, value: ONNXAttribute)] = []) {
        self.name = name; self.opType = opType; self.domain = domain
        self.inputs = inputs; self.outputs = outputs; self.attributes = attributes
    }

    public func attribute(_ name: String) -> ONNXAttribute? {
        attributes.first { $0.name == name }?.value
    }

    /// A readable label for messages: the node's name, else its op and first output.
    public var label: String { name.isEmpty ? "\(opType)->\(outputs.first ?? "?")" : name }

    /// True for the default operator set ("" or "ai.onnx").
    public var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }
}
