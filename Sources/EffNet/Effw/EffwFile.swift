import Foundation

/// A validated, memory-mapped .effw (or plain safetensors) file: named tensors as views into the
/// map. Everything the header declares is checked before any tensor is handed out: offsets inside
/// the buffer, sizes matching dtype x shape, tensors contiguous without gaps or overlaps, and (for
/// .effw) every tensor's CRC32. See Schemas/effw.md for the byte layout.
public final class EffwFile: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range inside the data buffer.
        public var dataRange: Range<Int>
    }

    public let path: String
    /// Entries in file (offset) order.
    public let entries: [Entry]
    /// `__metadata__`, string to string.
    public let metadata: [String: String]
    /// Byte offset of the data buffer in the file (8 + header length).
    public let dataStart: Int
    private let file: MappedFile
    private let index: [String: Int]

    /// Largest header accepted (safetensors uses the same bound).
    public static let maxHeaderBytes = 100_000_000
    /// Deepest JSON nesting accepted in the header (a valid one needs 3).
    static let maxJSONDepth = 16

    /// Opens and validates `path`.
    /// - Parameter verifyChecksums: check each tensor's CRC32 when the file carries them.
    /// - Throws: `EffwError` naming the file and what is wrong; `FileError` if it cannot be read.
    public init(path: String, verifyChecksums: Bool = true) throws {
        self.path = path
        file = try MappedFile(path: path)
        var r = ByteReader(file.bytes)
        guard file.count >= 8 else { throw EffwError(path, "file is \(file.count) bytes, shorter than the 8-byte header length") }
        let declared = try r.readInteger(as: UInt64.self)
        guard declared <= UInt64(Self.maxHeaderBytes) else { throw EffwError(path, "header length \(declared) exceeds \(Self.maxHeaderBytes) bytes") }
        let headerLength = Int(declared)
        guard headerLength >= 2, headerLength <= file.count - 8 else {
            throw EffwError(path, "header length \(headerLength) does not fit the \(file.count)-byte file")
        }
        let headerBytes = try r.readBytes(headerLength)
        dataStart = 8 + headerLength
        guard headerBytes.first == UInt8(ascii: "{") else { throw EffwError(path, "header does not start with '{'") }
        try Self.checkNesting(headerBytes, path: path)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw EffwError(path, "header is not valid JSON")
        }
        guard let root = json as? [String: Any] else { throw EffwError(path, "header is not a JSON object") }
        let bufferSize = file.count - dataStart

        var meta: [String: String] = [:]
        var parsed: [Entry] = []
        for (name, value) in root {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw EffwError(path, "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw EffwError(path, "__metadata__[\(k)] is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let obj = value as? [String: Any] else { throw EffwError(path, "tensor '\(name)': entry is not an object") }
            guard let ds = obj["dtype"] as? String, let dtype = DType(rawValue: ds) else {
                throw EffwError(path, "tensor '\(name)': unknown dtype \(obj["dtype"].map { "\($0)" } ?? "(none)")")
            }
            guard let shapeAny = obj["shape"] as? [Any], shapeAny.count <= 8 else { throw EffwError(path, "tensor '\(name)': missing or invalid shape") }
            let shape = try shapeAny.map { v -> Int in
                guard let n = Self.exactInt(v), n >= 0 else { throw EffwError(path, "tensor '\(name)': invalid dimension \(v)") }
                return n
            }
            guard let offs = obj["data_offsets"] as? [Any], offs.count == 2,
                  let begin = Self.exactInt(offs[0]), let end = Self.exactInt(offs[1]) else {
                throw EffwError(path, "tensor '\(name)': missing or invalid data_offsets")
            }
            guard begin >= 0, begin <= end, end <= bufferSize else {
                throw EffwError(path, "tensor '\(name)': data_offsets [\(begin), \(end)] outside the \(bufferSize)-byte data buffer")
            }
            guard let count = CheckedSize.product(shape), let bytes = CheckedSize.multiply(count, dtype.size) else {
                throw EffwError(path, "tensor '\(name)': shape \(shape) overflows")
            }
            guard bytes == end - begin else {
                throw EffwError(path, "tensor '\(name)': \(dtype.rawValue) \(shape) needs \(bytes) bytes, data_offsets give \(end - begin)")
            }
            parsed.append(Entry(name: name, dtype: dtype, shape: shape, dataRange: begin ..< end))
        }
        parsed.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound) }
        var cursor = 0
        for e in parsed {
            if e.dataRange.lowerBound < cursor {
                throw EffwError(path, "tensor '\(e.name)': data_offsets [\(e.dataRange.lowerBound), \(e.dataRange.upperBound)] overlap the previous tensor")
            }
            if e.dataRange.lowerBound > cursor {
                throw EffwError(path, "tensor '\(e.name)': gap in the data buffer before offset \(e.dataRange.lowerBound)")
            }
            cursor = e.dataRange.upperBound
        }
        guard cursor == bufferSize else {
            throw EffwError(path, "data buffer is \(bufferSize) bytes but tensors cover \(cursor)")
        }
        entries = parsed
        metadata = meta
        var idx: [String: Int] = [:]
        for (i, e) in parsed.enumerated() { idx[e.name] = i }
        index = idx
        if verifyChecksums { try verifyCRC32() }
    }

    /// True when the file carries .effw metadata (version, config, checksums).
    public var isEffw: Bool { metadata[EffwKeys.version] != nil }

    /// The model configuration stored in the file.
    /// - Throws: `EffwError` when absent or not a valid Config.
    public func config() throws -> EfficientNetConfig {
        guard let s = metadata[EffwKeys.config] else { throw EffwError(path, "no \(EffwKeys.config) in __metadata__: not an .effw model file") }
        do {
            let c = try JSONDecoder().decode(EfficientNetConfig.self, from: Data(s.utf8))
            try c.validate()
            return c
        } catch let e as ConfigError {
            throw EffwError(path, "\(EffwKeys.config): \(e)")
        } catch {
            throw EffwError(path, "\(EffwKeys.config) is not a valid EfficientNet config: \(Self.describe(decodingError: error))")
        }
    }

    public func provenance() -> Provenance? {
        metadata[EffwKeys.provenance].flatMap { try? JSONDecoder().decode(Provenance.self, from: Data($0.utf8)) }
    }

    /// The index in `entries` of tensor `name`, nil when there is none.
    func entryIndex(named name: String) -> Int? { index[name] }

    /// A view of tensor `name` (no copy).
    /// - Throws: `EffwError` when there is no such tensor.
    public func rawTensor(_ name: String) throws -> RawTensor {
        guard let i = index[name] else { throw EffwError(path, "no tensor named '\(name)'") }
        let e = entries[i]
        let storage = try file.storage((dataStart + e.dataRange.lowerBound) ..< (dataStart + e.dataRange.upperBound))
        return try RawTensor(dtype: e.dtype, shape: e.shape, storage: storage)
    }

    /// Tensor `name` widened to float32.
    /// - Throws: `EffwError` when absent or not a floating-point tensor.
    public func tensor(_ name: String) throws -> Tensor {
        let raw = try rawTensor(name)
        guard raw.dtype.isFloatingPoint else { throw EffwError(path, "tensor '\(name)' is \(raw.dtype.rawValue), not floating point") }
        return raw.tensor()
    }

    private func verifyCRC32() throws {
        guard let expected = try expectedCRC32() else { return }
        for i in entries.indices { try checkCRC32(entry: i, expected: expected[i]) }
    }

    /// Each entry's CRC-32 as `effw.crc32` declares it (in `entries` order); nil for a plain
    /// safetensors file without one.
    /// - Throws: `EffwError` when an .effw file has none, or the table is malformed, misses an
    ///   entry or names tensors that are not in the file.
    func expectedCRC32() throws -> [UInt32]? {
        guard let s = metadata[EffwKeys.crc32] else {
            if isEffw { throw EffwError(path, "no \(EffwKeys.crc32) in __metadata__") }
            return nil
        }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any] else {
            throw EffwError(path, "\(EffwKeys.crc32) is not a JSON object")
        }
        let expected = try entries.map { e -> UInt32 in
            guard let hex = obj[e.name] as? String, let value = UInt32(hex, radix: 16) else {
                throw EffwError(path, "tensor '\(e.name)': no CRC32 in \(EffwKeys.crc32)")
            }
            return value
        }
        if obj.count != entries.count {
            let extra = Set(obj.keys).subtracting(entries.map(\.name)).sorted()
            throw EffwError(path, "\(EffwKeys.crc32) names tensors that are not in the file: \(extra.prefix(3).joined(separator: ", "))")
        }
        return expected
    }

    /// Checks entry `i`'s bytes against `expected`.
    /// - Throws: `EffwError` naming the tensor and the damaged byte range.
    func checkCRC32(entry i: Int, expected: UInt32) throws {
        let e = entries[i]
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + e.dataRange.lowerBound) ..< (dataStart + e.dataRange.upperBound)])
        let actual = CRC32.checksum(bytes)
        guard actual == expected else {
            throw EffwError(path, "tensor '\(e.name)': CRC32 \(CRC32.hex(actual)) does not match the stored \(CRC32.hex(expected)) (bytes \(dataStart + e.dataRange.lowerBound)..<\(dataStart + e.dataRange.upperBound) are damaged)")
        }
    }

    /// Entry `i`'s values in place in the map, when it is float32 stored at a 4-byte aligned
    /// offset on a little-endian host; nil otherwise (the caller widens or copies instead).
    func floats(_ i: Int) -> UnsafeBufferPointer<Float>? {
        let e = entries[i]
        guard e.dtype == .f32, 1.littleEndian == 1 else { return nil }
        let start = dataStart + e.dataRange.lowerBound
        guard let base = file.bytes.baseAddress, (Int(bitPattern: base) + start) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return UnsafeBufferPointer(start: (base + start).assumingMemoryBound(to: Float.self), count: e.dataRange.count / 4)
    }

    /// An integer JSON number (not a boolean, not a fraction), or nil.
    static func exactInt(_ v: Any) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        // objCType tells integers ("i", "q", "l", ...) from booleans ("c") and reals ("d", "f").
        let kind = String(cString: n.objCType)
        guard ["i", "q", "l", "s", "I", "Q", "L", "S"].contains(kind) else { return nil }
        return n.intValue
    }

    /// Refuses JSON nested deeper than `maxJSONDepth` before the parser recurses into it.
    static func checkNesting(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        var depth = 0, inString = false, escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maxJSONDepth { throw EffwError(path, "header JSON nests deeper than \(maxJSONDepth) levels") }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
    }

    static func describe(decodingError error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, ctx):
            return "missing '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx), let DecodingError.dataCorrupted(ctx):
            return "bad value at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'"
        default:
            return "\(error)"
        }
    }
}

/// Metadata keys of .effw (see Schemas/effw.md).
public enum EffwKeys {
    public static let version = "effw.version"
    public static let config = "effw.config"
    public static let crc32 = "effw.crc32"
    public static let provenance = "effw.provenance"
    /// The current format version.
    public static let currentVersion = "1"
}

/// A problem with an .effw file: names the file and the place.
public struct EffwError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}
