/// An 8-bit RGB image: `pixels` holds `width * height * 3` bytes, row-major, R G B interleaved
/// (what Pillow holds after `Image.open(path).convert("RGB")`).
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    /// - Precondition: `width, height >= 1` and `pixels.count == width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 1 && height >= 1 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes do not fill \(width)x\(height) RGB")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The three channel values of pixel (x, y).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
