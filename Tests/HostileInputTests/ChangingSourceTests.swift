import EffNet
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A source that shrinks or changes while it is read (a training job still writing it). Reading
/// a map past a file's new end raises SIGBUS: the guard in MappedFile turns that into zeros and
/// a mark, and any change (mark, size, mtime) becomes one error line, "changed while being
/// read", before anything is committed. Never a signal (issue 16).
final class ChangingSourceTests: HostileTestCase {
    override func tearDown() {
        MappedFile.forgetReleasedChanges()
        super.tearDown()
    }

    /// In-process and deterministic: a read past the new end of a truncated file does not kill
    /// the process (it would raise SIGBUS), reads zeros, and the map reports the change.
    func testReadPastTheNewEndIsCaughtNotASignal() throws {
        let path = try scratch.write([UInt8](repeating: 0xab, count: 1 << 20), "shrinking.bin")
        let map = try MappedFile(path: path)
        XCTAssertEqual(map.bytes[(1 << 20) - 1], 0xab)
        XCTAssertNoThrow(try map.checkUnchanged())
        XCTAssertEqual(truncate(path, 100), 0)
        // The page past the new end is gone from the file: this read faults (SIGBUS).
        let late = map.bytes[(1 << 20) - 1]
        XCTAssertEqual(late, 0, "the guard maps zero pages over the vanished part")
        XCTAssertEqual(map.bytes[50], 0xab, "the part still in the file reads as before")
        XCTAssertThrowsError(try map.checkUnchanged()) { XCTAssertEqual($0 as? FileError, .changedWhileReading(path: path)) }
        XCTAssertThrowsError(try MappedFile.checkAllUnchanged())
        XCTAssertTrue("\(FileError.changedWhileReading(path: path))".hasPrefix("\(path): changed while being read"))
    }

    /// A file rewritten in place (same size) is caught by its modification time.
    func testRewriteInPlaceIsCaught() throws {
        let path = try scratch.write([UInt8](repeating: 1, count: 4096), "rewritten.bin")
        let map = try MappedFile(path: path)
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        XCTAssertThrowsError(try map.checkUnchanged())
    }

    /// Waits until `path` is mapped by `pid` or one of its children; returns that process.
    static func waitForMap(of path: String, in pid: pid_t, seconds: Double = 10) -> pid_t? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for p in [pid] + HostileRunner.children(of: pid) {
                if let maps = try? String(contentsOfFile: "/proc/\(p)/maps", encoding: .utf8), maps.contains(path) { return p }
            }
            if kill(pid, 0) != 0 { return nil }
            usleep(200)
        }
        return nil
    }

    /// Real process: the source is truncated while the tool has it mapped (the tool is stopped
    /// for the moment of truncation, so this is not left to timing).
    func assertTruncationIsReported(_ fixture: String, extraArguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let name = (fixture as NSString).lastPathComponent
        let source = try scratch.copy(fixture, as: "src-\(name)")
        let dest = scratch.path("out.effw")
        let r = try HostileRunner.run("effnet-convert", [source, dest] + extraArguments, limit: 30) { pid in
            guard let reader = Self.waitForMap(of: source, in: pid) else { return }
            kill(reader, SIGSTOP)
            _ = truncate(source, 100)
            kill(reader, SIGCONT)
        }
        assertUnusable(r, source: source, mentions: ["changed while being read"], what: "effnet-convert \(name) truncated", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "DEST appeared", file: file, line: line)
        XCTAssertEqual(scratch.contents().filter { $0.hasPrefix(".") }, [], "temporary files left", file: file, line: line)
    }

    func testEffwSourceTruncatedWhileConverting() throws {
        try assertTruncationIsReported(HostileFixtures.fixture("core/tv_b0_w050_d050.effw"))
    }

    /// A real-size source (EfficientNet-B0, 21 MB), so the conversion runs long enough for the
    /// truncation to land at every stage.
    func bigSource() throws -> String {
        let path = scratch.path("b0.effw")
        let net = try EfficientNet(config: .b(0))
        try net.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRealSizeSourceTruncatedWhileConverting() throws {
        try assertTruncationIsReported(try bigSource())
    }

    func testKerasArchiveTruncatedWhileTheContainedChildReads() throws {
        try assertTruncationIsReported(HostileFixtures.fixture("keras/k3_plain64.keras"))
    }

    /// Real process, truncated at assorted moments: each run either wrote a complete DEST
    /// (truncation after the commit) or refused with "changed while being read". Never a signal.
    func testTruncationAtAssortedMomentsNeverKillsTheTool() throws {
        let fixture = try bigSource()
        for i in 0 ..< 8 {
            let source = try scratch.copy(fixture, as: "src\(i).effw")
            let dest = scratch.path("out\(i).effw")
            let delay = UInt32(i * 6_000)
            let r = try HostileRunner.run("effnet-convert", [source, dest], limit: 30) { pid in
                // From the moment it is mapped (before, the tool would just read a short file).
                _ = Self.waitForMap(of: source, in: pid)
                usleep(delay)
                _ = truncate(source, 100)
            }
            XCTAssertNil(r.signal, "run \(i): signal \(r.signal ?? 0): \(r.stderr)")
            if r.status == 0 {
                XCTAssertNoThrow(try EffwFile(path: dest, verifyChecksums: true), "run \(i): DEST incomplete")
            } else {
                assertUnusable(r, source: source, mentions: ["changed while being read"], what: "run \(i)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
            }
        }
        XCTAssertEqual(scratch.contents().filter { $0.hasPrefix(".") }, [], "temporary files left")
    }
}
