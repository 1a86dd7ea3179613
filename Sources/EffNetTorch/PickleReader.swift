import EffNet

/// The unpickler's cursor: like `ByteReader` (every read range-checked once, the index moves only
/// on success, `ByteReaderError.truncated` on short input), with concrete, inlinable reads for
/// the opcode loop's hot path.
struct PickleReader {
    let bytes: UnsafeRawBufferPointer
    /// File offset of `bytes[0]`.
    let baseOffset: Int
    private(set) var index = 0

    init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int) {
        self.bytes = bytes
        self.baseOffset = baseOffset
    }

    var remaining: Int { bytes.count - index }
    var offset: Int { baseOffset + index }

    @inline(__always)
    func check(_ count: Int) throws {
        guard count >= 0, count <= bytes.count - index else {
            throw ByteReaderError.truncated(offset: baseOffset + index, needed: count, available: bytes.count - index)
        }
    }

    @inline(__always)
    mutating func byte() throws -> UInt8 {
        try check(1)
        let b = bytes[index]
        index += 1
        return b
    }

    @inline(__always)
    mutating func u16() throws -> UInt16 {
        try check(2)
        let v = bytes.loadUnaligned(fromByteOffset: index, as: UInt16.self)
        index += 2
        return UInt16(littleEndian: v)
    }

    @inline(__always)
    mutating func u32() throws -> UInt32 {
        try check(4)
        let v = bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)
        index += 4
        return UInt32(littleEndian: v)
    }

    @inline(__always)
    mutating func u64() throws -> UInt64 {
        try check(8)
        let v = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        index += 8
        return UInt64(littleEndian: v)
    }

    /// BINFLOAT is big-endian.
    @inline(__always)
    mutating func float64BigEndian() throws -> Double {
        try check(8)
        let v = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        index += 8
        return Double(bitPattern: UInt64(bigEndian: v))
    }

    /// A view of the next `count` bytes (no copy).
    @inline(__always)
    mutating func read(_ count: Int) throws -> UnsafeRawBufferPointer {
        try check(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[index ..< index + count])
        index += count
        return slice
    }

    /// `count` bytes as UTF-8 (invalid sequences are repaired).
    @inline(__always)
    mutating func string(_ count: Int) throws -> String {
        String(decoding: try read(count), as: UTF8.self)
    }

    mutating func skip(_ count: Int) throws {
        try check(count)
        index += count
    }
}
