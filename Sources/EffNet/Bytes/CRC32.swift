import CZlib

/// CRC-32 (the zip/PNG polynomial) through zlib, fed in chunks so sizes above 4 GB work.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = uLong(seed)
        var offset = 0
        let chunk = 1 << 30
        while offset < bytes.count {
            let n = min(chunk, bytes.count - offset)
            crc = crc32(crc, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
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
