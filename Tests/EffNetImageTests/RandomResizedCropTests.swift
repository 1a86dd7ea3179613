import EffNet
import EffNetImage
import XCTest

/// `randomResizedCrop`: torchvision's box rule (area 8-100%, ratio 3/4-4/3, inside the image,
/// central fallback) and the flip.
final class RandomResizedCropTests: XCTestCase {
    struct Counter: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Always the top of the range: every try fails (the box is larger than the image), so the
    /// fallback decides.
    struct Highest: RandomNumberGenerator { mutating func next() -> UInt64 { .max } }

    func testBoxesFollowTorchvisionsRule() {
        var g = Counter(state: 1)
        for (w, h) in [(320, 240), (50, 300), (64, 64), (1, 1)] {
            for _ in 0 ..< 200 {
                let b = ImagePreprocessor.randomResizedCropBox(width: w, height: h, using: &g)
                XCTAssertTrue(b.width >= 1 && b.height >= 1 && b.left >= 0 && b.top >= 0, "\(b)")
                XCTAssertTrue(b.left + b.width <= w && b.top + b.height <= h, "\(b) in \(w)x\(h)")
            }
        }
        // A very wide image's fallback: full height, width = round(height * 4/3), centred.
        var high = Highest()
        let b = ImagePreprocessor.randomResizedCropBox(width: 1000, height: 30, using: &high)
        XCTAssertEqual(b.height, 30)
        XCTAssertEqual(b.width, 40)
        XCTAssertEqual(b.left, 480)
    }

    func testCropIsTheConfiguredSizeAndSometimesMirrored() {
        var pre = EfficientNetConfig.ImagePreprocessing.imagenetTorch
        pre.cropSize = 32
        let p = ImagePreprocessor(pre)
        // Left half black, right half white.
        var pixels = [UInt8](repeating: 0, count: 80 * 60 * 3)
        for y in 0 ..< 60 { for x in 40 ..< 80 { for c in 0 ..< 3 { pixels[(y * 80 + x) * 3 + c] = 255 } } }
        let image = RGBImage(width: 80, height: 60, pixels: pixels)
        var g = Counter(state: 7)
        var mirrored = 0, plain = 0
        for _ in 0 ..< 60 {
            let out = p.randomResizedCrop(image, using: &g)
            XCTAssertEqual(out.width, 32)
            XCTAssertEqual(out.height, 32)
            let left = out[0, 16].r, right = out[31, 16].r
            if left > right { mirrored += 1 } else if right > left { plain += 1 }
        }
        XCTAssertGreaterThan(mirrored, 5)
        XCTAssertGreaterThan(plain, 5)
    }
}
