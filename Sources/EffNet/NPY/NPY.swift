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

    static func parse(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String) throws -> Array {
        var r = ByteReader(bytes)
        func fail(_ s: String) -> NPYError { NPYError(path, s) }
        guard bytes.count >= 10, Swift.Array(bytes[0 ..< 6]) == magic else { throw fail("not an .npy file (bad magic)") }
        try r.skip(6)
        let major = try r.readByte()
        _ = try r.readByte()
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try r.readInteger(as: UInt16.self))
        case 2, 3: headerLength = Int(try r.readInteger(as: UInt32.self))
        default: throw fail("unsupported .npy version \(major)")
        }
        guard headerLength <= 1 << 20, headerLength <= r.remaining else { throw fail("header length \(headerLength) exceeds the file") }
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

    /// Parses the Python-literal header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
    static func parseHeader(_ h: String, path: String) throws -> (dtype: DType, shape: [Int]) {
        func fail(_ s: String) -> NPYError { NPYError(path, "header: \(s)") }
        func value(of key: String) throws -> Substring {
            guard let k = h.range(of: "'\(key)'") ?? h.range(of: "\"\(key)\"") else { throw fail("no '\(key)'") }
            var rest = h[k.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { throw fail("malformed '\(key)'") }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        let descrRest = try value(of: "descr")
        guard let q = descrRest.first, q == "'" || q == "\"", let end = descrRest.dropFirst().firstIndex(of: q) else {
            throw fail("malformed descr")
        }
        let descr = String(descrRest[descrRest.index(after: descrRest.startIndex) ..< end])
        let dtype: DType
        switch descr {
        case "<f4": dtype = .f32
        case "<f2": dtype = .f16
        case "<f8": dtype = .f64
        case "<i8": dtype = .i64
        case "<i4": dtype = .i32
        case "|u1", "<u1": dtype = .u8
        default: throw fail("dtype '\(descr)' is not supported (little-endian f4, f2, f8, i8, i4, u1)")
        }
        let fortran = try value(of: "fortran_order")
        if fortran.hasPrefix("True") { throw fail("fortran_order arrays are not supported; save with C order") }
        guard fortran.hasPrefix("False") else { throw fail("malformed fortran_order") }
        let shapeRest = try value(of: "shape")
        guard shapeRest.first == "(", let close = shapeRest.firstIndex(of: ")") else { throw fail("malformed shape") }
        let inner = shapeRest[shapeRest.index(after: shapeRest.startIndex) ..< close]
        let parts = inner.split(separator: ",").map { $0.filter { $0 != " " && $0 != "L" } }.filter { !$0.isEmpty }
        guard parts.count <= 16 else { throw fail("more than 16 dimensions") }
        let shape = try parts.map { p -> Int in
            guard let v = Int(p), v >= 0 else { throw fail("invalid dimension '\(p)'") }
            return v
        }
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

public struct NPYError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}
