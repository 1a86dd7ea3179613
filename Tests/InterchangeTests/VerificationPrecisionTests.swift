import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// The verification pass is far more exact than the float32 frameworks it judges (issue 16), on a
/// deep model: torchvision EfficientNet-B7 at full depth (55 blocks) and 600 x 600, narrowed to
/// width 0.2 to keep the fixture small, with BN weights wide enough that activations grow with
/// depth as in trained models (logits ~160; PyTorch's own float32 error against float64 is 5.6e-5,
/// like a real timm B2's). Fixture: Fixtures/generate_precision.py, PyTorch in float64 ("truth")
/// and float32 on the converter's own probe batch.
final class VerificationPrecisionTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/precision/b7_narrow").standardized.path
    static let tolerance: Float = 1e-4  // effnet-convert's default --tolerance

    struct Fixture {
        let checkpoint: SourceCheckpoint
        let mapping: WeightMapping
        let probe: Tensor
        let truth: Tensor
        let torchFloat32: Tensor
    }

    static func load() throws -> Fixture {
        let checkpoint = try SourceReader.read(path: dir + "/model.pth")
        let mappings = try Converter.candidateMappings(checkpoint, family: nil)
        XCTAssertEqual(mappings.count, 1)
        let truth = try NPY.readTensor(path: dir + "/truth_f64.npy")
        return Fixture(checkpoint: checkpoint, mapping: mappings[0],
                       probe: Verifier.probeInput(shape: [1, 3, 600, 600], rawPixels: false),
                       truth: truth, torchFloat32: try NPY.readTensor(path: dir + "/torch_f32.npy"))
    }

    /// The pass's own error against float64 stays within a tenth of the default tolerance, and well
    /// below the float32 error of PyTorch on the same model; the real reference pair (PyTorch
    /// float32) passes at the default tolerance, and the report's float32-noise estimate is of the
    /// size of PyTorch's float32 error.
    func testDeepModelVerifiesAtDefaultTolerance() throws {
        let f = try Self.load()
        XCTAssertEqual(f.mapping.family, "torchvision")
        XCTAssertEqual(f.mapping.config.blocks.count, 55)
        let model = try Converter.buildModel(f.checkpoint, f.mapping)

        let pass = try Verifier.referenceOutput(model, f.probe)
        let passError = Comparison(actual: pass, reference: f.truth).relativeError
        let torchError = Comparison(actual: f.torchFloat32, reference: f.truth).relativeError
        print("b7_narrow: verification pass vs float64 \(passError), PyTorch float32 vs float64 \(torchError)")
        XCTAssertGreaterThan(torchError, 1e-5, "the fixture no longer shows float32 rounding; regenerate it")
        XCTAssertLessThanOrEqual(passError, Self.tolerance / 10)
        XCTAssertLessThanOrEqual(passError, torchError / 10, "the pass must be far more exact than a float32 engine")

        let result = try Verifier.compare(model, input: f.probe, expected: f.torchFloat32, method: "reference-pair",
                                          tolerance: Self.tolerance)
        print("b7_narrow: against PyTorch float32 \(result.comparison.relativeError), float32 noise estimate \(result.float32Noise ?? .nan)")
        XCTAssertTrue(result.passed, "relative error \(result.comparison.relativeError)")
        let noise = try XCTUnwrap(result.float32Noise)
        XCTAssertGreaterThan(noise, torchError / 10)
        XCTAssertLessThan(noise, torchError * 10)
        XCTAssertEqual(model.inferenceOptions.kernels, .fast, "compare restores the model's options")
    }

    /// A seeded wrong convention still fails, by orders of magnitude: BN epsilon 1e-3 for PyTorch's
    /// 1e-5, and TensorFlow SAME padding for PyTorch's symmetric padding.
    func testWrongConventionsStillFail() throws {
        let f = try Self.load()
        var wrongEpsilon = f.mapping
        wrongEpsilon.config.bnEpsilon = 1e-3
        var wrongPadding = f.mapping
        wrongPadding.config.padding = .sameDynamic
        for (what, mapping) in [("epsilon", wrongEpsilon), ("padding", wrongPadding)] {
            let model = try Converter.buildModel(f.checkpoint, mapping)
            let result = try Verifier.compare(model, input: f.probe, expected: f.torchFloat32, method: "reference-pair",
                                              tolerance: Self.tolerance)
            print("b7_narrow with the wrong \(what): relative error \(result.comparison.relativeError)")
            XCTAssertFalse(result.passed, what)
            XCTAssertGreaterThan(result.comparison.relativeError, 100 * Self.tolerance, what)
        }
    }
}
