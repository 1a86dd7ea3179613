import EffNet
import Foundation
import EffNetTF

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
        /// TensorFlow checkpoints: map the ExponentialMovingAverage copies (the default, what the
        /// official evaluation restores) or the raw variables.
        public var tfVariables: TFVariables
        /// Set when the weights file is read from a folder given as SOURCE (a hub layout): its
        /// config.json must then be usable.
        var hubFolder = false
        public init(checkpointKey: String? = nil, deferDataChecks: Bool = false, tfVariables: TFVariables = .ema) {
            self.checkpointKey = checkpointKey
            self.deferDataChecks = deferDataChecks
            self.tfVariables = tfVariables
        }
    }

    /// - Throws: the format reader's typed errors (each names the file and the place), or
    ///   `SourceError` when the content is not recognised.
    public static func read(path: String, options: Options = Options()) throws -> SourceCheckpoint {
        // A TensorFlow checkpoint is a set of files, named by a folder, its prefix or any member.
        if let prefix = try TensorBundle.prefix(forSource: path) {
            return try readTFCheckpoint(prefix: prefix, options: options)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            // A model-hub folder: its weights file, with its config.json.
            var inner = options
            inner.hubFolder = true
            var checkpoint = try read(path: try hubWeights(inFolder: path), options: inner)
            checkpoint.notes[HubNotes.folder] = path
            return checkpoint
        }
        let file = try MappedFile(path: path)
        guard file.count > 0 else { throw SourceError.empty(path: path) }
        var checkpoint: SourceCheckpoint
        switch try FormatSniffer.kind(of: file) {
        case .zip: checkpoint = try readZip(file, options: options)
        case .torchLegacy: checkpoint = try readTorchLegacy(file, options: options)
        case .hdf5: return try readKerasHDF5(file)
        case .onnx: return try readONNX(file)
        case .safetensors: checkpoint = try readSafetensors(file)
        case .tfCheckpointIndex:
            // Reached only for a table not named PREFIX.index, whose shards cannot be found.
            throw TFCheckpointError.notACheckpoint(path: path, detail: "a TensorFlow checkpoint index must be named PREFIX.index to find its PREFIX.data-* shards")
        }
        if checkpoint.format != .effw && checkpoint.format != .kerasArchive {
            // A folder given as SOURCE is a hub layout: its config.json must be usable. A config.json
            // that merely sits beside a weights file may be anything: an unusable one is noted.
            do {
                try attachHubConfigs(&checkpoint, beside: path)
            } catch let e as SourceError where !options.hubFolder {
                checkpoint.notes[HubNotes.ignored] = "\(e)"
            }
        }
        return checkpoint
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
