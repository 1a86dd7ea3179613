import EffNet

// Glue from the ONNXModel reader to SourceCheckpoint. Owned by the ONNX work (issue 5).
extension SourceReader {
    static func readONNX(_ file: MappedFile) throws -> SourceCheckpoint {
        throw SourceError.notYetSupported(path: file.path, format: "ONNX")
    }
}
