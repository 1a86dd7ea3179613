import EffNet
import EffNetZip

/// A PyTorch checkpoint (torch.save output, zip or legacy format) read without executing
/// anything: the unpickled object tree, and the state dict found in it as validated tensor views.
///
/// Finding the state dict (see `TorchCheckpoint+StateDict.swift`):
/// - a wrapper key holding a dict (or object) is followed, preferring `state_dict`, then `model`,
///   `state_dict_ema`, `model_ema`, `module` (EMA weights only when asked for through
///   `Options.wrapperKey`, or when they are all there is); the key and its siblings are recorded;
/// - otherwise a dict whose values include tensors is the state dict;
/// - a prefix shared by every key, `module.` (DataParallel) and/or `_orig_mod.` (torch.compile),
///   is stripped and recorded;
/// - `num_batches_tracked` entries and non-tensor values are skipped with a reason.
///
/// Objects of classes outside the allowlist (argparse.Namespace in `args`, numpy scalars, ...)
/// are opaque markers: harmless where the converter ignores them, an error naming the class and
/// the key when they sit where a tensor must be. A pickled nn.Module is refused.
public struct TorchCheckpoint: @unchecked Sendable {
    public enum Container: String, Sendable { case zip, legacy }

    public struct Options: Sendable {
        /// Check CRC-32s of the zip entries that are read (data.pkl and every state-dict storage).
        public var verifyCRC = true
        /// Leave the CRC-32 check of the state dict's STORED storages (the bulk of the file) to
        /// `pendingStorageCheck`, so a caller can run it alongside other work: the streaming
        /// converter checks while it writes and commits only if the check passed. Until it has
        /// run, tensor bytes are unchecked. Everything else (data.pkl, sizes) is still checked.
        public var deferStorageCRC = false
        /// Follow this top-level key instead of the default preference (e.g. "state_dict_ema").
        public var wrapperKey: String?
        public var pickleLimits = PickleLimits.default
        public var zipLimits = ZipArchive.Limits.default
        public init(verifyCRC: Bool = true, wrapperKey: String? = nil, deferStorageCRC: Bool = false) {
            self.verifyCRC = verifyCRC
            self.wrapperKey = wrapperKey
            self.deferStorageCRC = deferStorageCRC
        }
    }

    /// One state-dict tensor: the name after prefix stripping, and its validated view.
    public struct Tensor: @unchecked Sendable {
        public let name: String
        /// The key as the file spells it (before prefix stripping).
        public let sourceName: String
        public let raw: RawTensor
        public let isParameter: Bool
        public let requiresGrad: Bool
    }

    public let path: String
    public let container: Container
    /// The pickle protocol of the object pickle.
    public let pickleProtocol: Int
    public let graph: PickleGraph
    public let root: PickleValue
    /// The wrapper keys followed to reach the state dict (empty when the file is a bare state dict).
    public let wrapperPath: [String]
    /// The other top-level keys beside the followed wrapper (epoch, optimizer, args, ...).
    public let siblingKeys: [String]
    /// The prefix removed from every key ("module.", "_orig_mod.", "module._orig_mod."), or nil.
    public let strippedPrefix: String?
    /// State-dict tensors in the state dict's order.
    public let tensors: [Tensor]
    /// State-dict entries not handed out, and why.
    public let skipped: [(name: String, reason: String)]
    /// Facts about the file: container, pickle protocol, byte order, sys_info, wrapper, prefix.
    public let notes: [String: String]
    /// Classes outside the allowlist that occur anywhere in the file (never executed).
    public let opaqueClasses: [String]
    /// The storage CRC-32 check deferred by `Options.deferStorageCRC` (nil when there is none):
    /// throws `ZipError.crcMismatch` naming the file and the first bad entry. Safe to call from
    /// any thread, once or more.
    public let pendingStorageCheck: (@Sendable () throws -> Void)?

    /// Reads a checkpoint, recognising the zip and legacy formats by content.
    /// - Throws: `ZipError`, `PickleError` or `TorchError`, each naming the file and the place.
    public init(file: MappedFile, options: Options = Options()) throws {
        if file.count >= 4, file.bytes[0] == 0x50, file.bytes[1] == 0x4b {
            try self.init(archive: try ZipArchive(file: file, limits: options.zipLimits), options: options)
        } else if Self.isLegacyArchive(file.bytes) {
            try self.init(loaded: try TorchLegacyReader.load(file, options: options), path: file.path, options: options)
        } else {
            throw TorchError.notATorchArchive(path: file.path, detail: "neither a zip archive nor a legacy torch.save file")
        }
    }

    /// Convenience: maps `path` and reads it.
    /// - Throws: `FileError` when the file cannot be mapped, else as `init(file:options:)`.
    public init(path: String, options: Options = Options()) throws {
        try self.init(file: try MappedFile(path: path), options: options)
    }

    /// Reads the torch.save zip format from an opened archive.
    /// - Throws: `ZipError`, `PickleError` or `TorchError`.
    public init(archive: ZipArchive, options: Options = Options()) throws {
        try self.init(loaded: try TorchZipReader.load(archive, options: options), path: archive.path, options: options)
    }

    /// True when `bytes` start like a legacy torch.save file (a pickle of torch's magic number,
    /// protocol 2-5).
    public static func isLegacyArchive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        TorchLegacyReader.looksLikeLegacy(bytes)
    }

    init(loaded: LoadedTorchArchive, path: String, options: Options) throws {
        self.path = path
        container = loaded.container
        pickleProtocol = loaded.protocolVersion
        graph = loaded.graph
        root = loaded.root
        var notes = loaded.notes
        notes["pickle_protocol"] = String(loaded.protocolVersion)

        let found = try StateDictFinder(graph: graph, path: path, preferred: options.wrapperKey).find(root)
        wrapperPath = found.wrapperPath
        siblingKeys = found.siblings
        if !found.wrapperPath.isEmpty { notes["wrapper"] = found.wrapperPath.joined(separator: ".") }
        if !found.siblings.isEmpty { notes["wrapper_siblings"] = found.siblings.joined(separator: ", ") }

        let extracted = try StateDictExtractor(graph: graph, path: path, loaded: loaded).extract(found.dict)
        tensors = extracted.tensors
        skipped = extracted.skipped
        strippedPrefix = extracted.prefix
        if let p = extracted.prefix { notes["prefix"] = p }
        if found.dict.attributes["_metadata"] != nil { notes["state_dict_metadata"] = "present" }

        var seen = Set<String>()
        var classes: [String] = []
        for n in graph.nodes {
            if case let .object(o) = n, seen.insert(o.global.qualifiedName).inserted { classes.append(o.global.qualifiedName) }
        }
        opaqueClasses = classes
        pendingStorageCheck = loaded.source.pendingCheck
        if !classes.isEmpty { notes["opaque_classes"] = classes.joined(separator: ", ") }
        self.notes = notes
    }
}
