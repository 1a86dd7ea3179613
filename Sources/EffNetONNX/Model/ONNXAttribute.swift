/// A node attribute's value. Subgraph attributes (If/Loop/Scan bodies) are not read: the schema
/// leaves them out so that unpacking has a fixed nesting depth; they arrive as `.unsupported`.
public enum ONNXAttribute: @unchecked Sendable {
    case float(Float)
    case int(Int64)
    case string([UInt8])
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([[UInt8]])
    case tensors([ONNXTensor])
    /// A graph, sparse tensor, type proto or a reference to a function attribute (`ref_attr_name`).
    case unsupported(type: Int32)

    /// The spec's name of the attribute type, for messages.
    public var typeName: String {
        switch self {
        case .float: return "FLOAT"
        case .int: return "INT"
        case .string: return "STRING"
        case .tensor: return "TENSOR"
        case .floats: return "FLOATS"
        case .ints: return "INTS"
        case .strings: return "STRINGS"
        case .tensors: return "TENSORS"
        case let .unsupported(t): return "type \(t)"
        }
    }

    public var stringValue: String? {
        if case let .string(b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }
}
