import Foundation

extension ImagePreprocessor {
    /// The training-time augmentation of torchvision's defaults, on a PIL image:
    ///
    ///     transforms.RandomResizedCrop(cropSize)    # scale (0.08, 1), ratio (3/4, 4/3), bilinear
    ///     transforms.RandomHorizontalFlip()         # p = 0.5
    ///
    /// as RGB8 (`tensor(fromCropped:)` normalises it). The box is chosen as torchvision's
    /// `get_params` does (ten tries, then the central crop of the nearest allowed ratio), with
    /// `generator`'s numbers instead of torch's.
    public func randomResizedCrop<G: RandomNumberGenerator>(_ image: RGBImage, using generator: inout G) -> RGBImage {
        let box = Self.randomResizedCropBox(width: image.width, height: image.height, using: &generator)
        var window = [UInt8](repeating: 0, count: box.width * box.height * 3)
        for y in 0 ..< box.height {
            let src = ((box.top + y) * image.width + box.left) * 3
            window[(y * box.width * 3) ..< ((y + 1) * box.width * 3)] = image.pixels[src ..< src + box.width * 3]
        }
        let crop = RGBImage(width: box.width, height: box.height, pixels: window)
        let c = min(max(preprocessing.cropSize, 1), Self.maxSize)
        var pixels = PillowResampler.resizeWindow(crop, width: c, height: c, rows: 0 ..< c, columns: 0 ..< c, filter: .bilinear)
        if Double.random(in: 0 ..< 1, using: &generator) < 0.5 {
            for y in 0 ..< c {
                for x in 0 ..< c / 2 {
                    let a = (y * c + x) * 3, b = (y * c + c - 1 - x) * 3
                    for ch in 0 ..< 3 { pixels.swapAt(a + ch, b + ch) }
                }
            }
        }
        return RGBImage(width: c, height: c, pixels: pixels)
    }

    /// torchvision's `RandomResizedCrop.get_params(img, scale=(0.08, 1.0), ratio=(3/4, 4/3))`.
    public static func randomResizedCropBox<G: RandomNumberGenerator>(width: Int, height: Int, using generator: inout G)
        -> (top: Int, left: Int, width: Int, height: Int) {
        let area = Double(width * height)
        let ratio = (3.0 / 4.0, 4.0 / 3.0)
        let logRatio = (log(ratio.0), log(ratio.1))
        for _ in 0 ..< 10 {
            let target = area * Double.random(in: 0.08 ..< 1, using: &generator)
            let aspect = exp(Double.random(in: logRatio.0 ..< logRatio.1, using: &generator))
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = Int.random(in: 0 ... height - h, using: &generator)
                let left = Int.random(in: 0 ... width - w, using: &generator)
                return (top, left, w, h)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.0 {
            h = max(1, min(height, Int((Double(w) / ratio.0).rounded(.toNearestOrEven))))
        } else if inRatio > ratio.1 {
            w = max(1, min(width, Int((Double(h) * ratio.1).rounded(.toNearestOrEven))))
        }
        return ((height - h) / 2, (width - w) / 2, w, h)
    }
}
