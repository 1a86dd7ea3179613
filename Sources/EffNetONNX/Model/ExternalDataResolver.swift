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
    ///
    /// `entries` are the raw bytes of each StringStringEntryProto (declared `bytes` in
    /// Schemas/onnx.proto so that protobuf-c cannot cut them at a NUL). Every key and value must
    /// be UTF-8 without NUL or other control characters, and no key may appear twice: a reader
    /// that stops at the NUL ("weights.bin\0../../x" -> weights.bin) or keeps the first of two
    /// locations would read a different file than another reader of the same model.
    /// - Throws: `ONNXError.externalData` naming the tensor, the location (or the key) and what
    ///   is wrong.
    func view(tensor: String, entries: [(key: [UInt8], value: [UInt8])], expectedBytes: Int) throws -> (storage: ByteStorage, path: String, offset: Int) {
        func fail(_ location: String, _ detail: String) -> ONNXError {
            .externalData(path: modelPath, tensor: tensor, location: location, detail: detail)
        }
        // The location's own bytes (escaped) name it in every message about the entries.
        let shownLocation = entries.last(where: { $0.key == Array("location".utf8) }).map { Self.printable($0.value) } ?? "?"
        var text: [(key: String, value: String)] = []
        for (index, entry) in entries.enumerated() {
            guard let key = Self.text(entry.key) else {
                throw fail(shownLocation, "external_data entry #\(index): key '\(Self.printable(entry.key))' \(Self.problem(entry.key)); refused")
            }
            guard let value = Self.text(entry.value) else {
                let shown = key == "location" ? "" : " = '\(Self.printable(entry.value))'"
                throw fail(shownLocation, "external_data entry '\(key)'\(shown): the value \(Self.problem(entry.value)); refused")
            }
            guard !text.contains(where: { $0.key == key }) else {
                throw fail(shownLocation, "external_data entry '\(key)' appears twice; refused")
            }
            text.append((key, value))
        }
        var location: String?, offset = 0, length: Int?
        for (key, value) in text {
            switch key {
            case "location": location = value
            case "offset", "length":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int(value) else {
                    throw fail(location ?? shownLocation, "\(key) '\(value)' is not a non-negative integer")
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

    /// `bytes` as a String when they are valid UTF-8 free of NUL and other control characters
    /// (U+0000-U+001F, U+007F); nil otherwise.
    static func text(_ bytes: [UInt8]) -> String? {
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Why `text(bytes)` is nil, with the byte offset.
    static func problem(_ bytes: [UInt8]) -> String {
        if let i = bytes.firstIndex(of: 0) { return "holds a NUL byte at offset \(i)" }
        if let i = bytes.firstIndex(where: { $0 < 0x20 || $0 == 0x7f }) {
            return "holds control character 0x\(String(bytes[i], radix: 16)) at offset \(i)"
        }
        return "is not valid UTF-8"
    }

    /// `bytes` for one line of an error message: printable ASCII as is, a backslash doubled,
    /// NUL as \0 and any other byte outside 0x20-0x7e as \xNN (so invalid UTF-8 and line breaks
    /// stay visible and the message stays on one line); cut after 200 bytes.
    static func printable(_ bytes: [UInt8]) -> String {
        var out = ""
        for b in bytes.prefix(200) {
            switch b {
            case 0: out += "\\0"
            case 0x5c: out += "\\\\"
            case 0x20 ... 0x7e: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return bytes.count > 200 ? out + "... (\(bytes.count) bytes)" : out
    }

    /// The real path of `location` inside the model's folder.
    private func resolve(_ location: String, tensor: String) throws -> String {
        func fail(_ detail: String) -> ONNXError {
            .externalData(path: modelPath, tensor: tensor, location: location, detail: detail)
        }
        // A NUL ends the C string the file system sees: "a.bin\0../../x" would open a.bin while
        // naming something else. view(...) already refused them in the entry's bytes; kept here
        // so that no other caller can pass one through.
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
