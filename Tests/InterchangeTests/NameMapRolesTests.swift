import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// `--names` onto canonical roles: Fixtures/heads/roles holds a width-0.25 tf_efficientnet_b0
/// (timm, TF "SAME" padding, BN eps 1e-3) saved under someone's own module's flat names
/// ("encoder.layers.N.dw.0"), with PyTorch's own output (Fixtures/generate_heads.py).
final class NameMapRolesTests: XCTestCase {
    static let folder = TorchFixtures.repo.appendingPathComponent("Fixtures/heads/roles")

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-roles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    func convert(map: String, family: FamilyName? = nil, pair: Bool) throws -> ConversionReport {
        var options = Converter.Options()
        options.names = try NameMap(path: map)
        options.family = family
        if pair {
            options.checkInput = file("input.npy")
            options.checkOutput = file("expected.npy")
        }
        return try Converter.convert(source: file("weights.pth"), destination: dir.appendingPathComponent("\(UUID().uuidString).effw").path,
                                     options: options)
    }

    func testRolesWithConventionsConvertAndMatchPyTorch() throws {
        let report = try convert(map: file("names.json"), pair: true)
        XCTAssertEqual(report.passed, true)
        XCTAssertEqual(report.family, "timm-tf")
        XCTAssertLessThanOrEqual(report.verification?.comparison.relativeError ?? 1, 1e-4)
        // The report speaks of the file's own names and the roles they became.
        XCTAssertTrue(report.fates.contains { $0.source == "encoder.stem.0.weight" && $0.fate == .mapped(canonical: "stem.conv.weight", transform: .identity) })
        XCTAssertTrue(report.fates.contains { $0.source == "encoder.layers.3.dw.1.running_var" && $0.fate == .mapped(canonical: "blocks.3.depthwise.bn.running_var", transform: .identity) })
        XCTAssertTrue(report.fates.contains { $0.source == "fc.weight" && $0.fate == .mapped(canonical: "classifier.weight", transform: .identity) })
        XCTAssertTrue(report.notes.contains("--names names.json: canonical roles read with timm-tf's conventions"), "\(report.notes)")
        XCTAssertEqual(report.config?.padding.mode, .sameDynamic)
        XCTAssertEqual(report.config?.bnEpsilon, 1e-3)
    }

    /// Roles say nothing of conventions: without them the tool asks, and a reference pair decides.
    func testWithoutConventionsItAsksOrThePairDecides() throws {
        XCTAssertThrowsError(try convert(map: file("names_no_conventions.json"), pair: false)) { e in
            XCTAssertTrue("\(e)".contains("pass --family torchvision|timm|timm-tf|lukemelas"), "\(e)")
        }
        let decided = try convert(map: file("names_no_conventions.json"), pair: true)
        XCTAssertEqual(decided.passed, true)
        XCTAssertEqual(decided.family, "timm-tf")
        // Every other family's conventions miss PyTorch's output by orders of magnitude.
        for (family, result) in decided.verifications where family != "timm-tf" {
            XCTAssertGreaterThan(result.comparison.relativeError, 0.1, family)
        }
        // --family picks the conventions too; the wrong ones fail verification, nothing written.
        let wrong = try convert(map: file("names_no_conventions.json"), family: .torchvision, pair: true)
        XCTAssertEqual(wrong.passed, false)
        XCTAssertFalse(wrong.written)
    }

    func testNamesThatAreNoRolesAreReported() throws {
        // One block's depthwise conv left under the user's name: the strict mapping names it.
        var text = try String(contentsOfFile: file("names.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"encoder.layers.2.dw.0.\": \"blocks.2.depthwise.conv.\",", with: "")
        let map = dir.appendingPathComponent("partial.json").path
        try text.write(toFile: map, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try convert(map: map, pair: true)) { e in
            XCTAssertTrue("\(e)".contains("blocks.2") || "\(e)".contains("encoder.layers.2.dw.0"), "\(e)")
        }
        // A map whose values are no roles at all.
        let none = dir.appendingPathComponent("none.json").path
        try #"{"family": "canonical", "conventions": "timm", "prefixes": {"encoder.": "enc."}}"#.write(toFile: none, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try convert(map: none, pair: false)) { e in
            XCTAssertTrue("\(e)".contains("no tensor is 'stem.conv.weight' after renaming"), "\(e)")
        }
    }

    /// A tensor the map names as the family names a role (here the file's `fc.bias` called timm's
    /// `conv_stem.weight`, which is what `stem.conv.weight` becomes) would give the reader one name
    /// twice: refused, naming both.
    func testARoleMeetingAnotherTensorsNameIsRefused() throws {
        var map = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file("names.json")))) as! [String: Any]
        map["names"] = ["fc.bias": "conv_stem.weight"]
        let path = dir.appendingPathComponent("clash.json").path
        try JSONSerialization.data(withJSONObject: map).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try convert(map: path, pair: true)) { e in
            XCTAssertTrue("\(e)".contains("'conv_stem.weight' would name both 'encoder.stem.0.weight' and 'fc.bias'")
                          && "\(e)".contains("timm-tf's names"), "\(e)")
        }
    }

    /// docs/names-roles-example.json is the fixture's map.
    func testDocumentedRolesExampleWorks() throws {
        let report = try convert(map: TorchFixtures.repo.appendingPathComponent("docs/names-roles-example.json").path, pair: true)
        XCTAssertEqual(report.passed, true)
    }
}
