import EffNet
import Foundation
import XCTest
import EffNetZip

/// Zips written by Python's zipfile and by torch.save (Fixtures/generate_torch_archives.py), and
/// corrupted copies of them.
final class ZipArchiveTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch_archives")

    static func path(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The payloads the generator wrote.
    static let payload: [UInt8] = Array((0 ..< 40).flatMap { _ in (0 ..< 256).map { UInt8($0) } }) + Array("tail".utf8)
    static let text: [UInt8] = Array(String(repeating: "EfficientNet ", count: 300).utf8)

    /// The entry's bytes, copied while the storage that owns them is alive.
    static func bytes(_ zip: ZipArchive, _ name: String) throws -> [UInt8] {
        let storage = try zip.data(for: try XCTUnwrap(zip.entry(named: name)))
        return withExtendedLifetime(storage) { Array(storage.bytes) }
    }

    func checkPlainEntries(_ zip: ZipArchive) throws {
        let payload = try XCTUnwrap(zip.entry(named: "a/payload.bin"))
        XCTAssertTrue(try Self.bytes(zip, "a/payload.bin") == Self.payload)
        XCTAssertEqual(payload.uncompressedSize, Self.payload.count)
        XCTAssertEqual(payload.crc32, CRC32.checksum(Self.payload))
        XCTAssertTrue(try Self.bytes(zip, "text.txt") == Self.text)
        if zip.entry(named: "a/empty.txt") != nil {
            XCTAssertEqual(try Self.bytes(zip, "a/empty.txt"), [])
        }
        XCTAssertNil(zip.entry(named: "missing"))
    }

    func testStoredEntriesAreViewsIntoTheMap() throws {
        let zip = try ZipArchive(path: Self.path("plain_stored.zip"))
        XCTAssertEqual(zip.entries.map(\.name), ["a/payload.bin", "a/empty.txt", "text.txt"])
        XCTAssertEqual(zip.comment, "a comment of the archive")
        XCTAssertTrue(zip.entries.allSatisfy { $0.method == .stored })
        try checkPlainEntries(zip)
        // Zero copy: the bytes handed out lie inside the mapped file, at the data offset.
        let e = try XCTUnwrap(zip.entry(named: "a/payload.bin"))
        let data = try zip.data(for: e)
        XCTAssertEqual(data.bytes.baseAddress, zip.file.bytes.baseAddress.map { $0 + e.dataOffset })
        XCTAssertEqual(e.dataOffset, e.localHeaderOffset + 30 + "a/payload.bin".utf8.count)
    }

    func testDeflatedEntries() throws {
        let zip = try ZipArchive(path: Self.path("plain_deflated.zip"))
        XCTAssertTrue(zip.entries.contains { $0.method == .deflated })
        try checkPlainEntries(zip)
        try zip.verifyAll()
    }

    func testZip64LocalExtraFields() throws {
        try checkPlainEntries(try ZipArchive(path: Self.path("plain_zip64.zip")))
    }

    /// Saturated central sizes/offsets resolved from ZIP64 extra fields, ZIP64 end records, and a
    /// local extra field that differs from the central one.
    func testHandmadeZip64() throws {
        let zip = try ZipArchive(path: Self.path("handmade_zip64.zip"))
        XCTAssertTrue(zip.isZip64)
        let stored = try XCTUnwrap(zip.entry(named: "stored.bin"))
        XCTAssertEqual(stored.localHeaderOffset, 0)
        XCTAssertEqual(stored.dataOffset, 30 + "stored.bin".utf8.count + 64)
        XCTAssertTrue(try Self.bytes(zip, "stored.bin") == Self.payload)
        let deflated = try XCTUnwrap(zip.entry(named: "deflated.txt"))
        XCTAssertEqual(deflated.method, .deflated)
        XCTAssertTrue(try Self.bytes(zip, "deflated.txt") == Self.text)
    }

    func testTorchArchiveIsZip64WithAlignedData() throws {
        let zip = try ZipArchive(path: Self.path("basic_zip.pt"))
        XCTAssertTrue(zip.isZip64)
        XCTAssertEqual(zip.entries.first?.name, "basic_zip/data.pkl")
        for e in zip.entries where e.name.contains("/data/") {
            XCTAssertEqual(e.dataOffset % 64, 0, e.name)
        }
        try zip.verifyAll()
    }

    func testDuplicateNamesAreRefused() {
        XCTAssertThrowsError(try ZipArchive(path: Self.path("duplicate_names.zip"))) { error in
            XCTAssertEqual(error as? ZipError, .duplicateEntry(path: Self.path("duplicate_names.zip"), entry: "x.bin"))
        }
    }

    // MARK: corrupted copies

    func corrupted(_ name: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
        edit(&bytes)
        let path = NSTemporaryDirectory() + "effnetkit-zip-\(UUID().uuidString)-\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Offset of the central header of `entry` (found by its name after the signature).
    func centralHeader(_ bytes: [UInt8], _ entry: String) -> Int? {
        let sig: [UInt8] = [0x50, 0x4b, 0x01, 0x02]
        let name = Array(entry.utf8)
        for i in 0 ..< bytes.count - 46 where Array(bytes[i ..< i + 4]) == sig {
            let n = Int(bytes[i + 28]) | Int(bytes[i + 29]) << 8
            if n == name.count, i + 46 + n <= bytes.count, Array(bytes[i + 46 ..< i + 46 + n]) == name { return i }
        }
        return nil
    }

    func testCRCMismatch() throws {
        let zip = try ZipArchive(path: Self.path("plain_stored.zip"))
        let e = try XCTUnwrap(zip.entry(named: "a/payload.bin"))
        let path = try corrupted("plain_stored.zip") { $0[e.dataOffset + 100] ^= 0xff }
        let bad = try ZipArchive(path: path)
        let be = try XCTUnwrap(bad.entry(named: "a/payload.bin"))
        XCTAssertThrowsError(try bad.data(for: be)) { error in
            guard case let .crcMismatch(p, entry, expected, _)? = error as? ZipError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertEqual(entry, "a/payload.bin")
            XCTAssertEqual(expected, e.crc32)
        }
        XCTAssertNoThrow(try bad.data(for: be, verifyCRC: false))
    }

    /// The concurrent, chunked CRC check agrees with the sequential one and finds a flipped byte
    /// in any chunk.
    func testChunkedConcurrentCRC() throws {
        let zip = try ZipArchive(path: Self.path("plain_stored.zip"))
        try zip.verifyStoredCRCs(zip.entries, chunkSize: 100)
        try zip.verifyStoredCRCs(zip.entries)
        let e = try XCTUnwrap(zip.entry(named: "a/payload.bin"))
        for position in [0, 99, 100, 5000, e.compressedSize - 1] {
            let path = try corrupted("plain_stored.zip") { $0[e.dataOffset + position] ^= 1 }
            let bad = try ZipArchive(path: path)
            XCTAssertThrowsError(try bad.verifyStoredCRCs(bad.entries, chunkSize: 100)) { error in
                guard case let .crcMismatch(_, entry, _, _)? = error as? ZipError else { return XCTFail("\(error)") }
                XCTAssertEqual(entry, "a/payload.bin")
            }
        }
    }

    func testTruncatedArchives() throws {
        for cut in [1, 22, 100, 5000] {
            let path = try corrupted("plain_stored.zip") { $0.removeLast(cut) }
            XCTAssertThrowsError(try ZipArchive(path: path)) { XCTAssertTrue($0 is ZipError, "\($0)") }
        }
        let empty = try corrupted("plain_stored.zip") { $0 = [] }
        XCTAssertThrowsError(try ZipArchive(path: empty)) {
            XCTAssertEqual($0 as? ZipError, .endOfCentralDirectoryNotFound(path: empty))
        }
    }

    func testBadLocalHeaderSignature() throws {
        let path = try corrupted("plain_stored.zip") { $0[0] = 0 }
        XCTAssertThrowsError(try ZipArchive(path: path)) { error in
            guard case let .badSignature(_, structure, offset, _)? = error as? ZipError else { return XCTFail("\(error)") }
            XCTAssertTrue(structure.contains("a/payload.bin"))
            XCTAssertEqual(offset, 0)
        }
    }

    func testLocalNameMismatch() throws {
        let path = try corrupted("plain_stored.zip") { $0[30] = UInt8(ascii: "b") } // "a/payload.bin" -> "b/..."
        XCTAssertThrowsError(try ZipArchive(path: path)) { error in
            guard case .localHeaderMismatch? = error as? ZipError else { return XCTFail("\(error)") }
        }
    }

    func testDataBeyondTheFile() throws {
        let path = try corrupted("plain_stored.zip") { b in
            guard let c = self.centralHeader(b, "text.txt") else { return }
            for k in 0 ..< 4 { b[c + 20 + k] = 0x7f; b[c + 24 + k] = 0x7f } // sizes 0x7f7f7f7f
        }
        XCTAssertThrowsError(try ZipArchive(path: path)) { error in
            guard let z = error as? ZipError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(z)".contains("text.txt"), "\(z)")
        }
    }

    /// A deflated entry declaring more bytes than its stream holds, fewer, or an impossible ratio.
    func testDeflatedSizeLies() throws {
        func withUncompressed(_ size: UInt32) throws -> (ZipArchive, ZipEntry) {
            let path = try corrupted("plain_deflated.zip") { b in
                guard let c = self.centralHeader(b, "text.txt") else { return }
                for k in 0 ..< 4 { b[c + 24 + k] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(k))) }
            }
            let zip = try ZipArchive(path: path)
            return (zip, try XCTUnwrap(zip.entry(named: "text.txt")))
        }
        let n = UInt32(Self.text.count)
        for size in [n + 1, n + 1000] {
            let (zip, e) = try withUncompressed(size)
            XCTAssertThrowsError(try zip.data(for: e)) { error in
                guard case let .sizeMismatch(_, entry, detail)? = error as? ZipError else { return XCTFail("\(error)") }
                XCTAssertEqual(entry, "text.txt")
                XCTAssertTrue(detail.contains("truncated") || detail.contains("ends after"), detail)
            }
        }
        do {
            let (zip, e) = try withUncompressed(n - 1)
            XCTAssertThrowsError(try zip.data(for: e)) { error in
                guard case let .sizeMismatch(_, _, detail)? = error as? ZipError else { return XCTFail("\(error)") }
                XCTAssertTrue(detail.contains("more than the declared"), detail)
            }
        }
        do {
            let (zip, e) = try withUncompressed(0xffff_fff0)
            XCTAssertThrowsError(try zip.data(for: e)) { error in
                guard case .sizeLimitExceeded? = error as? ZipError else { return XCTFail("\(error)") }
            }
        }
    }

    func testInflateLimit() throws {
        let zip = try ZipArchive(path: Self.path("plain_deflated.zip"), limits: .init(maxInflatedSize: 100))
        let e = try XCTUnwrap(zip.entry(named: "text.txt"))
        XCTAssertThrowsError(try zip.data(for: e)) { error in
            guard case let .sizeLimitExceeded(_, entry, declared, limit, _)? = error as? ZipError else { return XCTFail("\(error)") }
            XCTAssertEqual(entry, "text.txt")
            XCTAssertEqual(declared, Self.text.count)
            XCTAssertEqual(limit, 100)
        }
    }

    func testCorruptDeflateStream() throws {
        let zip = try ZipArchive(path: Self.path("plain_deflated.zip"))
        let e = try XCTUnwrap(zip.entry(named: "a/payload.bin"))
        let path = try corrupted("plain_deflated.zip") { b in
            for k in 0 ..< 8 { b[e.dataOffset + k] = 0xff }
        }
        let bad = try ZipArchive(path: path)
        XCTAssertThrowsError(try bad.data(for: try XCTUnwrap(bad.entry(named: "a/payload.bin")))) { error in
            XCTAssertTrue(error is ZipError, "\(error)")
            XCTAssertTrue("\(error)".contains("a/payload.bin"), "\(error)")
        }
    }

    /// Every single-byte corruption of a small archive is an error or a success, never a trap.
    /// One copy is patched in place (pwrite), since re-creating files is slow on ext4.
    func testSingleByteCorruptionsNeverTrap() throws {
        let original = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("handmade_zip64.zip")))
        let path = try corrupted("handmade_zip64.zip") { _ in }
        let fd = open(path, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        // The first local header and the directory and end records (last 240 bytes) byte by
        // byte, the rest sampled.
        let positions = Array(0 ..< 100) + Array(original.count - 240 ..< original.count)
            + Array(stride(from: 100, to: original.count - 240, by: 97))
        for i in positions {
            var flipped = original[i] ^ 0xa5
            XCTAssertEqual(pwrite(fd, &flipped, 1, off_t(i)), 1)
            if let zip = try? ZipArchive(path: path) {
                for e in zip.entries { _ = try? zip.data(for: e) }
            }
            var restored = original[i]
            XCTAssertEqual(pwrite(fd, &restored, 1, off_t(i)), 1)
        }
    }
}
