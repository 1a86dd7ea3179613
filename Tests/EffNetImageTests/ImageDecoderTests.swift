import EffNet
import Foundation
import EffNetImage
import XCTest

/// Decoding against Pillow's `Image.open(p).convert("RGB")`, and refusal of damaged files.
final class ImageDecoderTests: XCTestCase {
    func testDecodesLikePillow() throws {
        let expected = try ImageFixtures.expected()
        for name in ImageFixtures.names {
            guard let e = expected.images[name] else { XCTFail("\(name) missing from expected.json"); continue }
            let image = try ImageDecoder.decode(path: ImageFixtures.path(name))
            XCTAssertEqual(image.width, e.width, name)
            XCTAssertEqual(image.height, e.height, name)
            XCTAssertEqual(CRC32.hex(CRC32.checksum(image.pixels)), e.crc32,
                           "\(name) (\(e.mode)): decoded pixels differ from Pillow \(expected.pillow)")
        }
    }

    func testFormatIsSniffedFromContent() throws {
        let jpeg = try ImageFixtures.bytes("gray_100x75.jpg")
        // a JPEG named .png still decodes as JPEG
        let path = try ImageFixtures.temporaryFile(jpeg, name: "really-a-jpeg.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try ImageDecoder.decode(path: path).width, 100)
    }

    // MARK: refusals: a typed error naming the file, never a crash, never libjpeg's exit()

    private func assertRefused(_ bytes: [UInt8], name: String, file: StaticString = #filePath, line: UInt = #line,
                               _ check: (ImageError.Reason) -> Bool) {
        let path: String
        do { path = try ImageFixtures.temporaryFile(bytes, name: name) } catch { return XCTFail("\(error)") }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let image = try ImageDecoder.decode(path: path)
            XCTFail("\(name): decoded a \(image.width)x\(image.height) image from damaged data", file: file, line: line)
        } catch let e as ImageError {
            XCTAssertEqual(e.path, path, file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(path + ": "), e.description, file: file, line: line)
            XCTAssertTrue(check(e.reason), "\(name): unexpected reason \(e.reason)", file: file, line: line)
        } catch {
            XCTFail("\(name): not an ImageError: \(error)", file: file, line: line)
        }
    }

    func testTruncatedJPEGIsRefused() throws {
        for name in ["photo_320x240.jpg", "progressive_150x200.jpg", "cmyk_64x48.jpg"] {
            let data = try ImageFixtures.bytes(name)
            for cut in [2, 3, 20, 200, data.count / 2, data.count - 2] {
                assertRefused(Array(data.prefix(cut)), name: "cut\(cut)-\(name)") { reason in
                    if case .truncated = reason { return true }
                    if case .corrupt = reason { return cut < 400 } // cut inside the headers
                    return false
                }
            }
        }
    }

    func testTruncatedPNGIsRefused() throws {
        for name in ["alpha_71x53.png", "palette_60x40.png", "rgb16_40x30.png"] {
            let data = try ImageFixtures.bytes(name)
            for cut in [8, 12, 30, data.count / 2, data.count - 1, data.count - 12] {
                assertRefused(Array(data.prefix(cut)), name: "cut\(cut)-\(name)") { reason in
                    if case .truncated = reason { return true }
                    return false
                }
            }
        }
    }

    func testDamagedDataIsRefused() throws {
        // JPEG: entropy-coded data overwritten from a third of the file on
        var jpeg = try ImageFixtures.bytes("photo_320x240.jpg")
        for i in stride(from: jpeg.count / 3, to: jpeg.count - 2, by: 1) { jpeg[i] = 0xFF }
        assertRefused(jpeg, name: "ff-photo.jpg") { _ in true }
        // a frame header with an impossible sample precision (7 bits)
        assertRefused([0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x07, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9],
                      name: "precision7.jpg") {
            if case .corrupt = $0 { return true }
            return false
        }
        // Scattered bit flips in the scan data: JPEG has no checksum, so libjpeg only notices
        // when a flip breaks the Huffman coding. Either way: an image or an ImageError, no crash.
        var rng = SplitMix64(seed: 42)
        for trial in 0 ..< 20 {
            var flipped = try ImageFixtures.bytes("progressive_150x200.jpg")
            for _ in 0 ..< 20 { flipped[Int(rng.next() % UInt64(flipped.count - 1002)) + 1000] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            do { _ = try ImageDecoder.decode(data: flipped, name: "flips\(trial).jpg") } catch let e as ImageError {
                XCTAssertEqual(e.path, "flips\(trial).jpg")
            }
        }
        // PNG: a flipped bit in the compressed image data fails its CRC
        var png = try ImageFixtures.bytes("alpha_71x53.png")
        png[png.count / 2] ^= 0x10
        assertRefused(png, name: "bitflip-alpha.png") {
            if case .corrupt = $0 { return true }
            return false
        }
    }

    func testNotAnImageIsRefused() {
        assertRefused(Array("GIF89a not supported".utf8), name: "x.gif") { $0 == .unknownFormat }
        assertRefused([], name: "empty.jpg") {
            if case .truncated = $0 { return true }
            return false
        }
    }

    func testOversizedImagesAreRefusedBeforeDecoding() throws {
        // JPEG: patch the frame header (SOF0/SOF2) to 20000 x 20000
        var jpeg = try ImageFixtures.bytes("photo_320x240.jpg")
        guard let sof = (2 ..< jpeg.count - 9).first(where: { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) }) else {
            return XCTFail("no SOF marker")
        }
        jpeg[sof + 5] = 0x4E; jpeg[sof + 6] = 0x20   // height 20000
        jpeg[sof + 7] = 0x4E; jpeg[sof + 8] = 0x20   // width 20000
        assertRefused(jpeg, name: "huge.jpg") { $0 == .tooLarge(width: 20000, height: 20000) }

        // PNG: IHDR width and height 20000, with the chunk's CRC fixed so libpng reads it
        var png = try ImageFixtures.bytes("gray_45x90.png")
        for (offset, value) in [(16, 20000), (20, 20000)] {
            for i in 0 ..< 4 { png[offset + i] = UInt8((value >> (24 - 8 * i)) & 0xFF) }
        }
        let crc = CRC32.checksum(Array(png[12 ..< 29]))
        for i in 0 ..< 4 { png[29 + i] = UInt8((crc >> UInt32(24 - 8 * i)) & 0xFF) }
        assertRefused(png, name: "huge.png") { $0 == .tooLarge(width: 20000, height: 20000) }
    }

    func testUnreadablePathsNameTheFile() {
        let missing = "/nonexistent/effnet/cat.jpg"
        XCTAssertThrowsError(try ImageDecoder.decode(path: missing)) { error in
            guard let e = error as? ImageError, case .unreadable = e.reason else { return XCTFail("\(error)") }
            XCTAssertTrue(e.description.hasPrefix(missing + ": "), e.description)
        }
        XCTAssertThrowsError(try ImageDecoder.decode(path: ImageFixtures.directory.path)) { error in
            guard let e = error as? ImageError, case .unreadable = e.reason else { return XCTFail("\(error)") }
        }
    }
}

/// A small deterministic generator for the damaged-data trials.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
