import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// google/automl EfficientNetV2 checkpoints (`efficientnetv2-*/` names), read by the tf-official
/// family: a small V2 written by TensorFlow's Saver from timm weights, verified against timm's
/// output, and the names and shapes of full-size S, B3 and XL (Fixtures/generate_tf_checkpoints.py
/// `automl`).
final class TFAutomlV2Tests: XCTestCase {
    static let root = TFCheckpointConversionTests.root.appendingPathComponent("automl_v2")
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-automl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func convert(variables: SourceReader.TFVariables = .ema, reference: String = "output.npy") throws -> ConversionReport {
        var o = Converter.Options()
        o.read.tfVariables = variables
        o.checkInput = Self.root.appendingPathComponent("input.npy").path
        o.checkOutput = Self.root.appendingPathComponent(reference).path
        let dest = folder.appendingPathComponent("\(variables)-\(UUID().uuidString).effw").path
        return try Converter.convert(source: Self.root.path, destination: dest, options: o)
    }

    /// With no flags: EMA copies, fused blocks with and without expansion, MBConv with SE, the
    /// strides from the width changes, automl's conventions; timm's logits within 1e-4.
    func testConvertsWithNoFlagsAndMatchesTimm() throws {
        let r = try convert()
        XCTAssertEqual(r.family, FamilyName.tfOfficial.rawValue)
        XCTAssertEqual(r.passed, true, r.text)
        XCTAssertTrue(r.written)
        XCTAssertEqual(r.fates.filter { if case .unused = $0.fate { return true } else { return false } }.count, 0)
        for f in r.fates {
            if case let .mapped(canonical, _) = f.fate {
                XCTAssertTrue(f.source.hasSuffix("/ExponentialMovingAverage"), "\(canonical) from \(f.source)")
            }
        }
        XCTAssertTrue(r.notes.contains { $0.contains("google/automl EfficientNetV2 names") }, r.notes.joined(separator: "\n"))

        let checkpoint = try SourceReader.read(path: Self.root.path)
        let m = try TFOfficialFamily.mapping(for: checkpoint)
        let c = m.config
        XCTAssertEqual(c.blocks.map(\.kind), [.fused, .fused, .fused, .fused, .mbconv, .mbconv, .mbconv, .mbconv])
        XCTAssertEqual(c.blocks.map(\.hasProjection), [false, false, true, true, true, true, true, true])
        XCTAssertEqual(c.blocks.map(\.stride), [1, 1, 2, 2, 2, 1, 1, 2])
        XCTAssertEqual(c.blocks.map(\.stage), [0, 0, 1, 2, 3, 4, 4, 5])
        XCTAssertEqual(c.blocks.map { $0.seChannels != nil }, [false, false, false, false, true, true, true, true])
        XCTAssertEqual(c.blocks.map(\.hasResidual), [true, true, false, false, false, false, true, false])
        XCTAssertEqual(c.bnEpsilon, 1e-3)
        XCTAssertEqual(c.padding, .sameDynamic)
        XCTAssertEqual(c.activation, .silu)
        XCTAssertEqual(c.imagePreprocessing.mean, [128, 128, 128])
        XCTAssertEqual(c.imagePreprocessing.std, [128, 128, 128])
        let source = { (canonical: String) in m.assignments.first { $0.canonical == canonical }?.source }
        XCTAssertEqual(source("blocks.0.fused.conv.weight"), "efficientnetv2-s/blocks_0/conv2d/kernel/ExponentialMovingAverage")
        XCTAssertEqual(source("blocks.2.fused.bn.weight"), "efficientnetv2-s/blocks_2/tpu_batch_normalization/gamma/ExponentialMovingAverage")
        XCTAssertEqual(source("blocks.2.project.conv.weight"), "efficientnetv2-s/blocks_2/conv2d_1/kernel/ExponentialMovingAverage")
        XCTAssertEqual(source("blocks.2.project.bn.running_var"),
                       "efficientnetv2-s/blocks_2/tpu_batch_normalization_1/moving_variance/ExponentialMovingAverage")
        XCTAssertEqual(source("blocks.4.project.bn.bias"), "efficientnetv2-s/blocks_4/tpu_batch_normalization_2/beta/ExponentialMovingAverage")
        let detected = FamilyRegistry.detect(checkpoint)
        XCTAssertEqual(detected.first?.family, .tfOfficial)
        XCTAssertTrue(detected.first?.variant.hasPrefix("custom EfficientNetV2") == true, detected.first?.variant ?? "")
    }

