import CHDF5

/// An open HDF5 group. Child names may be relative paths ("block1a_bn/gamma:0"); only hard
/// links are followed, so a file cannot point the reader at another file (external links) or
/// around in circles (soft links).
public final class HDF5Group: HDF5Object, @unchecked Sendable {
    public let file: HDF5File
    public let path: String
    let id: hid_t
    public var objectID: hid_t { id }

    /// Opens `name` relative to `parentID`.
    init(file: HDF5File, parentID: hid_t, name: String, path: String) throws {
        self.file = file
        self.path = path
        id = try HDF5Library.call("H5Gopen2", file: file.name, object: path) { effnet_H5Gopen2(parentID, name, hid_t(H5P_DEFAULT)) }
    }

    deinit {
        let id = self.id
        HDF5Library.quietly { _ = effnet_H5Gclose(id) }
    }

    /// Names of the links in this group, in name order.
    /// - Throws: `HDF5Error.library`, or `.tooLarge` past `HDF5Limits.links` links.
    public func childNames() throws -> [String] {
        var info = H5G_info_t()
        try call("H5Gget_info") { effnet_H5Gget_info(id, &info) }
        guard info.nlinks <= hsize_t(HDF5Limits.links) else {
            throw HDF5Error.tooLarge(file: file.name, object: path, what: "link count", size: Int(clamping: info.nlinks), limit: HDF5Limits.links)
        }
        return try (0 ..< Int(info.nlinks)).map { i in
            let n = try call("H5Lget_name_by_idx") {
                effnet_H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), nil, 0, hid_t(H5P_DEFAULT))
            }
            guard n < HDF5Limits.attributeBytes else {
                throw HDF5Error.tooLarge(file: file.name, object: path, what: "link name length", size: n, limit: HDF5Limits.attributeBytes)
            }
            var buffer = [CChar](repeating: 0, count: n + 1)
            try call("H5Lget_name_by_idx") {
                effnet_H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), &buffer, n + 1, hid_t(H5P_DEFAULT))
            }
            return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// What `name` (a relative path) points at, or nil when nothing is there.
    /// - Throws: `HDF5Error.malformed` for an empty path component, `.unsupportedType` for a
    ///   soft or external link on the way, `.library` when libhdf5 fails.
    public func kind(of name: String) throws -> HDF5ObjectKind? {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty && $0 != "." }) else {
            throw HDF5Error.malformed(file: file.name, object: childPath(name), detail: "invalid object name '\(name)'")
        }
        // Check every step, so a missing or non-hard intermediate link is reported, not followed.
        var prefix = ""
        for component in components {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            let step = prefix
            guard try call("H5Lexists", at: childPath(step), { effnet_H5Lexists(id, step, hid_t(H5P_DEFAULT)) }) > 0 else { return nil }
            guard try call("H5Lget_info", at: childPath(step), { effnet_h5l_is_hard(id, step) }) > 0 else {
                throw HDF5Error.unsupportedType(file: file.name, object: childPath(step), detail: "soft or external link")
            }
        }
        let object = HDF5ScopedID(try call("H5Oopen", at: childPath(name)) { effnet_H5Oopen(id, name, hid_t(H5P_DEFAULT)) }, close: effnet_H5Oclose)
        switch effnet_H5Iget_type(object.id) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        case H5I_DATATYPE: return .namedDatatype
        default: return .other
        }
    }

    /// Opens the child group at the relative path `name`.
    /// - Throws: `HDF5Error.notFound`, `.wrongKind`, `.library`.
    public func group(_ name: String) throws -> HDF5Group {
        try expect(name, .group)
        return try HDF5Group(file: file, parentID: id, name: name, path: childPath(name))
    }

    /// Opens the child dataset at the relative path `name`.
    /// - Throws: `HDF5Error.notFound`, `.wrongKind`, `.library`.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        try expect(name, .dataset)
        return try HDF5Dataset(file: file, parentID: id, name: name, path: childPath(name))
    }

    private func expect(_ name: String, _ wanted: HDF5ObjectKind) throws {
        guard let kind = try kind(of: name) else { throw HDF5Error.notFound(file: file.name, object: childPath(name)) }
        guard kind == wanted else {
            throw HDF5Error.wrongKind(file: file.name, object: childPath(name), expected: wanted.rawValue, actual: kind.rawValue)
        }
    }
}
