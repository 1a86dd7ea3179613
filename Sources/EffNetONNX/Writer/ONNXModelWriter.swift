import EffNet

/// A small description of an ONNX model, serialised to ModelProto bytes with protobuf-c
/// (`serializedBytes()`, in ONNXModelWriter+Pack.swift). It knows the format, not EfficientNet:
/// nodes in topological order, float32 / int64 initializers stored as little-endian `raw_data`
/// under the names given, graph inputs and outputs whose dimensions are fixed or symbolic.
///
///     var w = ONNXModelWriter(graphName: "tiny", opsetVersion: 17)
///     w.inputs = [.init(name: "input", dimensions: [.symbolic("batch"), .fixed(3), .fixed(8), .fixed(8)])]
///     w.initializers = [.float("conv.weight", shape: [4, 3, 3, 3], values)]
///     w.nodes = [.init("Conv", name: "conv", inputs: ["input", "conv.weight"], outputs: ["y"],
///                      attributes: [.ints("pads", [1, 1, 1, 1])])]
///     w.outputs = [.init(name: "y", dimensions: [.symbolic("batch"), .fixed(4), .fixed(8), .fixed(8)])]
///     let bytes = try w.serializedBytes()
///
/// The reader (`ONNXModel`) reads what this writes; the protobuf-c tree built for packing is
/// freed before `serializedBytes()` returns, whatever happens.
public struct ONNXModelWriter: Sendable {
    /// One graph node (ai.onnx domain).
    public struct Node: Sendable, Equatable {
        public var opType: String
        public var name: String
        public var inputs: [String]
        public var outputs: [String]
        public var attributes: [Attribute]

        public init(_ opType: String, name: String, inputs: [String], outputs: [String], attributes: [Attribute] = []) {
            self.opType = opType; self.name = name; self.inputs = inputs; self.outputs = outputs; self.attributes = attributes
        }
    }

    /// A node attribute.
    public struct Attribute: Sendable, Equatable {
        public enum Value: Sendable, Equatable {
            case int(Int64)
            case ints([Int64])
            case float(Float)
            case floats([Float])
            case string(String)
        }
        public var name: String
        public var value: Value

        public init(_ name: String, _ value: Value) { self.name = name; self.value = value }
        public static func int(_ name: String, _ v: Int) -> Attribute { .init(name, .int(Int64(v))) }
        public static func ints(_ name: String, _ v: [Int]) -> Attribute { .init(name, .ints(v.map(Int64.init))) }
        public static func float(_ name: String, _ v: Float) -> Attribute { .init(name, .float(v)) }
        public static func string(_ name: String, _ v: String) -> Attribute { .init(name, .string(v)) }
    }

    /// A constant tensor of the graph (weights, pads, shape constants), stored as `raw_data`.
    public struct Initializer: Sendable, Equatable {
        public enum Values: Sendable, Equatable {
            case float([Float])
            case int64([Int64])

            var count: Int {
                switch self { case let .float(v): return v.count; case let .int64(v): return v.count }
            }
        }
        public var name: String
        public var shape: [Int]
        public var values: Values

        public init(name: String, shape: [Int], values: Values) { self.name = name; self.shape = shape; self.values = values }
        public static func float(_ name: String, shape: [Int], _ v: [Float]) -> Initializer { .init(name: name, shape: shape, values: .float(v)) }
        public static func int64(_ name: String, shape: [Int], _ v: [Int64]) -> Initializer { .init(name: name, shape: shape, values: .int64(v)) }
    }

    /// A graph input or output: a tensor of `elementType` (an `ONNXDataType` raw value) with
    /// fixed or named (symbolic) dimensions.
    public struct ValueInfo: Sendable, Equatable {
        public enum Dimension: Sendable, Equatable {
            case fixed(Int)
            case symbolic(String)
        }
        public var name: String
        public var elementType: Int32
        public var dimensions: [Dimension]

        public init(name: String, elementType: Int32 = ONNXDataType.float.rawValue, dimensions: [Dimension]) {
            self.name = name; self.elementType = elementType; self.dimensions = dimensions
        }
    }

    /// ONNX IR version 8 goes with opset 17 (onnx/onnx docs/Versioning.md).
    public var irVersion: Int64 = 8
    public var opsetVersion: Int64
    public var producerName = "EffNetKit"
    public var producerVersion = EffNetKitVersion.string
    public var graphName: String
    public var docString = ""
    /// metadata_props, in order.
    public var metadata: [(key: String, value: String)] = []
    public var nodes: [Node] = []
    public var initializers: [Initializer] = []
    public var inputs: [ValueInfo] = []
    public var outputs: [ValueInfo] = []

    public init(graphName: String, opsetVersion: Int64) {
        self.graphName = graphName
        self.opsetVersion = opsetVersion
    }

    /// Protobuf's own limit on a message (2 GiB); larger models need external data, which this
    /// writer does not produce.
    public static let maxModelBytes = Int(Int32.max)

    /// Checks what protobuf cannot: every value is defined once (by an input, an initializer or a
    /// node, in that order) before a node reads it, every initializer holds as many values as its
    /// shape says, every output is produced.
    /// - Throws: `ONNXWriteError.invalidGraph` naming the node, the value or the tensor.
    public func validate() throws {
        func fail(_ s: String) -> ONNXWriteError { .invalidGraph(graph: graphName, detail: s) }
        // protobuf-c passes string fields as C strings: a NUL would cut a name short (found by
        // `effnet-fuzz onnxwriter`).
        var texts = [graphName] + inputs.map(\.name) + outputs.map(\.name) + initializers.map(\.name)
        for n in nodes { texts += [n.name, n.opType] + n.inputs + n.outputs + n.attributes.map(\.name) }
        if let bad = texts.first(where: { $0.utf8.contains(0) }) { throw fail("the name \(bad.debugDescription) holds a NUL byte") }
        var defined = Set<String>()
        for i in inputs {
            guard !i.name.isEmpty, defined.insert(i.name).inserted else { throw fail("graph input '\(i.name)' is empty or defined twice") }
            for d in i.dimensions { if case let .fixed(n) = d, n < 0 { throw fail("graph input '\(i.name)' has dimension \(n)") } }
        }
        for t in initializers {
            guard !t.name.isEmpty, defined.insert(t.name).inserted else { throw fail("initializer '\(t.name)' is empty or defined twice") }
            guard t.shape.allSatisfy({ $0 >= 0 }), let n = CheckedSize.product(t.shape), n == t.values.count else {
                throw fail("initializer '\(t.name)' of shape \(t.shape) holds \(t.values.count) values")
            }
        }
        for node in nodes {
            guard !node.opType.isEmpty else { throw fail("node '\(node.name)' has no operator") }
            var attributeNames = Set<String>()
            for a in node.attributes {
                guard !a.name.isEmpty, attributeNames.insert(a.name).inserted else {
                    throw fail("node '\(node.name)' (\(node.opType)) has an attribute named '\(a.name)' that is empty or given twice")
                }
            }
            for name in node.inputs where !name.isEmpty && !defined.contains(name) {
                throw fail("node '\(node.name)' (\(node.opType)) reads '\(name)' before anything defines it")
            }
            for name in node.outputs where !name.isEmpty {
                guard defined.insert(name).inserted else { throw fail("value '\(name)' (node '\(node.name)') is defined twice") }
            }
        }
        for o in outputs where !defined.contains(o.name) { throw fail("no node produces the graph output '\(o.name)'") }
    }
}
