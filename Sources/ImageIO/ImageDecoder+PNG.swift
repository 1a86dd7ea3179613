import CPNG

extension ImageDecoder {
    /// PNG through libpng's simplified API (png_image), which catches libpng's errors itself and
    /// reports them in `png_image.message`. Read as 8-bit RGBA and the alpha dropped, as Pillow's
    /// convert("RGB") drops it; 16-bit samples are taken as sRGB-encoded (no gamma conversion).
    static func decodePNG(_ bytes: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        try checkPNGChunks(bytes, name: name)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) } // idempotent; libpng frees on its own failures too
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            throw ImageError(path: name, reason: .corrupt("PNG: \(pngMessage(&image))"))
        }
        let width = Int(image.width), height = Int(image.height)
        try checkSize(width: width, height: height, name: name)
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR) | UInt32(PNG_FORMAT_FLAG_ALPHA) // PNG_FORMAT_RGBA (a macro Swift does not import)
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let ok = rgba.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, Int32(width * 4), nil)
        }
        guard ok != 0 else { throw ImageError(path: name, reason: .corrupt("PNG: \(pngMessage(&image))")) }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0 ..< width * height {
            rgb[3 * i] = rgba[4 * i]
            rgb[3 * i + 1] = rgba[4 * i + 1]
            rgb[3 * i + 2] = rgba[4 * i + 2]
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }

    private static func pngMessage(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng refused the data" : text
    }

    /// Walks the chunk list (length, type, data, CRC) up to IEND so that a file cut short is
    /// reported as truncated, with the chunk and offset, before libpng sees it.
    static func checkPNGChunks(_ bytes: UnsafeRawBufferPointer, name: String) throws {
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
