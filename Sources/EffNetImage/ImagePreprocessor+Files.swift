import Dispatch
import EffNet
import Foundation

extension ImagePreprocessor {
    /// The model input for a batch of image files: float32 [paths.count, 3, cropSize, cropSize],
    /// the files decoded and preprocessed on up to `threads` threads, each written straight into
    /// its slot of the batch.
    ///
    /// `draftJPEG` decodes JPEGs with Pillow's `draft()` rule for the resize target (libjpeg's
    /// inverse DCT shrinks a large photo by 2, 4 or 8 first): several times faster on photos
    /// much larger than the model's input, but not equal to Pillow's full decode followed by the
    /// resize (docs/PREPROCESSING.md measures the difference). Off, the tensor is torchvision's.
    /// - Throws: the `ImageError` of the first failing file in `paths` order.
    public func tensor(fromFiles paths: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                       draftJPEG: Bool = false) throws -> Tensor {
        let c = min(max(preprocessing.cropSize, 1), Self.maxSize)
        let imageSize = 3 * c * c
        var scalars = [Float](repeating: 0, count: paths.count * imageSize)
        let draft = draftJPEG ? min(max(preprocessing.resizeShorterTo, 1), Self.maxSize) : nil
        var errors = [Error?](repeating: nil, count: paths.count)
        let workers = max(1, min(threads, paths.count))
        scalars.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errs in
                // Each worker takes every workers-th file: slots and error entries are disjoint.
                nonisolated(unsafe) let out = out, errs = errs
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    for i in stride(from: w, to: paths.count, by: workers) {
                        do {
                            let image = try ImageDecoder.decode(path: paths[i], draftSize: draft)
                            let slot = UnsafeMutableBufferPointer(rebasing: out[i * imageSize ..< (i + 1) * imageSize])
                            write(cropped(image), into: slot)
                        } catch {
                            errs[i] = error
                        }
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first { throw first }
        return Tensor(shape: [paths.count, 3, c, c], scalars: scalars)
    }
}
