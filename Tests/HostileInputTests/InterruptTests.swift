import EffNet
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGKILL during a conversion (issue 16): the first two remove what the
/// tool made (temporary file, contained child, its folder), print one line saying nothing was
/// written and exit 128 + signal; after SIGKILL nothing is visible either (DEST is an unnamed
/// O_TMPFILE until committed) and the contained child dies with its parent and removes its
/// folder. Real processes; TMPDIR is a private folder so leftovers can be seen.
final class InterruptTests: HostileTestCase {
    /// A file on which libhdf5 loops: the contained child is busy for 8 s, a wide window.
    var hangingSource: String { HostileFixtures.path("hdf5/hang_vlen_heap_loop.h5") }

    func privateTemp() throws -> String {
        let t = scratch.path("tmp")
        try FileManager.default.createDirectory(atPath: t, withIntermediateDirectories: true)
        return t
    }

    /// Waits for `pid` to have a child; returns it.
    static func waitForChild(of pid: pid_t, seconds: Double = 10) -> pid_t? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let c = HostileRunner.children(of: pid).first { return c }
            usleep(1000)
        }
        return nil
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        // A zombie is dead for this purpose: its state letter is Z.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    func assertInterrupted(by signal: Int32, name: String, status: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let tmp = try privateTemp()
        let dest = scratch.path("out.effw")
        let childPid = PidBox()
        let box = childPid
        let r = try HostileRunner.run("effnet-convert", [hangingSource, dest], limit: 30, environment: ["TMPDIR": tmp]) { pid in
            guard let child = Self.waitForChild(of: pid) else { return }
            box.pointee = child
            usleep(200_000)
            kill(pid, signal)
        }
        XCTAssertNotEqual(childPid.pointee, 0, "the contained child never started", file: file, line: line)
        XCTAssertNil(r.signal, "died from signal \(r.signal ?? 0)", file: file, line: line)
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr, "error: \(dest): interrupted by \(name); nothing was written\n", file: file, line: line)
        XCTAssertLessThan(r.seconds, 5, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "DEST appeared", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "TMPDIR not emptied", file: file, line: line)
        XCTAssertFalse(Self.isAlive(childPid.pointee), "the contained child outlived the tool", file: file, line: line)
        XCTAssertEqual(scratch.contents().filter { $0.hasPrefix(".") }, [], "temporary files beside DEST", file: file, line: line)
    }

    func testSIGINTRemovesEverythingAndExits130() throws {
        try assertInterrupted(by: SIGINT, name: "SIGINT", status: 130)
    }

    func testSIGTERMRemovesEverythingAndExits143() throws {
        try assertInterrupted(by: SIGTERM, name: "SIGTERM", status: 143)
    }

    /// SIGKILL cannot be caught: the child notices (PR_SET_PDEATHSIG), dies and removes its folder.
    func testSIGKILLedParentTakesTheContainedChildAlong() throws {
        let tmp = try privateTemp()
        let dest = scratch.path("out.effw")
        let childPid = PidBox()
        let box = childPid
        let r = try HostileRunner.run("effnet-convert", [hangingSource, dest], limit: 30, environment: ["TMPDIR": tmp]) { pid in
            guard let child = Self.waitForChild(of: pid) else { return }
            box.pointee = child
            usleep(200_000)
            kill(pid, SIGKILL)
        }
        XCTAssertEqual(r.signal, SIGKILL)
        XCTAssertNotEqual(childPid.pointee, 0, "the contained child never started")
        // The child's handler runs as soon as it is scheduled.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, Self.isAlive(childPid.pointee) || !((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).isEmpty {
            usleep(10_000)
        }
        XCTAssertFalse(Self.isAlive(childPid.pointee), "the contained child outlived its parent")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "the child's folder was left behind")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
        XCTAssertEqual(scratch.contents().filter { $0.hasPrefix(".") }, [], "temporary files beside DEST")
    }

    /// Interrupts at assorted moments of an ordinary conversion: a complete DEST or none, and no
    /// temporary file beside it, whether the signal is SIGINT, SIGTERM or SIGKILL.
    func testSignalsAtAssortedMomentsLeaveNothingBehind() throws {
        let source = HostileFixtures.fixture("core/tv_b0_w050_d050.effw")
        for (i, signal) in [SIGINT, SIGTERM, SIGKILL, SIGINT, SIGTERM, SIGKILL, SIGINT, SIGKILL, SIGTERM].enumerated() {
            let dest = scratch.path("out\(i).effw")
            let delay = UInt32(5_000 + i * 10_000)
            let r = try HostileRunner.run("effnet-convert", [source, dest], limit: 30) { pid in
                usleep(delay)
                kill(pid, signal)
            }
            if r.status == 0, r.signal == nil {
                XCTAssertNoThrow(try EffwFile(path: dest, verifyChecksums: true), "run \(i): DEST incomplete")
            } else if r.signal == nil {
                XCTAssertEqual(r.status, 128 + signal, "run \(i): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasSuffix("nothing was written\n"), "run \(i): \(r.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "run \(i): DEST appeared")
            } else {
                // Before the handlers are installed (the first milliseconds) or SIGKILL.
                XCTAssertTrue(r.signal == signal, "run \(i): signal \(r.signal ?? 0)")
                if FileManager.default.fileExists(atPath: dest) {
                    XCTAssertNoThrow(try EffwFile(path: dest, verifyChecksums: true), "run \(i): DEST incomplete")
                }
            }
            XCTAssertEqual(scratch.contents().filter { $0.hasPrefix(".") }, [], "run \(i): temporary files beside DEST")
        }
    }

    /// The unnamed output: while the writer runs, the destination's folder holds no new name.
    func testOutputIsUnnamedUntilCommitted() throws {
        let dest = scratch.path("x.effw")
        let before = scratch.contents()
        try AtomicFileWriter(destination: dest).write { sink in
            try sink.write([UInt8](repeating: 7, count: 1000))
            XCTAssertEqual(self.scratch.contents(), before, "a name appeared before the commit")
        }
        XCTAssertEqual(try readFile(dest), [UInt8](repeating: 7, count: 1000))
    }
}

/// The contained child's pid, seen by the thread that signals the tool.
final class PidBox: @unchecked Sendable {
    var pointee: pid_t = 0
}
