import EffNet
import Foundation
import XCTest

/// NaN/Inf weights (refused unless --allow-nonfinite) and checkpoints that do not fit the model
/// (every missing key and every shape mismatch reported in one error, with both shapes).
final class WeightCheckTests: HostileTestCase {
    func testNonFiniteWeightsRefusedUnlessAllowed() throws {
        let source = HostileFixtures.path("family/nonfinite_seed.pth")
        let r = try XCTUnwrap(try assertRefused(source, mentions: ["NaN", "--allow-nonfinite"], tools: [.convert]))
        let tensors = try XCTUnwrap(HostileFixtures.manifest["family/nonfinite_seed.pth"]?["tensors"] as? [String])
        for t in tensors { XCTAssertTrue(r.stderr.contains(t), "\(t) not named: \(r.stderr)") }

        let dest = scratch.path("allowed.effw")
        let ok = try HostileRunner.run("effnet-convert", [source, dest, "--allow-nonfinite"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dest))
    }

    /// An .effw source (re-encoding) holding a NaN and an Inf, CRC-32s correct: the same rule.
    func testNonFiniteEffwSource() throws {
        let model = try TinyModel.make()
        var metadata = try model.effwMetadata()
        metadata.removeValue(forKey: EffwKeys.crc32)
        var items: [EffwWriter.Item] = []
        var poisoned: [String] = []
        for (name, shape) in model.parameterShapes.sorted(by: { $0.0 < $1.0 }) {
            var values = (0 ..< shape.reduce(1, *)).map { Float($0 % 7) / 10 + (name.hasSuffix("running_var") ? 1 : 0) }
            if name == "classifier.weight" { values[1] = .nan; poisoned.append(name) }
            if name == "stem.conv.weight" { values[0] = -.infinity; poisoned.append(name) }
            items.append(.init(name: name, dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { Array($0) }))
        }
        let source = scratch.path("nan.effw")
        try EffwWriter.write(items: items, metadata: metadata, to: source)
        let r = try XCTUnwrap(try assertRefused(source, mentions: ["--allow-nonfinite"], tools: [.convert]))
        for t in poisoned { XCTAssertTrue(r.stderr.contains(t), "\(t) not named: \(r.stderr)") }
        let dest = scratch.path("allowed.effw")
        let ok = try HostileRunner.run("effnet-convert", [source, dest, "--allow-nonfinite"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    /// Two keys removed and two reshaped: one error lists all four, each missing key once, each
    /// mismatch with the expected and the actual shape.
    func testMissingKeysAndShapeMismatchesReportedAtOnce() throws {
        let rel = "family/mismatch_seed.pth"
        let info = try XCTUnwrap(HostileFixtures.manifest[rel])
        let missing = try XCTUnwrap(info["missing"] as? [String])
        let mismatched = try XCTUnwrap(info["mismatched"] as? [String: [[Int]]])
        let r = try XCTUnwrap(try assertRefused(HostileFixtures.path(rel), mentions: [], tools: [.convert]))
        let lines = r.stderr.split(separator: "\n").map(String.init)
        for key in missing {
            let hits = lines.filter { $0.contains("missing") && ($0.contains("'\(key)'") || $0.contains(key)) }
            XCTAssertEqual(hits.count, 1, "missing \(key) should be reported exactly once: \(r.stderr)")
        }
        for (key, shapes) in mismatched {
            let hit = lines.first { $0.contains(key) }
            XCTAssertNotNil(hit, "mismatch \(key) not reported: \(r.stderr)")
            let text = hit ?? ""
            XCTAssertTrue(text.contains("\(shapes[0])") && text.contains("\(shapes[1])"), "both shapes of \(key): \(text)")
        }
        XCTAssertTrue(r.firstErrorLine.contains("\(missing.count) missing"), "count of missing keys: \(r.firstErrorLine)")
        XCTAssertTrue(r.firstErrorLine.contains("\(mismatched.count) shape mismatch"), "count of mismatches: \(r.firstErrorLine)")
    }
}
