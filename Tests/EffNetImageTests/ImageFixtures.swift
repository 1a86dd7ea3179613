import EffNet
import Foundation
import EffNetImage
import XCTest

/// Fixtures/images (written by Fixtures/images/generate.py with Pillow and torchvision).
enum ImageFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images")

    static let names = ["photo_320x240.jpg", "progressive_150x200.jpg", "gray_100x75.jpg", "cmyk_64x48.jpg",
                        "alpha_71x53.png", "gray_45x90.png", "palette_60x40.png", "rgb16_40x30.png"]
    /// tag -> (resize shorter side, crop), as in generate.py.
    static let preprocessings: [String: (resize: Int, crop: Int)] = ["r48c40": (48, 40), "r37c31": (37, 31)]
    static let padded: [String: (resize: Int, crop: Int)] = ["r24c31": (24, 31)]
    static let paddedImages = ["photo_320x240.jpg", "gray_45x90.png"]
    static let tensorImages = ["photo_320x240.jpg", "alpha_71x53.png"]

    struct Expected: Decodable {
        struct Image: Decodable { var width: Int; var height: Int; var crc32: String; var mode: String }
        var images: [String: Image]
        var pillow: String
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    }

    /// A uint8 [H, W, 3] .npy as RGB bytes and its size.
    static func crop(_ name: String, _ tag: String) throws -> (pixels: [UInt8], height: Int, width: Int) {
        let a = try NPY.read(path: path("\(name).\(tag).npy"))
        XCTAssertEqual(a.dtype, .u8)
        let t = a.tensor
        return (t.scalars.map { UInt8($0) }, a.shape[0], a.shape[1])
    }

    static func preprocessing(resize: Int, crop: Int) -> EfficientNetConfig.ImagePreprocessing {
        var p = EfficientNetConfig.ImagePreprocessing.imagenetTorch
        p.resizeShorterTo = resize
        p.cropSize = crop
        return p
    }

    static func temporaryFile(_ bytes: [UInt8], name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("imageio-\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }
}
