import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A full filesystem under TMPDIR or DEST is reported as "no space left on device" (issue 16: a
/// full TMPDIR used to read "probably out of memory"). Needs a small filesystem of its own: a
/// 1 MiB tmpfs, which only root can mount; skipped otherwise.
final class FullDiskTests: HostileTestCase {
    var mountPoint: String?

    override func tearDownWithError() throws {
        if let mountPoint { _ = umount(mountPoint) }
        try super.tearDownWithError()
    }

    /// A full 1 MiB tmpfs (a hidden filler file takes every block).
    func fullFolder() throws -> String {
        guard getuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root") }
        let dir = scratch.path("full")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard mount("tmpfs", dir, "tmpfs", 0, "size=1m") == 0 else { throw XCTSkip("cannot mount a tmpfs: \(String(cString: strerror(errno)))") }
        mountPoint = dir
        let block = [UInt8](repeating: 0, count: 4096)
        let fd = open(dir + "/.filler", O_WRONLY | O_CREAT, 0o600)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, 4096) }) == 4096 {}
        close(fd)
        return dir
    }

    func testFullTMPDIRIsNoSpaceLeft() throws {
        let full = try fullFolder()
        let source = HostileFixtures.fixture("keras/k3_plain64.keras")
        let dest = scratch.path("out.effw")
        let r = try HostileRunner.run("effnet-convert", [source, dest], environment: ["TMPDIR": full])
        assertUnusable(r, source: source, mentions: ["no space left on device"], what: "full TMPDIR")
        XCTAssertFalse(r.stderr.contains("out of memory"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
    }

    func testFullDestinationFolderIsNoSpaceLeft() throws {
        let full = try fullFolder()
        let dest = full + "/out.effw"
        let r = try HostileRunner.run("effnet-convert", [HostileFixtures.fixture("core/tv_b0_w050_d050.effw"), dest])
        assertUnusable(r, source: dest, mentions: ["no space left on device"], what: "full DEST folder")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: full), [".filler"], "something was left in DEST's folder")
    }
}
