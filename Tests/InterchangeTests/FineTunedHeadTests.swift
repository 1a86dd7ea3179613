import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Fine-tuned heads (Fixtures/generate_heads.py): classifiers replaced by an nn.Sequential in
/// torchvision, timm, efficientnet_pytorch, the seed notebook's class and transformers, and
/// Keras models with their own top, each saved by its framework with the framework's output.
/// The converted model matches that output within 1e-4 (relative to max(1, max|reference|)).
final class FineTunedHeadTests: XCTestCase {
    static let root = TorchFixtures.repo.appendingPathComponent("Fixtures/heads")

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-heads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func fixture(_ name: String) -> String { Self.root.appendingPathComponent(name).path }

    /// (weights, the chain the framework printed, family)
    static let torchCases: [(String, String, String)] = [
        ("tv_mlp/weights.pth", "dropout,linear,relu,dropout,linear", "torchvision"),
        ("timm_bn_silu/weights.safetensors", "linear,batchnorm,silu,linear", "timm"),
        ("luke_gelu/weights.pth", "linear,gelu,linear", "lukemelas"),
        ("seed_sigmoid/weights.pth", "linear,sigmoid,dropout,linear", "seed"),
        ("hf_mlp", "linear,relu,linear", "hf"),
    ]

    func reference(_ weights: String) throws -> (Tensor, Tensor) {
        let folder = weights.contains("/") ? (weights as NSString).deletingLastPathComponent : weights
        return (try NPY.readTensor(path: fixture(folder + "/input.npy")), try NPY.readTensor(path: fixture(folder + "/expected.npy")))
    }

