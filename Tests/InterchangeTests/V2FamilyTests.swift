import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// EfficientNetV2 in every family, against Fixtures/v2 (Fixtures/generate_v2.py and
/// generate_v2_keras.py, run against torchvision, timm, Keras 3 and onnxruntime):
/// - small width/depth-scaled models of each family: the Swift model, on the fast path and on the
///   reference kernels, reproduces the framework's own output within relative 1e-4;
/// - ONNX exports of them: the graph walk maps them and the Swift model matches the source;
/// - the real full-size models' names and shapes (manifests): each family detects and maps them
///   into exactly the blocks the framework's own modules have (the block tables the generator
///   read from the built models), names the variant, and takes the framework's BN epsilon.
final class V2FamilyTests: XCTestCase {
    static let root = TorchFixtures.repo.appendingPathComponent("Fixtures/v2")

    static func path(_ components: String...) -> String {
        components.reduce(root) { $0.appendingPathComponent($1) }.path
    }

    /// What the generator read from the framework's modules for one block.
    struct BlockFacts: Decodable {
        var kind: String
        var kernel: Int
        var stride: Int
        var `in`: Int
        var expanded: Int
        var out: Int
        var se: Int?
        var residual: Bool
        var convs: Int
    }

    struct Facts: Decodable {
        struct Channels: Decodable { var channels: Int }
        var family: String?
        var variant: String?
        var bn_eps: [Double]
        var padding: String?
        var stem: Channels
        var head: Channels
        var blocks: [BlockFacts]
    }

    /// Checks the config's blocks against the framework's block table, block by block.
    func assertBlocks(_ config: EfficientNetConfig, _ facts: Facts, _ what: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(config.stem.outChannels, facts.stem.channels, "\(what): stem", file: file, line: line)
        XCTAssertEqual(config.headChannels, facts.head.channels, "\(what): head", file: file, line: line)
        XCTAssertEqual(config.blocks.count, facts.blocks.count, "\(what): block count", file: file, line: line)
        for (i, (b, f)) in zip(config.blocks, facts.blocks).enumerated() {
            let w = "\(what) block \(i)"
            XCTAssertEqual(b.kind.rawValue, f.kind, w, file: file, line: line)
            XCTAssertEqual([b.kernel, b.stride, b.inChannels, b.expandedChannels, b.outChannels],
                           [f.kernel, f.stride, f.in, f.expanded, f.out], w, file: file, line: line)
            XCTAssertEqual(b.seChannels, f.se, "\(w): SE width", file: file, line: line)
            XCTAssertEqual(b.hasResidual, f.residual, "\(w): residual", file: file, line: line)
            if b.kind == .fused {
                XCTAssertEqual(b.hasProjection ? 2 : 1, f.convs, "\(w): convolutions", file: file, line: line)
            }
        }
    }

