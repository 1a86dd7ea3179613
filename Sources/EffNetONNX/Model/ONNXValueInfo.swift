/// A graph input or output: its name, element type and shape as declared (dimensions may be
/// symbolic or absent).
public struct ONNXValueInfo: Sendable, Equatable, Codable {
    public enum Dimension: Sendable, Equatable, Codable, CustomStringConvertible {
        case value(Int)
        case param(String)
        case unknown

        public var description: String {
            switch self {
            case let .value(v): return "\(v)"
            case let .param(p): return p
            case .unknown: return "?"
            }
        }

        /// The fixed size, or nil for a free dimension.
        public var fixed: Int? { if case let .value(v) = self { return v } else { return nil } }
    }

    public let name: String
    /// nil when the value is not a tensor or its element type is not stated.
    public let elementType: Int32?
    /// nil when the shape is not stated at all.
    public let shape: [Dimension]?
    /// true when the declared type is not a tensor (a sequence, map, optional or sparse tensor);
    /// nil for a tensor or an unstated type (so older JSON without the key still decodes).
    public let nonTensor: Bool?

    public init(name: String, elementType: Int32?, shape: [Dimension]?, nonTensor: Bool? = nil) {
        self.name = name; self.elementType = elementType; self.shape = shape; self.nonTensor = nonTensor
    }

    /// "input: FLOAT [N, 3, 224, 224]".
    public var summary: String {
        let type = elementType.map { ONNXDataType.name(of: $0) } ?? "?"
        let dims = shape.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "[?]"
        return "\(name): \(type) \(dims)"
    }
}
