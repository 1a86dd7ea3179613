import CLibdeflate

/// CRC-32 (the zip/PNG/gzip polynomial, zlib's `crc32` convention: seed 0, chainable) through
/// libdeflate, whose carry-less-multiply code runs ~3x faster than zlib's table code on this
/// machine (6.0 vs 2.2 GB/s). Every conversion and every .effw load checksums all of its bytes,
/// and in a PyTorch conversion that checksum was the slowest thread (Benchmarks/convert_vs_cp.md).
/// Tests check it against zlib's `crc32`.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return libdeflate_crc32(seed, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Eight lowercase hex digits, as .effw metadata stores it.
    public static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
