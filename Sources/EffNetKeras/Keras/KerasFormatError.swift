/// A file that libhdf5 reads fine but that is not a Keras weights file, or whose Keras
/// bookkeeping contradicts itself. Every case names the file and the place.
public enum KerasFormatError: Error, Equatable, CustomStringConvertible {
    /// HDF5, but none of the Keras layouts (no model_weights, no layer_names, no layers/).
    case unrecognisedLayout(file: String, detail: String)
    /// The file's lists and its contents disagree: a listed layer or weight that is missing,
    /// `vars` entries that are not 0..<n, a nesting deeper than the reader follows.
    case inconsistent(file: String, object: String, detail: String)
    /// Keras content this reader understands but cannot represent (a preprocessing layer
    /// other than Rescaling/Normalization, channels-first data, ...).
    case unsupported(file: String, object: String, detail: String)
    /// A .keras archive without what it needs, or with a config.json that is not JSON.
    case archive(file: String, detail: String)

    public var description: String {
        switch self {
        case let .unrecognisedLayout(file, detail):
            return "\(file): not a Keras weights file: \(detail)"
        case let .inconsistent(file, object, detail):
            return "\(file): '\(object)': \(detail)"
        case let .unsupported(file, object, detail):
            return "\(file): '\(object)': \(detail)"
        case let .archive(file, detail):
            return "\(file): .keras archive: \(detail)"
        }
    }
}
