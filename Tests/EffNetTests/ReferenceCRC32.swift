/// The CRC-32 of zip, gzip and PNG, computed one bit at a time straight from its definition: the
/// reflected polynomial 0xEDB88320, register preset to all ones, result inverted. Deliberately
/// the slowest, plainest form, sharing nothing with Sources/CEffNetCRC32, so that CRC32Tests can
/// use it as the oracle for the fast implementations; it is itself checked against the values
/// Python's zlib gives (Fixtures/core/zlib/crc32_vectors.json).
enum ReferenceCRC32 {
    static let polynomial: UInt32 = 0xEDB8_8320

    /// The register after feeding `byte` to `register` (both in the inverted, internal form).
    static func step(_ register: UInt32, _ byte: UInt8) -> UInt32 {
        var r = register ^ UInt32(byte)
        for _ in 0 ..< 8 { r = (r & 1) != 0 ? (r >> 1) ^ polynomial : r >> 1 }
        return r
    }

    /// The CRC-32 of `bytes`, continuing from `seed` (the CRC of what came before, 0 for none),
    /// with zlib's `crc32(seed, bytes, n)` semantics.
    static func checksum<Bytes: Sequence>(_ bytes: Bytes, seed: UInt32 = 0) -> UInt32 where Bytes.Element == UInt8 {
        var r = ~seed
        for b in bytes { r = step(r, b) }
        return ~r
    }
}
