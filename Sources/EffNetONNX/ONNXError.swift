/// Everything that can be wrong with an ONNX file, each case naming the file and the place.
public enum ONNXError: Error, Equatable, CustomStringConvertible {
    /// The file is larger than protobuf allows (2 GiB); weights that large belong in external data.
    case tooLarge(path: String, size: Int, limit: Int)
    /// protobuf-c refused the bytes (truncated field, bad wire type, bad varint, ...).
    case malformedProtobuf(path: String)
    /// Unpacking needed more memory than the budget allows (a file that inflates absurdly).
    case memoryBudgetExceeded(path: String, budget: Int)
    /// The file parsed but holds no graph.
    case missingGraph(path: String)
    /// A structural rule of the ONNX IR is broken (where: "node 'x'", "initializer 'w'", ...).
    case invalid(path: String, place: String, detail: String)
    /// A tensor's element type that EffNetKit does not read (strings, complex, unsigned 16-64 bit).
    case unsupportedDataType(path: String, tensor: String, dataType: Int32)
    /// A tensor's stored data does not match its declared type and shape.
    case tensorData(path: String, tensor: String, detail: String)
    /// An external-data reference that is refused or cannot be honoured.
    case externalData(path: String, tensor: String, location: String, detail: String)

    public var description: String {
        switch self {
        case let .tooLarge(path, size, limit):
            return "\(path): \(size) bytes is more than the \(limit)-byte protobuf limit (large weights must be in external data)"
        case let .malformedProtobuf(path):
            return "\(path): not a valid ONNX protobuf (truncated or corrupt message)"
        case let .memoryBudgetExceeded(path, budget):
            return "\(path): unpacking the protobuf needs more than \(budget) bytes of memory; refusing"
        case let .missingGraph(path):
            return "\(path): the ONNX model holds no graph"
        case let .invalid(path, place, detail):
            return "\(path): \(place): \(detail)"
        case let .unsupportedDataType(path, tensor, dataType):
            return "\(path): tensor '\(tensor)': element type \(ONNXDataType.name(of: dataType)) is not supported"
        case let .tensorData(path, tensor, detail):
            return "\(path): tensor '\(tensor)': \(detail)"
        case let .externalData(path, tensor, location, detail):
            return "\(path): tensor '\(tensor)': external data '\(location)': \(detail)"
        }
    }
}

/// Errors of the reference interpreter; each names the node (and op) where it happened.
public enum ONNXRuntimeError: Error, Equatable, CustomStringConvertible {
    /// An operator the interpreter does not implement.
    case unsupportedOperator(op: String, domain: String, node: String)
    /// An attribute value or input combination the interpreter does not implement.
    case unsupportedFeature(op: String, node: String, detail: String)
    /// Inputs that do not fit the operator (shapes, types, missing inputs).
    case invalidNode(op: String, node: String, detail: String)
    /// A value is used before any node produces it, or produced twice.
    case graph(detail: String)
    /// The caller's input does not match the graph's declared input.
    case input(name: String, detail: String)
    /// A tensor would exceed the interpreter's element limit.
    case tooLarge(op: String, node: String, elements: Int, limit: Int)

    public var description: String {
        switch self {
        case let .unsupportedOperator(op, domain, node):
            return "operator \(domain.isEmpty ? "" : domain + ".")\(op) (node '\(node)') is not supported by the reference interpreter"
        case let .unsupportedFeature(op, node, detail): return "\(op) node '\(node)': \(detail) is not supported"
        case let .invalidNode(op, node, detail): return "\(op) node '\(node)': \(detail)"
        case let .graph(detail): return "invalid graph: \(detail)"
        case let .input(name, detail): return "graph input '\(name)': \(detail)"
        case let .tooLarge(op, node, elements, limit):
            return "\(op) node '\(node)': a tensor of \(elements) elements exceeds the limit of \(limit)"
        }
    }
}
