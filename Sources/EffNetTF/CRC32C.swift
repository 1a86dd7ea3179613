import CCRC32C

/// CRC32C (Castagnoli), as TensorFlow's tensor bundles and LevelDB tables store it: the C code in
/// `CCRC32C` uses the CPU's CRC32C instruction (SSE4.2, ARMv8) when there is one.
public enum CRC32C {
    /// The CRC32C of `bytes`, continuing from `seed` (0 for a fresh checksum).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return effnet_crc32c(seed, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The table implementation, for tests that compare it with the instruction path.
    public static func portableChecksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { b in b.baseAddress.map { effnet_crc32c_portable(seed, $0, b.count) } ?? seed }
    }

    /// "sse4.2", "armv8-crc" or "table".
    public static var implementation: String { String(cString: effnet_crc32c_implementation()) }

    /// LevelDB's and TensorFlow's stored form: a CRC of data that itself holds CRCs is weak, so
    /// stored CRCs are rotated and offset (`crc32c::Mask`).
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }

    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rot = masked &- 0xa282_ead8
        return (rot >> 17) | (rot << 15)
    }
}
