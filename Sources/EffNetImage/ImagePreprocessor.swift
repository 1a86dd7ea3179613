import EffNet

/// Turns an `RGBImage` into a model input the way torchvision's pipeline does on a PIL image:
///
///     transforms.Resize(resizeShorterTo, interpolation)  # Pillow's resize (PillowResampler)
///     transforms.CenterCrop(cropSize)         # torchvision's rounding; zero padding if too small
///     transforms.ToTensor()                   # uint8 / 255 in float32 (or * pixelScale)
///     transforms.Normalize(mean, std)         # (x - mean) / std in float32
///
/// With `resizeMode == .exact` the resize squashes the image to a square (Hugging Face's image
/// processor, Keras' `load_img`) instead of keeping its aspect ratio. docs/PREPROCESSING.md
/// lists what each family stores and how close the result is to its framework's.
///
/// Resize and crop are fused: only the cropped window of the resized image is computed.
///
///     let image = try ImageDecoder.decode(path: "cat.jpg")
///     let x = ImagePreprocessor(model.config.imagePreprocessing).tensor(from: image)   // [1, 3, 224, 224]
public struct ImagePreprocessor: Sendable {
    public let preprocessing: EfficientNetConfig.ImagePreprocessing

    /// Largest resize target and crop accepted by `validate()`; `tensor(from:)` clamps to it
    /// (the network takes at most 8192 pixels a side).
    public static let maxSize = 8192

    public init(_ preprocessing: EfficientNetConfig.ImagePreprocessing) {
        self.preprocessing = preprocessing
    }

    /// Checks that the preprocessing is usable for a 3-channel image: sizes in 1...maxSize,
    /// three means, three finite non-zero standard deviations, a positive finite pixel scale.
    /// - Throws: `ConfigError.invalid` naming the field.
    public func validate() throws {
        let p = preprocessing
        guard (1 ... Self.maxSize).contains(p.resizeShorterTo), (1 ... Self.maxSize).contains(p.cropSize) else {
            throw ConfigError.invalid("imagePreprocessing: resizeShorterTo \(p.resizeShorterTo) and cropSize \(p.cropSize) must be in 1...\(Self.maxSize)")
        }
        guard p.mean.count == 3, p.std.count == 3 else {
            throw ConfigError.invalid("imagePreprocessing: images have 3 channels but mean/std have \(p.mean.count)/\(p.std.count) entries")
        }
        guard p.mean.allSatisfy(\.isFinite), p.std.allSatisfy({ $0.isFinite && $0 != 0 }),
              p.pixelScale.isFinite, p.pixelScale > 0 else {
            throw ConfigError.invalid("imagePreprocessing: mean, std and pixelScale must be finite, std non-zero, pixelScale positive")
        }
    }

    private var resizeTarget: Int { min(max(preprocessing.resizeShorterTo, 1), Self.maxSize) }
    private var cropTarget: Int { min(max(preprocessing.cropSize, 1), Self.maxSize) }

    /// The size torchvision's `Resize(resizeShorterTo)` gives an image of `width` x `height`:
    /// the shorter side becomes the target, the longer `int(target * long / short)`; with
    /// `resizeMode == .exact`, target x target.
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        if preprocessing.resizeMode == .exact { return (resizeTarget, resizeTarget) }
        let short = min(width, height), long = max(width, height)
        let newShort = resizeTarget
        let newLong = Int(Double(newShort * long) / Double(short))
        return width <= height ? (newShort, newLong) : (newLong, newShort)
    }

    /// Where torchvision's `CenterCrop(crop)` starts in a `size`-pixel dimension: Python's
    /// `int(round((size - crop) / 2))` (half to even), or, when the crop is larger, minus the
    /// zero padding torchvision adds before it (`(crop - size) // 2`).
    public static func cropOrigin(size: Int, crop: Int) -> Int {
        if crop > size { return -((crop - size) / 2) }
        return Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }

    /// Resize and centre crop, as RGB8: what torchvision holds just before `ToTensor`.
    public func cropped(_ image: RGBImage) -> RGBImage {
        let (w, h) = resizedSize(width: image.width, height: image.height)
        let c = cropTarget
        let top = Self.cropOrigin(size: h, crop: c), left = Self.cropOrigin(size: w, crop: c)
        let pixels = PillowResampler.resizeWindow(image, width: w, height: h, rows: top ..< top + c, columns: left ..< left + c,
                                                  interpolation: preprocessing.interpolation)
        return RGBImage(width: c, height: c, pixels: pixels)
    }

    /// The model input for `image`: float32 [1, 3, cropSize, cropSize].
    /// Sizes outside 1...maxSize are clamped and missing mean/std entries read as 0/1; call
    /// `validate()` first to refuse such preprocessing with an error instead.
    public func tensor(from image: RGBImage) -> Tensor {
        tensor(fromCropped: cropped(image))
    }

    /// `ToTensor` and `Normalize` of an image already resized and cropped (by `cropped(_:)`, or
    /// by an augmentation such as `randomResizedCrop`): float32 [1, 3, height, width].
    public func tensor(fromCropped crop: RGBImage) -> Tensor {
        var scalars = [Float](repeating: 0, count: 3 * crop.width * crop.height)
        scalars.withUnsafeMutableBufferPointer { write(crop, into: $0) }
        return Tensor(shape: [1, 3, crop.height, crop.width], scalars: scalars)
    }

    /// `ToTensor` and `Normalize` of `crop` written as CHW float32 into `destination` (which
    /// holds 3 * width * height values): one image of a batch, without an intermediate tensor.
    public func write(_ crop: RGBImage, into destination: UnsafeMutableBufferPointer<Float>) {
        let p = preprocessing
        let plane = crop.width * crop.height
        precondition(destination.count >= 3 * plane, "ImagePreprocessor.write: destination too small")
        // ToTensor divides by 255; when pixelScale is 1/n for an integer n, divide by n too, so
        // the values are bit-identical to torchvision's.
        let divisor = (1 / Double(p.pixelScale)).rounded()
        let divide = divisor >= 1 && divisor <= 65536 && Float(1 / divisor) == p.pixelScale
        let d = Float(divisor)
        crop.pixels.withUnsafeBufferPointer { pixels in
            for ch in 0 ..< 3 {
                let mean = ch < p.mean.count ? p.mean[ch] : 0
                let std = ch < p.std.count ? p.std[ch] : 1
                // A table of the 256 possible values: the same float operations, done once.
                var table = [Float](repeating: 0, count: 256)
                for v in 0 ..< 256 {
                    let raw = Float(v)
                    table[v] = ((divide ? raw / d : raw * p.pixelScale) - mean) / std
                }
                let out = destination.baseAddress! + ch * plane
                table.withUnsafeBufferPointer { table in
                    for i in 0 ..< plane { out[i] = table[Int(pixels[3 * i + ch])] }
                }
            }
        }
    }

    /// Stacks [1, C, H, W] tensors of one shape into [N, C, H, W].
    /// - Returns: nil when `tensors` is empty or the shapes differ.
    public static func batch(_ tensors: [Tensor]) -> Tensor? {
        guard let first = tensors.first, first.rank == 4, first.shape[0] == 1,
              tensors.allSatisfy({ $0.shape == first.shape }) else { return nil }
        var shape = first.shape
        shape[0] = tensors.count
        return Tensor(shape: shape, scalars: tensors.flatMap(\.scalars))
    }
}
