import EffNet
import EffNetZip

/// Writes a state dict as the archive `torch.save(state_dict, f)` writes (the zip format of
/// torch >= 1.6, as torch 2.x lays it out), which `torch.load(f, weights_only=True)` reads back
/// as an `OrderedDict` with the given keys in the given order.
///
/// The archive, entry by entry, in torch's order (`<a>` is `archiveName`; torch uses `archive`
/// for a buffer and the file's stem for a path):
///
/// | entry | content |
/// |---|---|
/// | `<a>/data.pkl` | the state dict, pickle protocol 2 (see `TorchArchiveWriter+Pickle.swift`) |
/// | `<a>/.format_version` | `1` |
/// | `<a>/.storage_alignment` | `64` |
/// | `<a>/byteorder` | `little` |
/// | `<a>/data/0` ... `<a>/data/N-1` | each tensor's bytes, one storage per tensor |
/// | `<a>/version` | `3` and a newline |
/// | `<a>/.data/serialization_id` | 40 digits (see `TorchArchiveWriter+SerializationID.swift`) |
///
/// Every entry is STORED with its CRC-32, its data 64-byte aligned (`ZipWriter`). For the same
/// tensors the archive equals torch's byte for byte except the first 20 digits of the
/// serialization id (Tests/EffNetTorchTests/TorchArchiveWriterTests.swift checks this against a
/// file torch wrote).
///
/// Everything is checked before the first byte goes out: names (non-empty, unique, at most
/// `maxNameBytes`), the count, shapes, byte counts, and the archive's total size (under 4 GiB:
/// larger archives take ZIP64 records, which are not written).
public enum TorchArchiveWriter {
    /// One state-dict entry: a contiguous tensor of `dtype` and `shape`, `bytes` little-endian in
    /// C order (`shape.product * dtype.size` bytes; an empty shape is a 0-d scalar of one element).
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    /// Tensors per archive: the classic zip end record counts entries in 16 bits, and the
    /// archive holds 6 more records.
    public static let maxTensors = Int(UInt16.max) - 7
    /// Bytes of UTF-8 per tensor name (EfficientNet names are under 100).
    public static let maxNameBytes = 4096
    /// Dimensions per tensor: what the project's own reader accepts (`PickleLimits.maxRank`).
    public static let maxRank = PickleLimits.default.maxRank
    /// Bytes of UTF-8 in the archive name.
    public static let maxArchiveNameBytes = 1024
    /// Data alignment of every entry, recorded in `.storage_alignment` (torch's
    /// `_get_storage_alignment()`).
    static let storageAlignment = 64
    /// The format version torch's writer records (`kProducedFileFormatVersion`).
    static let fileFormatVersion = 3

    /// Streams the archive into `sink` (for example the one `AtomicFileWriter` hands out).
    /// - Throws: `TorchArchiveWriteError` for a state dict it will not write (before writing
    ///   anything), `FileError` from the sink.
    public static func write(_ tensors: [Tensor], archiveName: String = "archive", to sink: inout FileSink) throws {
        try write(tensors, archiveName: archiveName) { try sink.write($0) }
    }

    /// The whole archive in memory.
    /// - Throws: `TorchArchiveWriteError` for a state dict it will not write.
    public static func archiveBytes(_ tensors: [Tensor], archiveName: String = "archive") throws -> [UInt8] {
        var out: [UInt8] = []
        // Room for the data and about what each entry adds (headers, padding, pickle): no
        // regrowth copies of a large archive.
        out.reserveCapacity(tensors.reduce(4096) { $0 &+ $1.bytes.count &+ 256 &+ 2 * $1.name.utf8.count })
        try write(tensors, archiveName: archiveName) { out.append(contentsOf: $0) }
        return out
    }

