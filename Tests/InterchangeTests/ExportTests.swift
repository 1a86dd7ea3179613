import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Export (effnet-convert SOURCE DEST --to FAMILY): DEST's name decides the container, the
/// family's own reader decides what its files can hold, the written file is read back before it
/// is committed, and a round trip through a framework's file is exact. What the real frameworks
/// make of the exported files is recorded by Fixtures/export/check_exports.py (results.json).
final class ExportTests: XCTestCase {
    static let repo = TorchFixtures.repo

    func fixture(_ path: String) -> String { Self.repo.appendingPathComponent(path).path }

    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    func out(_ name: String) -> String { work.appendingPathComponent(name).path }

    func convert(_ source: String, _ dest: String, to: FamilyName? = nil, family: FamilyName? = nil) throws -> ConversionReport {
        var o = Converter.Options()
        o.target = to
        o.family = family
        return try Converter.convert(source: source, destination: dest, options: o)
    }

    func canonical(_ path: String, family: FamilyName? = nil) throws -> [String: [UInt32]] {
        let w = try Converter.canonicalWeights(source: path, family: family)
        var d: [String: [UInt32]] = [:]
        for t in w.tensors { d[t.name] = t.tensor.scalars.map(\.bitPattern) }
        return d
    }

    func testContainerComesFromTheName() {
        XCTAssertEqual(ExportContainer.of(destination: "a/b.effw"), .effw)
        XCTAssertEqual(ExportContainer.of(destination: "b.PTH"), .torchArchive)
        XCTAssertEqual(ExportContainer.of(destination: "b.bin"), .torchArchive)
        XCTAssertEqual(ExportContainer.of(destination: "b.safetensors"), .safetensors)
        XCTAssertEqual(ExportContainer.of(destination: "b.onnx"), .onnx)
        XCTAssertEqual(ExportContainer.of(destination: "b.weights.h5"), .kerasWeightsH5)
        XCTAssertEqual(ExportContainer.of(destination: "b.h5"), .kerasH5)
        XCTAssertEqual(ExportContainer.of(destination: "hub/"), .hubFolder)
        XCTAssertEqual(ExportContainer.of(destination: "out/my-model"), .hubFolder)
        XCTAssertNil(ExportContainer.of(destination: "model.txt"))
        XCTAssertNil(ExportContainer.of(destination: "model.keras"))
    }

    func testUnknownContainerAndMissingTargetAreRefusedBeforeReading() throws {
        let src = fixture("Fixtures/torch/torchvision/weights.pth")
        XCTAssertThrowsError(try convert(src, out("model.txt"))) { e in
            XCTAssertTrue("\(e)".contains(".safetensors"), "\(e)")
        }
        XCTAssertThrowsError(try convert(src, out("model.pth"))) { e in
            XCTAssertTrue("\(e)".contains("--to"), "\(e)")
        }
        XCTAssertThrowsError(try convert(src, out("model.effw"), to: .timm)) { e in
            XCTAssertTrue("\(e)".contains("--to timm"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [])
    }

    /// The example: a Keras model pads with TF "SAME", which torchvision cannot hold;
    /// the refusal names the convention and the families that can.
    func testKerasToTorchvisionIsRefusedNamingTheConventionAndAlternatives() throws {
        let src = fixture("Fixtures/export/keras_w035/model.keras")
        XCTAssertThrowsError(try convert(src, out("model.safetensors"), to: .torchvision)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("padding"), m)
            XCTAssertTrue(m.contains("BN epsilon"), m)
            XCTAssertTrue(m.contains("--to timm-tf"), m)
            XCTAssertTrue(m.contains("--to lukemelas"), m)
            XCTAssertFalse(m.contains("--to timm "), m)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("model.safetensors")))
    }

    /// efficientnet_pytorch never adds a stage's first block's input; at width 0.1 Keras' first
    /// block keeps its width and adds it, so lukemelas cannot hold that model (loaded into the
    /// real efficientnet_pytorch it was 0.89 off: Fixtures/export/check_exports.py). At width
    /// 0.35 it can.
    func testLukemelasResidualRule() throws {
        XCTAssertThrowsError(try convert(fixture("Fixtures/keras/k3_imagenet_style.keras"), out("l.pth"), to: .lukemelas)) { e in
            XCTAssertTrue("\(e)".contains("block 0 adds its input"), "\(e)")
        }
        let dest = out("l.safetensors")
        XCTAssertTrue(try convert(fixture("Fixtures/export/keras_w035/model.keras"), dest, to: .lukemelas).written)
        XCTAssertEqual(try canonical(dest, family: .lukemelas), try canonical(fixture("Fixtures/export/keras_w035/model.keras")))
    }

