/// One file in a zip archive, as its central directory describes it, with the data offset
/// resolved from its local header.
public struct ZipEntry: Sendable, Equatable {
    /// How an entry's bytes are stored.
    public enum Method: Sendable, Equatable, CustomStringConvertible {
        case stored
        case deflated
        /// Any other method number (bzip2, lzma, ...): listed, but `data(for:)` refuses it.
        case other(UInt16)

        init(_ raw: UInt16) {
            switch raw {
            case 0: self = .stored
            case 8: self = .deflated
            default: self = .other(raw)
            }
        }

        public var description: String {
            switch self {
            case .stored: return "stored"
            case .deflated: return "deflated"
            case let .other(n): return "method \(n)"
            }
        }
    }

    /// The name as stored (UTF-8; invalid sequences are repaired, never trusted).
    public let name: String
    public let method: Method
    /// General purpose bit flags (bit 0: encrypted, bit 3: data descriptor, bit 11: UTF-8).
    public let flags: UInt16
    /// Bytes the entry occupies in the file (after ZIP64 extra fields are applied).
    public let compressedSize: Int
    /// Bytes the entry holds once decompressed.
    public let uncompressedSize: Int
    public let crc32: UInt32
    /// File offset of the entry's local header.
    public let localHeaderOffset: Int
    /// File offset of the entry's first data byte: local header offset + 30 + the LOCAL name
    /// length + the LOCAL extra length (the local extra field may differ from the central one;
    /// PyTorch pads it to align data to 64 bytes).
    public let dataOffset: Int

    public var isEncrypted: Bool { flags & 1 != 0 }
    /// True for directory entries (names ending in "/").
    public var isDirectory: Bool { name.hasSuffix("/") }
    /// The byte range of the stored (possibly compressed) data in the file.
    public var dataRange: Range<Int> { dataOffset ..< dataOffset + compressedSize }
}