    /// Validates, then emits the archive's bytes in order.
    static func write(_ tensors: [Tensor], archiveName: String,
                      emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try validate(tensors, archiveName: archiveName)
        let pickle = dataPickle(tensors)
        let prefix = archiveName + "/"
        let small: [(String, [UInt8])] = [
            (".format_version", Array("1".utf8)),
            (".storage_alignment", Array(String(storageAlignment).utf8)),
            ("byteorder", Array("little".utf8)),
        ]
        // Whole-archive size, known before the first byte: an upper bound (padding counted as its
        // largest) so that a refusal never comes half way through.
        var estimate = 98 + 2 * entryOverhead(prefix + ".data/serialization_id") + 40
        estimate += 2 * entryOverhead(prefix + "data.pkl") + pickle.count
        estimate += 2 * entryOverhead(prefix + "version") + 2
        for (name, bytes) in small { estimate += 2 * entryOverhead(prefix + name) + bytes.count }
        for (i, t) in tensors.enumerated() {
            estimate = CheckedSize.add(estimate, 2 * entryOverhead(prefix + "data/\(i)") + t.bytes.count) ?? .max
        }
        guard estimate < Int(UInt32.max) else { throw TorchArchiveWriteError.archiveTooLarge(bytes: estimate) }

        var zip = ZipWriter(alignment: storageAlignment)
        var id = SerializationID()
        func record(_ name: String, _ data: UnsafeRawBufferPointer) throws {
            let entry = try zip.add(name: prefix + name, data: data, emit: emit)
            id.recorded(name: name, entry: entry, data: data)
        }
        try pickle.withUnsafeBytes { try record("data.pkl", $0) }
        for (name, bytes) in small { try bytes.withUnsafeBytes { try record(name, $0) } }
        for (i, t) in tensors.enumerated() { try t.bytes.withUnsafeBytes { try record("data/\(i)", $0) } }
        try Array("\(fileFormatVersion)\n".utf8).withUnsafeBytes { try record("version", $0) }
        try Array(id.digits.utf8).withUnsafeBytes { try record(".data/serialization_id", $0) }
        try zip.finish(emit: emit)
    }

    /// Local header + padding + data descriptor, at most (the central header is about as long).
    private static func entryOverhead(_ name: String) -> Int {
        30 + name.utf8.count + 4 + (storageAlignment - 1) + 16
    }

    /// - Throws: the first problem found, as `TorchArchiveWriteError`.
    static func validate(_ tensors: [Tensor], archiveName: String) throws {
        let archiveBytes = archiveName.utf8.count
        guard archiveBytes > 0 else { throw TorchArchiveWriteError.invalidArchiveName(name: archiveName, detail: "empty") }
        guard archiveBytes <= maxArchiveNameBytes else {
            throw TorchArchiveWriteError.invalidArchiveName(name: archiveName, detail: "\(archiveBytes) bytes, over the limit of \(maxArchiveNameBytes)")
        }
        // It names one folder inside the zip: nothing an unzip could take for another path.
        guard !archiveName.contains("/"), !archiveName.contains("\\"), !archiveName.utf8.contains(0),
              archiveName != ".", archiveName != ".." else {
            throw TorchArchiveWriteError.invalidArchiveName(name: archiveName, detail: "must name one folder: no '/', '\\' or NUL, not '.' or '..'")
        }
        guard tensors.count <= maxTensors else {
            throw TorchArchiveWriteError.tooManyTensors(count: tensors.count, limit: maxTensors)
        }
        var seen: [String: Int] = [:]
        seen.reserveCapacity(tensors.count)
        for (i, t) in tensors.enumerated() {
            let nameBytes = t.name.utf8.count
            guard nameBytes > 0 else { throw TorchArchiveWriteError.emptyName(index: i) }
            guard nameBytes <= maxNameBytes else {
                throw TorchArchiveWriteError.nameTooLong(index: i, prefix: String(t.name.prefix(64)), bytes: nameBytes, limit: maxNameBytes)
            }
            if let first = seen[t.name] { throw TorchArchiveWriteError.duplicateName(name: t.name, first: first, again: i) }
            seen[t.name] = i
            guard t.shape.count <= maxRank else {
                throw TorchArchiveWriteError.invalidShape(name: t.name, shape: Array(t.shape.prefix(8)), detail: "\(t.shape.count) dimensions, over the limit of \(maxRank)")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw TorchArchiveWriteError.invalidShape(name: t.name, shape: t.shape, detail: "negative dimension")
            }
            // Strides count a 0 dimension as 1 (RawTensor.contiguousStrides): they must not overflow either.
            guard let count = CheckedSize.product(t.shape), let size = CheckedSize.multiply(count, t.dtype.size),
                  CheckedSize.product(t.shape.map { max($0, 1) }) != nil else {
                throw TorchArchiveWriteError.invalidShape(name: t.name, shape: t.shape, detail: "element count overflows")
            }
            guard size == t.bytes.count else {
                throw TorchArchiveWriteError.byteCountMismatch(name: t.name, dtype: t.dtype, shape: t.shape, expected: size, actual: t.bytes.count)
            }
        }
    }
}
