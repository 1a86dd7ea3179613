/// Everything that can be wrong with a zip archive. Every case names the file; cases about one
/// entry name it, and cases about a structure give its file offset.
public enum ZipError: Error, Equatable, CustomStringConvertible {
    /// No end-of-central-directory record in the last 65,557 bytes (22-byte record + the
    /// largest possible comment): not a zip file, or truncated.
    case endOfCentralDirectoryNotFound(path: String)
    /// A structure's signature is not what its position requires.
    case badSignature(path: String, structure: String, offset: Int, found: UInt32)
    /// A structure runs past the end of the file (or of the central directory).
    case truncated(path: String, structure: String, offset: Int)
    /// Archives split over several disks are not supported.
    case multiDisk(path: String)
    /// A declared value is inconsistent (counts, offsets, sizes, ZIP64 fields).
    case invalid(path: String, entry: String?, offset: Int, detail: String)
    /// Two entries have the same name: which one a reader picks would be ambiguous.
    case duplicateEntry(path: String, entry: String)
    /// The local header disagrees with the central directory (name, method).
    case localHeaderMismatch(path: String, entry: String, offset: Int, detail: String)
    /// The entry's data does not lie inside the file.
    case entryOutOfBounds(path: String, entry: String, offset: Int, size: Int, fileSize: Int)
    /// Two entries' local header + data ranges share bytes (or an entry runs into the central
    /// directory): `second` starts at `offset`, inside `first`.
    case overlappingEntries(path: String, first: String, second: String, offset: Int)
    /// Encrypted entries are not supported.
    case encrypted(path: String, entry: String)
    /// A compression method other than stored (0) or deflated (8).
    case unsupportedMethod(path: String, entry: String, method: UInt16)
    /// A declared uncompressed size over the reader's limits (see `ZipArchive.Limits`).
    case sizeLimitExceeded(path: String, entry: String, declared: Int, limit: Int, reason: String)
    /// zlib reported corrupt deflate data.
    case inflateFailed(path: String, entry: String, offset: Int, message: String)
    /// The deflate stream ended before, or continues after, the declared sizes.
    case sizeMismatch(path: String, entry: String, detail: String)
    /// The data's CRC-32 differs from the central directory's.
    case crcMismatch(path: String, entry: String, expected: UInt32, actual: UInt32)

    public var description: String {
        func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
        switch self {
        case let .endOfCentralDirectoryNotFound(path):
            return "\(path): not a zip archive (no end-of-central-directory record), or truncated"
        case let .badSignature(path, structure, offset, found):
            return "\(path): \(structure) at offset \(offset) has signature \(hex(found))"
        case let .truncated(path, structure, offset):
            return "\(path): \(structure) at offset \(offset) runs past the end of the data"
        case let .multiDisk(path):
            return "\(path): multi-disk zip archives are not supported"
        case let .invalid(path, entry, offset, detail):
            return "\(path): \(entry.map { "entry '\($0)': " } ?? "")\(detail) (offset \(offset))"
        case let .duplicateEntry(path, entry):
            return "\(path): entry '\(entry)' appears more than once in the central directory"
        case let .localHeaderMismatch(path, entry, offset, detail):
            return "\(path): entry '\(entry)': local header at offset \(offset) disagrees with the central directory: \(detail)"
        case let .entryOutOfBounds(path, entry, offset, size, fileSize):
            return "\(path): entry '\(entry)': \(size) bytes at offset \(offset) exceed the \(fileSize)-byte file"
        case let .overlappingEntries(path, first, second, offset):
            return "\(path): entries overlap: '\(second)' at offset \(offset) starts inside entry '\(first)' (a zip whose entries share bytes, as zip bombs do)"
        case let .encrypted(path, entry):
            return "\(path): entry '\(entry)' is encrypted (not supported)"
        case let .unsupportedMethod(path, entry, method):
            return "\(path): entry '\(entry)' uses compression method \(method) (only stored and deflated are supported)"
        case let .sizeLimitExceeded(path, entry, declared, limit, reason):
            return "\(path): entry '\(entry)' declares \(declared) uncompressed bytes, over the limit of \(limit) (\(reason))"
        case let .inflateFailed(path, entry, offset, message):
            return "\(path): entry '\(entry)': corrupt deflate data at offset \(offset): \(message)"
        case let .sizeMismatch(path, entry, detail):
            return "\(path): entry '\(entry)': \(detail)"
        case let .crcMismatch(path, entry, expected, actual):
            return "\(path): entry '\(entry)': CRC-32 \(hex(actual)) does not match the declared \(hex(expected))"
        }
    }
}
