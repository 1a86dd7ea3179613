import EffNet
import EffNetKeras
import EffNetZip

// Glue from the KerasHDF5 reader to SourceCheckpoint. Owned by the Keras work (issue 4).
//
// Tensor names are "<layer>/<variable>" as `KerasWeight.name` documents them:
// "block1a_dwconv/depthwise_kernel" (tf.keras 2, ":0" removed), "block1a_dwconv/kernel"
// (Keras 3), "conv2d_3/kernel" (a Keras 3 .weights.h5 with neither name attributes nor a
// config). Notes:
//   keras_layout        keras-h5-model | keras-h5-weights | keras3-weights-h5
//   keras_version, keras_backend     as the file records them
//   keras_model_config  the model_config attribute or the archive's config.json (JSON text)
//   keras_layers        how many layers the file lists (layer_names, or the config)
extension SourceReader {
    /// Note keys the Keras reader sets.
    public enum KerasNotes {
        public static let layout = "keras_layout"
        public static let version = "keras_version"
        public static let backend = "keras_backend"
        public static let modelConfig = "keras_model_config"
        public static let layerCount = "keras_layers"
    }

    /// Reads a Keras file of any layout (.h5, .weights.h5, .keras), recognised by content.
    /// - Throws: `SourceError.unrecognised` when the file is neither HDF5 nor a zip, and what
    ///   `readKerasHDF5` / `readKerasArchive` throw.
    public static func readKeras(path: String) throws -> SourceCheckpoint {
        let file = try MappedFile(path: path)
        guard file.count > 0 else { throw SourceError.empty(path: path) }
        switch try FormatSniffer.kind(of: file) {
        case .hdf5: return try readKerasHDF5(file)
        case .zip: return try readKerasArchive(file)
        default: throw SourceError.unrecognised(path: path)
        }
    }

    /// A Keras HDF5 file: full-model or weights-only .h5, or a Keras 3 .weights.h5.
    /// - Throws: `HDF5Error` (libhdf5's diagnosis, naming the file and object) or
    ///   `KerasFormatError` (HDF5 but not a Keras layout).
    static func readKerasHDF5(_ file: MappedFile) throws -> SourceCheckpoint {
        // libhdf5 can crash on malformed files: read in a contained child (docs/HOSTILE_INPUT.md).
        try ContainedRead.run(path: file.path, library: "libhdf5") {
            let weights = try KerasWeightsReader.read(path: file.path)
            let format: SourceFormat = weights.layout == .fullModelH5 ? .kerasH5 : .kerasWeightsH5
            return checkpoint(weights, path: file.path, format: format)
        }
    }

    /// A `.keras` zip (config.json + model.weights.h5); `readZip` calls this when the archive
    /// holds `model.weights.h5`.
    /// - Throws: `ZipError`, `KerasFormatError`, `HDF5Error`.
    static func readKerasArchive(_ file: MappedFile) throws -> SourceCheckpoint {
        try readKerasArchive(ZipArchive(file: file))
    }

    /// The same for a zip `readZip` has already opened: use it when
    /// `KerasArchive.isKerasArchive(archive)` is true.
    /// - Throws: `KerasFormatError`, `HDF5Error`, `ZipError`.
    static func readKerasArchive(_ archive: ZipArchive) throws -> SourceCheckpoint {
        // The child inflates the weights before libhdf5 reads them: its time goes with their
        // declared size (bounded by the cap), not with the archive's.
        let inflated = archive.entries.reduce(0) { min(1 << 40, $0 + min($1.uncompressedSize, KerasArchive.maxWeightsBytes)) }
        let timeout = ContainedParent.defaultTimeout(fileSize: max(archive.file.count, inflated))
        return try ContainedRead.run(path: archive.path, library: "libhdf5", timeout: timeout) {
            checkpoint(try KerasArchive.read(archive), path: archive.path, format: .kerasArchive)
        }
    }

    private static func checkpoint(_ weights: KerasWeightsFile, path: String, format: SourceFormat) -> SourceCheckpoint {
        var notes: [String: String] = [KerasNotes.layout: weights.layout.rawValue]
        notes[KerasNotes.version] = weights.kerasVersion
        notes[KerasNotes.backend] = weights.backend
        notes[KerasNotes.modelConfig] = weights.modelConfig
        notes[KerasNotes.layerCount] = String(weights.layerNames.count)
        return SourceCheckpoint(path: path, format: format,
                                tensors: weights.weights.map { SourceTensor(name: $0.name, raw: $0.tensor) },
                                skipped: weights.skipped, notes: notes)
    }
}
