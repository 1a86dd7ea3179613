import EffNet

/// A zip archive read straight from a memory-mapped file.
///
/// Opening parses the end-of-central-directory record (ZIP64 when present), every central
/// directory entry and every entry's local header, and checks that each entry's data lies inside
/// the file. Data is handed out by `data(for:verifyCRC:)`: STORED entries as views into the map
/// (no copy), DEFLATED entries inflated into memory bounded by their declared size.
///
/// Not supported (each is a typed error): multi-disk archives, encryption, methods other than
/// stored and deflated, duplicate entry names, entries sharing bytes (overlapping local header
/// and data ranges, as in "nested" zip bombs; CPython refuses them since 3.12), and archives with bytes prepended before the first
/// local header (self-extractors): offsets are taken as written.
public final class ZipArchive: Sendable {
    /// Bounds on what a deflated entry may declare, chosen so a hostile archive cannot make the
    /// reader allocate more than a caller is prepared for.
    public struct Limits: Sendable, Equatable {
        /// Largest uncompressed size accepted for a deflated entry. Default 8 GiB: larger than any
        /// single tensor file a checkpoint holds, small enough to fail before allocating nonsense.
        public var maxInflatedSize: Int
        /// Largest uncompressed/compressed ratio accepted. Deflate cannot exceed about 1032:1
        /// (a 258-byte match per ~2 bits), so a larger declared ratio is impossible for valid data.
        public var maxCompressionRatio: Int

        public init(maxInflatedSize: Int = 8 << 30, maxCompressionRatio: Int = 1032) {
            self.maxInflatedSize = maxInflatedSize
            self.maxCompressionRatio = maxCompressionRatio
        }

        public static let `default` = Limits()
    }

    public let file: MappedFile
    /// Entries in central directory order.
    public let entries: [ZipEntry]
    public let limits: Limits
    /// The archive comment (from the end-of-central-directory record).
    public let comment: String
    /// True when the archive uses ZIP64 end-of-central-directory records.
    public let isZip64: Bool
    /// False when no non-empty entry declares a CRC-32 (every one is 0): torch >= 2.6 writes such
    /// archives under `torch.serialization.set_crc32_options(False)`, and torch.load reads them.
    /// CRC checks are then skipped (there is nothing to check against; callers can say so).
    /// Every CRC of real data being 0 by chance is a 2^-32 event per entry.
    public let recordsCRC32: Bool
    private let index: [String: Int]

    /// Parses the archive's directory.
    /// - Throws: `ZipError` naming the file and the offending structure or entry.
    public init(file: MappedFile, limits: Limits = .default) throws {
        self.file = file
        self.limits = limits
        let directory = try CentralDirectory.locate(in: file)
        isZip64 = directory.isZip64
        comment = directory.comment
        let parsed = try CentralDirectory.entries(of: directory, in: file)
        try CentralDirectory.checkNoOverlap(parsed, directoryOffset: directory.offset, path: file.path)
        var idx: [String: Int] = [:]
        idx.reserveCapacity(parsed.count)
        for (i, e) in parsed.enumerated() {
            guard idx[e.name] == nil else { throw ZipError.duplicateEntry(path: file.path, entry: e.name) }
            idx[e.name] = i
        }
        entries = parsed
        index = idx
        recordsCRC32 = parsed.contains { $0.uncompressedSize > 0 && $0.crc32 != 0 }
    }

    /// Convenience: maps `path` and parses it.
    /// - Throws: `FileError` when the file cannot be mapped, `ZipError` as `init(file:)`.
    public convenience init(path: String, limits: Limits = .default) throws {
        try self.init(file: try MappedFile(path: path), limits: limits)
    }

    public var path: String { file.path }

    /// The entry with exactly this name, or nil.
    public func entry(named name: String) -> ZipEntry? {
        index[name].map { entries[$0] }
    }
}
