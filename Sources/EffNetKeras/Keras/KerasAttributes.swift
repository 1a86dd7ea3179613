/// Keras' string-list attributes. Keras writes a list as one attribute, or, when it would pass
/// HDF5's 64 KB object-header limit, split into `<name>0`, `<name>1`, ... in order.
public enum KerasAttributes {
    /// Parts a split list may have; Keras needs about one per 64 KB of names.
    public static let maxParts = 4096

    /// The list stored under `name` (whole or split), or nil when neither form is present.
    /// - Throws: `HDF5Error` from reading; `KerasFormatError.inconsistent` when a part is not
    ///   a list of strings.
    public static func stringList(_ name: String, on object: HDF5Object) throws -> [String]? {
        if try object.hasAttribute(name) { return try strings(name, on: object) }
        guard try object.hasAttribute("\(name)0") else { return nil }
        var all: [String] = []
        var part = 0
        while part < maxParts, try object.hasAttribute("\(name)\(part)") {
            all += try strings("\(name)\(part)", on: object)
            part += 1
        }
        return all
    }

    /// A single string attribute, or nil when absent or not a string.
    /// - Throws: `HDF5Error` from reading.
    public static func string(_ name: String, on object: HDF5Object) throws -> String? {
        guard try object.hasAttribute(name) else { return nil }
        return try object.attribute(name).string
    }

    private static func strings(_ name: String, on object: HDF5Object) throws -> [String] {
        let value = try object.attribute(name)
        // An empty list is stored by h5py as an empty float array.
        if case let .floats(values, _) = value, values.isEmpty { return [] }
        guard let list = value.stringList else {
            throw KerasFormatError.inconsistent(file: object.file.name, object: "\(object.path)@\(name)",
                                                detail: "expected a list of strings, found \(value)")
        }
        return list
    }
}
