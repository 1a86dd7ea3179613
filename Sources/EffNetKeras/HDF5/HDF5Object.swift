import CHDF5

/// What a link inside a group points at.
public enum HDF5ObjectKind: String, Sendable {
    case group, dataset, namedDatatype = "named datatype", other
}

/// A group or dataset: something with a path that carries attributes.
public protocol HDF5Object: AnyObject {
    var file: HDF5File { get }
    /// Absolute path inside the file ("/model_weights/stem_conv").
    var path: String { get }
    /// The open libhdf5 identifier (valid for the object's lifetime).
    var objectID: hid_t { get }
}

extension HDF5Object {
    /// Runs a libhdf5 call through the checkpoint, naming this object in any error.
    /// - Throws: `HDF5Error.library`.
    @discardableResult
    func call<T: BinaryInteger>(_ operation: String, at object: String? = nil, _ body: () -> T) throws -> T {
        try HDF5Library.call(operation, file: file.name, object: object ?? path, body)
    }

    func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }
}

/// An identifier for a dataspace, datatype, attribute or property list, closed on deinit.
final class HDF5ScopedID {
    let id: hid_t
    private let close: (hid_t) -> herr_t

    init(_ id: hid_t, close: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.close = close
    }

    deinit {
        let id = self.id, close = self.close
        HDF5Library.quietly { _ = close(id) }
    }
}

/// Limits on what one attribute may declare before the reader allocates for it.
enum HDF5Limits {
    /// Elements in one attribute (Keras' longest lists hold one entry per layer or weight).
    static let attributeElements = 1 << 22
    /// Bytes in one attribute's storage (Keras splits anything over 64 KB, but model_config of a
    /// large model can reach a few MB).
    static let attributeBytes = 1 << 28
    /// Links listed in one group, attributes listed on one object.
    static let links = 1 << 20
    /// Dimensions of a dataspace.
    static let rank = 32
}

extension HDF5Object {
    /// The extent of a dataspace: [] for a scalar, nil for a null dataspace.
    /// - Throws: `HDF5Error` when libhdf5 fails or the extent is unusable.
    func extent(of space: hid_t, object: String) throws -> [Int]? {
        let type = effnet_H5Sget_simple_extent_type(space)
        switch type {
        case H5S_SCALAR: return []
        case H5S_NULL: return nil
        case H5S_SIMPLE: break
        default: throw HDF5Error.unsupportedType(file: file.name, object: object, detail: "dataspace class \(type.rawValue)")
        }
        let rank = Int(try call("H5Sget_simple_extent_ndims", at: object) { effnet_H5Sget_simple_extent_ndims(space) })
        guard rank <= HDF5Limits.rank else {
            throw HDF5Error.tooLarge(file: file.name, object: object, what: "rank", size: rank, limit: HDF5Limits.rank)
        }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        try call("H5Sget_simple_extent_dims", at: object) { effnet_H5Sget_simple_extent_dims(space, &dims, nil) }
        return try dims.prefix(rank).map { d in
            guard d <= hsize_t(Int.max) else {
                throw HDF5Error.malformed(file: file.name, object: object, detail: "dimension \(d) does not fit in Int")
            }
            return Int(d)
        }
    }
}
