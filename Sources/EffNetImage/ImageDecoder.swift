import EffNet

/// The image formats `ImageDecoder` reads, recognised by their first bytes.
public enum ImageFormat: String, Sendable {
    case jpeg, png

    /// The format `bytes` start with, or nil. A file cut inside the signature still counts (JPEG
    /// SOI FF D8; the first 4 bytes of PNG's 8), so that it is reported as truncated.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 4, zip(bytes.prefix(8), png).allSatisfy({ $0 == $1 }) { return .png }
        return nil
    }
}

/// Decodes JPEG (libjpeg-turbo) and PNG (libpng) files into `RGBImage`, the way Pillow's
/// `Image.open(path).convert("RGB")` sees them: greyscale replicated, palettes expanded, alpha
/// dropped (not composited), CMYK JPEGs converted with Adobe polarity. EXIF orientation is not
/// applied (Pillow does not apply it either).
///
/// Sizes are checked before any pixel buffer is allocated; libraries never print or exit: every
/// failure is an `ImageError` naming the file.
public enum ImageDecoder {
    /// Largest width or height accepted.
    public static let maxDimension = 16_384
    /// Largest width * height accepted (100 megapixels, 300 MB as RGB8).
    public static let maxPixels = 100_000_000
    /// Largest file accepted.
    public static let maxFileBytes = 1 << 30

    /// Decodes the image file at `path` (format judged by content).
    /// - Throws: `ImageError` (`.unreadable`, `.unknownFormat`, `.truncated`, `.corrupt`,
    ///   `.tooLarge`, `.unsupported`), always carrying `path`.
    public static func decode(path: String) throws -> RGBImage {
        try decode(path: path, draftSize: nil)
    }

    /// Decodes the image file at `path`; a JPEG as after Pillow's `draft("RGB", (s, s))` with
    /// `draftSize` s: libjpeg's inverse DCT shrinks it by 2, 4 or 8 while both sides stay at
    /// least s. Faster for large photos, but the pixels differ from a full decode's (a resize of
    /// the result is close to, not equal to, the full image's: docs/PREPROCESSING.md). PNGs and
    /// nil decode in full.
    /// - Throws: `ImageError` as `decode(path:)`.
    public static func decode(path: String, draftSize: Int?) throws -> RGBImage {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let e as FileError {
            // FileError's description starts with the path; keep only the reason.
            let d = e.description
            throw ImageError(path: path, reason: .unreadable(d.hasPrefix(path + ": ") ? String(d.dropFirst(path.count + 2)) : d))
        }
        guard file.count <= maxFileBytes else {
            throw ImageError(path: path, reason: .unsupported("file is \(file.count) bytes, over the \(maxFileBytes)-byte limit"))
        }
        return try decode(bytes: file.bytes, name: path, draftSize: draftSize)
    }

    /// Decodes an image held in memory; `name` is used in errors.
    /// - Throws: `ImageError` as `decode(path:)`.
    public static func decode(bytes: UnsafeRawBufferPointer, name: String, draftSize: Int? = nil) throws -> RGBImage {
        guard !bytes.isEmpty else { throw ImageError(path: name, reason: .truncated("the file is empty")) }
        switch ImageFormat.sniff(bytes) {
        case .jpeg: return try decodeJPEG(bytes, name: name, draftSize: draftSize)
        case .png: return try decodePNG(bytes, name: name)
        case nil: throw ImageError(path: name, reason: .unknownFormat)
        }
    }

    /// Decodes an image held in a byte array; `name` is used in errors.
    /// - Throws: `ImageError` as `decode(path:)`.
    public static func decode(data: [UInt8], name: String) throws -> RGBImage {
        try data.withUnsafeBytes { try decode(bytes: $0, name: name) }
    }

    /// Refuses sizes over the limits (checked before pixel buffers are allocated).
    static func checkSize(width: Int, height: Int, name: String) throws {
        guard width >= 1, height >= 1 else { throw ImageError(path: name, reason: .corrupt("image is \(width)x\(height)")) }
        guard width <= maxDimension, height <= maxDimension, width * height <= maxPixels else {
            throw ImageError(path: name, reason: .tooLarge(width: width, height: height))
        }
    }
}
