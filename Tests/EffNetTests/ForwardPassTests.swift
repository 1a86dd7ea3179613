import EffNet
import Foundation
import XCTest

/// The Swift forward pass against real PyTorch (Fixtures/generate_core.py): the seed notebook's
/// EfficientNetB0Mini and a width/depth 0.5 torchvision EfficientNet, loaded from .effw files
/// that Python's safetensors wrote, on a 2x3x64x64 and an odd 1x3x57x71 batch.
///
/// Tolerance (CONTRACT): max |swift - torch| / max(1, max |torch|) <= 1e-4, and the same top-1
/// class for every image.
final class ForwardPassTests: XCTestCase {
    static let tolerance: Float = 1e-4
    static let seed = "seed_b0_mini"
    static let torchvision = "tv_b0_w050_d050"

    private func load(_ model: String) throws -> EfficientNet {
        try ForwardPassFixtures.model(model)
    }

    /// Runs `model` on every fixture input with `kernels` and checks it against PyTorch.
    private func assertMatchesPyTorch(_ net: EfficientNet, _ model: String, kernels: InferenceOptions.Kernels,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        net.inferenceOptions = InferenceOptions(kernels: kernels)
        for tag in ForwardPassFixtures.inputTags {
            let x = try ForwardPassFixtures.input(tag)
            let reference = try ForwardPassFixtures.output(model, tag)
            let y = try net(x)
            XCTAssertEqual(y.shape, reference.shape, file: file, line: line)
            guard y.shape == reference.shape else { continue }
            let c = Comparison(actual: y, reference: reference)
            print("forward \(model) \(tag) \(kernels.rawValue): max abs error \(c.maxAbsError), max |ref| \(c.maxAbsReference), relative \(c.relativeError), top-1 \(c.top1Agreement)")
            XCTAssertLessThanOrEqual(c.relativeError, Self.tolerance, "\(model) \(tag) \(kernels.rawValue)", file: file, line: line)
            XCTAssertEqual(c.top1Agreement, 1, "\(model) \(tag) \(kernels.rawValue): top-1 differs", file: file, line: line)
        }
    }

    // MARK: The seed notebook's EfficientNetB0Mini

    func testSeedB0MiniConfigIsThePreset() throws {
        let folder = try ForwardPassFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try EffwFile(path: ForwardPassFixtures.effw(Self.seed, into: folder).path)
        XCTAssertEqual(try file.config(), EfficientNetConfig.seedB0Mini(numClasses: 10))
        XCTAssertTrue(file.entries.allSatisfy { $0.dtype == .f16 }, "the seed fixture stores F16 (see generate_core.py)")
        XCTAssertEqual(file.provenance()?.family, "seed")
    }

    func testSeedB0MiniMatchesPyTorchReferenceKernels() throws {
        try assertMatchesPyTorch(try load(Self.seed), Self.seed, kernels: .reference)
    }

    func testSeedB0MiniMatchesPyTorchFastKernels() throws {
        try assertMatchesPyTorch(try load(Self.seed), Self.seed, kernels: .fast)
    }

    // MARK: torchvision EfficientNet, width 0.5, depth 0.5

    func testTorchvisionConfigIsThePreset() throws {
        let file = try EffwFile(path: ForwardPassFixtures.url("\(Self.torchvision).effw").path)
        let expected = EfficientNetConfig.scaled(name: Self.torchvision, width: 0.5, depth: 0.5, numClasses: 10)
        XCTAssertEqual(try file.config(), expected)
        XCTAssertTrue(file.entries.allSatisfy { $0.dtype == .f32 })
        XCTAssertEqual(file.provenance()?.family, "torchvision")
    }

    /// The fixture .effw files predate block kinds: their stored config has no `kind`, so they
    /// are the "V1 .effw written before the change" that must still load as MBConv (the tests
    /// above check their numbers against PyTorch).
    func testEffwWithoutBlockKindsLoadsAsMBConv() throws {
        let file = try EffwFile(path: ForwardPassFixtures.url("\(Self.torchvision).effw").path)
        let stored = try XCTUnwrap(file.metadata[EffwKeys.config])
        XCTAssertFalse(stored.contains("\"kind\""), "the fixture should predate block kinds")
        let config = try file.config()
        XCTAssertTrue(config.blocks.allSatisfy { $0.kind == .mbconv })
        XCTAssertFalse(config.isV2)
    }

    func testTorchvisionMatchesPyTorchReferenceKernels() throws {
        try assertMatchesPyTorch(try load(Self.torchvision), Self.torchvision, kernels: .reference)
    }

    func testTorchvisionMatchesPyTorchFastKernels() throws {
        try assertMatchesPyTorch(try load(Self.torchvision), Self.torchvision, kernels: .fast)
    }

    // MARK: The fixtures are sensitive: a wrong convention fails by far more than the tolerance

    /// The same weights under a mutated config; returns the relative error against PyTorch.
    /// (1x3x57x71: 71 -> 36 makes the second stride-2 convolution see an even width.)
    private func relativeError(_ model: String, tag: String = "1x3x57x71",
                               mutate: (inout EfficientNetConfig) -> Void) throws -> Float {
        let original = try load(model)
        var config = original.config
        mutate(&config)
        let mutated = try EfficientNet(config: config)
        try mutated.load(original.parameters)
        mutated.inferenceOptions = InferenceOptions(kernels: .reference)
        let y = try mutated(try ForwardPassFixtures.input(tag))
        return Comparison(actual: y, reference: try ForwardPassFixtures.output(model, tag)).relativeError
    }

    func testWrongBatchNormEpsilonIsDetected() throws {
        for model in [Self.seed, Self.torchvision] {
            let err = try relativeError(model) { $0.bnEpsilon = 1e-3 }
            print("forward \(model) with BN epsilon 1e-3 instead of 1e-5: relative error \(err)")
            XCTAssertGreaterThan(err, 100 * Self.tolerance, model)
        }
    }

    func testWrongPaddingIsDetected() throws {
        for model in [Self.seed, Self.torchvision] {
            // TF "SAME" pads stride-2 convolutions (0, 1) on even sizes where PyTorch pads (1, 1).
            let err = try relativeError(model) { $0.padding = .sameDynamic }
            print("forward \(model) with sameDynamic padding instead of symmetric: relative error \(err)")
            XCTAssertGreaterThan(err, 100 * Self.tolerance, model)
        }
    }
}
