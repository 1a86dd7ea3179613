import EffNet

extension RGBImage {
    /// This image resized to `width` x `height` exactly as Pillow's
    /// `Image.resize((width, height), filter)` does for NEAREST, BILINEAR and BICUBIC
    /// (byte-identical; `PillowResampler`).
    /// - Precondition: `width, height >= 1`.
    public func resized(width: Int, height: Int,
                        interpolation: EfficientNetConfig.ImagePreprocessing.Interpolation) -> RGBImage {
        precondition(width >= 1 && height >= 1, "RGBImage.resized: \(width)x\(height)")
        let pixels = PillowResampler.resizeWindow(self, width: width, height: height, rows: 0 ..< height, columns: 0 ..< width,
                                                  interpolation: interpolation)
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
