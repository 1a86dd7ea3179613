import EffNet
import Foundation
import EffNetTorch
import XCTest
import EffNetZip

/// Zip and torch archives that lie about sizes, counts, offsets and views (Fixtures/hostile/zip,
/// torch, pickle): refused naming the place, before allocating what they declare.
final class ArchiveStructureTests: HostileTestCase {
    /// What the first error line must mention for each file, beyond its path.
    static let places: [String: [String]] = [
        "zip/bomb_declared_huge.pt": ["archive/data/0"],
        "zip/bomb_pickle_declared_huge.pt": ["archive/data.pkl"],
        "zip/bomb_declared_low.pt": ["archive/data/0", "64"],
        "zip/keras_bomb.keras": ["model.weights.h5"],
        "zip/zip64_size_beyond_file.pt": ["archive/data/0"],
        "zip/zip64_eocd_counts_huge.pt": ["ZIP64"],
        "zip/zip64_locator_beyond_file.pt": ["ZIP64"],
        "zip/cd_offset_beyond_file.pt": ["central directory"],
        "zip/cd_count_lies.pt": ["65535"],
        "zip/storage_crc_wrong.pt": ["archive/data/0", "CRC"],
        "zip/storage_size_wrong.pt": ["archive/data/0"],
        "zip/method_unsupported.pt": ["archive/data/0", "14"],
        "zip/encrypted_entry.pt": ["archive/data/0", "encrypted"],
        "torch/legacy_count_beyond_file.pt": ["'0'"],
        "torch/legacy_count_mismatch.pt": ["'0'"],
        "torch/legacy_count_negative.pt": ["'0'"],
        "torch/legacy_numel_overflow.pt": ["offset"],
    ]

    /// Zip bombs: the tool's peak memory stays far below what the entries declare (2^40 bytes,
    /// 3 GiB) or hold (8 MiB behind a 64-byte declaration).
    func testZipBombsAreRefusedBeforeInflating() throws {
        for rel in ["zip/bomb_declared_huge.pt", "zip/bomb_pickle_declared_huge.pt", "zip/bomb_declared_low.pt", "zip/keras_bomb.keras"] {
            try assertRefused(HostileFixtures.path(rel), mentions: Self.places[rel] ?? [], maxRSS: 160 << 20)
        }
    }

    /// The zip reader itself on the bombs: the typed error, and an inflation bounded by the
    /// declared size (the 64-byte entry never grows past 64 bytes).
    func testZipReaderBoundsInflation() throws {
        let huge = try ZipArchive(path: HostileFixtures.path("zip/bomb_declared_huge.pt"))
        let e = try XCTUnwrap(huge.entry(named: "archive/data/0"))
        XCTAssertEqual(e.uncompressedSize, 1 << 40)
        XCTAssertThrowsError(try huge.data(for: e)) { error in
            guard case .sizeLimitExceeded? = error as? ZipError else { return XCTFail("\(error)") }
        }
        let low = try ZipArchive(path: HostileFixtures.path("zip/bomb_declared_low.pt"))
        let l = try XCTUnwrap(low.entry(named: "archive/data/0"))
        XCTAssertThrowsError(try low.data(for: l)) { error in
            guard case .sizeMismatch? = error as? ZipError else { return XCTFail("\(error)") }
        }
    }

    func testLyingZipStructures() throws {
        for rel in HostileFixtures.files(kind: "zip") where !rel.contains("bomb") {
            try assertRefused(HostileFixtures.path(rel), mentions: Self.places[rel] ?? [])
        }
    }

    /// Tensor views reaching outside their storage (size, stride, offset; huge, negative,
    /// overflowing), in zip and legacy archives: refused naming the tensor.
    func testViewsOutsideTheirStorage() throws {
        let files = HostileFixtures.files(kind: "view")
        XCTAssertGreaterThanOrEqual(files.count, 10)
        for rel in files {
            let r = try assertRefused(HostileFixtures.path(rel), mentions: [])
            let line = r?.firstErrorLine ?? ""
            XCTAssertTrue(line.contains("bad.weight") || line.contains("_rebuild_tensor"), "\(rel): \(line)")
        }
    }

    /// Huge declared lengths: BINUNICODE8 / BINBYTES8 / FRAME of 2^62, LONG4 of 2^31, a memo
    /// index of 2^32; legacy element counts of 2^40 and 2^62.
    func testHugeDeclaredLengthsAndCounts() throws {
        for rel in HostileFixtures.files(kind: "pickle-length") {
            try assertRefused(HostileFixtures.path(rel), mentions: ["data.pkl", "offset"], maxRSS: 160 << 20)
        }
        for rel in HostileFixtures.files(kind: "legacy-count") {
            try assertRefused(HostileFixtures.path(rel), mentions: Self.places[rel] ?? [], maxRSS: 160 << 20)
        }
    }

    /// The same lengths inside a legacy archive built here (no zip around the pickle), and a
    /// BINUNICODE8 of 2^62 handed straight to the unpickler.
    func testHugeLengthsInBarePickles() throws {
        let huge: [UInt8] = [0x80, 0x04, 0x8d] + Pickle.le64(1 << 62) + Array("abc.".utf8)
        let graph = PickleGraph()
        let result = huge.withUnsafeBytes { b -> Result<PickleValue, Error> in
            var u = Unpickler(bytes: b, path: "huge.pkl", graph: graph)
            return Result { try u.load() }
        }
        guard case let .failure(error) = result, case .truncated? = error as? PickleError else {
            return XCTFail("BINUNICODE8 of 2^62 was not refused as truncated: \(result)")
        }
        let legacy = try scratch.write(ContainerBuilder.legacy(objectPickle: huge), "huge_legacy.pt")
        try assertRefused(legacy, mentions: ["offset"], maxRSS: 160 << 20)
    }
}
