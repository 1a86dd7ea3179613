import EffNet
import EffNetKeras
import EffNetTorch
import EffNetZip

// Glue from the TorchArchive reader to SourceCheckpoint. Owned by the PyTorch work (issue 3).
//
// Tensors come in state-dict order, named after wrapper and prefix stripping, as RawTensor views
// (into the mapped file for STORED zips and legacy files; half precision kept as stored).
// `skipped` lists num_batches_tracked and non-tensor state-dict entries, then the checkpoint's
// other top-level entries (optimizer, args, epoch, ...). Notes (keys in `TorchNotes`):
//   torch_container     zip | legacy
//   pickle_protocol     2 (torch.save's default) .. 5
//   byteorder           little | big (zip `byteorder` entry; legacy data is always little)
//   archive_prefix      the zip's record folder (zip only)
//   wrapper             the key(s) followed to the state dict, e.g. "state_dict"; absent for a bare one
//   wrapper_siblings    the other top-level keys, comma-separated
//   prefix              the stripped key prefix: "module.", "_orig_mod." or both
//   opaque_classes      classes outside the allowlist found in the file (never executed)
//   legacy_sys_info     the legacy header's sys_info (little_endian, type sizes)
//   torch_summary       a few lines for effnet-inspect (container, wrapper, prefix, tensor counts)
//   crc32               set when a zip records no CRC-32s (torch's set_crc32_options(False))
extension SourceReader {
    /// Note keys the PyTorch reader sets.
    public enum TorchNotes {
        public static let container = "torch_container"
        public static let pickleProtocol = "pickle_protocol"
        public static let byteOrder = "byteorder"
        public static let archivePrefix = "archive_prefix"
        public static let wrapper = "wrapper"
        public static let wrapperSiblings = "wrapper_siblings"
        public static let prefix = "prefix"
        public static let opaqueClasses = "opaque_classes"
        public static let legacySysInfo = "legacy_sys_info"
        public static let summary = "torch_summary"
        public static let crc32 = "crc32"
    }

    /// Options for PyTorch sources (which wrapper key to follow, CRC checking).
    public typealias TorchReadOptions = TorchCheckpoint.Options

    /// A zip: a `.keras` archive when it holds `model.weights.h5` and `config.json`, otherwise a
    /// torch.save archive.
    /// - Throws: `ZipError`, `PickleError`, `TorchError` (or the Keras reader's errors).
    static func readZip(_ file: MappedFile, options: Options = Options()) throws -> SourceCheckpoint {
        let archive = try ZipArchive(file: file)
        // Also broken .keras archives (no weights entry, or one under a folder): they get Keras's
        // messages rather than "not a PyTorch archive".
        if KerasArchive.looksLikeKerasArchive(archive) {
            return try readKerasArchive(archive)
        }
        let torchOptions = TorchReadOptions(wrapperKey: options.checkpointKey, deferStorageCRC: options.deferDataChecks)
        return checkpoint(try TorchCheckpoint(archive: archive, options: torchOptions), format: .torchZip)
    }

    /// A legacy (torch < 1.6) torch.save file.
    /// - Throws: `PickleError`, `TorchError`.
    static func readTorchLegacy(_ file: MappedFile, options: Options = Options()) throws -> SourceCheckpoint {
        checkpoint(try TorchCheckpoint(file: file, options: .init(wrapperKey: options.checkpointKey)), format: .torchLegacy)
    }

    /// Reads a PyTorch checkpoint (zip or legacy) with explicit options, e.g. to take the EMA
    /// weights: `readTorch(path: p, options: .init(wrapperKey: "state_dict_ema"))`.
    /// - Throws: `FileError`, `ZipError`, `PickleError`, `TorchError`.
    public static func readTorch(path: String, options: TorchReadOptions) throws -> SourceCheckpoint {
        let ckpt = try TorchCheckpoint(file: try MappedFile(path: path), options: options)
        return checkpoint(ckpt, format: ckpt.container == .zip ? .torchZip : .torchLegacy)
    }

    static func checkpoint(_ ckpt: TorchCheckpoint, format: SourceFormat) -> SourceCheckpoint {
        var skipped = ckpt.skipped
        if let root = ckpt.graph.dict(ckpt.root), let wrapper = ckpt.wrapperPath.first {
            for key in ckpt.siblingKeys where !key.contains(".") {
                let what = root.value(forKey: key).map { ckpt.graph.describe($0) } ?? "?"
                skipped.append((key, "checkpoint entry beside the state dict '\(wrapper)': \(what)"))
            }
        }
        var notes = ckpt.notes
        notes[TorchNotes.summary] = ckpt.headerSummary
        var source = SourceCheckpoint(path: ckpt.path, format: format,
                                      tensors: ckpt.tensors.map { SourceTensor(name: $0.name, raw: $0.raw) },
                                      skipped: skipped, notes: notes)
        source.pendingCheck = ckpt.pendingStorageCheck
        return source
    }
}
