import EffNet
import Foundation
import EffNetImage
import XCTest

/// Preprocessing against torchvision on PIL images (Fixtures/images/generate.py):
/// Resize(r) + CenterCrop(c) compared as uint8, the whole pipeline with ToTensor and Normalize
/// compared as float32.
final class ImagePreprocessorTests: XCTestCase {
    /// Largest |swift - torchvision| over the uint8 crops of every image.
    func testResizeAndCropMatchTorchvision() throws {
        var worst = 0
        for name in ImageFixtures.names {
            let image = try ImageDecoder.decode(path: ImageFixtures.path(name))
            var cases = ImageFixtures.preprocessings
            if ImageFixtures.paddedImages.contains(name) { cases.merge(ImageFixtures.padded) { a, _ in a } }
            for (tag, p) in cases {
                let reference = try ImageFixtures.crop(name, tag)
                let crop = ImagePreprocessor(ImageFixtures.preprocessing(resize: p.resize, crop: p.crop)).cropped(image)
                XCTAssertEqual([crop.height, crop.width], [reference.height, reference.width], "\(name) \(tag)")
                guard crop.pixels.count == reference.pixels.count else { continue }
                let diff = zip(crop.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
                let differing = zip(crop.pixels, reference.pixels).filter { $0 != $1 }.count
                if diff > 0 { print("preprocess \(name) \(tag): max |diff| \(diff)/255 at \(differing) of \(crop.pixels.count) values") }
                worst = max(worst, diff)
                // Exact: decoding matches Pillow byte for byte and the resampler is Pillow's
                // fixed-point arithmetic, so any difference is a bug, not rounding.
                XCTAssertEqual(diff, 0, "\(name) \(tag): max |swift - torchvision| = \(diff)/255")
            }
        }
        print("preprocess: max |swift - torchvision| over all uint8 crops = \(worst)/255")
    }

    func testTensorMatchesTorchvision() throws {
        var worst: Float = 0
        for name in ImageFixtures.tensorImages {
            let image = try ImageDecoder.decode(path: ImageFixtures.path(name))
            for (tag, p) in ImageFixtures.preprocessings {
                let reference = try NPY.readTensor(path: ImageFixtures.path("\(name).\(tag).tensor.npy"))
                let pre = ImagePreprocessor(ImageFixtures.preprocessing(resize: p.resize, crop: p.crop))
                XCTAssertNoThrow(try pre.validate())
                let x = pre.tensor(from: image)
                XCTAssertEqual(x.shape, [1, 3, p.crop, p.crop])
                XCTAssertEqual(x.shape, reference.shape)
                guard x.shape == reference.shape else { continue }
                let c = Comparison(actual: x, reference: reference)
                print("preprocess tensor \(name) \(tag): max abs error \(c.maxAbsError)")
                worst = max(worst, c.maxAbsError)
                // one uint8 step after normalisation is 1/255/0.225 = 0.0174
                XCTAssertLessThanOrEqual(c.maxAbsError, 1e-6, "\(name) \(tag)")
            }
        }
        print("preprocess: max |swift - torchvision| over normalised tensors = \(worst)")
    }

    func testTorchvisionSizeRules() {
        let pre = ImagePreprocessor(.imagenetTorch)
        XCTAssertTrue(pre.resizedSize(width: 400, height: 300) == (341, 256))   // int(256 * 400 / 300)
        XCTAssertTrue(pre.resizedSize(width: 300, height: 400) == (256, 341))
        XCTAssertTrue(pre.resizedSize(width: 256, height: 256) == (256, 256))
        XCTAssertTrue(pre.resizedSize(width: 1, height: 1000) == (256, 256_000))
        // int(round((size - crop) / 2)) rounds half to even; too-small sizes are padded
        XCTAssertEqual(ImagePreprocessor.cropOrigin(size: 256, crop: 224), 16)
        XCTAssertEqual(ImagePreprocessor.cropOrigin(size: 225, crop: 224), 0)   // round(0.5) = 0
        XCTAssertEqual(ImagePreprocessor.cropOrigin(size: 227, crop: 224), 2)   // round(1.5) = 2
        XCTAssertEqual(ImagePreprocessor.cropOrigin(size: 229, crop: 224), 2)   // round(2.5) = 2
        XCTAssertEqual(ImagePreprocessor.cropOrigin(size: 24, crop: 31), -3)    // (31 - 24) // 2
    }

    func testExtremeAspectRatioOnlyComputesTheCrop() {
        // 1 x 4000: torchvision would resize to 256 x 1,024,000; the fused crop does not.
        let image = RGBImage(width: 1, height: 4000, pixels: (0 ..< 12000).map { UInt8(truncatingIfNeeded: $0 / 47) })
        let x = ImagePreprocessor(.imagenetTorch).tensor(from: image)
        XCTAssertEqual(x.shape, [1, 3, 224, 224])
        XCTAssertTrue(x.isFinite)
    }

    func testInvalidPreprocessingIsReportedNotTrapped() {
        var p = EfficientNetConfig.ImagePreprocessing.imagenetTorch
        p.mean = [0.5]
        XCTAssertThrowsError(try ImagePreprocessor(p).validate())
        // tensor(from:) still returns (missing entries read as mean 0, std 1)
        XCTAssertEqual(ImagePreprocessor(p).tensor(from: RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12))).shape,
                       [1, 3, 224, 224])
        p = .imagenetTorch
        p.cropSize = 100_000
        XCTAssertThrowsError(try ImagePreprocessor(p).validate())
    }

    func testBatchStacksImages() throws {
        let a = Tensor(shape: [1, 3, 2, 2], scalars: (0 ..< 12).map(Float.init))
        let b = Tensor(shape: [1, 3, 2, 2], scalars: (12 ..< 24).map(Float.init))
        XCTAssertEqual(ImagePreprocessor.batch([a, b]), Tensor(shape: [2, 3, 2, 2], scalars: (0 ..< 24).map(Float.init)))
        XCTAssertNil(ImagePreprocessor.batch([]))
        XCTAssertNil(ImagePreprocessor.batch([a, Tensor(shape: [1, 3, 1, 4], scalars: (0 ..< 12).map(Float.init))]))
    }

    func testImageNetClassNames() {
        XCTAssertEqual(ImageNetClasses.names.count, 1000)
        XCTAssertEqual(ImageNetClasses.names[0], "tench")
        XCTAssertEqual(ImageNetClasses.names[281], "tabby")
        XCTAssertEqual(ImageNetClasses.names[967], "espresso")
        XCTAssertNil(ImageNetClasses.name(1000))
    }
}
