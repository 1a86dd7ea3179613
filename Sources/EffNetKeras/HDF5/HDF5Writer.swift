import CHDF5
import EffNet
import Foundation

/// Builds an HDF5 file in memory and hands back its bytes: the writing side of `HDF5File`.
///
/// The file lives in libhdf5's core driver with its backing store off, so nothing touches the
/// disk until the caller writes `image()` wherever (and however atomically) it likes, after
/// reading the bytes back to check them. Objects are named by absolute paths ("/layers/conv2d/vars");
/// `group(_:)` creates the missing groups on the way. What it writes is what h5py writes for the
/// same Python calls: contiguous datasets without filters, little-endian float32 / int64,
/// variable-length UTF-8 scalar strings (`attrs["name"] = "stem_bn"`), fixed-length NUL-padded
/// string arrays (`attrs["layer_names"] = np.asarray([b"stem_conv", ...])`).
public final class HDF5Writer {
    /// The name used in error messages (the destination, for the reader of a message).
    public let name: String
    private let id: hid_t
    private var groups: Set<String> = ["/"]

    /// Names of the in-memory files: the core driver keys open files by name, so each gets its own.
    private static let serial = SerialCounter()

    /// An empty in-memory file.
    /// - Throws: `HDF5Error.libraryUnavailable` when libhdf5 cannot be loaded, `.library` when it
    ///   refuses to create the file.
    public init(name: String) throws {
        self.name = name
        let fapl = try HDF5Library.call("H5Pcreate(file access)", file: name, object: "/") { effnet_H5Pcreate(effnet_h5p_file_access()) }
        defer { HDF5Library.quietly { _ = effnet_H5Pclose(fapl) } }
        // 1 MiB growth steps; backing store off: the image never reaches a file.
        try HDF5Library.call("H5Pset_fapl_core", file: name, object: "/") { effnet_H5Pset_fapl_core(fapl, 1 << 20, false) }
        let memoryName = "effnetkit-memory-\(Self.serial.next()).h5"
        id = try HDF5Library.call("H5Fcreate", file: name, object: "/") {
            effnet_H5Fcreate(memoryName, effnet_h5f_acc_trunc(), hid_t(H5P_DEFAULT), fapl)
        }
    }

    deinit {
        let id = self.id
        HDF5Library.quietly { _ = effnet_H5Fclose(id) }
    }

    private func call<T: BinaryInteger>(_ operation: String, _ object: String, _ body: () -> T) throws -> T {
        try HDF5Library.call(operation, file: name, object: object, body)
    }

    /// HDF5 names and strings end at their first NUL (C strings, NUL-padded fixed-length
    /// strings), so a text holding one would be written cut short: refused instead.
    private func refuseNUL(_ texts: [String], at object: String, what: String) throws {
        guard let bad = texts.first(where: { $0.utf8.contains(0) }) else { return }
        throw HDF5Error.malformed(file: name, object: object, detail: "\(what) \(bad.debugDescription) holds a NUL byte, where HDF5 would cut it short")
    }

