/// Why an `ONNXModelWriter` could not serialise its model.
public enum ONNXWriteError: Error, Equatable, CustomStringConvertible {
    /// The graph breaks a rule of the ONNX IR (a value read before it is defined, defined twice, an
    /// initializer whose values do not fill its shape, an output nothing produces).
    case invalidGraph(graph: String, detail: String)
    /// The model would be larger than protobuf's 2 GiB message limit.
    case tooLarge(graph: String, bytes: Int, limit: Int)
    /// protobuf-c wrote a different number of bytes than it measured, or memory ran out.
    case serialization(graph: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidGraph(graph, detail): return "ONNX graph '\(graph)': \(detail)"
        case let .tooLarge(graph, bytes, limit):
            return "ONNX graph '\(graph)': \(bytes) bytes exceed protobuf's \(limit)-byte limit for one model file"
        case let .serialization(graph, detail): return "ONNX graph '\(graph)': serialisation failed: \(detail)"
        }
    }
}
