extension ImageDecoder {
    /// Walks the chunk list (length, type, data, CRC) up to IEND so that a file cut short is
    /// reported as truncated, with the chunk and offset, before libpng sees it.
    static func checkPNGChunks(_ bytes: UnsafeRawBufferPointer, name: String) throws {
        guard bytes.count >= 8 else {
            throw ImageError(path: name, reason: .truncated("PNG ends inside its 8-byte signature"))
        }
        var offset = 8
        while true {
            guard bytes.count - offset >= 8 else {
                throw ImageError(path: name, reason: .truncated(
                    offset == bytes.count ? "PNG has no IEND chunk (ends at offset \(offset))"
                        : "PNG ends inside a chunk header at offset \(offset)"))
            }
            var length = 0
            for i in 0 ..< 4 { length = length << 8 | Int(bytes[offset + i]) }
            let type = String(decoding: bytes[(offset + 4) ..< (offset + 8)], as: UTF8.self)
            guard length <= 0x7FFF_FFFF else {
                throw ImageError(path: name, reason: .corrupt("PNG chunk '\(type)' at offset \(offset) declares \(length) bytes (over 2^31 - 1)"))
            }
            let end = offset + 12 + length
            guard end <= bytes.count else {
                throw ImageError(path: name, reason: .truncated("PNG chunk '\(type)' at offset \(offset) needs \(12 + length) bytes, the file ends after \(bytes.count - offset)"))
            }
            if type == "IEND" { return }
            offset = end
        }
    }
}
