/// The main graph: nodes in file order (the IR requires a topological order; the interpreter checks
/// it), initializers, declared inputs and outputs.
public struct ONNXGraph: @unchecked Sendable {
    public let name: String
    public let nodes: [ONNXNode]
    /// Initializers in file order.
    public let initializers: [ONNXTensor]
    /// Declared inputs; before IR version 4 these may also list initializers (see `dataInputs`).
    public let inputs: [ONNXValueInfo]
    public let outputs: [ONNXValueInfo]
    public let valueInfo: [ONNXValueInfo]
    private let initializerIndex: [String: Int]

    public init(name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo],
                outputs: [ONNXValueInfo], valueInfo: [ONNXValueInfo]) {
        self.name = name; self.nodes = nodes; self.initializers = initializers
        self.inputs = inputs; self.outputs = outputs; self.valueInfo = valueInfo
        var index: [String: Int] = [:]
        for (i, t) in initializers.enumerated() { index[t.name] = i }
        initializerIndex = index
    }

    public func initializer(_ name: String) -> ONNXTensor? {
        initializerIndex[name].map { initializers[$0] }
    }

    /// The inputs a caller must feed: declared inputs that no initializer provides.
    public var dataInputs: [ONNXValueInfo] { inputs.filter { initializerIndex[$0.name] == nil } }

    /// Tensors held by Constant nodes (`value`, `value_float(s)`, `value_int(s)`), by output name,
    /// in node order. Constant nodes whose value is of another kind are left out.
    public var constantNodeTensors: [ONNXTensor] {
        nodes.compactMap { n in
            guard n.opType == "Constant", n.isDefaultDomain, let out = n.outputs.first else { return nil }
            return try? ONNXConstant.tensor(of: n, named: out)
        }
    }

    /// How many nodes of each operator type, most frequent first (ties by name).
    public var operatorHistogram: [(op: String, count: Int)] {
        var counts: [String: Int] = [:]
        for n in nodes { counts[n.isDefaultDomain ? n.opType : "\(n.domain).\(n.opType)", default: 0] += 1 }
        return counts.map { (op: $0.key, count: $0.value) }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.op < $1.op }
    }
}

/// A model-local function (FunctionProto): nodes the interpreter inlines where a node calls it.
public struct ONNXFunction: @unchecked Sendable {
    public let name: String
    public let domain: String
    public let inputs: [String]
    public let outputs: [String]
    public let attributeNames: [String]
    public let nodes: [ONNXNode]
}

/// The value of a Constant node.
public enum ONNXConstant {
    /// - Throws: `ONNXRuntimeError.unsupportedFeature` for sparse or string constants,
    ///   `.invalidNode` when the node carries no value.
    public static func tensor(of node: ONNXNode, named name: String) throws -> ONNXTensor {
        for (key, value) in node.attributes {
            switch (key, value) {
            case let ("value", .tensor(t)):
                return ONNXTensor(name: name, dataType: t.dataType, dims: t.dims, raw: t.raw, location: t.location)
            case let ("value_float", .float(f)): return try .floats([f], dims: [], name: name)
            case let ("value_floats", .floats(fs)): return try .floats(fs, dims: [fs.count], name: name)
            case let ("value_int", .int(i)): return try .ints([i], dims: [], name: name)
            case let ("value_ints", .ints(xs)): return try .ints(xs, dims: [xs.count], name: name)
            case ("sparse_value", _), ("value_string", _), ("value_strings", _):
                throw ONNXRuntimeError.unsupportedFeature(op: "Constant", node: node.label, detail: "attribute '\(key)'")
            default: continue
            }
        }
        throw ONNXRuntimeError.invalidNode(op: "Constant", node: node.label, detail: "no value attribute")
    }
}
