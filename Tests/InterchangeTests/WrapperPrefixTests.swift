import EffNet
import EffNetInterchange
import XCTest

/// State dicts saved from a wrapper module (PyTorch Lightning's `self.model`, a user's
/// `self.backbone`): every name carries the attribute's prefix. The real PyTorch weights and
/// outputs of the family fixtures, with the names as such a wrapper writes them.
final class WrapperPrefixTests: XCTestCase {
    func prefixed(_ checkpoint: SourceCheckpoint, _ prefix: String) -> SourceCheckpoint {
        var c = checkpoint
        c.tensors = checkpoint.tensors.map { SourceTensor(name: prefix + $0.name, raw: $0.raw) }
        return c
    }

    func testASharedAttributePrefixIsMappedWithoutItAndNoted() throws {
        for (folder, family) in [("torchvision", FamilyName.torchvision), ("lukemelas", .lukemelas), ("seed", .seed)] {
            let original = try TorchFixtures.read(TorchFixtures.path(folder, "weights.pth"))
            let wrapped = prefixed(original, "model.")
            XCTAssertEqual(wrapped.sharedNamePrefix, "model.")
            XCTAssertNil(original.sharedNamePrefix, folder)
            // Named explicitly (--family), too.
            XCTAssertEqual(try Converter.candidateMappings(wrapped, family: family).first?.assignments.count,
                           try Converter.candidateMappings(original, family: family).first?.assignments.count, folder)
            let mappings = try Converter.candidateMappings(wrapped, family: nil)
            let mapping = try XCTUnwrap(mappings.first, folder)
            XCTAssertEqual(mapping.family, family.rawValue, folder)
            XCTAssertTrue(mapping.notes.contains { $0.contains("'model.'") }, "\(mapping.notes)")
            XCTAssertTrue(mapping.assignments.allSatisfy { $0.source.hasPrefix("model.") })
            let unused = mapping.fates(for: wrapped).filter { if case .unused = $0.fate { return true } else { return false } }
            XCTAssertEqual(unused.map(\.source), [], folder)
            let y = try Converter.buildModel(wrapped, mapping)(try TorchFixtures.input("64"))
            let err = TorchFixtures.relativeError(y, try TorchFixtures.expected(folder, "expected_64.npy"))
            XCTAssertLessThan(err, 1e-4, folder)
        }
    }

    /// Only a prefix on every name is taken off: one extra tensor outside the wrapped model (a
    /// loss's class weights) leaves the names unrecognised, and the error says so.
    func testAPrefixOnSomeNamesOnlyIsNotGuessed() throws {
        let original = try TorchFixtures.read(TorchFixtures.path("torchvision", "weights.pth"))
        var wrapped = prefixed(original, "model.")
        wrapped.tensors.append(SourceTensor(name: "criterion.weight", raw: original.tensors[0].raw))
        XCTAssertNil(wrapped.sharedNamePrefix)
        XCTAssertThrowsError(try Converter.candidateMappings(wrapped, family: nil)) { error in
            guard case .unknownFamily? = error as? MappingError else { return XCTFail("\(error)") }
        }
    }
}
