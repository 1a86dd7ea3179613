import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// TensorFlow checkpoints in tensorflow/tpu's official layout, converted and verified against
/// timm's tf_efficientnet ports loaded with the same weights (Fixtures/generate_tf_checkpoints.py).
final class TFCheckpointConversionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tf")
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-tf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func convert(_ c: String, source: String? = nil, variables: SourceReader.TFVariables = .ema,
                 reference: String = "output.npy") throws -> ConversionReport {
        var o = Converter.Options()
        o.read.tfVariables = variables
        o.checkInput = Self.root.appendingPathComponent("\(c)/input.npy").path
        o.checkOutput = Self.root.appendingPathComponent("\(c)/\(reference)").path
        let dest = folder.appendingPathComponent("\(c)-\(variables)-\(UUID().uuidString).effw").path
        return try Converter.convert(source: source ?? Self.root.appendingPathComponent(c).path, destination: dest, options: o)
    }

    /// Official V1 and Lite layouts and a user's checkpoint without EMA convert with no flags,
    /// pick the right variables and match timm's output.
    func testOfficialLayoutsConvertWithNoFlagsAndMatchTimm() throws {
        for c in ["official_b0", "official_lite", "user_no_ema"] {
            let r = try convert(c)
            XCTAssertEqual(r.family, FamilyName.tfOfficial.rawValue, c)
            XCTAssertEqual(r.passed, true, "\(c): \(r.text)")
            XCTAssertTrue(r.written, c)
            XCTAssertEqual(r.fates.filter { if case .unused = $0.fate { return true } else { return false } }.count, 0, c)
        }
    }

    /// The EMA copies are taken by default and said so; the raw variables (weights + noise
    /// here) fail verification against the official-evaluation reference, and verify against
    /// the reference computed from them. That proves the choice matters.
    func testEMAIsTheDefaultAndRawVariablesFailVerification() throws {
        let ema = try convert("official_b0")
        XCTAssertTrue(ema.notes.contains { $0.contains("ExponentialMovingAverage copies of") }, ema.notes.joined(separator: "\n"))
        for f in ema.fates {
            if case let .mapped(canonical, _) = f.fate {
                XCTAssertTrue(f.source.hasSuffix("/ExponentialMovingAverage"), "\(canonical) from \(f.source)")
            }
        }
        let raw = try convert("official_b0", variables: .raw)
        XCTAssertEqual(raw.passed, false)
        XCTAssertFalse(raw.written)
        let rawAgainstRaw = try convert("official_b0", variables: .raw, reference: "raw_output.npy")
        XCTAssertEqual(rawAgainstRaw.passed, true, rawAgainstRaw.text)
        let liteRaw = try convert("official_lite", variables: .raw)
        XCTAssertEqual(liteRaw.passed, false)
    }

    /// Optimizer slots, global_step and the copies not taken are skipped with a reason, never unused.
    func testSlotsAndStepAreSkippedNotUnused() throws {
        let checkpoint = try SourceReader.read(path: Self.root.appendingPathComponent("official_b0").path)
        XCTAssertEqual(checkpoint.format, .tfCheckpoint)
        let skipped = Dictionary(checkpoint.skipped.map { ($0.name, $0.reason) }, uniquingKeysWith: { a, _ in a })
        XCTAssertTrue(skipped["global_step"]?.contains("training state") == true)
        XCTAssertTrue(skipped["efficientnet-b0/head/dense/kernel/RMSProp_1"]?.contains("RMSProp_1") == true)
        let mapping = try TFOfficialFamily.mapping(for: checkpoint)
        let fates = mapping.fates(for: checkpoint)
        let raw = try XCTUnwrap(fates.first { $0.source == "efficientnet-b0/head/dense/kernel" })
        guard case let .skipped(reason) = raw.fate else { return XCTFail("\(raw.fate)") }
        XCTAssertTrue(reason.contains("ExponentialMovingAverage copy is mapped"), reason)
        XCTAssertEqual(fates.filter { if case .unused = $0.fate { return true } else { return false } }.map(\.source), [])
        XCTAssertEqual(mapping.config.bnEpsilon, 1e-3)
        XCTAssertEqual(mapping.config.padding, .sameDynamic)
        XCTAssertEqual(mapping.config.imagePreprocessing.mean, [0.485 * 255, 0.456 * 255, 0.406 * 255])
        XCTAssertNil(mapping.config.inputTransform)
    }

    /// Every form of the SOURCE reads the same checkpoint.
    func testEverySourceFormConverts() throws {
        let dir = Self.root.appendingPathComponent("user_no_ema").path
        for source in [dir, "\(dir)/model.ckpt-1", "\(dir)/model.ckpt-1.index", "\(dir)/model.ckpt-1.data-00000-of-00001"] {
            let r = try convert("user_no_ema", source: source)
            XCTAssertEqual(r.passed, true, source)
        }
    }

    /// The Lite layout: ReLU6, no SE, (x - 127) / 128 image preprocessing only.
    func testLiteConventions() throws {
        let checkpoint = try SourceReader.read(path: Self.root.appendingPathComponent("official_lite").path)
        let m = try TFOfficialFamily.mapping(for: checkpoint)
        XCTAssertEqual(m.config.activation, .relu6)
        XCTAssertTrue(m.config.blocks.allSatisfy { $0.seChannels == nil })
        XCTAssertEqual(m.config.imagePreprocessing.mean, [127, 127, 127])
        XCTAssertEqual(m.config.imagePreprocessing.std, [128, 128, 128])
        XCTAssertEqual(FamilyRegistry.detect(checkpoint).first?.family, .tfOfficial)
    }

    /// TF2: a Keras model's tf.train.Checkpoint (object paths as keys) and its SavedModel's
    /// variables: the object graph gives the Keras names, the Keras family maps them, and the
    /// result matches the model Keras restored from the same files.
    func testObjectBasedCheckpointAndSavedModelConvertThroughTheKerasFamily() throws {
        for c in ["tf2_keras", "keras_savedmodel"] {
            let r = try convert(c)
            XCTAssertEqual(r.family, FamilyName.keras.rawValue, c)
            XCTAssertEqual(r.passed, true, "\(c): \(r.text)")
            XCTAssertEqual(r.fates.filter { if case .unused = $0.fate { return true } else { return false } }.count, 0, c)
        }
        let saved = try SourceReader.read(path: Self.root.appendingPathComponent("keras_savedmodel").path)
        XCTAssertNotNil(saved.tensor("stem_conv/kernel"))
        XCTAssertTrue(saved.skipped.contains { $0.reason.contains("stored twice") })
        XCTAssertNotNil(saved.notes[SourceReader.TFNotes.objectGraph])
    }
}
