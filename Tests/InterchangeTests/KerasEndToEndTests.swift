import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Every Keras layout end to end: SourceReader.read -> Converter.candidateMappings (family
/// detection) -> Converter.buildModel -> forward pass, against the output Keras itself computed
/// for the same NCHW 0-255 batch. Compared in log-probability space (log of the softmax
/// outputs, or log-softmax of logits) with the project's relative measure,
/// max|a - b| / max(1, max|ref|) < 1e-4.
final class KerasEndToEndTests: XCTestCase {
    static let tolerance: Float = 1e-4

    @discardableResult
    private func check(_ file: String, model: String, softmax: Bool, padding: EfficientNetConfig.Padding,
                       inputTransform expectTransform: Bool = true, line: UInt = #line) throws -> EfficientNetConfig {
        let checkpoint = try KerasFixtures.read(file)
        let detected = FamilyRegistry.detect(checkpoint)
        XCTAssertEqual(detected.first?.family, .keras, "\(detected)", line: line)
        let mappings = try Converter.candidateMappings(checkpoint, family: nil)
        XCTAssertEqual(mappings.count, 1, line: line)
        let mapping = try XCTUnwrap(mappings.first)
        XCTAssertEqual(mapping.config.finalSoftmax, softmax, line: line)
        XCTAssertEqual(mapping.config.padding, padding, line: line)
        XCTAssertEqual(mapping.config.bnEpsilon, 1e-3, line: line)
        XCTAssertEqual(mapping.config.inputTransform != nil, expectTransform, line: line)
        XCTAssertEqual(mapping.config.imagePreprocessing.pixelScale, 1, line: line)
        // Every tensor in the file is mapped or deliberately skipped.
        let unused = mapping.fates(for: checkpoint).filter { if case .unused = $0.fate { return true } else { return false } }
        XCTAssertEqual(unused.map(\.source), [], line: line)
        let net = try Converter.buildModel(checkpoint, mapping)
        let input = try NPY.readTensor(path: KerasFixtures.path("\(model)_input.npy"))
        let reference = try NPY.readTensor(path: KerasFixtures.path("\(model)_output.npy"))
        let output = try net(input)
        XCTAssertEqual(output.shape, reference.shape, line: line)
        let logs = softmax
            ? (KerasFixtures.logProbabilities(output), KerasFixtures.logProbabilities(reference))
            : (KerasFixtures.logSoftmax(output), KerasFixtures.logSoftmax(reference))
        let c = Comparison(actual: logs.0, reference: logs.1)
        XCTAssertLessThan(c.relativeError, Self.tolerance, "\(file): \(c)", line: line)
        XCTAssertEqual(c.top1Agreement, 1, line: line)
        print("\(file): log-prob relative error \(c.relativeError) (max abs \(c.maxAbsError), max |ref| \(c.maxAbsReference))")
        return mapping.config
    }

    func testKeras3ArchiveFixedSize() throws {
        let cfg = try check("k3_plain64.keras", model: "k3_plain64", softmax: true, padding: .sameStatic(64))
        XCTAssertEqual(cfg.name, "k3_plain64")
        XCTAssertEqual(cfg.imagePreprocessing, .raw(size: 64))
    }

    func testKeras3ArchiveBuiltForNoneUsesTheEvenRule() throws {
        // Evaluated at 72x72, where the 9x9 map before block6a is odd: Keras still pads (1, 2).
        let cfg = try check("k3_dynamic.keras", model: "k3_dynamic", softmax: true, padding: .sameStatic(224))
        XCTAssertEqual(cfg.blocks.count, 10)
    }

    func testKeras3WeightsH5WithoutNamesOrConfig() throws {
        try check("k3_dynamic_noname.weights.h5", model: "k3_dynamic", softmax: true, padding: .sameStatic(224))
    }

    func testKeras3ImagenetStyleArchive() throws {
        let cfg = try check("k3_imagenet_style.keras", model: "k3_imagenet_style", softmax: true, padding: .sameStatic(64))
        XCTAssertEqual(cfg.numClasses, 1000)
    }

    func testKeras3ImagenetStyleWeightsRecognisedFromStoredVariance() throws {
        // No config: 64x64 has the same (all even) padding as the even rule's 224.
        try check("k3_imagenet_style.weights.h5", model: "k3_imagenet_style", softmax: true, padding: .sameStatic(224))
    }

    func testKeras3LegacyH5OddSizesAndLogits() throws {
        let cfg = try check("k3_legacy_odd.h5", model: "k3_legacy_odd", softmax: false, padding: .sameStatic(66))
        XCTAssertEqual(cfg.numClasses, 5)
    }

    func testKeras2FullModelImagenetStyle() throws {
        try check("tfk_imagenet_style.h5", model: "tfk_imagenet_style", softmax: true, padding: .sameStatic(64))
    }

    func testKeras2WeightsOnly() throws {
        try check("tfk_plain_weights.h5", model: "tfk_plain", softmax: true, padding: .sameStatic(224))
    }

    /// A weights-only file of a model built for 66x66 (odd maps at four stride-2 convs) does not
    /// record that size: the default (Keras' even rule) pads wrongly; `imageSize`
    /// (effnet-convert --image-size 66) gives the right padding. (Nor does the file record that
    /// this model ends in logits, not keras.applications' softmax: compared in log-softmax space.)
    func testWeightsOnlyFileBuiltForAnOddSizeNeedsItsImageSize() throws {
        let checkpoint = try KerasFixtures.read("k3_legacy_odd.weights.h5")
        let input = try NPY.readTensor(path: KerasFixtures.path("k3_legacy_odd_input.npy"))
        let reference = KerasFixtures.logSoftmax(try NPY.readTensor(path: KerasFixtures.path("k3_legacy_odd_output.npy")))
        func error(_ mapping: WeightMapping) throws -> Float {
            var m = mapping
            m.config.finalSoftmax = false
            let output = try Converter.buildModel(checkpoint, m)(input)
            return Comparison(actual: KerasFixtures.logSoftmax(output), reference: reference).relativeError
        }
        let guessed = try XCTUnwrap(Converter.candidateMappings(checkpoint, family: nil).first)
        XCTAssertEqual(guessed.config.padding, .sameStatic(224))
        XCTAssertGreaterThan(try error(guessed), 1e-3)
        let given = try XCTUnwrap(Converter.candidateMappings(checkpoint, family: nil, imageSize: [66, 66]).first)
        XCTAssertEqual(given.config.padding, .sameStatic(66))
        XCTAssertLessThan(try error(given), Self.tolerance)
    }

    func testImageSizeIsRefusedForNonKerasFiles() throws {
        let checkpoint = try SourceReader.read(path: TorchFixtures.path("torchvision", "weights.pth"))
        XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: nil, imageSize: [224, 224])) { error in
            guard case .unsupported? = error as? MappingError else { return XCTFail("\(error)") }
        }
    }

    // MARK: The fixtures can tell the conventions apart

    /// The log-probability error of `file` mapped with `change` applied to the config.
    private func error(_ file: String, model: String, softmax: Bool, _ change: (inout EfficientNetConfig) -> Void) throws -> Float {
        let checkpoint = try KerasFixtures.read(file)
        var mapping = try KerasFamily.mapping(for: checkpoint)
        change(&mapping.config)
        let output = try Converter.buildModel(checkpoint, mapping)(NPY.readTensor(path: KerasFixtures.path("\(model)_input.npy")))
        let reference = try NPY.readTensor(path: KerasFixtures.path("\(model)_output.npy"))
        let logs = softmax
            ? (KerasFixtures.logProbabilities(output), KerasFixtures.logProbabilities(reference))
            : (KerasFixtures.logSoftmax(output), KerasFixtures.logSoftmax(reference))
        return Comparison(actual: logs.0, reference: logs.1).relativeError
    }

    func testAWrongConventionWouldFailTheComparison() throws {
        // Static SAME from the actual 72x72 input instead of Keras' None-size even rule.
        XCTAssertGreaterThan(try error("k3_dynamic.keras", model: "k3_dynamic", softmax: true) { $0.padding = .sameStatic(72) }, 1e-3)
        // The even rule where the model was built for 66x66 (odd maps).
        XCTAssertGreaterThan(try error("k3_legacy_odd.h5", model: "k3_legacy_odd", softmax: false) { $0.padding = .sameStatic(64) }, 1e-3)
        // PyTorch's BN epsilon.
        XCTAssertGreaterThan(try error("k3_plain64.keras", model: "k3_plain64", softmax: true) { $0.bnEpsilon = 1e-5 }, 1e-4)
        // Without the imagenet extra rescaling (1/sqrt(std)).
        XCTAssertGreaterThan(try error("tfk_imagenet_style.h5", model: "tfk_imagenet_style", softmax: true) { c in
            let std: [Float] = [0.229, 0.224, 0.225]
            c.inputTransform = c.inputTransform.map { t in
                .init(scale: zip(t.scale, std).map { $0 * $1.squareRoot() }, offset: zip(t.offset, std).map { $0 * $1.squareRoot() })
            }
        }, 1e-3)
    }
}