    /// The raw variables (weights + noise) fail against the EMA reference and pass against timm's
    /// output from them: the copy chosen matters for V2 as for V1.
    func testRawVariablesFailVerification() throws {
        let raw = try convert(variables: .raw)
        XCTAssertEqual(raw.passed, false)
        XCTAssertFalse(raw.written)
        let rawAgainstRaw = try convert(variables: .raw, reference: "raw_output.npy")
        XCTAssertEqual(rawAgainstRaw.passed, true, rawAgainstRaw.text)
    }

    /// Names and shapes of a full-size automl model (values absent: zero strides).
    static func fullSize(_ variant: String) throws -> SourceCheckpoint {
        let data = try Data(contentsOf: root.appendingPathComponent("shapes.json"))
        let all = try JSONSerialization.jsonObject(with: data) as! [String: [[Any]]]
        let zero = ByteStorage([0, 0, 0, 0])
        let tensors = try XCTUnwrap(all[variant]).map { pair in
            let shape = pair[1] as! [Int]
            return SourceTensor(name: pair[0] as! String,
                                raw: try! RawTensor(dtype: .f32, shape: shape, strides: shape.map { _ in 0 }, storage: zero))
        }
        return SourceCheckpoint(path: variant, format: .tfCheckpoint, tensors: tensors)
    }

    /// Full-size S, B3 and XL are recognised as automl's presets, with their stage tables, eval
    /// sizes and preprocessing, and every mapped shape fits the canonical layout.
    func testFullSizeVariantsAreRecognised() throws {
        for (variant, blocks, stages, size, mean) in [
            ("efficientnetv2-s", 40, 6, 384, [Float](repeating: 128, count: 3)),
            ("efficientnetv2-b3", 32, 6, 300, [0.485 * 255, 0.456 * 255, 0.406 * 255]),
            ("efficientnetv2-xl", 100, 7, 512, [Float](repeating: 128, count: 3)),
        ] {
            let checkpoint = try Self.fullSize(variant)
            let detection = try XCTUnwrap(TFOfficialFamily.detect(checkpoint))
            XCTAssertTrue(detection.variant.hasPrefix("\(variant) (google/automl"), detection.variant)
            let m = try TFOfficialFamily.mapping(for: checkpoint)
            XCTAssertEqual(m.config.name, variant)
            XCTAssertEqual(m.config.blocks.count, blocks, variant)
            XCTAssertEqual(Set(m.config.blocks.map(\.stage)).count, stages, variant)
            XCTAssertEqual(m.config.imagePreprocessing.cropSize, size, variant)
            XCTAssertEqual(m.config.imagePreprocessing.mean, mean, variant)
            XCTAssertEqual(m.config.numClasses, 1000)
            let shapes = Dictionary(uniqueKeysWithValues: checkpoint.tensors.map { ($0.name, $0.shape) })
            let canonical = Dictionary(uniqueKeysWithValues: EfficientNet.parameterShapes(for: m.config).map { ($0.name, $0.shape) })
            XCTAssertEqual(Set(m.assignments.map(\.canonical)), Set(canonical.keys), variant)
            for a in m.assignments {
                let s = try XCTUnwrap(shapes[a.source], a.source)
                XCTAssertEqual(KerasVariantTests.transformed(s, a.transform), canonical[a.canonical], "\(variant): \(a.source)")
            }
        }
    }

    /// A shape that does not fit is refused with the variable's name and what was expected.
    func testAShapeThatDoesNotFitNamesTheVariable() throws {
        let zero = ByteStorage([0, 0, 0, 0])
        func damaged(_ name: String, _ shape: [Int]) throws -> SourceCheckpoint {
            var checkpoint = try SourceReader.read(path: Self.root.path)
            let i = try XCTUnwrap(checkpoint.tensors.firstIndex { $0.name == name }, name)
            checkpoint.tensors[i] = SourceTensor(name: name, raw: try RawTensor(dtype: .f32, shape: shape, strides: shape.map { _ in 0 }, storage: zero))
            return checkpoint
        }
        // The projection of a fused block must read the fused conv's 64 channels.
        let projection = try damaged("efficientnetv2-s/blocks_3/conv2d_1/kernel/ExponentialMovingAverage", [1, 1, 63, 24])
        XCTAssertThrowsError(try TFOfficialFamily.mapping(for: projection)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'efficientnetv2-s/blocks_3/conv2d_1/kernel' should be [1, 1, 64, out]"), text)
            XCTAssertTrue(text.contains("[1, 1, 63, 24]"), text)
        }
        // A fused conv must take the previous block's output.
        let fused = try damaged("efficientnetv2-s/blocks_3/conv2d/kernel/ExponentialMovingAverage", [3, 3, 15, 64])
        XCTAssertThrowsError(try TFOfficialFamily.mapping(for: fused)) { error in
            XCTAssertTrue("\(error)".contains("'efficientnetv2-s/blocks_3/conv2d/kernel' should be [k, k, 16, C]"), "\(error)")
        }
    }
}