    func testTorchvisionToTimmTFIsRefusedForPadding() throws {
        let src = fixture("Fixtures/torch/torchvision/weights.pth")
        XCTAssertThrowsError(try convert(src, out("m.safetensors"), to: .timmTF)) { e in
            XCTAssertTrue("\(e)".contains("padding"), "\(e)")
        }
    }

    /// Keras -> timm-tf: written, read back, and the weights equal the Keras model's bit for
    /// bit; the report says the caller now normalises with ImageNet's mean and std.
    func testKerasToTimmTFKeepsEveryWeightAndMovesTheNormalisation() throws {
        let src = fixture("Fixtures/keras/k3_imagenet_style.keras")
        let dest = out("model.safetensors")
        let report = try convert(src, dest, to: .timmTF)
        XCTAssertTrue(report.written)
        let summary = try XCTUnwrap(report.export)
        XCTAssertEqual(summary.verification?.passed, true)
        XCTAssertTrue(summary.inputConvention.contains("0.485"), summary.inputConvention)
        XCTAssertTrue(summary.notes.contains { $0.contains("softmax") })
        XCTAssertEqual(try canonical(dest, family: .timmTF), try canonical(src))
        // Plain safetensors as frameworks write them: no .effw keys.
        let header = try XCTUnwrap(String(data: try Data(contentsOf: URL(fileURLWithPath: dest)).prefix(4096), encoding: .isoLatin1))
        XCTAssertTrue(header.contains("\"format\":\"pt\""), header)
        XCTAssertFalse(header.contains("effw."))
        XCTAssertTrue(header.contains("conv_stem.weight"))
        XCTAssertTrue(header.contains("bn1.num_batches_tracked"))
    }

    /// The round trip: source -> .effw -> a framework's file -> .effw gives the same bits.
    func testRoundTripThroughFrameworkFilesIsExact() throws {
        for (fixturePath, family) in [("Fixtures/torch/torchvision/weights.pth", FamilyName.torchvision),
                                      ("Fixtures/torch/lukemelas/weights.pth", .lukemelas),
                                      ("Fixtures/torch/lite/weights.pth", .lite),
                                      ("Fixtures/torch/seed/weights.pth", .seed)] {
            let a = out("\(family.rawValue)-a.effw"), b = out("\(family.rawValue)-b.safetensors"), c = out("\(family.rawValue)-c.effw")
            _ = try convert(fixture(fixturePath), a, family: family)
            XCTAssertTrue(try convert(a, b, to: family).written, family.rawValue)
            _ = try convert(b, c, family: family)
            XCTAssertEqual(try canonical(c), try canonical(a), family.rawValue)
            XCTAssertEqual(try EffwFile(path: c).config(), try EffwFile(path: a).config(), family.rawValue)
        }
    }

