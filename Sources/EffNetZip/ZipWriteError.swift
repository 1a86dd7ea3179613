/// What `ZipWriter` refuses to write. Each case names the entry concerned; nothing the writer
/// refuses has been half-written by it (the checks run before an entry's first byte goes out).
public enum ZipWriteError: Error, Equatable, CustomStringConvertible {
    /// An entry name that is empty or longer than the 65,535 bytes a zip header can declare.
    case invalidName(entry: String, detail: String)
    /// Two entries with one name: a reader would pick one of them, which one is up to the reader.
    case duplicateEntry(entry: String)
    /// The entry (or its offset, or the central directory) needs more than 32 bits, which would
    /// take ZIP64 local and central records: not written (see `ZipWriter`).
    case needsZip64(entry: String?, detail: String)
    /// `add` after `finish`, or `finish` twice.
    case finished

    public var description: String {
        switch self {
        case let .invalidName(entry, detail):
            return "zip entry name '\(entry)': \(detail)"
        case let .duplicateEntry(entry):
            return "zip entry '\(entry)' written twice"
        case let .needsZip64(entry, detail):
            return "\(entry.map { "zip entry '\($0)': " } ?? "")\(detail): archives over 4 GB (ZIP64 entries) are not written"
        case .finished:
            return "zip archive already finished"
        }
    }
}
