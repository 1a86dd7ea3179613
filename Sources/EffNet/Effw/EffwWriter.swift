import Foundation

/// Writes .effw files: safetensors layout (8-byte little-endian header length, JSON header, data
/// buffer), the header padded with spaces so the data buffer starts 64-byte aligned, tensors
/// contiguous in the given order, and `__metadata__` carrying version, config, CRC32s and
/// provenance. Writes are atomic (see `AtomicFileWriter`).
public enum EffwWriter {
    /// One tensor to write: its name, stored dtype, shape and the bytes in that dtype.
    public struct Item {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]
        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }
    }

    /// One tensor to write without holding every tensor's bytes at once: `withBytes` hands its
    /// bytes (in `dtype`, little-endian, contiguous) to the closure it is given, once.
    public struct Entry {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// The CRC-32 of the bytes when already known and checked (a zip entry's, verified on
        /// read): the writer stores it without reading the bytes a second time.
        public var crc32: UInt32?
        public var withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
        public init(name: String, dtype: DType, shape: [Int], crc32: UInt32? = nil,
                    withBytes: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.crc32 = crc32; self.withBytes = withBytes
        }
    }

    public static let alignment = 64

    /// Serialises `items` and `metadata` to `path`. CRC32s are computed here and added under
    /// `effw.crc32`.
    /// - Throws: `FileError` (exists, cannot write), `EffwError` for invalid items.
    public static func write(items: [Item], metadata: [String: String], to path: String, overwrite: Bool = false) throws {
        try write(entries: items.map { it in
            Entry(name: it.name, dtype: it.dtype, shape: it.shape) { body in try it.bytes.withUnsafeBytes(body) }
        }, metadata: metadata, to: path, overwrite: overwrite)
    }

    /// Streams `entries` to `path` in one pass: the header goes first with placeholder CRC-32s
    /// (each is eight hex digits, so the real ones take exactly the same bytes), each tensor's
    /// bytes are written and checksummed (unless its CRC is given), and the header is written
    /// again over the placeholder before the commit. One pass matters for entries that compute
    /// their bytes (a layout change): a B7 TF checkpoint's transposes ran twice with a separate
    /// checksum pass. Peak memory is one tensor's bytes at most (none when the entries point
    /// into existing memory).
    /// - Parameter checks: checks running on other threads while the bytes are written (e.g. the
    ///   source's deferred CRC-32s and the NaN scan): the file is committed only if all pass; the
    ///   first failing one's error (in the given order) is thrown and nothing is left behind.
    ///   Writing is mostly I/O, so checks cost little wall time.
    /// - Throws: `FileError` (exists, cannot write), `EffwError` for invalid entries, or a
    ///   check's error.
    public static func write(entries: [Entry], metadata: [String: String], to path: String, overwrite: Bool = false,
                             alongside checks: [ConcurrentCheck] = []) throws {
        try write(entries: entries, metadata: metadata, effwKeys: true, to: path, overwrite: overwrite, alongside: checks, beforeCommit: nil)
    }

    /// A plain safetensors file, as frameworks write them: `metadata` exactly as given (e.g.
    /// `["format": "pt"]`, which transformers and timm expect), no .effw keys, no CRC-32s.
    /// - Parameter beforeCommit: see `AtomicFileWriter.write(_:beforeCommit:)`.
    public static func writeSafetensors(entries: [Entry], metadata: [String: String], to path: String, overwrite: Bool = false,
                                        beforeCommit: ((String) throws -> Void)? = nil) throws {
        try write(entries: entries, metadata: metadata, effwKeys: false, to: path, overwrite: overwrite, alongside: [],
                  beforeCommit: beforeCommit)
    }

    private static func write(entries: [Entry], metadata: [String: String], effwKeys: Bool, to path: String, overwrite: Bool,
                              alongside checks: [ConcurrentCheck], beforeCommit: ((String) throws -> Void)?) throws {
        var names = Set<String>()
        var sizes: [Int] = []
        for e in entries {
            guard !e.name.isEmpty, e.name != "__metadata__", names.insert(e.name).inserted else {
                throw EffwError(path, "invalid or duplicate tensor name '\(e.name)'")
            }
            guard let n = CheckedSize.product(e.shape), let bytes = CheckedSize.multiply(n, e.dtype.size) else {
                throw EffwError(path, "tensor '\(e.name)': shape \(e.shape) overflows")
            }
            sizes.append(bytes)
        }
        let layout = zip(entries, sizes).map { ($0.name, $0.dtype, $0.shape, $1) }
        func header(_ checksums: [UInt32]) -> [UInt8] {
            var crcs: [String: String] = [:]
            for (e, c) in zip(entries, checksums) { crcs[e.name] = CRC32.hex(c) }
            var meta = metadata
            if effwKeys {
                meta[EffwKeys.version] = meta[EffwKeys.version] ?? EffwKeys.currentVersion
                meta[EffwKeys.crc32] = jsonObject(crcs)
            }
            return headerBytes(entries: layout, metadata: meta)
        }
        var checksums = entries.map { $0.crc32 ?? 0 }
        let placeholder = header(checksums)
        try AtomicFileWriter(destination: path, overwrite: overwrite).write({ sink in
            do {
                var len = UInt64(placeholder.count).littleEndian
                try withUnsafeBytes(of: &len) { try sink.write($0) }
                try sink.write(placeholder)
                for (i, e) in entries.enumerated() where !checks.contains(where: \.hasFailed) {
                    try e.withBytes { buffer in
                        guard buffer.count == sizes[i] else {
                            throw EffwError(path, "tensor '\(e.name)': \(buffer.count) bytes do not fill \(e.dtype.rawValue) \(e.shape)")
                        }
                        if e.crc32 == nil { checksums[i] = CRC32.checksum(buffer) }
                        try sink.write(buffer)
                    }
                }
            } catch {
                // A failed check explains a failed write better (e.g. a damaged source).
                if let reason = checks.lazy.compactMap({ $0.error() }).first { throw reason }
                throw error
            }
            for c in checks { try c.wait() }
            let final = header(checksums)
            precondition(final.count == placeholder.count, "EffwWriter: the header changed length with its CRC-32s")
            try sink.overwrite(at: 8, final)
        }, beforeCommit: beforeCommit)
    }

    /// The JSON header, padded with spaces so that 8 + its length is a multiple of 64. Built as
    /// bytes: a large model's header (a name, dtype, shape, offsets and CRC per tensor) took
    /// ~2 ms through String interpolation.
    static func headerBytes(entries: [(name: String, dtype: DType, shape: [Int], bytes: Int)], metadata: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096 + 160 * entries.count + metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 })
        out += "{\"__metadata__\":".utf8
        appendJSONObject(metadata, to: &out)
        var offset = 0
        for it in entries {
            let end = offset + it.bytes
            out.append(UInt8(ascii: ","))
            appendJSONString(it.name, to: &out)
            out += ":{\"dtype\":\"".utf8
            out += it.dtype.rawValue.utf8
            out += "\",\"shape\":[".utf8
            for (k, d) in it.shape.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                appendDecimal(d, to: &out)
            }
            out += "],\"data_offsets\":[".utf8
            appendDecimal(offset, to: &out)
            out.append(UInt8(ascii: ","))
            appendDecimal(end, to: &out)
            out += "]}".utf8
            offset = end
        }
        out.append(UInt8(ascii: "}"))
        let pad = (alignment - (8 + out.count) % alignment) % alignment
        out += repeatElement(UInt8(ascii: " "), count: pad)
        return out
    }

    /// A JSON object with sorted keys and string values.
    static func jsonObject(_ dict: [String: String]) -> String {
        var out: [UInt8] = []
        appendJSONObject(dict, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendJSONObject(_ dict: [String: String], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (k, key) in dict.keys.sorted().enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            appendJSONString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(dict[key] ?? "", to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `s` as a JSON string literal: `"`, `\\` and control characters escaped, everything else
    /// (including non-ASCII UTF-8) as is.
    static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        appendJSONString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0 ..< 0x20:
                out += "\\u00".utf8
                out.append(hex.utf8Start[Int(b >> 4)]); out.append(hex.utf8Start[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Decimal digits of a non-negative `value` (sizes, offsets), no String on the way.
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0, "appendDecimal: \(value) is negative")
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; n += 1 } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    /// Encodes float32 values into `dtype` (F32, F16 or BF16) little-endian bytes.
    public static func encode(_ values: [Float], as dtype: DType) -> [UInt8] {
        switch dtype {
        case .f16:
            var out = [UInt8](repeating: 0, count: values.count * 2)
            for (i, v) in values.enumerated() {
                let h = HalfConversion.half(fromFloat: v)
                out[2 * i] = UInt8(h & 0xff); out[2 * i + 1] = UInt8(h >> 8)
            }
            return out
        case .bf16:
            var out = [UInt8](repeating: 0, count: values.count * 2)
            for (i, v) in values.enumerated() {
                let h = HalfConversion.bfloat16(fromFloat: v)
                out[2 * i] = UInt8(h & 0xff); out[2 * i + 1] = UInt8(h >> 8)
            }
            return out
        default:
            precondition(dtype == .f32, "EffwWriter.encode: \(dtype) is not a storage type for weights")
            return values.withUnsafeBytes { Array($0) } // little-endian hosts only (x86_64, arm64)
        }
    }
}
