/// Little-endian fields of a fixed-size header whose full length was range-checked beforehand:
/// one check per header instead of one per field, and concrete (inlined) loads. Used for the
/// central and local headers, which a checkpoint has hundreds of.
struct HeaderFields {
    let bytes: UnsafeRawBufferPointer
    let start: Int

    /// Returns nil unless `size` bytes are available at `start`.
    init?(_ bytes: UnsafeRawBufferPointer, at start: Int, size: Int) {
        guard start >= 0, size >= 0, start <= bytes.count - size else { return nil }
        self.bytes = bytes
        self.start = start
    }

    @inline(__always) func u16(_ at: Int) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: start + at, as: UInt16.self))
    }

    @inline(__always) func u32(_ at: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: start + at, as: UInt32.self))
    }
}
