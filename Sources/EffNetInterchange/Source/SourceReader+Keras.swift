import EffNet

// Glue from the KerasHDF5 reader to SourceCheckpoint. Owned by the Keras work (issue 4).
extension SourceReader {
    static func readKerasHDF5(_ file: MappedFile) throws -> SourceCheckpoint {
        throw SourceError.notYetSupported(path: file.path, format: "Keras HDF5")
    }
}

extension SourceReader {
    /// A `.keras` zip (config.json + model.weights.h5); `readZip` calls this when the archive
    /// holds `model.weights.h5`.
    static func readKerasArchive(_ file: MappedFile) throws -> SourceCheckpoint {
        throw SourceError.notYetSupported(path: file.path, format: ".keras archive")
    }
}
