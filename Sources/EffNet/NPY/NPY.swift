/// NumPy .npy files: versions 1-3 read, version 1 (or 2 for long headers) written; little-endian
/// f32, f16, f64 and i64 in C order. Reading bounds every declared size against the file.
public enum NPY {
    /// A parsed array: dtype, shape and its bytes as a view.
    public struct Array {
        public var raw: RawTensor
        public var dtype: DType { raw.dtype }
        public var shape: [Int] { raw.shape }
        /// Widened to float32.
        public var tensor: Tensor { raw.tensor() }
    }

    static let magic: [UInt8] = [0x93] + Swift.Array("NUMPY".utf8)

    /// Reads `path`.
    /// - Throws: `NPYError` naming the file and the problem.
    public static func read(path: String) throws -> Array {
        let file = try MappedFile(path: path)
        return try parse(file.bytes, owner: file, path: path)
    }

    /// Reads `path` as a float32 tensor (f16/f64 are converted).
    public static func readTensor(path: String) throws -> Tensor {
        let a = try read(path: path)
        guard a.dtype.isFloatingPoint else { throw NPYError(path, "dtype \(a.dtype.rawValue) is not floating point") }
        return a.tensor
    }

    /// Largest header accepted (versions 2 and 3 declare up to 4 GiB). NumPy itself refuses
    /// headers over 10,000 bytes unless told otherwise; a real one is under 200.
    static let maxHeaderLength = 1 << 20

    static func parse(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String) throws -> Array {
        var r = ByteReader(bytes)
        func fail(_ s: String) -> NPYError { NPYError(path, s) }
        guard bytes.count >= 10, Swift.Array(bytes[0 ..< 6]) == magic else { throw fail("not an .npy file (bad magic)") }
        try r.skip(6)
        let major = try r.readByte()
        let minor = try r.readByte()
        let headerLength: Int
        switch major {
        // Version 1 stores the length in 16 bits (at most 65535 by construction), 2 and 3 in 32.
        case 1: headerLength = Int(try r.readInteger(as: UInt16.self))
        case 2, 3: headerLength = Int(try r.readInteger(as: UInt32.self))
        default: throw fail("unsupported .npy version \(major).\(minor)")
        }
        guard minor == 0 else { throw fail("unsupported .npy version \(major).\(minor)") }
        guard headerLength <= maxHeaderLength else {
            throw fail("header length \(headerLength) is too large (limit \(maxHeaderLength) bytes; a real header is under 200)")
        }
        guard headerLength <= r.remaining else { throw fail("header length \(headerLength) exceeds the file (\(r.remaining) bytes after the prefix)") }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[r.index ..< r.index + headerLength])
        // Versions 1 and 2 are latin-1, 3 is UTF-8; every key and value that can be valid is ASCII.
        guard headerBytes.allSatisfy({ $0 < 0x80 }) else { throw fail("header: not ASCII text") }
        let header = try r.readString(headerLength)
        let dict = try parseHeader(header, path: path)
        let dataStart = r.index
        guard let n = CheckedSize.product(dict.shape), let size = CheckedSize.multiply(n, dict.dtype.size) else {
            throw fail("shape \(dict.shape) overflows")
        }
        guard size <= bytes.count - dataStart else {
            throw fail("data is truncated: \(dict.dtype.rawValue) \(dict.shape) needs \(size) bytes at offset \(dataStart), file has \(bytes.count - dataStart)")
        }
        guard size == bytes.count - dataStart else {
            throw fail("\(bytes.count - dataStart - size) unexpected bytes after the data")
        }
        let storage = ByteStorage(bytes: UnsafeRawBufferPointer(rebasing: bytes[dataStart ..< dataStart + size]), owner: owner)
        return Array(raw: try RawTensor(dtype: dict.dtype, shape: dict.shape, storage: storage))
    }

    /// Parses the Python-literal header dict strictly, as NumPy writes it:
    /// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, padded with spaces and
    /// ending in a newline (not required: NumPy does not check it either). Exactly the keys descr, fortran_order and shape, once each; the
    /// shape a tuple of non-negative integers (`(3,)`, not `(3)`); nothing else.
    static func parseHeader(_ h: String, path: String) throws -> (dtype: DType, shape: [Int]) {
        func fail(_ s: String) -> NPYError { NPYError(path, "header: \(s)") }
        var p = NPYHeaderScanner(Swift.Array(h.utf8))
        p.skipSpaces()
        guard p.take("{") else { throw fail("not a dict literal") }
        var descr: String?, fortran: Bool?, shape: [Int]?
        while true {
            p.skipSpaces()
            if p.take("}") { break }
            guard let key = p.quoted() else { throw fail("malformed key at byte \(p.at)") }
            p.skipSpaces()
            guard p.take(":") else { throw fail("no ':' after '\(key)'") }
            p.skipSpaces()
            switch key {
            case "descr":
                guard descr == nil else { throw fail("key 'descr' appears twice") }
                guard let v = p.quoted() else { throw fail("malformed descr") }
                descr = v
            case "fortran_order":
                guard fortran == nil else { throw fail("key 'fortran_order' appears twice") }
                if p.take("True") { fortran = true } else if p.take("False") { fortran = false } else { throw fail("malformed fortran_order") }
            case "shape":
                guard shape == nil else { throw fail("key 'shape' appears twice") }
                guard let v = p.tuple() else {
                    throw fail("malformed shape: invalid dimension at byte \(p.at) (a tuple of non-negative integers such as (2, 3) or (3,))")
                }
                guard v.count <= 16 else { throw fail("more than 16 dimensions") }
                shape = v
            default:
                throw fail("unknown key '\(key.prefix(40))' (an .npy header holds exactly descr, fortran_order and shape)")
            }
            p.skipSpaces()
            if p.take(",") { continue }
            guard p.take("}") else { throw fail("expected ',' or '}' at byte \(p.at)") }
            break
        }
        p.skipSpaces()
        guard p.atEnd else { throw fail("unexpected text after the dict at byte \(p.at)") }
        guard let descr else { throw fail("no 'descr'") }
        guard let fortran else { throw fail("no 'fortran_order'") }
        guard let shape else { throw fail("no 'shape'") }
        let dtype: DType
        switch descr {
        case "<f4": dtype = .f32
        case "<f2": dtype = .f16
        case "<f8": dtype = .f64
        case "<i8": dtype = .i64
        case "<i4": dtype = .i32
        case "|u1", "<u1": dtype = .u8
        default: throw fail("dtype '\(descr.prefix(40))' is not supported (little-endian f4, f2, f8, i8, i4, u1)")
        }
        if fortran { throw fail("fortran_order arrays are not supported; save with C order") }
        return (dtype, shape)
    }

    /// Writes a float32 tensor as .npy (atomically).
    /// - Throws: `FileError` on write failures or when `path` exists and `overwrite` is false.
    public static func write(_ tensor: Tensor, to path: String, overwrite: Bool = true) throws {
        let bytes = tensor.scalars.withUnsafeBytes { Swift.Array($0) }
        try write(bytes: bytes, dtype: .f32, shape: tensor.shape, to: path, overwrite: overwrite)
    }

    /// Writes raw little-endian `bytes` of `dtype` (f32, f16, f64, i64) and `shape`.
    public static func write(bytes: [UInt8], dtype: DType, shape: [Int], to path: String, overwrite: Bool = true) throws {
        let descr: String
        switch dtype {
        case .f32: descr = "<f4"
        case .f16: descr = "<f2"
        case .f64: descr = "<f8"
        case .i64: descr = "<i8"
        case .i32: descr = "<i4"
        case .u8: descr = "|u1"
        default: throw NPYError(path, "cannot write dtype \(dtype.rawValue)")
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = Swift.Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        // Pad with spaces and a final newline so the data starts 64-byte aligned.
        let v1 = 10 + header.count + 1 <= 65535 + 10
        let prefix = v1 ? 10 : 12
        let total = prefix + header.count + 1
        header += [UInt8](repeating: UInt8(ascii: " "), count: (64 - total % 64) % 64)
        header.append(UInt8(ascii: "\n"))
        var out = magic + [v1 ? 1 : 2, 0]
        if v1 {
            let l = UInt16(header.count)
            out += [UInt8(l & 0xff), UInt8(l >> 8)]
        } else {
            let l = UInt32(header.count)
            out += (0 ..< 4).map { UInt8((l >> (8 * $0)) & 0xff) }
        }
        out += header
        try AtomicFileWriter(destination: path, overwrite: overwrite).write { sink in
            try sink.write(out)
            try sink.write(bytes)
        }
    }
}

