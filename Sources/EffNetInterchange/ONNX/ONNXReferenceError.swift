import EffNetONNX

/// An interpreter error while running a source graph as the verification reference, with the
/// file it came from: the interpreter itself knows nodes, not files, and every error line names
/// its file (`error: model.onnx: ONNX graph: operator If (node 'If->?') is not supported ...`).
public struct ONNXReferenceError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var underlying: ONNXRuntimeError

    public init(path: String, underlying: ONNXRuntimeError) {
        self.path = path; self.underlying = underlying
    }

    public var description: String { "\(path): ONNX graph: \(underlying)" }
}
