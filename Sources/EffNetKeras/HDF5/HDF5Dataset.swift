import CHDF5
import EffNet

/// An open HDF5 dataset. Shape and element type are read when it opens; `read()` copies the
/// values out through libhdf5, which undoes chunking, compression and byte order.
public final class HDF5Dataset: HDF5Object, @unchecked Sendable {
    /// The stored element type, as far as this reader distinguishes them.
    public enum ElementType: Equatable, Sendable, CustomStringConvertible {
        /// IEEE float of `bytes` bytes (2, 4, 8, or other custom sizes).
        case float(bytes: Int)
        case integer(bytes: Int, signed: Bool)
        case string
        /// Anything else, described (compound, opaque, enum, ...).
        case other(String)

        public var description: String {
            switch self {
            case let .float(b): return "float\(b * 8)"
            case let .integer(b, s): return "\(s ? "int" : "uint")\(b * 8)"
            case .string: return "string"
            case let .other(s): return s
            }
        }
    }

    public let file: HDF5File
    public let path: String
    /// [] for a scalar.
    public let shape: [Int]
    public let elementType: ElementType
    let id: hid_t
    public var objectID: hid_t { id }

    init(file: HDF5File, parentID: hid_t, name: String, path: String) throws {
        self.file = file
        self.path = path
        let did = try HDF5Library.call("H5Dopen2", file: file.name, object: path) { effnet_H5Dopen2(parentID, name, hid_t(H5P_DEFAULT)) }
        // deinit does not run for a half-initialised object: close `did` here if a check throws.
        var opened = false
        defer { if !opened { HDF5Library.quietly { _ = effnet_H5Dclose(did) } } }
        // Raw data kept in other files (external storage, virtual datasets) would make libhdf5
        // open whatever path the file names: refuse before any read.
        let dcpl = HDF5ScopedID(try HDF5Library.call("H5Dget_create_plist", file: file.name, object: path) { effnet_H5Dget_create_plist(did) }, close: effnet_H5Pclose)
        if effnet_H5Pget_external_count(dcpl.id) > 0 {
            throw HDF5Error.unsupportedType(file: file.name, object: path, detail: "raw data stored in external files is refused (it would read other files)")
        }
        if effnet_H5Pget_layout(dcpl.id) == H5D_VIRTUAL {
            throw HDF5Error.unsupportedType(file: file.name, object: path, detail: "virtual datasets are refused (they read other files)")
        }
        let space = HDF5ScopedID(try HDF5Library.call("H5Dget_space", file: file.name, object: path) { effnet_H5Dget_space(did) }, close: effnet_H5Sclose)
        let type = HDF5ScopedID(try HDF5Library.call("H5Dget_type", file: file.name, object: path) { effnet_H5Dget_type(did) }, close: effnet_H5Tclose)
        let size = effnet_H5Tget_size(type.id)
        switch effnet_H5Tget_class(type.id) {
        case H5T_FLOAT: elementType = .float(bytes: size)
        case H5T_INTEGER: elementType = .integer(bytes: size, signed: effnet_H5Tget_sign(type.id) != H5T_SGN_NONE)
        case H5T_STRING: elementType = .string
        case let c: elementType = .other("datatype class \(c.rawValue), \(size) bytes")
        }
        guard let extent = try ExtentProbe(file: file, path: path).extent(of: space.id, object: path) else {
            throw HDF5Error.unsupportedType(file: file.name, object: path, detail: "null dataspace (a dataset without elements)")
        }
        shape = extent
        id = did
        opened = true
    }

    deinit {
        let id = self.id
        HDF5Library.quietly { _ = effnet_H5Dclose(id) }
    }

    /// Number of elements (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// Reads the whole dataset into memory this call allocates: floats of 8 bytes as F64, other
    /// floats (including half precision) as F32, integers as I64, all in native byte order.
    /// - Throws: `HDF5Error.unsupportedType` for strings and other types, `.tooLarge` when the
    ///   declared size exceeds the file's limit (`HDF5File.datasetByteLimit`), `.library` when
    ///   libhdf5 cannot read it (a corrupt chunk, a missing filter).
    public func read() throws -> RawTensor {
        let (dtype, memType): (DType, hid_t)
        switch elementType {
        case let .float(bytes): (dtype, memType) = bytes == 8 ? (.f64, effnet_h5t_native_double()) : (.f32, effnet_h5t_native_float())
        case .integer: (dtype, memType) = (.i64, effnet_h5t_native_int64())
        default: throw HDF5Error.unsupportedType(file: file.name, object: path, detail: "\(elementType) dataset (only numbers are read)")
        }
        let limit = file.datasetByteLimit
        guard let count = CheckedSize.product(shape), let bytes = CheckedSize.multiply(count, dtype.size) else {
            throw HDF5Error.malformed(file: file.name, object: path, detail: "element count of shape \(shape) overflows")
        }
        guard bytes <= limit else {
            throw HDF5Error.tooLarge(file: file.name, object: path, what: "\(dtype.rawValue) dataset of shape \(shape) in bytes", size: bytes, limit: limit)
        }
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        do {
            if bytes > 0 {
                try call("H5Dread") { effnet_H5Dread(id, memType, effnet_h5s_all(), effnet_h5s_all(), hid_t(H5P_DEFAULT), memory.baseAddress) }
            }
        } catch {
            memory.deallocate()
            throw error
        }
        return try RawTensor(dtype: dtype, shape: shape, storage: ByteStorage(adopting: memory, count: bytes))
    }
}

/// A stand-in HDF5Object for reading a dataspace before the dataset is fully initialised.
private final class ExtentProbe: HDF5Object {
    let file: HDF5File
    let path: String
    var objectID: hid_t { -1 }
    init(file: HDF5File, path: String) { self.file = file; self.path = path }
}