    /// An ONNX export folds batch norms into its convolutions: a PyTorch target gets identity
    /// batch norms with the family's epsilon, and the model still computes what the graph does.
    func testFoldedBatchNormsBecomeIdentityBatchNorms() throws {
        let report = try convert(fixture("Fixtures/onnx/torchvision_ts13/model.onnx"), out("tv.safetensors"), to: .torchvision)
        XCTAssertTrue(report.written)
        XCTAssertTrue(report.export?.notes.contains { $0.contains("identity batch norms") } ?? false)
        let w = try Converter.canonicalWeights(source: out("tv.safetensors"), family: .torchvision)
        let gamma = try XCTUnwrap(w.tensors.first { $0.name == "stem.bn.weight" }?.tensor.scalars)
        XCTAssertTrue(gamma.allSatisfy { $0 == 1 })
        let variance = try XCTUnwrap(w.tensors.first { $0.name == "stem.bn.running_var" }?.tensor.scalars)
        XCTAssertTrue(variance.allSatisfy { $0 == 1 - w.config.bnEpsilon })
        // The graph's own output, from the fixture (written by onnxruntime from the real export).
        let model = try w.model()
        let input = try NPY.readTensor(path: fixture("Fixtures/onnx/torchvision_ts13/input.npy"))
        let expected = try NPY.readTensor(path: fixture("Fixtures/onnx/torchvision_ts13/source_output.npy"))
        XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(input), expected), 1e-4)
    }

    /// The model's output against the framework's own, for a converted or exported file.
    func assertReproduces(_ path: String, family: FamilyName? = nil, fixtureFolder: String, sizes: [String] = ["64", "67"],
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try Converter.canonicalWeights(source: path, family: family).model()
        for size in sizes {
            let input = try NPY.readTensor(path: fixture("\(fixtureFolder)/input_\(size).npy"))
            let expected = try NPY.readTensor(path: fixture("\(fixtureFolder)/expected_\(size).npy"))
            XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(input), expected), 1e-4, "\(path) at \(size)", file: file, line: line)
        }
    }

    /// timm-tf -> a transformers hub folder: config.json and preprocessor_config.json written
    /// from the model, read back by the hf family as transformers builds it, and the folder
    /// reproduces timm's own logits at the model's size. transformers' pads are fixed, timm-tf's
    /// follow the input: they agree where every stride-2 input is even (64), not at 67, and the
    /// report says so.
    func testTimmTFToTransformersFolder() throws {
        let dest = out("hf_model")
        let source = fixture("Fixtures/export/timm_tf_w035/weights.pth")
        let report = try convert(source, dest, to: .hf, family: .timmTF)
        XCTAssertTrue(report.written)
        for f in ["config.json", "preprocessor_config.json", "model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/" + f), f)
        }
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dest + "/config.json"))) as? [String: Any])
        XCTAssertEqual(json["model_type"] as? String, "efficientnet")
        XCTAssertEqual(json["width_coefficient"] as? Double, 0.35)
        XCTAssertEqual(try canonical(dest), try canonical(source, family: .timmTF))
        try assertReproduces(dest, fixtureFolder: "Fixtures/export/timm_tf_w035", sizes: ["64"])
        XCTAssertTrue(report.export?.notes.contains { $0.contains("not at every size") } ?? false, "\(report.export?.notes ?? [])")
        // Written again without --force: refused, the folder untouched.
        XCTAssertThrowsError(try convert(source, dest, to: .hf, family: .timmTF))
    }

    /// transformers -> timm-tf: the other direction of the same pair.
    func testTransformersToTimmTF() throws {
        let dest = out("timm_tf.safetensors")
        XCTAssertTrue(try convert(fixture("Fixtures/export/hf_w035"), dest, to: .timmTF).written)
        try assertReproduces(dest, family: .timmTF, fixtureFolder: "Fixtures/export/hf_w035", sizes: ["64"])
    }

    /// At the narrow widths of the other fixtures the first block keeps its width at stride 1:
    /// timm adds its input there, transformers does not, so the pair is refused with that reason.
    func testTransformersResidualRuleIsAConvention() throws {
        XCTAssertThrowsError(try convert(fixture("Fixtures/hf/hf_b0_like"), out("x.safetensors"), to: .timmTF)) { e in
            XCTAssertTrue("\(e)".contains("block 0"), "\(e)")
        }
    }

    /// torchvision -> ONNX: the graph takes what torchvision took, and read back by the project's
    /// ONNX reader it reproduces torchvision's own logits (ONNX Runtime runs it too: check_exports.py).
    func testTorchvisionToONNX() throws {
        let dest = out("tv.onnx")
        let report = try convert(fixture("Fixtures/torch/torchvision/weights.pth"), dest)
        XCTAssertEqual(report.export?.container, .onnx)
        XCTAssertEqual(report.export?.verification?.passed, true)
        XCTAssertNotNil(report.export?.normalisation)
        let model = try Converter.canonicalWeights(source: dest).model()
        let input = try NPY.readTensor(path: fixture("Fixtures/torch/input_64.npy"))
        let expected = try NPY.readTensor(path: fixture("Fixtures/torch/torchvision/expected_64.npy"))
        XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(input), expected), 1e-4)
    }

    /// timm-tf -> Keras: keras.applications' own layout, the preprocessing in its Normalization
    /// layer (the Keras model takes 0-255 pixels); torchvision's padding cannot go there.
    func testKerasTargets() throws {
        let report = try convert(fixture("Fixtures/export/timm_tf_w035/weights.pth"), out("k.weights.h5"), family: .timmTF)
        XCTAssertEqual(report.export?.family, .keras)
        XCTAssertEqual(report.export?.verification?.passed, true)
        XCTAssertNil(report.export?.normalisation, "a Keras model takes 0-255 pixels itself")
        XCTAssertTrue(try convert(fixture("Fixtures/export/timm_tf_w035/weights.pth"), out("k2.h5"), family: .timmTF).written)
        XCTAssertThrowsError(try convert(fixture("Fixtures/torch/torchvision/weights.pth"), out("tv.weights.h5"))) { e in
            XCTAssertTrue("\(e)".contains("padding"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("tv.weights.h5")))
    }

    /// timm builds a hub folder's model by its architecture name alone: a scaled structure, which
    /// no timm architecture has, cannot go into one (a .pth or .safetensors can hold it).
    func testTimmHubFolderNeedsATimmArchitecture() throws {
        let dest = out("timm_hub_out")
        XCTAssertThrowsError(try convert(fixture("Fixtures/export/timm_tf_w035/weights.pth"), dest, to: .timmTF, family: .timmTF)) { e in
            XCTAssertTrue("\(e)".contains("architecture name"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
    }

    /// A refused export into a new folder leaves no folder behind.
    func testRefusedFolderExportLeavesNothing() throws {
        let dest = out("timm_folder")
        XCTAssertThrowsError(try convert(fixture("Fixtures/keras/k3_imagenet_style.keras"), dest, to: .timm))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
    }
}
