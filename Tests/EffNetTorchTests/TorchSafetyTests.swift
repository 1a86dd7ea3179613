import EffNet
import Foundation
import EffNetTorch
import XCTest
import EffNetZip

/// Hostile and malformed input: refused with a named error, nothing executed, nothing trapped.
final class TorchSafetyTests: XCTestCase {
    /// Pickles that would run os.system / subprocess.Popen / eval (hidden in a checkpoint's 'args')
    /// are refused naming the global, and the file the command would create never appears.
    func testHostileGlobalsAreRefusedAndNothingRuns() throws {
        for name in ["hostile_os_system.pt", "hostile_subprocess.pt", "hostile_eval.pt"] {
            let e = try XCTUnwrap(Fixtures.json[name] as? [String: Any])
            let global = try XCTUnwrap(e["error_global"] as? String)
            let pwned = try XCTUnwrap(e["pwned_file"] as? String)
            try? FileManager.default.removeItem(atPath: pwned)
            XCTAssertThrowsError(try TorchCheckpoint(path: Fixtures.path(name)), name) { error in
                guard case let .disallowedGlobal(_, module, gname, _)? = error as? PickleError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual("\(module).\(gname)", global)
                XCTAssertTrue("\(error)".contains(global), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: pwned), "\(name) ran its payload")
        }
    }

    /// A flipped byte in a storage is a CRC error naming its entry; skipping CRCs loads it.
    func testCorruptedStorageFailsItsCRC() throws {
        let zip = try ZipArchive(path: Fixtures.path("basic_zip.pt"))
        let entry = try XCTUnwrap(zip.entry(named: "basic_zip/data/0"))
        var bytes = [UInt8](try Data(contentsOf: Fixtures.directory.appendingPathComponent("basic_zip.pt")))
        bytes[entry.dataOffset + 5] ^= 0x40
        let path = NSTemporaryDirectory() + "effnetkit-crc-\(UUID().uuidString).pt"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try TorchCheckpoint(path: path)) { error in
            guard case let .crcMismatch(_, name, _, _)? = error as? ZipError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "basic_zip/data/0")
        }
        let unchecked = try TorchCheckpoint(path: path, options: .init(verifyCRC: false))
        XCTAssertEqual(unchecked.tensors.count, try Fixtures.expected("basic_zip.pt").tensors.count)
    }

    func testLegacyCountMismatchAndTruncation() throws {
        let e = try Fixtures.expected("basic_legacy.pt")
        let dataOffset = try XCTUnwrap(e.raw["legacy_data_offset"] as? Int)
        let original = [UInt8](try Data(contentsOf: Fixtures.directory.appendingPathComponent("basic_legacy.pt")))
        func write(_ bytes: [UInt8]) throws -> String {
            let path = NSTemporaryDirectory() + "effnetkit-legacy-\(UUID().uuidString).pt"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
            return path
        }
        var patched = original
        patched[dataOffset] &+= 1 // first storage's element count off by one
        XCTAssertThrowsError(try TorchCheckpoint(path: try write(patched))) { error in
            guard case let .storage(_, key, detail)? = error as? TorchError else { return XCTFail("\(error)") }
            XCTAssertFalse(key.isEmpty)
            XCTAssertTrue(detail.contains("elements"), detail)
        }
        var huge = original
        for k in 0 ..< 8 { huge[dataOffset + k] = k == 7 ? 0x7f : 0xff }
        XCTAssertThrowsError(try TorchCheckpoint(path: try write(huge))) { XCTAssertTrue($0 is TorchError, "\($0)") }
        for cut in [1, 17, original.count - dataOffset, original.count - 40] {
            XCTAssertThrowsError(try TorchCheckpoint(path: try write(Array(original.dropLast(cut)))), "cut \(cut)")
        }
    }

    /// Every single-byte corruption of small real archives is an error or a success, never a
    /// trap (a light fuzz; a crash here becomes a named regression test). One copy is patched in
    /// place (pwrite), since re-creating files is slow on ext4.
    func testSingleByteCorruptionsNeverTrap() throws {
        for name in ["basic_legacy.pt", "training_zip.pt"] {
            let original = [UInt8](try Data(contentsOf: Fixtures.directory.appendingPathComponent(name)))
            let path = NSTemporaryDirectory() + "effnetkit-fuzz-\(UUID().uuidString).pt"
            try Data(original).write(to: URL(fileURLWithPath: path))
            addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
            let fd = open(path, O_WRONLY)
            XCTAssertGreaterThanOrEqual(fd, 0)
            defer { close(fd) }
            // Every byte of the start (pickle headers) and the end (zip directory), every 13th
            // elsewhere: a full sweep takes half a minute in a debug build.
            let positions = Array(0 ..< 256) + Array(original.count - 512 ..< original.count)
                + Array(stride(from: 256, to: original.count - 512, by: 13))
            for i in positions {
                var flipped = original[i] ^ 0x5a
                XCTAssertEqual(pwrite(fd, &flipped, 1, off_t(i)), 1)
                if let c = try? TorchCheckpoint(path: path) { _ = c.summary }
                var restored = original[i]
                XCTAssertEqual(pwrite(fd, &restored, 1, off_t(i)), 1)
            }
        }
    }
}