    /// Creates the group at `path` and every missing group above it (an existing one is kept).
    /// - Throws: `HDF5Error.malformed` for a path holding a NUL byte, `.library`.
    public func group(_ path: String) throws {
        try refuseNUL([path], at: path, what: "the path")
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            guard !groups.contains(current) else { continue }
            let at = current
            let gid = try call("H5Gcreate2", at) { effnet_H5Gcreate2(id, at, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)) }
            HDF5Library.quietly { _ = effnet_H5Gclose(gid) }
            groups.insert(at)
        }
    }

    /// The parent group of `path`, created when missing.
    private func parent(of path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        try group(String(path[..<slash]))
    }

    /// A float32 dataset of `shape` ([] for a scalar) holding `values` in C order.
    /// - Throws: `HDF5Error.malformed` when the count does not match the shape, `.library`.
    public func dataset(_ path: String, float32 values: [Float], shape: [Int]) throws {
        try values.withUnsafeBytes { bytes in
            try dataset(path, fileType: effnet_h5t_ieee_f32le(), memoryType: effnet_h5t_native_float(), count: values.count, shape: shape, bytes: bytes)
        }
    }

    /// An int64 dataset of `shape` ([] for a scalar).
    /// - Throws: as `dataset(_:float32:shape:)`.
    public func dataset(_ path: String, int64 values: [Int64], shape: [Int]) throws {
        try values.withUnsafeBytes { bytes in
            try dataset(path, fileType: effnet_h5t_std_i64le(), memoryType: effnet_h5t_native_int64(), count: values.count, shape: shape, bytes: bytes)
        }
    }

    private func dataset(_ path: String, fileType: hid_t, memoryType: hid_t, count: Int, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        guard shape.allSatisfy({ $0 >= 0 }), CheckedSize.product(shape) == count else {
            throw HDF5Error.malformed(file: name, object: path, detail: "\(count) values do not fill shape \(shape)")
        }
        try refuseNUL([path], at: path, what: "the path")
        try parent(of: path)
        let space = try HDF5ScopedID(dataspace(shape, at: path), close: effnet_H5Sclose)
        let did = HDF5ScopedID(try call("H5Dcreate2", path) {
            effnet_H5Dcreate2(id, path, fileType, space.id, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        }, close: effnet_H5Dclose)
        guard count > 0 else { return }
        try call("H5Dwrite", path) { effnet_H5Dwrite(did.id, memoryType, effnet_h5s_all(), effnet_h5s_all(), hid_t(H5P_DEFAULT), bytes.baseAddress) }
    }

    private func dataspace(_ shape: [Int], at path: String) throws -> hid_t {
        if shape.isEmpty { return try call("H5Screate(scalar)", path) { effnet_H5Screate(H5S_SCALAR) } }
        let dims = shape.map { hsize_t($0) }
        return try call("H5Screate_simple", path) { effnet_H5Screate_simple(Int32(dims.count), dims, nil) }
    }

    /// A scalar variable-length UTF-8 string attribute on the object at `path` (h5py's
    /// `attrs[name] = "text"`).
    /// - Throws: `HDF5Error.library`.
    public func attribute(_ attribute: String, on path: String, string: String) throws {
        try refuseNUL([string], at: "\(path)@\(attribute)", what: "the value")
        let type = HDF5ScopedID(try call("H5Tcopy", path) { effnet_H5Tcopy(effnet_h5t_c_s1()) }, close: effnet_H5Tclose)
        try call("H5Tset_size", path) { effnet_H5Tset_size(type.id, effnet_h5t_variable()) }
        try call("H5Tset_cset", path) { effnet_H5Tset_cset(type.id, H5T_CSET_UTF8) }
        let space = HDF5ScopedID(try call("H5Screate(scalar)", path) { effnet_H5Screate(H5S_SCALAR) }, close: effnet_H5Sclose)
        try withAttribute(attribute, on: path, type: type.id, space: space.id) { aid in
            try string.withCString { text in
                var pointer: UnsafePointer<CChar>? = text
                try call("H5Awrite", "\(path)@\(attribute)") { effnet_H5Awrite(aid, type.id, &pointer) }
            }
        }
    }

    /// A one-dimensional array of fixed-length, NUL-padded ASCII strings, as wide as the longest
    /// (h5py's `attrs[name] = np.asarray([b"a", b"bc"])`, what Keras writes for `layer_names` and
    /// `weight_names`). An empty list is written as h5py writes `np.asarray([])`: an empty
    /// float64 array.
    /// - Throws: `HDF5Error.library`.
    public func attribute(_ attribute: String, on path: String, strings: [String]) throws {
        let where_ = "\(path)@\(attribute)"
        try refuseNUL(strings, at: where_, what: "the value")
        guard !strings.isEmpty else {
            let space = HDF5ScopedID(try dataspace([0], at: where_), close: effnet_H5Sclose)
            try withAttribute(attribute, on: path, type: effnet_h5t_ieee_f64le(), space: space.id) { _ in }
            return
        }
        let encoded = strings.map { Array($0.utf8) }
        let width = max(1, encoded.map(\.count).max() ?? 1)
        var bytes = [UInt8](repeating: 0, count: width * encoded.count)
        for (i, s) in encoded.enumerated() { bytes.replaceSubrange(i * width ..< i * width + s.count, with: s) }
        let type = HDF5ScopedID(try call("H5Tcopy", where_) { effnet_H5Tcopy(effnet_h5t_c_s1()) }, close: effnet_H5Tclose)
        try call("H5Tset_size", where_) { effnet_H5Tset_size(type.id, width) }
        try call("H5Tset_strpad", where_) { effnet_H5Tset_strpad(type.id, H5T_STR_NULLPAD) }
        let space = HDF5ScopedID(try dataspace([encoded.count], at: where_), close: effnet_H5Sclose)
        try withAttribute(attribute, on: path, type: type.id, space: space.id) { aid in
            try call("H5Awrite", where_) { effnet_H5Awrite(aid, type.id, bytes) }
        }
    }

    private func withAttribute(_ attribute: String, on path: String, type: hid_t, space: hid_t, _ body: (hid_t) throws -> Void) throws {
        try refuseNUL([path, attribute], at: "\(path)@\(attribute)", what: "the name")
        let oid = HDF5ScopedID(try call("H5Oopen", path) { effnet_H5Oopen(id, path, hid_t(H5P_DEFAULT)) }, close: effnet_H5Oclose)
        let aid = HDF5ScopedID(try call("H5Acreate2", "\(path)@\(attribute)") {
            effnet_H5Acreate2(oid.id, attribute, type, space, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        }, close: effnet_H5Aclose)
        try body(aid.id)
    }

    /// The file's bytes as libhdf5 would have written them to disk (it flushes first).
    /// - Throws: `HDF5Error.library`.
    public func image() throws -> [UInt8] {
        // Every cached metadata entry reaches the core driver's memory before it is copied.
        try call("H5Fflush", "/") { effnet_H5Fflush(id, H5F_SCOPE_GLOBAL) }
        let size = try call("H5Fget_file_image(size)", "/") { effnet_H5Fget_file_image(id, nil, 0) }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = try bytes.withUnsafeMutableBytes { buffer in
            try call("H5Fget_file_image", "/") { effnet_H5Fget_file_image(id, buffer.baseAddress, size) }
        }
        guard written == size else {
            throw HDF5Error.malformed(file: name, object: "/", detail: "libhdf5 gave \(written) of the image's \(size) bytes")
        }
        return bytes
    }
}

/// A process-wide counter (the writer's in-memory file names).
private final class SerialCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
