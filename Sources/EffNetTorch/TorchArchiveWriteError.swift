import EffNet

/// Why `TorchArchiveWriter` refused a state dict. Every case names the tensor (and its position
/// in the list); all of them are found before the first byte is written.
public enum TorchArchiveWriteError: Error, Equatable, CustomStringConvertible {
    /// A tensor name that is empty.
    case emptyName(index: Int)
    /// A tensor name longer than `TorchArchiveWriter.maxNameBytes` UTF-8 bytes.
    case nameTooLong(index: Int, prefix: String, bytes: Int, limit: Int)
    /// The same name twice: a state dict (an OrderedDict) has one value per key.
    case duplicateName(name: String, first: Int, again: Int)
    /// More tensors than one archive holds (`TorchArchiveWriter.maxTensors`).
    case tooManyTensors(count: Int, limit: Int)
    /// A negative dimension, more than `TorchArchiveWriter.maxRank` dimensions, or an element
    /// count that overflows.
    case invalidShape(name: String, shape: [Int], detail: String)
    /// The bytes given are not shape x element size.
    case byteCountMismatch(name: String, dtype: DType, shape: [Int], expected: Int, actual: Int)
    /// The archive name (the entries' folder) is empty, too long, '.', '..', or holds '/', '\\' or NUL.
    case invalidArchiveName(name: String, detail: String)
    /// The archive would reach 4 GiB, which takes ZIP64 entry records (not written).
    case archiveTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case let .emptyName(index):
            return "tensor #\(index): empty name"
        case let .nameTooLong(index, prefix, bytes, limit):
            return "tensor #\(index) '\(prefix)...': name of \(bytes) bytes, over the limit of \(limit)"
        case let .duplicateName(name, first, again):
            return "tensor '\(name)' appears twice (#\(first) and #\(again))"
        case let .tooManyTensors(count, limit):
            return "\(count) tensors, over the limit of \(limit) per archive"
        case let .invalidShape(name, shape, detail):
            return "tensor '\(name)': shape \(shape): \(detail)"
        case let .byteCountMismatch(name, dtype, shape, expected, actual):
            return "tensor '\(name)': \(dtype.torchName) \(shape) needs \(expected) bytes, \(actual) given"
        case let .invalidArchiveName(name, detail):
            return "archive name '\(name.prefix(64))': \(detail)"
        case let .archiveTooLarge(bytes):
            return "the archive would take about \(bytes) bytes: archives of 4 GiB and more (ZIP64) are not written"
        }
    }
}
