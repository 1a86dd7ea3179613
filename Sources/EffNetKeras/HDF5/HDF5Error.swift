/// Everything that can go wrong reading an HDF5 file. Every case names the file and the object
/// path inside it ("/model_weights/stem_conv"), so a message alone tells a person where to look.
public enum HDF5Error: Error, Equatable, CustomStringConvertible {
    /// A libhdf5 call failed. `stack` is libhdf5's own error stack, innermost first, one line per
    /// entry ("H5F__super_read: file signature not found (file interface: unable to read superblock)").
    case library(file: String, object: String, operation: String, stack: [String])
    /// No link of that name exists.
    case notFound(file: String, object: String)
    /// The object exists but is not what was asked for (a dataset where a group was expected).
    case wrongKind(file: String, object: String, expected: String, actual: String)
    /// A datatype or dataspace the reader does not handle (compound, reference, ...).
    case unsupportedType(file: String, object: String, detail: String)
    /// A declared size beyond what the reader will allocate.
    case tooLarge(file: String, object: String, what: String, size: Int, limit: Int)
    /// Contents that libhdf5 accepted but that make no sense (a negative extent, an overflowing
    /// element count, a string that is not text).
    case malformed(file: String, object: String, detail: String)
    /// libhdf5 could not be loaded (it is opened on the first HDF5 read, not linked). `detail` is
    /// the loader's reason: the names tried and dlerror's text, a missing symbol, or a version
    /// other than the headers' the package was built with.
    case libraryUnavailable(file: String, detail: String)

    public var description: String {
        switch self {
        case let .library(file, object, operation, stack):
            let head = "\(file): HDF5 error at '\(object)' in \(operation)"
            guard let first = stack.first else { return head }
            let more = stack.count > 1 ? " (+\(stack.count - 1) more: \(stack.dropFirst().joined(separator: "; ")))" : ""
            return "\(head): \(first)\(more)"
        case let .notFound(file, object):
            return "\(file): no object '\(object)'"
        case let .wrongKind(file, object, expected, actual):
            return "\(file): '\(object)' is a \(actual), expected a \(expected)"
        case let .unsupportedType(file, object, detail):
            return "\(file): '\(object)': unsupported \(detail)"
        case let .tooLarge(file, object, what, size, limit):
            return "\(file): '\(object)': \(what) of \(size) exceeds the limit of \(limit)"
        case let .malformed(file, object, detail):
            return "\(file): '\(object)': \(detail)"
        case let .libraryUnavailable(file, detail):
            return "\(file): cannot load libhdf5 to read this file: \(detail); install libhdf5 (Debian: "
                + "libhdf5-hl-100, which brings libhdf5-103-1) or set EFFNET_LIBHDF5_HL to the path of libhdf5_hl"
        }
    }

    /// The file the error is about.
    public var file: String {
        switch self {
        case let .library(f, _, _, _), let .notFound(f, _), let .wrongKind(f, _, _, _),
             let .unsupportedType(f, _, _), let .tooLarge(f, _, _, _, _), let .malformed(f, _, _),
             let .libraryUnavailable(f, _):
            return f
        }
    }
}
