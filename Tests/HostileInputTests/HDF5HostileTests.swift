import Foundation
import XCTest

/// Damaged HDF5 files through the tools. libhdf5 is a C library that crashes on some malformed
/// files (scripts/fuzz.sh's hdf5 and keras targets find such files within minutes; the ones in
/// Fixtures/hostile/hdf5/crash_*.h5 crash it): the tools must still exit 2 with an error line,
/// which is what reading HDF5 in a contained child process gives (docs/HOSTILE_INPUT.md).
final class HDF5HostileTests: HostileTestCase {
    static var crashFiles: [String] {
        let dir = HostileFixtures.hostile.appendingPathComponent("hdf5").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix("crash_") }.sorted().map { dir + "/" + $0 }
    }

    func testLyingStructures() throws {
        try assertRefused(HostileFixtures.path("hdf5/superblock_eof_huge.h5"), mentions: [])
        try assertRefused(HostileFixtures.path("hdf5/root_address_huge.h5"), mentions: [])
        try assertRefused(HostileFixtures.path("hdf5/huge_dims.h5"), mentions: ["kernel:0"], maxRSS: 160 << 20)
        try assertRefused(HostileFixtures.path("hdf5/external_link.h5"), mentions: ["link"])
    }

    /// Datasets whose bytes live in another file (external raw storage, a virtual dataset):
    /// libhdf5 opens that file itself when the dataset is read, so reading them would copy a
    /// local file's bytes into the weights (and into a converted .effw someone may share).
    /// They must be refused naming the dataset, before anything is read.
    func testDatasetsStoredInOtherFilesAreRefused() throws {
        let secret = "/tmp/effnetkit_hostile_secret"
        try Data("SECRET-SECRET-SECRET-SECRET-SECRET-SECRET-SECRET!".utf8).write(to: URL(fileURLWithPath: secret + ".bin"))
        // A tiny HDF5 file with dataset "data" = 42.0 (3x4 floats): copied from the fixture
        // that holds it, so no HDF5 writer is needed here.
        try? FileManager.default.removeItem(atPath: secret + ".h5")
        try Data(contentsOf: URL(fileURLWithPath: HostileFixtures.path("hdf5/secret_source.h5"))).write(to: URL(fileURLWithPath: secret + ".h5"))
        defer {
            try? FileManager.default.removeItem(atPath: secret + ".bin")
            try? FileManager.default.removeItem(atPath: secret + ".h5")
        }
        for rel in ["hdf5/external_storage.h5", "hdf5/virtual_dataset.h5"] {
            try assertRefused(HostileFixtures.path(rel), mentions: ["kernel:0"])
        }
    }

    /// Truncations and single-byte damage all over a small Keras file: never a signal, exit 2
    /// from effnet-convert (the file is not an EfficientNet, so no damage makes it convertible).
    func testTruncatedAndFlippedFiles() throws {
        let original = try readFile(HostileFixtures.path("hdf5/keras_like.h5"))
        var variants: [(String, [UInt8])] = []
        for cut in [0, 8, 100, 512, 2048, original.count / 2, original.count - 1] {
            variants.append(("cut\(cut)", Array(original.prefix(cut))))
        }
        for at in stride(from: 0, to: original.count, by: max(1, original.count / 40)) {
            var b = original
            b[at] ^= 0xff
            variants.append(("flip\(at)", b))
        }
        for (name, b) in variants {
            let p = try scratch.write(b, "damaged_\(name).h5")
            let dest = scratch.path("out.effw")
            let r = try HostileRunner.run("effnet-convert", [p, dest])
            assertUnusable(r, source: p, mentions: [], what: "effnet-convert \(name)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
            try FileManager.default.removeItem(atPath: p)
        }
    }

    /// Files that send libhdf5 into an endless loop (hang_*.h5: one made by hand, the others
    /// found by the fuzzers): the tools give up within seconds.
    func testFilesThatHangLibhdf5() throws {
        let dir = HostileFixtures.hostile.appendingPathComponent("hdf5").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("hang_") }.sorted()
        XCTAssertTrue(files.contains("hang_vlen_heap_loop.h5"), "\(files)")
        for f in files {
            try assertRefused(dir + "/" + f, mentions: ["libhdf5 did not finish"], tools: [.convert])
        }
    }

    /// Files on which libhdf5 itself crashes: the tools turn that into exit 2.
    func testFilesThatCrashLibhdf5() throws {
        let files = Self.crashFiles
        XCTAssertFalse(files.isEmpty, "Fixtures/hostile/hdf5/crash_*.h5 are missing")
        for p in files { try assertRefused(p, mentions: []) }
    }
}

/// The containment runner itself (EffNetInterchange/Containment), through the effnet-fuzz
/// replay tool, which opts in with `ContainedRead.bootstrap()` like the CLIs do.
final class ContainmentTests: HostileTestCase {
    func contained(_ path: String) throws -> HostileRun {
        try HostileRunner.run("effnet-fuzz", ["contained", path], environment: ["TMPDIR": scratch.url.path])
    }

    func testCrashInTheChildBecomesAnError() throws {
        let files = HDF5HostileTests.crashFiles
        XCTAssertFalse(files.isEmpty)
        for p in files {
            let r = try contained(p)
            XCTAssertNil(r.signal, r.stderr)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.firstErrorLine.hasPrefix("error: \(p): "), r.stderr)
            XCTAssertLessThan(r.seconds, Self.maxSeconds)
            XCTAssertEqual(scratch.contents(), [], "the contained read left files behind")
        }
    }

    func testEndlessLoopInTheChildIsKilled() throws {
        let p = HostileFixtures.path("hdf5/hang_vlen_heap_loop.h5")
        let r = try contained(p)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.firstErrorLine.hasPrefix("error: \(p): libhdf5 did not finish"), r.stderr)
        XCTAssertLessThan(r.seconds, Self.maxSeconds)
        XCTAssertEqual(scratch.contents(), [])
    }

    func testContainedReadPassesTheCheckpointBack() throws {
        let r = try contained(HostileFixtures.path("hdf5/keras_like.h5"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("keras-weights-h5, 2 tensors"), r.stdout)
        XCTAssertTrue(r.stdout.contains("dense/kernel F32 [3, 4] sum 66.0"), r.stdout)
        XCTAssertTrue(r.stdout.contains("dense/bias F32 [4] sum 0.0"), r.stdout)
        XCTAssertEqual(scratch.contents(), [])
    }

    func testReaderErrorsPassThroughVerbatim() throws {
        let p = HostileFixtures.path("hdf5/huge_dims.h5")
        let r = try contained(p)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.firstErrorLine.hasPrefix("error: \(p): "), r.stderr)
        XCTAssertTrue(r.firstErrorLine.contains("kernel:0"), r.stderr)
        XCTAssertEqual(scratch.contents(), [])
    }
}
