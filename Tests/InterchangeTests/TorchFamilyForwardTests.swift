import EffNet
import EffNetInterchange
import XCTest

/// End to end for every PyTorch family and every file format: read -> detect -> map -> strict
/// load -> forward, against PyTorch's own outputs (Fixtures/generate_torch_families.py).
/// Tolerance: relative 1e-4 = max|a-b| / max(1, max|ref|).
final class TorchFamilyForwardTests: XCTestCase {
    static let tolerance: Float = 1e-4

    /// One family, one file: the model must reproduce PyTorch on both inputs (64x64 even, 67x67
    /// odd: the padding conventions only all differ on the odd one).
    func check(_ folder: String, _ family: FamilyName, _ format: TorchFixtures.Format,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let checkpoint = try TorchFixtures.read(TorchFixtures.path(folder, format.rawValue))
        let mapping = try TorchFixtures.mapping(checkpoint, family, file: file, line: line)
        let model = try Converter.buildModel(checkpoint, mapping)
        let outputs: [(input: String, expected: String)] = format == .fp16
            ? [("64", "expected_fp16_64.npy")]
            : [("64", "expected_64.npy"), ("67", "expected_67.npy")]
        for (input, expected) in outputs {
            let y = try model(try TorchFixtures.input(input))
            let ref = try TorchFixtures.expected(folder, expected)
            XCTAssertEqual(y.shape, ref.shape, "\(folder)/\(format.rawValue)", file: file, line: line)
            let err = TorchFixtures.relativeError(y, ref)
            XCTAssertLessThan(err, Self.tolerance, "\(folder)/\(format.rawValue) on input_\(input): relative error \(err)", file: file, line: line)
        }
        // Every source tensor has a fate; none is left unused.
        let unused = mapping.fates(for: checkpoint).filter { if case .unused = $0.fate { return true } else { return false } }
        XCTAssertEqual(unused.map(\.source), [], "\(folder)/\(format.rawValue)", file: file, line: line)
    }

    func checkAllFormats(_ folder: String, _ family: FamilyName, file: StaticString = #filePath, line: UInt = #line) throws {
        for format in TorchFixtures.Format.allCases {
            do { try check(folder, family, format, file: file, line: line) } catch {
                XCTFail("\(folder)/\(format.rawValue): \(error)", file: file, line: line)
            }
        }
    }

    func testSeed() throws { try checkAllFormats("seed", .seed) }
    func testTorchvision() throws { try checkAllFormats("torchvision", .torchvision) }
    func testTimm() throws { try checkAllFormats("timm", .timm) }
    func testTimmTF() throws { try checkAllFormats("timm-tf", .timmTF) }
    func testLukemelas() throws { try checkAllFormats("lukemelas", .lukemelas) }
    func testLite() throws { try checkAllFormats("lite", .lite) }

    /// timm and timm-tf share names; the reference pair must tell them apart: the wrong
    /// conventions (padding, epsilon) miss PyTorch by far more than the tolerance.
    func testReferencePairTellsTimmFromTimmTF() throws {
        for (folder, right) in [("timm", FamilyName.timm), ("timm-tf", .timmTF)] {
            let checkpoint = try TorchFixtures.read(TorchFixtures.path(folder, TorchFixtures.Format.safetensors.rawValue))
            let candidates = try Converter.candidateMappings(checkpoint, family: nil)
            XCTAssertEqual(candidates.count, 2)
            let x = try TorchFixtures.input("67")
            let ref = try TorchFixtures.expected(folder, "expected_67.npy")
            for m in candidates {
                let err = TorchFixtures.relativeError(try Converter.buildModel(checkpoint, m)(x), ref)
                if m.family == right.rawValue {
                    XCTAssertLessThan(err, Self.tolerance, "\(folder) as \(m.family)")
                } else {
                    XCTAssertGreaterThan(err, 100 * Self.tolerance, "\(folder) as \(m.family) should not match")
                }
            }
        }
    }

    /// Fine-tuning scripts often replace torchvision's classifier with a bare nn.Linear
    /// (`classifier.weight`): still found, still exact.
    func testReplacedTorchvisionClassifier() throws {
        var checkpoint = try TorchFixtures.read(TorchFixtures.path("torchvision", TorchFixtures.Format.zip.rawValue))
        for i in checkpoint.tensors.indices where checkpoint.tensors[i].name.hasPrefix("classifier.1.") {
            checkpoint.tensors[i].name = "classifier." + checkpoint.tensors[i].name.dropFirst("classifier.1.".count)
        }
        let mapping = try TorchFixtures.mapping(checkpoint, .torchvision)
        XCTAssertTrue(mapping.assignments.contains { $0.source == "classifier.weight" && $0.canonical == "classifier.weight" })
        let y = try Converter.buildModel(checkpoint, mapping)(try TorchFixtures.input("64"))
        XCTAssertLessThan(TorchFixtures.relativeError(y, try TorchFixtures.expected("torchvision", "expected_64.npy")), Self.tolerance)
    }

    /// --family overrides detection, and the conventions follow the family asked for.
    func testExplicitFamily() throws {
        let checkpoint = try TorchFixtures.read(TorchFixtures.path("timm", TorchFixtures.Format.safetensors.rawValue))
        let tf = try Converter.candidateMappings(checkpoint, family: .timmTF)
        XCTAssertEqual(tf.map(\.family), ["timm-tf"])
        XCTAssertEqual(tf.first?.config.padding, .sameDynamic)
        XCTAssertEqual(tf.first?.config.bnEpsilon, 1e-3)
        let plain = try Converter.candidateMappings(checkpoint, family: .timm)
        XCTAssertEqual(plain.first?.config.padding, .symmetric)
        XCTAssertEqual(plain.first?.config.bnEpsilon, 1e-5)
    }
}
