/// How a tensor bundle stores a string tensor of n elements (tensor_bundle.cc's
/// WriteStringTensor):
///
///     varint64 length 0 ... varint64 length n-1
///     fixed32  masked CRC32C of the lengths, each as a little-endian uint32 (uint64 when > 4 GiB)
///     the n strings' bytes, back to back
///
/// The entry's CRC32C covers the lengths (as uint32/uint64), the length checksum's 4 bytes and
/// the strings' bytes.
enum StringTensor {
    struct Malformed: Error {}

    /// The elements as views into `bytes`.
    /// - Throws: `Malformed` when the lengths or the data run past `bytes` or do not use it exactly.
    static func elements(_ bytes: UnsafeRawBufferPointer, count: Int) throws -> [UnsafeRawBufferPointer] {
        try parse(bytes, count: count).elements
    }

    /// The unmasked CRC32C TensorFlow computes for this string tensor.
    /// - Throws: `Malformed`.
    static func checksum(_ bytes: UnsafeRawBufferPointer, count: Int) throws -> UInt32 {
        try parse(bytes, count: count).crc
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, count: Int) throws -> (elements: [UnsafeRawBufferPointer], crc: UInt32) {
        var cursor = VarintCursor(bytes, range: 0 ..< bytes.count)
        guard count <= bytes.count else { throw Malformed() }
        var lengths: [Int] = []
        lengths.reserveCapacity(count)
        var crc: UInt32 = 0
        for _ in 0 ..< count {
            guard let n = cursor.varint64(), n <= UInt64(bytes.count) else { throw Malformed() }
            if n <= UInt64(UInt32.max) {
                var v = UInt32(n).littleEndian
                crc = withUnsafeBytes(of: &v) { CRC32C.checksum($0, seed: crc) }
            } else {
                var v = n.littleEndian
                crc = withUnsafeBytes(of: &v) { CRC32C.checksum($0, seed: crc) }
            }
            lengths.append(Int(n))
        }
        guard let lengthCRC = cursor.take(4) else { throw Malformed() }
        crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[lengthCRC]), seed: crc)
        var elements: [UnsafeRawBufferPointer] = []
        for n in lengths {
            guard let r = cursor.take(n) else { throw Malformed() }
            let e = UnsafeRawBufferPointer(rebasing: bytes[r])
            crc = CRC32C.checksum(e, seed: crc)
            elements.append(e)
        }
        guard cursor.isAtEnd else { throw Malformed() }
        return (elements, crc)
    }
}
