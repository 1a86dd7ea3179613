import EffNet
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves TensorProto external-data references against the model's folder and hands out views
/// into the mapped external files (each file mapped once, offsets may exceed 2 GiB).
///
/// A location is refused when it is empty, absolute, has a `..` component, or resolves (after
/// following every symbolic link with realpath) to anything outside the model's folder.
final class ExternalDataResolver {
    let modelPath: String
    let directory: String
    private var resolvedDirectory: String?
    private var files: [String: MappedFile] = [:]

    init(modelPath: String, directory: String) {
        self.modelPath = modelPath
        self.directory = directory
    }

    /// The bytes of one tensor: `expectedBytes` from `offset` (default 0) of `location`; a stated
    /// `length` must equal `expectedBytes`.
    /// - Throws: `ONNXError.externalData` naming the tensor, the location and what is wrong.
    func view(tensor: String, entries: [(key: String, value: String)], expectedBytes: Int) throws -> (storage: ByteStorage, path: String, offset: Int) {
        func fail(_ location: String, _ detail: String) -> ONNXError {
            .externalData(path: modelPath, tensor: tensor, location: location, detail: detail)
        }
        var location: String?, offset = 0, length: Int?
        for (key, value) in entries {
            switch key {
            case "location": location = value
            case "offset", "length":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int(value) else {
                    throw fail(location ?? "?", "\(key) '\(value)' is not a non-negative integer")
                }
                if key == "offset" { offset = v } else { length = v }
            default: continue  // checksum and unknown keys are informational
            }
        }
        guard let location, !location.isEmpty else { throw fail("", "no location") }
        let path = try resolve(location, tensor: tensor)
        if let length, length != expectedBytes {
            throw fail(location, "length \(length) does not match the tensor's \(expectedBytes) bytes (type x shape)")
        }
        let file: MappedFile
        if let cached = files[path] {
            file = cached
        } else {
            do { file = try MappedFile(path: path) } catch { throw fail(location, "\(error)") }
            files[path] = file
        }
        guard let end = CheckedSize.add(offset, expectedBytes), end <= file.count else {
            throw fail(location, "bytes \(offset)..<\(offset &+ expectedBytes) lie outside the \(file.count)-byte file")
        }
        return (try file.storage(offset ..< end), path, offset)
    }

    /// The real path of `location` inside the model's folder.
    private func resolve(_ location: String, tensor: String) throws -> String {
        func fail(_ detail: String) -> ONNXError {
            .externalData(path: modelPath, tensor: tensor, location: location, detail: detail)
        }
        // A NUL ends the C string the file system sees: "a.bin\0../../x" would open a.bin while
        // naming something else. Refuse control characters outright.
        guard !location.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw fail("a location with NUL or control characters is refused")
        }
        guard !location.hasPrefix("/") && !location.hasPrefix("\\") else { throw fail("absolute paths are refused") }
        let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !components.contains("..") else { throw fail("a location leaving the model's folder ('..') is refused") }
        let base = try folder()
        guard let real = Self.realpath(base + "/" + location) else {
            throw fail("cannot be resolved (\(String(cString: strerror(errno))))")
        }
        guard real.hasPrefix(base == "/" ? "/" : base + "/"), real != base else {
            throw fail("resolves to \(real), outside the model's folder \(base) (symbolic link?); refused")
        }
        return real
    }

    private func folder() throws -> String {
        if let resolvedDirectory { return resolvedDirectory }
        guard let real = Self.realpath(directory) else {
            throw ONNXError.externalData(path: modelPath, tensor: "", location: directory,
                                         detail: "the model's folder cannot be resolved")
        }
        resolvedDirectory = real
        return real
    }

    static func realpath(_ path: String) -> String? {
        #if canImport(Glibc)
        guard let p = Glibc.realpath(path, nil) else { return nil }
        #else
        guard let p = Darwin.realpath(path, nil) else { return nil }
        #endif
        defer { free(p) }
        return String(cString: p)
    }
}
