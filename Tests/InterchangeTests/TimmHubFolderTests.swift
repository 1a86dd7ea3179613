import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// timm hub folders written by timm's own save_for_hf (Fixtures/generate_hf.py timm): the same
/// names for a tf_ port and a PyTorch-padding model; config.json's architecture decides, so
/// each converts with no --family and no reference pair, and matches timm's output.
final class TimmHubFolderTests: XCTestCase {
    static let root = TorchFixtures.repo.appendingPathComponent("Fixtures/hf")

    func folder(_ name: String) -> String { Self.root.appendingPathComponent(name).path }

    func testArchitectureDecidesTheFamily() throws {
        for (name, family) in [("timm_hub_tf", FamilyName.timmTF), ("timm_hub", .timm)] {
            let checkpoint = try SourceReader.read(path: folder(name))
            let candidates = try Converter.candidateMappings(checkpoint, family: nil)
            XCTAssertEqual(candidates.map(\.family), [family.rawValue], name)
            let mapping = try XCTUnwrap(candidates.first)
            // pretrained_cfg: 224 at crop_pct 0.875 -> resize 256.
            XCTAssertEqual(mapping.config.imagePreprocessing.cropSize, 224)
            XCTAssertEqual(mapping.config.imagePreprocessing.resizeShorterTo, 256)
            XCTAssertEqual(mapping.config.imagePreprocessing.interpolation, .bicubic)   // pretrained_cfg.interpolation
            XCTAssertEqual(mapping.config.imagePreprocessing.resizeMode, .shorterSide)  // crop_mode center
            let model = try Converter.buildModel(checkpoint, mapping)
            for size in ["64", "67"] {
                let input = try NPY.readTensor(path: folder(name) + "/input_\(size).npy")
                let expected = try NPY.readTensor(path: folder(name) + "/expected_\(size).npy")
                XCTAssertLessThanOrEqual(TorchFixtures.relativeError(try model(input), expected), 1e-4, "\(name) \(size)")
            }
        }
    }

    /// Without config.json the names alone leave timm and timm-tf open.
    func testWithoutConfigBothRemain() throws {
        var checkpoint = try SourceReader.read(path: folder("timm_hub_tf"))
        checkpoint.notes[SourceReader.HubNotes.config] = nil
        XCTAssertEqual(Set(try Converter.candidateMappings(checkpoint, family: nil).map(\.family)), ["timm", "timm-tf"])
    }

    func testContradictingClassCountIsRefused() throws {
        var checkpoint = try SourceReader.read(path: folder("timm_hub_tf"))
        checkpoint.notes[SourceReader.HubNotes.config] = checkpoint.notes[SourceReader.HubNotes.config]?
            .replacingOccurrences(of: "\"num_classes\": 6,", with: "\"num_classes\": 9,")
        XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: nil)) { e in
            XCTAssertTrue("\(e)".contains("num_classes 9") && "\(e)".contains("6 rows"), "\(e)")
        }
    }
}
