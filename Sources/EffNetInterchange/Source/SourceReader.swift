import EffNet

/// Reads any supported source into a `SourceCheckpoint`, choosing the reader by content.
/// Each format's glue lives in its own file beside this one (`SourceReader+Torch.swift`, ...).
public enum SourceReader {
    /// Choices a caller can make about how a source is read.
    public struct Options: Sendable {
        /// PyTorch: follow this top-level checkpoint key (e.g. "state_dict_ema") instead of the
        /// default preference state_dict, model, state_dict_ema, model_ema, module.
        public var checkpointKey: String?
        /// Leave the bulk data checks (the CRC-32s of a torch zip's storages) in the checkpoint's
        /// `pendingCheck` instead of running them on read, so they can run alongside writing.
        public var deferDataChecks: Bool
        public init(checkpointKey: String? = nil, deferDataChecks: Bool = false) {
            self.checkpointKey = checkpointKey
            self.deferDataChecks = deferDataChecks
        }
    }

    /// - Throws: the format reader's typed errors (each names the file and the place), or
    ///   `SourceError` when the content is not recognised.
    public static func read(path: String, options: Options = Options()) throws -> SourceCheckpoint {
        let file = try MappedFile(path: path)
        guard file.count > 0 else { throw SourceError.empty(path: path) }
        switch try FormatSniffer.kind(of: file) {
        case .zip: return try readZip(file, options: options)
        case .torchLegacy: return try readTorchLegacy(file, options: options)
        case .hdf5: return try readKerasHDF5(file)
        case .onnx: return try readONNX(file)
        case .safetensors: return try readSafetensors(file)
        }
    }

    /// A plain safetensors file (or .effw) as a checkpoint: names as stored, identity layouts.
    /// Useful for state_dicts exported with `safetensors.torch.save_file`.
    static func readSafetensors(_ file: MappedFile) throws -> SourceCheckpoint {
        let st = try EffwFile(path: file.path, verifyChecksums: true)
        let tensors = try st.entries.map { SourceTensor(name: $0.name, raw: try st.rawTensor($0.name)) }
        let kind: SourceFormat = st.isEffw ? .effw : .safetensors
        let notes: [String: String] = ["container": st.isEffw ? "effw" : "safetensors"]
        var checkpoint = SourceCheckpoint(path: file.path, format: kind, tensors: tensors, notes: notes)
        if st.isEffw {
            // An .effw already uses canonical names: re-encoding (e.g. --dtype f16) maps 1:1.
            let config = try st.config()
            let family = st.provenance()?.family ?? "effw"
            let names = tensors.map(\.name)
            checkpoint.selfMapping = {
                WeightMapping(family: family, config: config, assignments: names.map { .init(canonical: $0, source: $0) })
            }
        }
        return checkpoint
    }
}