/// A cursor over an .npy header's bytes (ASCII, checked by the caller).
struct NPYHeaderScanner {
    let bytes: [UInt8]
    private(set) var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at == bytes.count }

    /// Spaces, and the newline NumPy ends the header with.
    mutating func skipSpaces() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0a || bytes[at] == 0x09 { at += 1 }
    }

    /// Consumes `literal` if the text continues with it.
    mutating func take(_ literal: String) -> Bool {
        let l = Array(literal.utf8)
        guard at + l.count <= bytes.count, Array(bytes[at ..< at + l.count]) == l else { return false }
        at += l.count
        return true
    }

    /// A '...' or "..." string without escapes (none of the valid values has one).
    mutating func quoted() -> String? {
        guard at < bytes.count, bytes[at] == 0x27 || bytes[at] == 0x22 else { return nil }
        let q = bytes[at]
        var end = at + 1
        while end < bytes.count, bytes[end] != q {
            if bytes[end] == 0x5c || bytes[end] == 0x0a { return nil }
            end += 1
        }
        guard end < bytes.count else { return nil }
        let s = String(decoding: bytes[at + 1 ..< end], as: UTF8.self)
        at = end + 1
        return s
    }

    /// `()`, `(3,)`, `(2, 3)`, `(2, 3,)`; integers may carry Python 2's `L`. A single integer
    /// without its comma is not a tuple.
    mutating func tuple() -> [Int]? {
        guard take("(") else { return nil }
        var values: [Int] = []
        var sawComma = false
        while true {
            skipSpaces()
            if take(")") { break }
            // Checked: 19 digits may pass Int.max (19 nines trapped here; found by effnet-fuzz
            // npy); a number that does not fit, or has more digits, is refused just below.
            var digits = 0, value = 0
            while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39, digits < 19 {
                let (tens, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = tens.addingReportingOverflow(Int(bytes[at] - 0x30))
                if o1 || o2 { return nil }
                value = sum
                at += 1
                digits += 1
            }
            guard digits > 0, !(at < bytes.count && bytes[at] >= 0x30 && bytes[at] <= 0x39) else { return nil }
            _ = take("L")
            values.append(value)
            skipSpaces()
            if take(",") { sawComma = true; continue }
            guard take(")") else { return nil }
            break
        }
        guard values.count != 1 || sawComma else { return nil }
        return values
    }
}

public struct NPYError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}
