import CEffNetCRC32

/// CRC-32 (the zip/PNG/gzip polynomial, zlib's `crc32` convention: seed 0, chainable), computed
/// by the project's own C code (Sources/CEffNetCRC32), so that EffNet needs no system library:
/// carry-less multiply on x86-64, the CRC32 instructions on arm64, tables elsewhere, chosen at run
/// time. Every conversion and every .effw load checksums all of its bytes, and in a PyTorch
/// conversion that checksum was the slowest thread (Benchmarks/convert_vs_cp.md). Tests check
/// every implementation against zlib's `crc32`.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return effnet_crc32(seed, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The implementation in use on this CPU: "vpclmul-avx512", "pclmul", "armv8-crc32" or "table".
    public static var implementation: String { String(cString: effnet_crc32_implementation()) }

    /// Eight lowercase hex digits, as .effw metadata stores it.
    public static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