    /// Small models of every PyTorch family: converted and run, fast and reference, against the
    /// framework's outputs at 64x64 (and 67x67, odd sizes, where the fixture has them).
    func testTorchFamiliesMatchTheirFrameworks() throws {
        let cases: [(String, FamilyName)] = [
            ("tv_s_like", .torchvision), ("timm_rw_t_like", .timm), ("timm_rw_s_like", .timm),
            ("timm_tf_b0_like", .timmTF), ("timm_tf_s_like", .timmTF),
        ]
        for (folder, family) in cases {
            let facts = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: Self.path(folder, "info.json"))))
            let checkpoint = try SourceReader.read(path: Self.path(folder, "weights.pth"))
            let mapping = try TorchFixtures.mapping(checkpoint, family)
            assertBlocks(mapping.config, facts, folder)
            XCTAssertTrue(mapping.config.isV2, folder)
            XCTAssertEqual(Double(mapping.config.bnEpsilon), facts.bn_eps[0], accuracy: 1e-9, folder)
            XCTAssertEqual(mapping.config.padding, family == .timmTF ? .sameDynamic : .symmetric, folder)
            let model = try Converter.buildModel(checkpoint, mapping)
            for size in ["64", "67"] {
                let inputPath = Self.path(folder, "input_\(size).npy")
                guard FileManager.default.fileExists(atPath: inputPath) else { continue }
                let input = try NPY.readTensor(path: inputPath)
                let expected = try NPY.readTensor(path: Self.path(folder, "expected_\(size).npy"))
                for kernels in [InferenceOptions.Kernels.fast, .reference] {
                    model.inferenceOptions.kernels = kernels
                    let error = TorchFixtures.relativeError(try model(input), expected)
                    XCTAssertLessThanOrEqual(error, 1e-4, "\(folder) \(size)x\(size) \(kernels)")
                }
            }
            model.inferenceOptions.kernels = .fast
        }
    }

    /// A safetensors copy converts to the same config as the .pth.
    func testSafetensorsCopyMapsTheSame() throws {
        let pth = try TorchFixtures.mapping(try SourceReader.read(path: Self.path("timm_rw_s_like", "weights.pth")), .timm)
        let st = try TorchFixtures.mapping(try SourceReader.read(path: Self.path("timm_rw_s_like", "weights.safetensors")), .timm)
        XCTAssertEqual(pth.config, st.config)
        // timm's rw stem: fused blocks with a projection at expand ratio 1.
        XCTAssertEqual(pth.config.blocks[0].fusedProjection, true)
        XCTAssertEqual(pth.config.blocks[0].expandRatio, 1)
    }

    /// A wrong convention must fail by far more than the tolerance (the fixtures can tell).
    func testWrongConventionsFail() throws {
        let checkpoint = try SourceReader.read(path: Self.path("timm_tf_s_like", "weights.pth"))
        let mapping = try TorchFixtures.mapping(checkpoint, .timmTF)
        let input = try NPY.readTensor(path: Self.path("timm_tf_s_like", "input_67.npy"))
        let expected = try NPY.readTensor(path: Self.path("timm_tf_s_like", "expected_67.npy"))
        var wrongPadding = mapping
        wrongPadding.config.padding = .symmetric
        var wrongEps = mapping
        wrongEps.config.bnEpsilon = 1e-5
        for m in [wrongPadding, wrongEps] {
            let error = TorchFixtures.relativeError(try Converter.buildModel(checkpoint, m)(input), expected)
            XCTAssertGreaterThan(error, 1e-2, "padding \(m.config.padding.mode), eps \(m.config.bnEpsilon)")
        }
    }

    /// Keras 3 EfficientNetV2 (B-style and S-style preprocessing, a base with a user's head), in
    /// every Keras layout present, against the reloaded Keras model's output.
    func testKerasMatchesKeras() throws {
        for folder in ["keras_b_like", "keras_s_like", "keras_notop_head"] {
            let facts = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: Self.path(folder, "info.json"))))
            let input = try NPY.readTensor(path: Self.path(folder, "input_64.npy"))
            let expected = try NPY.readTensor(path: Self.path(folder, "expected_64.npy"))
            // A .weights.h5 holds no model config: its head's activation and (for V2) its
            // preprocessing are keras.applications' defaults, which a user's head does not share.
            let files = folder == "keras_notop_head" ? ["model.keras", "model.h5"] : ["model.keras", "model.h5", "model.weights.h5"]
            for name in files where FileManager.default.fileExists(atPath: Self.path(folder, name)) {
                let what = "\(folder)/\(name)"
                let checkpoint = try SourceReader.read(path: Self.path(folder, name))
                let mappings = try Converter.candidateMappings(checkpoint, family: nil)
                XCTAssertEqual(mappings.map(\.family), ["keras"], what)
                let mapping = try XCTUnwrap(mappings.first)
                assertBlocks(mapping.config, facts, what)
                XCTAssertEqual(mapping.config.padding, .sameDynamic, what)
                XCTAssertEqual(Double(mapping.config.bnEpsilon), facts.bn_eps[0], accuracy: 1e-9, what)
                let out = try Converter.buildModel(checkpoint, mapping)(input)
                XCTAssertLessThanOrEqual(TorchFixtures.relativeError(out, expected), 1e-4, what)
            }
        }
    }

    /// The ONNX exports of the torchvision, tf_ timm and Keras cases, through the graph walk.
    func testONNXExportsWalkAndMatch() throws {
        for folder in ["onnx_tv_s_like", "onnx_timm_tf_s_like", "onnx_keras_b_like"] {
            let checkpoint = try SourceReader.read(path: Self.path(folder, "model.onnx"))
            let mappings = try Converter.candidateMappings(checkpoint, family: nil)
            let mapping = try XCTUnwrap(mappings.first, folder)
            XCTAssertTrue(mapping.config.isV2, folder)
            let input = try NPY.readTensor(path: Self.path(folder, "input.npy"))
            let out = try Converter.buildModel(checkpoint, mapping)(input)
            let source = try NPY.readTensor(path: Self.path(folder, "source_output.npy"))
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(out, source), 1e-4, folder)
            let reference = try XCTUnwrap(checkpoint.reference, folder)
            let ort = try NPY.readTensor(path: Self.path(folder, "ort_output.npy"))
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try reference.run(input), ort), 1e-4, "\(folder): interpreter vs ORT")
        }
    }

    /// The real torchvision efficientnet_v2_s/m/l and timm V2 models, by names and shapes.
    func testRealTorchModelsByNamesAndShapes() throws {
        let expected: [(manifest: String, family: FamilyName, families: Set<String>)] = [
            ("torchvision", .torchvision, ["torchvision"]), ("timm", .timm, ["timm", "timm-tf"]), ("timm-tf", .timmTF, ["timm", "timm-tf"]),
        ]
        for (file, family, families) in expected {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("manifests", "\(file).json")))
            let manifests = try JSONDecoder().decode([TorchFixtures.Manifest].self, from: data)
            let facts = try JSONDecoder().decode([Facts].self, from: data)
            XCTAssertFalse(manifests.isEmpty, file)
            for (m, f) in zip(manifests, facts) {
                let checkpoint = try TorchFixtures.shapeOnlyCheckpoint(path: "\(m.family)/\(m.variant)", tensors: m.namedShapes)
                let candidates = try Converter.candidateMappings(checkpoint, family: nil)
                XCTAssertEqual(Set(candidates.map(\.family)), families, m.variant)
                let mapping = try XCTUnwrap(candidates.first { $0.family == family.rawValue }, m.variant)
                assertBlocks(mapping.config, f, m.variant)
                XCTAssertEqual(mapping.config.name, m.variant, "variant named")
                XCTAssertEqual(Double(mapping.config.bnEpsilon), m.bn_eps[0], accuracy: 1e-9, m.variant)
                let sources = Dictionary(uniqueKeysWithValues: m.namedShapes)
                let model = try EfficientNet(config: mapping.config)
                let shapes = Dictionary(uniqueKeysWithValues: model.parameterShapes.map { ($0.name, $0.shape) })
                XCTAssertEqual(Set(mapping.assignments.map(\.canonical)), Set(shapes.keys), m.variant)
                for a in mapping.assignments { XCTAssertEqual(sources[a.source], shapes[a.canonical], "\(m.variant): \(a.source)") }
                for (source, fate) in mapping.fates(for: checkpoint) {
                    if case .unused = fate { XCTFail("\(m.variant): \(source) unused") }
                }
            }
        }
        // torchvision's own weights' transforms (recorded by the generator from the weights' metadata).
        let tv = try TorchFixtures.shapeOnlyCheckpoint(path: "v2l", tensors: try JSONDecoder().decode(
            [TorchFixtures.Manifest].self, from: Data(contentsOf: URL(fileURLWithPath: Self.path("manifests", "torchvision.json"))))[2].namedShapes)
        let l = try TorchFixtures.mapping(tv, .torchvision).config.imagePreprocessing
        XCTAssertEqual([l.resizeShorterTo, l.cropSize], [480, 480])
        XCTAssertEqual(l.mean, [0.5, 0.5, 0.5])
    }

    /// The real keras.applications EfficientNetV2B0-B3/S/M/L, by layer names and shapes.
    func testRealKerasModelsByNamesAndShapes() throws {
        for variant in ["b0", "b1", "b2", "b3", "s", "m", "l"] {
            let url = URL(fileURLWithPath: Self.path("manifests", "keras_efficientnetv2\(variant).json"))
            let data = try Data(contentsOf: url)
            let facts = try JSONDecoder().decode(Facts.self, from: data)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            let layers = try XCTUnwrap(json["layers"] as? [[Any]])
            let manifest = KerasVariantTests.Manifest(layers: try layers.map { l in
                (try XCTUnwrap(l[0] as? String), try XCTUnwrap(l[1] as? String), try XCTUnwrap(l[2] as? [[Int]]))
            })
            let checkpoint = try KerasVariantTests.checkpoint(manifest, naming: .keras3)
            let mappings = try Converter.candidateMappings(checkpoint, family: nil)
            let mapping = try XCTUnwrap(mappings.first, variant)
            XCTAssertEqual(mapping.family, "keras")
            assertBlocks(mapping.config, facts, "EfficientNetV2\(variant.uppercased())")
            XCTAssertEqual(mapping.config.padding, .sameDynamic)
            let style = mapping.notes.joined(separator: "\n")
            XCTAssertTrue(style.contains(variant.hasPrefix("b") ? "x / 255" : "x / 128 - 1"), style)
        }
    }
}
