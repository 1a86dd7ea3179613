import EffNet

// Glue from the TorchArchive reader to SourceCheckpoint. Owned by the PyTorch work (issue 3).
extension SourceReader {
    static func readZip(_ file: MappedFile) throws -> SourceCheckpoint {
        throw SourceError.notYetSupported(path: file.path, format: "zip (PyTorch / .keras)")
    }

    static func readTorchLegacy(_ file: MappedFile) throws -> SourceCheckpoint {
        throw SourceError.notYetSupported(path: file.path, format: "legacy PyTorch")
    }
}
