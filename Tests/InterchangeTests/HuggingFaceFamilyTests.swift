import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Hugging Face transformers' EfficientNetForImageClassification, from hub folders written by
/// transformers' own save_pretrained (Fixtures/generate_hf.py): config.json beside
/// model.safetensors (hf_b0_like) or pytorch_model.bin (hf_dwpad, with depthwise_padding on two
/// stride-2 blocks). The Swift model matches transformers' logits within relative 1e-4 at 64x64
/// and at an odd 67x67 (the padding is static, whatever the input).
final class HuggingFaceFamilyTests: XCTestCase {
    static let root = TorchFixtures.repo.appendingPathComponent("Fixtures/hf")

    func folder(_ name: String) -> String { Self.root.appendingPathComponent(name).path }

    func testHubFoldersMatchTransformers() throws {
        for name in ["hf_b0_like", "hf_dwpad"] {
            let checkpoint = try SourceReader.read(path: folder(name))
            XCTAssertNotNil(checkpoint.notes[SourceReader.HubNotes.config], name)
            let mapping = try TorchFixtures.mapping(checkpoint, .hf)
            XCTAssertEqual(mapping.config.bnEpsilon, 1e-3)
            XCTAssertEqual(mapping.classNames, (0 ..< 7).map { "class_\($0)" }, name)
            // transformers adds no residual to a stage's first block, even one that keeps its width.
            XCTAssertEqual(mapping.config.blocks[0].hasResidual, false, name)
            let model = try Converter.buildModel(checkpoint, mapping)
            for size in ["64", "67"] {
                let input = try NPY.readTensor(path: folder(name) + "/input_\(size).npy")
                let expected = try NPY.readTensor(path: folder(name) + "/expected_\(size).npy")
                XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(input), expected), 1e-4, "\(name) \(size)")
            }
        }
    }

    /// depthwise_padding changes the numbers: mapping hf_dwpad's weights as if its config listed
    /// no block (and so padding as hf_b0_like does) must fail by far more than the tolerance.
    func testDepthwisePaddingMatters() throws {
        let checkpoint = try SourceReader.read(path: folder("hf_dwpad"))
        var plain = checkpoint
        plain.notes[SourceReader.HubNotes.config] = checkpoint.notes[SourceReader.HubNotes.config]?
            .replacingOccurrences(of: "\"depthwise_padding\": [\n    1,\n    3\n  ]", with: "\"depthwise_padding\": []")
        XCTAssertNotEqual(plain.notes[SourceReader.HubNotes.config], checkpoint.notes[SourceReader.HubNotes.config])
        let right = try TorchFixtures.mapping(checkpoint, .hf), wrong = try TorchFixtures.mapping(plain, .hf)
        XCTAssertNotEqual(right.config.padding, wrong.config.padding)
        let input = try NPY.readTensor(path: folder("hf_dwpad") + "/input_64.npy")
        let expected = try NPY.readTensor(path: folder("hf_dwpad") + "/expected_64.npy")
        XCTAssertGreaterThan(TorchFixtures.relativeError(try Converter.buildModel(plain, wrong)(input), expected), 1e-2)
    }

    /// A config.json whose label count contradicts the classifier is an error naming both.
    func testContradictingConfigIsRefused() throws {
        var checkpoint = try SourceReader.read(path: folder("hf_b0_like"))
        checkpoint.notes[SourceReader.HubNotes.config] = checkpoint.notes[SourceReader.HubNotes.config]?
            .replacingOccurrences(of: "\"6\": \"class_6\"", with: "\"6\": \"class_6\", \"7\": \"class_7\"")
        XCTAssertThrowsError(try HuggingFaceFamily.mapping(for: checkpoint)) { e in
            XCTAssertTrue("\(e)".contains("8 labels") && "\(e)".contains("7 rows"), "\(e)")
        }
    }

    func testFolderWithoutWeightsIsRefused() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-empty-hub-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try SourceReader.read(path: empty.path)) { e in
            XCTAssertTrue("\(e)".contains("model.safetensors or pytorch_model.bin"), "\(e)")
        }
    }

    /// A config.json that is no model config: refused for a hub folder (it must describe the
    /// weights), noted and ignored beside a weights file given on its own.
    func testUnusableConfigBesideWeights() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-hub-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = dir.appendingPathComponent("model.safetensors").path
        try FileManager.default.copyItem(atPath: folder("hf_b0_like") + "/model.safetensors", toPath: weights)
        try Data("[1, 2, 3]".utf8).write(to: dir.appendingPathComponent("config.json"))
        let alone = try SourceReader.read(path: weights)
        XCTAssertNil(alone.notes[SourceReader.HubNotes.config])
        XCTAssertTrue(alone.notes[SourceReader.HubNotes.ignored]?.contains("not a JSON object") == true, "\(alone.notes)")
        XCTAssertThrowsError(try SourceReader.read(path: dir.path)) { e in
            XCTAssertTrue("\(e)".contains("config.json: not a JSON object"), "\(e)")
        }
    }

    /// config.json numbers are untrusted: absurd ones never size anything (no trap, no huge
    /// allocation); the mapping falls back to the weights and the stage table, or refuses.
    func testAbsurdConfigNumbersAreBounded() throws {
        var checkpoint = try SourceReader.read(path: folder("hf_b0_like"))
        let text = try XCTUnwrap(checkpoint.notes[SourceReader.HubNotes.config])
        checkpoint.notes[SourceReader.HubNotes.config] = text
            .replacingOccurrences(of: "\"depth_coefficient\": 0.34", with: "\"depth_coefficient\": 1e300")
            .replacingOccurrences(of: "\"image_size\": 64", with: "\"image_size\": 9999999999")
        XCTAssertNotEqual(checkpoint.notes[SourceReader.HubNotes.config], text)
        let mapping = try HuggingFaceFamily.mapping(for: checkpoint)
        XCTAssertEqual(mapping.config.imagePreprocessing.cropSize, 224)
        XCTAssertTrue(mapping.notes.contains { $0.contains("no config.json") || $0.contains("stage table") }, "\(mapping.notes)")
    }

    /// preprocessor_config.json (EfficientNetImageProcessor) becomes the Config's preprocessing:
    /// both sides resized, no crop, its resample filter, std squared by include_top, the mean
    /// moved by rescale_offset (Fixtures/preprocess checks the pipeline against transformers).
    func testImageProcessorConfigBecomesThePreprocessing() throws {
        var checkpoint = try SourceReader.read(path: folder("hf_b0_like"))
        checkpoint.notes[SourceReader.HubNotes.preprocessor] = """
            {"image_processor_type": "EfficientNetImageProcessor", "size": {"height": 600, "width": 600}, "resample": 0,
             "do_center_crop": false, "crop_size": {"height": 289, "width": 289}, "rescale_factor": 0.00392156862745098,
             "rescale_offset": false, "do_normalize": true, "image_mean": [0.485, 0.456, 0.406],
             "image_std": [0.47853944, 0.4732864, 0.47434163], "include_top": true}
            """
        var p = try HuggingFaceFamily.mapping(for: checkpoint).config.imagePreprocessing
        XCTAssertEqual([p.resizeShorterTo, p.cropSize], [600, 600])
        XCTAssertEqual(p.resizeMode, .exact)
        XCTAssertEqual(p.interpolation, .nearest)
        XCTAssertEqual(p.mean, [0.485, 0.456, 0.406])
        XCTAssertEqual(p.std, [0.47853944 * 0.47853944, 0.4732864 * 0.4732864, 0.47434163 * 0.47434163])
        checkpoint.notes[SourceReader.HubNotes.preprocessor] = """
            {"size": {"height": 64, "width": 64}, "do_center_crop": true, "crop_size": {"height": 56, "width": 56},
             "rescale_offset": true, "include_top": false, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
            """
        p = try HuggingFaceFamily.mapping(for: checkpoint).config.imagePreprocessing
        XCTAssertEqual([p.resizeShorterTo, p.cropSize], [64, 56])
        XCTAssertEqual(p.interpolation, .bicubic)   // transformers 5's class default
        XCTAssertEqual(p.mean, [1.5, 1.5, 1.5])
        XCTAssertEqual(p.std, [0.5, 0.5, 0.5])
    }
}
