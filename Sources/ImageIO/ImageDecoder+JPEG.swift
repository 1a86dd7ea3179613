import CImageShim

extension ImageDecoder {
    /// JPEG through the C shim (libjpeg errors longjmp back into C, never exit; warnings are
    /// silent except running out of data, which is an error as in Pillow).
    static func decodeJPEG(_ bytes: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw ImageError(path: name, reason: .truncated("the file is empty"))
        }
        var result = effnet_jpeg_result()
        let status = effnet_jpeg_decode(base, bytes.count, UInt(maxDimension), UInt64(maxPixels), &result)
        defer { effnet_image_free(result.pixels) }
        let message = withUnsafeBytes(of: &result.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let width = Int(result.width), height = Int(result.height)
        switch status {
        case EFFNET_JPEG_OK:
            guard let pixels = result.pixels else { throw ImageError(path: name, reason: .corrupt("decoder returned no pixels")) }
            try checkSize(width: width, height: height, name: name)
            return RGBImage(width: width, height: height,
                            pixels: Array(UnsafeBufferPointer(start: pixels, count: width * height * 3)))
        case EFFNET_JPEG_TRUNCATED:
            throw ImageError(path: name, reason: .truncated("JPEG data ends before the image does"))
        case EFFNET_JPEG_TOO_LARGE:
            throw ImageError(path: name, reason: .tooLarge(width: width, height: height))
        case EFFNET_JPEG_UNSUPPORTED:
            throw ImageError(path: name, reason: .unsupported("JPEG: \(message)"))
        case EFFNET_JPEG_NO_MEMORY:
            throw ImageError(path: name, reason: .unsupported("JPEG needs more memory than allowed: \(message)"))
        default:
            throw ImageError(path: name, reason: .corrupt("JPEG: \(message)"))
        }
    }
}
