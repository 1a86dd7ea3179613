import CImageShim

extension ImageDecoder {
    /// JPEG through the C shim (libjpeg errors longjmp back into C, never exit; warnings are
    /// silent except running out of data and corrupt entropy-coded data, which are errors).
    /// `draftSize`: Pillow's draft rule (see `decode(path:draftSize:)`), nil or below 1 for none.
    static func decodeJPEG(_ bytes: UnsafeRawBufferPointer, name: String, draftSize: Int? = nil) throws -> RGBImage {
        let draft = UInt(max(0, min(draftSize ?? 0, maxDimension)))
        return try decode(bytes, name: name, format: "JPEG") { data, size, maxSide, maxPixels, result in
            effnet_jpeg_decode_draft(data, size, maxSide, maxPixels, draft, result)
        }
    }

    /// PNG through the C shim: libpng's transforms chosen to match Pillow's convert("RGB").
    static func decodePNG(_ bytes: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        try checkPNGChunks(bytes, name: name)
        return try decode(bytes, name: name, format: "PNG", effnet_png_decode)
    }

    private typealias CDecoder = (UnsafePointer<UInt8>?, Int, UInt, UInt64, UnsafeMutablePointer<effnet_image_result>?) -> effnet_image_status

    /// Calls a shim decoder and turns its status into an `RGBImage` or an `ImageError`.
    private static func decode(_ bytes: UnsafeRawBufferPointer, name: String, format: String,
                               _ decoder: CDecoder) throws -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), !bytes.isEmpty else {
            throw ImageError(path: name, reason: .truncated("the file is empty"))
        }
        var result = effnet_image_result()
        let status = decoder(base, bytes.count, UInt(maxDimension), UInt64(maxPixels), &result)
        defer { effnet_image_free(result.pixels) }
        let message = withUnsafeBytes(of: &result.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let width = Int(result.width), height = Int(result.height)
        switch status {
        case EFFNET_IMAGE_OK:
            guard let pixels = result.pixels else { throw ImageError(path: name, reason: .corrupt("\(format): decoder returned no pixels")) }
            try checkSize(width: width, height: height, name: name)
            return RGBImage(width: width, height: height,
                            pixels: Array(UnsafeBufferPointer(start: pixels, count: width * height * 3)))
        case EFFNET_IMAGE_TRUNCATED:
            throw ImageError(path: name, reason: .truncated("\(format) data ends before the image does"))
        case EFFNET_IMAGE_TOO_LARGE:
            throw ImageError(path: name, reason: .tooLarge(width: width, height: height))
        case EFFNET_IMAGE_UNSUPPORTED:
            throw ImageError(path: name, reason: .unsupported("\(format): \(message)"))
        case EFFNET_IMAGE_NO_MEMORY:
            throw ImageError(path: name, reason: .unsupported("\(format) needs more memory than allowed: \(message)"))
        default:
            throw ImageError(path: name, reason: .corrupt("\(format): \(message)"))
        }
    }
}
