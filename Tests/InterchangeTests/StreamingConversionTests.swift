import EffNet
import EffNetInterchange
import Foundation
import XCTest
import EffNetZip

/// The conversion path without a reference: tensors streamed from the source's map, the zip's
/// CRC-32s checked alongside the write (and reused as the output's), the NaN scan alongside too,
/// and nothing committed unless both pass.
final class StreamingConversionTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-streaming-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func options(_ family: FamilyName) -> Converter.Options {
        var o = Converter.Options()
        o.family = family
        return o
    }

    /// Whole-storage tensors hand the zip entry's CRC-32 to the writer (so it is not computed
    /// again), and what is written with it is right: the reader recomputes every CRC on load.
    func testZeroCopyTensorsCarryTheZipCRCAndLoadVerified() throws {
        let source = TorchFixtures.path("torchvision", TorchFixtures.Format.zip.rawValue)
        let checkpoint = try SourceReader.read(path: source, options: .init(deferDataChecks: true))
        try checkpoint.runPendingCheck()
        let mapping = try XCTUnwrap(Converter.candidateMappings(checkpoint, family: .torchvision).first)
        let plan = try Converter.streamingPlan(checkpoint, mapping, storage: .f32)
        let archive = try ZipArchive(path: source)
        let storageCRCs = Set(archive.entries.filter { $0.name.contains("/data/") }.map(\.crc32))
        // Every tensor of this state dict is a whole f32 storage: every entry carries its CRC.
        XCTAssertEqual(plan.entries.filter { $0.crc32 != nil }.count, plan.entries.count)
        for e in plan.entries { XCTAssertTrue(storageCRCs.contains(try XCTUnwrap(e.crc32)), e.name) }

        let dest = folder.appendingPathComponent("out.effw").path
        let report = try Converter.convert(source: source, destination: dest, options: options(.torchvision))
        XCTAssertTrue(report.written)
        let effw = try EffwFile(path: dest, verifyChecksums: true)
        XCTAssertEqual(effw.entries.count, plan.entries.count)
        _ = try EfficientNet(contentsOf: URL(fileURLWithPath: dest))
    }

    /// A flipped byte inside a storage: the CRC check running beside the writer catches it, the
    /// error names the file and entry, and no output appears.
    func testDamagedStorageIsCaughtWhileWritingAndNothingIsCommitted() throws {
        let original = TorchFixtures.path("torchvision", TorchFixtures.Format.zip.rawValue)
        let source = folder.appendingPathComponent("damaged.pth").path
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: original)))
        let archive = try ZipArchive(path: original)
        let biggest = try XCTUnwrap(archive.entries.filter { $0.name.contains("/data/") }.max { $0.compressedSize < $1.compressedSize })
        bytes[biggest.dataOffset + biggest.compressedSize / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: source))

        let dest = folder.appendingPathComponent("out.effw").path
        XCTAssertThrowsError(try Converter.convert(source: source, destination: dest, options: options(.torchvision))) { error in
            guard case let .crcMismatch(path, entry, _, _)? = error as? ZipError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, source)
            XCTAssertEqual(entry, biggest.name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".effnet-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    /// The writer on its own: a failing check leaves no file and an existing one untouched; a
    /// passing one commits.
    func testWriterCommitsOnlyWhenEveryCheckPasses() throws {
        struct Refused: Error {}
        let dest = folder.appendingPathComponent("w.effw").path
        let bytes: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]
        let entry = EffwWriter.Entry(name: "t", dtype: .f32, shape: [2]) { body in try bytes.withUnsafeBytes(body) }
        XCTAssertThrowsError(try EffwWriter.write(entries: [entry], metadata: [:], to: dest,
                                                  alongside: [ConcurrentCheck {}, ConcurrentCheck { throw Refused() }])) {
            XCTAssertTrue($0 is Refused, "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))

        try Data("keep me".utf8).write(to: URL(fileURLWithPath: dest))
        XCTAssertThrowsError(try EffwWriter.write(entries: [entry], metadata: [:], to: dest, overwrite: true,
                                                  alongside: [ConcurrentCheck { throw Refused() }]))
        XCTAssertEqual(try String(contentsOfFile: dest, encoding: .utf8), "keep me")

        try EffwWriter.write(entries: [entry], metadata: [:], to: dest, overwrite: true, alongside: [ConcurrentCheck {}])
        XCTAssertEqual(try EffwFile(path: dest).rawTensor("t").floats(), [1, 2])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".effnet-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    /// The provenance time stamp is formatted by hand; Foundation's ISO8601DateFormatter says
    /// what it must look like.
    func testTimestampMatchesISO8601DateFormatter() {
        let formatter = ISO8601DateFormatter()
        for seconds in [0, 59, 951_782_400 /* 2000-02-29 */, 1_798_505_999, 4_102_444_800 /* 2100-01-01 */, Int(time(nil))] {
            XCTAssertEqual(Converter.utcTimestamp(seconds), formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
    }
}
