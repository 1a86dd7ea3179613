import EffNet
import Foundation
import EffNetImage

/// Pooled features of image files through a frozen EfficientNet: images decoded and
/// preprocessed as the model's config says (or augmented), a batch at a time on all cores, then
/// `EfficientNet.pooledFeatures` (the fast forward pass, images side by side on the cores).
public struct FeatureExtractor: Sendable {
    public let model: EfficientNet
    public let preprocessor: ImagePreprocessor
    public var batchSize: Int

    /// - Throws: `ConfigError` when the model's image preprocessing is unusable.
    public init(model: EfficientNet, batchSize: Int = 16) throws {
        self.model = model
        preprocessor = ImagePreprocessor(model.config.imagePreprocessing)
        try preprocessor.validate()
        self.batchSize = max(1, batchSize)
    }

    /// [paths.count, headChannels] features.
    /// - Parameters:
    ///   - augmentSeed: when given, each image is augmented (`randomResizedCrop`) with a generator
    ///     seeded from it and the image's index (so threads do not change the result); else
    ///     resized and centre-cropped.
    ///   - progress: called after each batch with (images done, total).
    /// - Throws: `ImageError` naming the first image that cannot be decoded; `InputShapeError`.
    public func features(of paths: [String], augmentSeed: UInt64? = nil, progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        let width = model.config.headChannels
        var out = [Float](repeating: 0, count: paths.count * width)
        var b0 = 0
        while b0 < paths.count {
            let batch = Array(paths[b0 ..< min(paths.count, b0 + batchSize)])
            let first = b0
            let inputs = try parallelMap(batch.indices) { k -> Tensor in
                let image = try ImageDecoder.decode(path: batch[k])
                guard let seed = augmentSeed else { return preprocessor.tensor(from: image) }
                var g = SeededGenerator.stream(seed, 5, UInt64(first + k))
                return preprocessor.tensor(fromCropped: preprocessor.randomResizedCrop(image, using: &g))
            }
            guard let x = ImagePreprocessor.batch(inputs) else { preconditionFailure("preprocessed images differ in shape") }
            let f = try model.pooledFeatures(x)
            out.replaceSubrange(first * width ..< (first + batch.count) * width, with: f.scalars)
            b0 += batch.count
            progress(b0, paths.count)
        }
        return Tensor(shape: [paths.count, width], scalars: out)
    }
}
