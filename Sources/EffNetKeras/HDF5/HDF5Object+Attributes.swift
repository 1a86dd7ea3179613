import CHDF5
import EffNet
import Foundation

/// The value of one attribute, decoded.
public enum HDF5AttributeValue: Equatable, Sendable {
    /// Fixed- or variable-length strings (ASCII or UTF-8). A scalar string is a one-element
    /// array with `scalar` true.
    case strings([String], scalar: Bool)
    case integers([Int64], shape: [Int])
    case floats([Double], shape: [Int])
    /// A type the reader does not decode (compound, opaque, reference, ...), described.
    case other(String)

    /// The value as one string: a scalar string, or a one-element string array.
    public var string: String? {
        if case let .strings(s, _) = self, s.count == 1 { return s[0] }
        return nil
    }

    /// The value as a list of strings (a scalar string is a list of one).
    public var stringList: [String]? {
        if case let .strings(s, _) = self { return s }
        return nil
    }
}

extension HDF5Object {
    /// True when the object carries an attribute of that name.
    /// - Throws: `HDF5Error.library`.
    public func hasAttribute(_ name: String) throws -> Bool {
        try call("H5Aexists(\(name))") { effnet_H5Aexists(objectID, name) } > 0
    }

    /// Names of the object's attributes, in name order.
    /// - Throws: `HDF5Error.library`, or `.tooLarge` past `HDF5Limits.links` attributes.
    public func attributeNames() throws -> [String] {
        let collector = AttributeNameCollector()
        let visit: H5A_operator2_t = { _, name, _, context in
            guard let name, let context else { return -1 }
            let c = Unmanaged<AttributeNameCollector>.fromOpaque(context).takeUnretainedValue()
            guard c.names.count < HDF5Limits.links else { c.overflow = true; return 1 }
            c.names.append(String(cString: name))
            return 0
        }
        var index: hsize_t = 0
        let context = Unmanaged.passUnretained(collector).toOpaque()
        try call("H5Aiterate2") { effnet_H5Aiterate2(objectID, H5_INDEX_NAME, H5_ITER_INC, &index, visit, context) }
        if collector.overflow {
            throw HDF5Error.tooLarge(file: file.name, object: path, what: "attribute count", size: collector.names.count, limit: HDF5Limits.links)
        }
        return collector.names
    }

    /// Reads and decodes one attribute.
    /// - Throws: `HDF5Error.notFound` when absent, `.tooLarge` when it declares more than
    ///   `HDF5Limits` allow, `.library` when libhdf5 fails, `.malformed` for unusable contents.
    public func attribute(_ name: String) throws -> HDF5AttributeValue {
        let where_ = "\(path)@\(name)"
        guard try hasAttribute(name) else { throw HDF5Error.notFound(file: file.name, object: where_) }
        let attr = HDF5ScopedID(try call("H5Aopen", at: where_) { effnet_H5Aopen(objectID, name, hid_t(H5P_DEFAULT)) }, close: effnet_H5Aclose)
        let type = HDF5ScopedID(try call("H5Aget_type", at: where_) { effnet_H5Aget_type(attr.id) }, close: effnet_H5Tclose)
        let space = HDF5ScopedID(try call("H5Aget_space", at: where_) { effnet_H5Aget_space(attr.id) }, close: effnet_H5Sclose)
        guard let shape = try extent(of: space.id, object: where_) else { return .strings([], scalar: false) }
        guard let count = CheckedSize.product(shape), count <= HDF5Limits.attributeElements else {
            throw HDF5Error.tooLarge(file: file.name, object: where_, what: "element count", size: shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }, limit: HDF5Limits.attributeElements)
        }
        let storage = Int(effnet_H5Aget_storage_size(attr.id))
        guard storage <= HDF5Limits.attributeBytes else {
            throw HDF5Error.tooLarge(file: file.name, object: where_, what: "storage size", size: storage, limit: HDF5Limits.attributeBytes)
        }
        let typeClass = effnet_H5Tget_class(type.id)
        switch typeClass {
        case H5T_STRING:
            return .strings(try readStrings(attr: attr.id, fileType: type.id, count: count, at: where_), scalar: shape.isEmpty)
        case H5T_INTEGER:
            var values = [Int64](repeating: 0, count: count)
            if count > 0 { try call("H5Aread", at: where_) { effnet_H5Aread(attr.id, effnet_h5t_native_int64(), &values) } }
            return .integers(values, shape: shape)
        case H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            if count > 0 { try call("H5Aread", at: where_) { effnet_H5Aread(attr.id, effnet_h5t_native_double(), &values) } }
            return .floats(values, shape: shape)
        default:
            return .other("datatype class \(typeClass.rawValue)")
        }
    }

    /// Fixed-length strings are read in the file's own type (no conversion) and cut at the first
    /// NUL, trailing spaces removed for space-padded types; variable-length ones are read as C
    /// strings in the file's character set and freed with `H5free_memory`.
    private func readStrings(attr: hid_t, fileType: hid_t, count: Int, at where_: String) throws -> [String] {
        guard count > 0 else { return [] }
        let variable = try call("H5Tis_variable_str", at: where_) { effnet_H5Tis_variable_str(fileType) } > 0
        if variable {
            let cset = effnet_H5Tget_cset(fileType)
            let memType = HDF5ScopedID(try call("H5Tcopy", at: where_) { effnet_H5Tcopy(effnet_h5t_c_s1()) }, close: effnet_H5Tclose)
            try call("H5Tset_size", at: where_) { effnet_H5Tset_size(memType.id, effnet_h5t_variable()) }
            if cset != H5T_CSET_ERROR { try call("H5Tset_cset", at: where_) { effnet_H5Tset_cset(memType.id, cset) } }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try call("H5Aread", at: where_) { effnet_H5Aread(attr, memType.id, &pointers) }
            defer { HDF5Library.quietly { for p in pointers where p != nil { _ = effnet_H5free_memory(p) } } }
            return pointers.map { p in p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? "" }
        }
        let size = effnet_H5Tget_size(fileType)
        guard size > 0, size <= HDF5Limits.attributeBytes, let total = CheckedSize.multiply(count, size),
              total <= HDF5Limits.attributeBytes else {
            throw HDF5Error.tooLarge(file: file.name, object: where_, what: "string storage", size: size, limit: HDF5Limits.attributeBytes)
        }
        let spacePadded = effnet_H5Tget_strpad(fileType) == H5T_STR_SPACEPAD
        var bytes = [UInt8](repeating: 0, count: total)
        try call("H5Aread", at: where_) { effnet_H5Aread(attr, fileType, &bytes) }
        return (0 ..< count).map { i in
            var element = bytes[i * size ..< (i + 1) * size]
            if let nul = element.firstIndex(of: 0) { element = element[..<nul] }
            if spacePadded { while element.last == 0x20 { element = element.dropLast() } }
            return String(decoding: element, as: UTF8.self)
        }
    }
}

/// Context for the H5Aiterate2 callback.
private final class AttributeNameCollector {
    var names: [String] = []
    var overflow = false
}
