/// A cursor over untrusted bytes. Every read is range-checked once; the read index moves only on
/// success, and nothing traps: a short buffer throws `ByteReaderError.truncated`.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    /// Absolute offset of `bytes[0]` in the file, so errors can name file offsets.
    public let baseOffset: Int
    @usableFromInline var _index: Int = 0
    public var index: Int { _index }

    public init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) {
        self.bytes = bytes
        self.baseOffset = baseOffset
    }

    public var remaining: Int { bytes.count - index }
    public var isAtEnd: Bool { index >= bytes.count }
    /// Absolute file offset of the read index.
    public var offset: Int { baseOffset + index }

    @inlinable @inline(__always)
    func check(_ count: Int) throws {
        guard count >= 0, count <= bytes.count - index else {
            throw ByteReaderError.truncated(offset: baseOffset + index, needed: count, available: bytes.count - index)
        }
    }

    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(as: T.Type = T.self, bigEndian: Bool = false) throws -> T {
        try check(MemoryLayout<T>.size)
        let v = bytes.loadUnaligned(fromByteOffset: index, as: T.self)
        _index += MemoryLayout<T>.size
        return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
    }

    public mutating func readFloat64() throws -> Double {
        Double(bitPattern: try readInteger(as: UInt64.self))
    }

    public mutating func readFloat64BigEndian() throws -> Double {
        Double(bitPattern: try readInteger(as: UInt64.self, bigEndian: true))
    }

    /// A view of the next `count` bytes (no copy).
    public mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        try check(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[index ..< index + count])
        _index += count
        return slice
    }

    public mutating func readByte() throws -> UInt8 {
        try check(1)
        let b = bytes[index]
        _index += 1
        return b
    }

    public func peekByte() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    /// Reads `count` bytes as UTF-8 (invalid sequences are repaired, never trusted as-is).
    public mutating func readString(_ count: Int) throws -> String {
        String(decoding: try readBytes(count), as: UTF8.self)
    }

    public mutating func skip(_ count: Int) throws {
        try check(count)
        _index += count
    }

    public mutating func seek(to newIndex: Int) throws {
        guard newIndex >= 0, newIndex <= bytes.count else {
            throw ByteReaderError.outOfRange(offset: baseOffset + newIndex, size: bytes.count)
        }
        _index = newIndex
    }
}

public enum ByteReaderError: Error, Equatable, CustomStringConvertible {
    /// Fewer bytes than a structure needs.
    case truncated(offset: Int, needed: Int, available: Int)
    /// A declared position outside the data.
    case outOfRange(offset: Int, size: Int)

    public var description: String {
        switch self {
        case let .truncated(offset, needed, available):
            return "truncated at offset \(offset): needed \(needed) bytes, \(max(0, available)) left"
        case let .outOfRange(offset, size):
            return "offset \(offset) is outside the \(size)-byte data"
        }
    }
}

/// Overflow-checked arithmetic for sizes declared by files.
public enum CheckedSize {
    /// Product of `values`, or nil on overflow or a negative factor.
    public static func product(_ values: [Int]) -> Int? {
        var p = 1
        for v in values {
            guard v >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: v)
            if o { return nil }
            p = r
        }
        return p
    }

    public static func multiply(_ a: Int, _ b: Int) -> Int? {
        guard a >= 0, b >= 0 else { return nil }
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }
}
