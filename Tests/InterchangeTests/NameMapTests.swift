import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// `--names MAP.json`: Fixtures/heads/renamed holds tv_mlp's weights under someone's own module
/// names and the map that undoes them (Fixtures/generate_heads.py).
final class NameMapTests: XCTestCase {
    static let folder = TorchFixtures.repo.appendingPathComponent("Fixtures/heads/renamed")

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-names-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    func writeMap(_ text: String) throws -> String {
        let p = dir.appendingPathComponent("map-\(UUID().uuidString).json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testMapConvertsAndMatchesPyTorch() throws {
        var options = Converter.Options()
        options.names = try NameMap(path: file("names.json"))
        options.checkInput = file("input.npy")
        options.checkOutput = file("expected.npy")
        let dest = dir.appendingPathComponent("r.effw").path
        let report = try Converter.convert(source: file("weights.pth"), destination: dest, options: options)
        XCTAssertEqual(report.passed, true)
        XCTAssertEqual(report.family, "torchvision")
        XCTAssertLessThanOrEqual(report.verification?.comparison.relativeError ?? 1, 1e-4)
        // The report speaks of the file's own names.
        XCTAssertTrue(report.fates.contains { $0.source == "net.stem.0.weight" && $0.fate == .mapped(canonical: "stem.conv.weight", transform: .identity) })
        XCTAssertTrue(report.fates.contains { $0.source == "head.mlp.4.weight" && $0.fate == .mapped(canonical: "classifier.4.weight", transform: .identity) })
        XCTAssertTrue(report.notes.contains { $0.hasPrefix("--names names.json: renamed") }, "\(report.notes)")
    }

    func testWithoutTheMapTheNamesFitNoFamily() throws {
        XCTAssertThrowsError(try Converter.convert(source: file("weights.pth"), destination: dir.appendingPathComponent("x.effw").path,
                                                   options: .init())) { e in
            XCTAssertTrue("\(e)".contains("no family recognises names such as net.stem.0.weight") && "\(e)".contains("--names"), "\(e)")
        }
    }

    func testUnusedEntriesAndLeftNamesAreReported() throws {
        let map = try NameMap(path: try writeMap("""
            {"prefixes": {"net.stem.": "features.0.", "net.body.": "features.", "nothing.here.": "x."},
             "names": {"head.mlp.1.weight": "classifier.1.weight", "not.a.tensor": "classifier.9.weight"}}
            """))
        let checkpoint = try SourceReader.read(path: file("weights.pth"))
        let (renamed, outcome) = try map.apply(to: checkpoint)
        XCTAssertEqual(outcome.unusedEntries, ["names: not.a.tensor", "prefixes: nothing.here."])
        XCTAssertEqual(outcome.leftAsIs, ["head.mlp.1.bias", "head.mlp.4.weight", "head.mlp.4.bias"])
        XCTAssertTrue(renamed.names.contains("classifier.1.weight"))
        // What the map left is then reported as unused by the strict check.
        XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: nil, imageSize: nil, names: map, head: nil)
            .forEach { _ = try Converter.buildModel(checkpoint, $0) }) { e in
            XCTAssertTrue("\(e)".contains("head.mlp.4.weight"), "\(e)")
        }
    }

    func testBadMapsAreRefused() throws {
        let cases: [(String, String)] = [
            ("[1, 2]", "not a JSON object"),
            ("{}", "renames nothing"),
            (#"{"prefix": {"a.": "b."}}"#, "unknown key 'prefix'"),
            (#"{"family": "resnet", "names": {"a": "b"}}"#, "\"family\" must be canonical or one of"),
            (#"{"family": "timm", "conventions": "timm-tf", "names": {"a": "b"}}"#, "\"conventions\" goes with \"family\": \"canonical\""),
            (#"{"family": "canonical", "conventions": "keras", "names": {"a": "b"}}"#, "\"conventions\" must be one of"),
            (#"{"names": {"a": 3}}"#, "is not a string"),
            (#"{"names": {"a": ""}}"#, "names must be 1 to 1024 bytes"),
            ("{\"names\": {\"" + String(repeating: "a", count: 2000) + "\": \"b\"}}", "1024 bytes"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try NameMap(path: try writeMap(text))) { e in
                XCTAssertTrue("\(e)".contains(fragment), "\(text.prefix(60)): \(e)")
            }
        }
        // Two tensors onto one name.
        let clash = try NameMap(path: try writeMap(#"{"names": {"net.stem.0.weight": "net.stem.1.weight"}}"#))
        XCTAssertThrowsError(try clash.apply(to: try SourceReader.read(path: file("weights.pth")))) { e in
            XCTAssertTrue("\(e)".contains("gives two tensors the name"), "\(e)")
        }
        // A folder, not a file.
        XCTAssertThrowsError(try NameMap(path: dir.path))
    }
}

extension NameMapTests {
    /// docs/names-example.json, the documented example, is the fixture's working map.
    func testDocumentedExampleWorks() throws {
        let example = TorchFixtures.repo.appendingPathComponent("docs/names-example.json").path
        let map = try NameMap(path: example)
        XCTAssertEqual(map.family, .torchvision)
        let checkpoint = try SourceReader.read(path: file("weights.pth"))
        let mapping = try XCTUnwrap(try Converter.candidateMappings(checkpoint, family: nil, imageSize: nil, names: map,
                                                                    head: try HeadSpelling.parse("dropout,linear,relu,dropout,linear")).first)
        let model = try Converter.buildModel(checkpoint, mapping)
        XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(try NPY.readTensor(path: file("input.npy"))),
                                                             try NPY.readTensor(path: file("expected.npy"))), 1e-4)
    }
}