    /// --head spells the chain: the model matches the framework.
    func testHeadOptionGivesTheFrameworksOutput() throws {
        for (weights, chain, family) in Self.torchCases {
            let checkpoint = try SourceReader.read(path: fixture(weights))
            let given = try HeadSpelling.parse(chain)
            var candidates = try Converter.candidateMappings(checkpoint, family: family == "timm" ? .timm : nil, imageSize: nil,
                                                             names: nil, head: given)
            XCTAssertEqual(candidates.count, 1, weights)
            let mapping = try XCTUnwrap(candidates.popLast())
            XCTAssertEqual(mapping.family, family, weights)
            XCTAssertEqual(mapping.config.classifierChain.map(HeadSpelling.spell), chain, weights)
            let model = try Converter.buildModel(checkpoint, mapping)
            let (x, y) = try reference(weights)
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(x), y), 1e-4, weights)
        }
    }

    /// Without --head the weights allow several chains; the reference pair picks the one the
    /// framework ran, and the written .effw holds it.
    func testReferencePairChoosesTheChain() throws {
        for (weights, chain, _) in Self.torchCases {
            let (x, y) = (fixture(((weights.contains("/") ? (weights as NSString).deletingLastPathComponent : weights)) + "/input.npy"),
                          fixture(((weights.contains("/") ? (weights as NSString).deletingLastPathComponent : weights)) + "/expected.npy"))
            var options = Converter.Options()
            options.checkInput = x
            options.checkOutput = y
            let dest = dir.appendingPathComponent((weights as NSString).deletingPathExtension.replacingOccurrences(of: "/", with: "_") + ".effw").path
            let report = try Converter.convert(source: fixture(weights), destination: dest, options: options)
            XCTAssertEqual(report.passed, true, weights)
            XCTAssertEqual(report.config?.classifierChain.map(HeadSpelling.spell), chain, weights)
            XCTAssertTrue(report.notes.contains { $0.hasPrefix("classifier chain decided by the reference: \(chain)") }, "\(report.notes)")
            let written = try EfficientNet(contentsOf: URL(fileURLWithPath: dest))
            XCTAssertEqual(written.config.classifierChain.map(HeadSpelling.spell), chain)
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try written(try NPY.readTensor(path: x)), try NPY.readTensor(path: y)), 1e-4, weights)
        }
    }

    /// Neither --head nor a pair: the documented error, listing the plausible chains; nothing written.
    func testAmbiguousHeadListsTheCandidates() throws {
        let dest = dir.appendingPathComponent("out.effw").path
        XCTAssertThrowsError(try Converter.convert(source: fixture("tv_mlp/weights.pth"), destination: dest, options: .init())) { e in
            guard case let MappingError.ambiguousHead(_, source, weights, candidates, detail) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(weights, "classifier: 1 linear(32), 4 linear(10); 2, 3 without weights")
            XCTAssertEqual(source, "classifier")
            XCTAssertEqual(candidates, ["dropout,linear,relu,dropout,linear", "dropout,linear,silu,dropout,linear",
                                        "dropout,linear,gelu,dropout,linear", "dropout,linear,sigmoid,dropout,linear",
                                        "dropout,linear,dropout,dropout,linear"])
            XCTAssertTrue(detail.contains("--head CHAIN") && detail.contains("--check-input"), detail)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
    }

    /// A chain that contradicts the weights is refused, saying where.
    func testHeadThatDoesNotFitIsRefused() throws {
        let checkpoint = try SourceReader.read(path: fixture("tv_mlp/weights.pth"))
        for (chain, fragment) in [("linear,relu,linear", "up to position 4"), ("dropout,linear,relu,linear,linear", "layer 3 has no weights"),
                                  ("dropout,batchnorm,relu,dropout,linear", "layer 1 is linear(32)")] {
            XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: nil, imageSize: nil, names: nil,
                                                                 head: try HeadSpelling.parse(chain))) { e in
                XCTAssertTrue("\(e)".contains(fragment), "\(chain): \(e)")
            }
        }
        // A plain Linear classifier takes only parameter-free layers and a final softmax.
        let plain = try SourceReader.read(path: TorchFixtures.root.appendingPathComponent("torchvision/weights.pth").path)
        let soft = try Converter.candidateMappings(plain, family: nil, imageSize: nil, names: nil, head: try HeadSpelling.parse("dropout,linear,softmax"))
        XCTAssertEqual(soft.first?.config.finalSoftmax, true)
        XCTAssertThrowsError(try Converter.candidateMappings(plain, family: nil, imageSize: nil, names: nil, head: try HeadSpelling.parse("linear,relu,linear")))
    }

    func testSpelling() throws {
        XCTAssertEqual(HeadSpelling.spell(try HeadSpelling.parse(" Linear, BN ,swish,Dense,softmax")), "linear,batchnorm,silu,linear,softmax")
        for bad in ["", "linear,,linear", "relu", "linear,tanh", String(repeating: "linear,", count: 70) + "linear"] {
            XCTAssertThrowsError(try HeadSpelling.parse(bad), bad)
        }
    }

    // MARK: Keras

    /// The model config says every layer: no --head, no pair needed.
    func testKerasModelConfigGivesTheChain() throws {
        for (file, chain) in [("keras_tutorial/model.keras", "batchnorm,dropout,linear,softmax"),
                              ("keras_mlp/model.keras", "linear,relu,dropout,linear")] {
            let checkpoint = try SourceReader.read(path: fixture(file))
            let candidates = try Converter.candidateMappings(checkpoint, family: nil, imageSize: nil, names: nil, head: nil)
            XCTAssertEqual(candidates.count, 1, file)
            let mapping = try XCTUnwrap(candidates.first)
            XCTAssertEqual(mapping.config.classifierChain.map(HeadSpelling.spell), chain, file)
            XCTAssertFalse(mapping.config.finalSoftmax, file)
            let model = try Converter.buildModel(checkpoint, mapping)
            let (x, y) = try reference(file)
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(x), y), 1e-4, file)
        }
    }

    /// A .weights.h5 has the Dense layers but not their activations: ambiguous alone, decided by
    /// --head (spelled with or without the Dropout) or a reference pair.
    func testKerasWeightsOnlyNeedsHeadOrPair() throws {
        let file = "keras_mlp/model.weights.h5"
        let checkpoint = try SourceReader.read(path: fixture(file))
        // Five activations (or none) between the Dense layers, each with and without a final softmax.
        XCTAssertEqual(try Converter.candidateMappings(checkpoint, family: nil, imageSize: [64, 64], names: nil, head: nil).count, 10)
        let (x, y) = try reference(file)
        for chain in ["linear,relu,linear", "dense,relu,dropout,dense"] {
            let mapping = try XCTUnwrap(try Converter.candidateMappings(checkpoint, family: nil, imageSize: [64, 64], names: nil,
                                                                        head: try HeadSpelling.parse(chain)).first)
            let model = try Converter.buildModel(checkpoint, mapping)
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(x), y), 1e-4, chain)
        }
        var options = Converter.Options()
        options.checkInput = fixture("keras_mlp/input.npy")
        options.checkOutput = fixture("keras_mlp/expected.npy")
        let report = try Converter.convert(source: fixture(file), destination: dir.appendingPathComponent("k.effw").path, options: options)
        XCTAssertEqual(report.passed, true)
        XCTAssertEqual(report.config?.classifierChain.map(HeadSpelling.spell), "linear,relu,linear")
        XCTAssertThrowsError(try Converter.convert(source: fixture(file), destination: dir.appendingPathComponent("k2.effw").path, options: .init())) { e in
            XCTAssertTrue("\(e)".contains("plausible chains: linear,relu,linear | linear,relu,linear,softmax | linear,silu,linear"), "\(e)")
        }
    }

    /// keras.io's tutorial saved with save_weights: the BatchNormalization before the Dense, and
    /// the Dense's softmax, come back from the reference pair.
    func testKerasTutorialWeightsOnlyWithPair() throws {
        var options = Converter.Options()
        options.checkInput = fixture("keras_tutorial/input.npy")
        options.checkOutput = fixture("keras_tutorial/expected.npy")
        let report = try Converter.convert(source: fixture("keras_tutorial/model.weights.h5"),
                                           destination: dir.appendingPathComponent("t.effw").path, options: options)
        XCTAssertEqual(report.passed, true)
        XCTAssertEqual(report.config?.classifierChain.map(HeadSpelling.spell), "batchnorm,dropout,linear,softmax")
    }
}
