import EffNet
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// .npy headers as NumPy writes them and nothing looser (issue 16), wherever .npy is read: the
/// reference pair of effnet-convert and effnet-predict's --input all go through `NPY.read`.
final class StrictNPYTests: HostileTestCase {
    /// A version 1 file with `header` (padded to 64 with a newline) and `payload`.
    func npy(_ header: String, payload: [UInt8] = [], version: UInt8 = 1, minor: UInt8 = 0) -> [UInt8] {
        var h = Array(header.utf8)
        let prefix = version == 1 ? 10 : 12
        h += [UInt8](repeating: 0x20, count: (64 - (prefix + h.count + 1) % 64) % 64) + [0x0a]
        let length = version == 1 ? ContainerBuilder.le16(h.count) : Pickle.le32(h.count)
        return [0x93] + Array("NUMPY".utf8) + [version, minor] + length + h + payload
    }

    let floats4 = [UInt8](repeating: 0, count: 16)

    func testHeadersNumPyWouldNotWriteAreRefused() throws {
        let cases: [(String, [UInt8], String)] = [
            ("duplicate_key", npy("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", payload: floats4), "'descr' appears twice"),
            ("unknown_key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'evil': 1, }", payload: floats4), "unknown key 'evil'"),
            ("missing_key", npy("{'descr': '<f4', 'shape': (4,), }", payload: floats4), "no 'fortran_order'"),
            ("shape_not_tuple", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", payload: floats4), "malformed shape"),
            ("text_after_dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } import os", payload: floats4), "after the dict"),
            ("minor_version", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", payload: floats4, minor: 1), "version 1.1"),
            ("not_ascii", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'é': 1}", payload: floats4), "not ASCII"),
            // 19 nines overflow Int: effnet-fuzz npy found the parser trapping here.
            ("dimension_overflow", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 9999999999999999999), }", payload: floats4),
             "malformed shape"),
            ("dimension_18_digits", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999999,), }", payload: floats4),
             "data is truncated"),
        ]
        for (name, bytes, fragment) in cases {
            let path = try scratch.write(bytes, "\(name).npy")
            XCTAssertThrowsError(try NPY.read(path: path), name) { XCTAssertTrue("\($0)".hasPrefix(path) && "\($0)".contains(fragment), "\(name): \($0)") }
            let r = try HostileRunner.run("effnet-predict", [HostileFixtures.fixture("core/tv_b0_w050_d050.effw"), "--input", path,
                                                              "--output", scratch.path("y.npy")])
            assertUnusable(r, source: path, mentions: [fragment], what: "effnet-predict --input \(name)")
        }
        // The same header, written properly, reads.
        let good = try scratch.write(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", payload: floats4), "good.npy")
        XCTAssertEqual(try NPY.read(path: good).shape, [4])
    }

    /// A version 2 header of 100 MB that fits the file is "too large", not "exceeds the file".
    func testHugeVersion2HeaderIsTooLarge() throws {
        let path = scratch.path("huge_header.npy")
        let headerLength = 100_000_000
        var prefix: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0] + Pickle.le32(headerLength)
        prefix += Array("{'descr': '<f4', ".utf8)
        FileManager.default.createFile(atPath: path, contents: Data(prefix))
        XCTAssertEqual(truncate(path, off_t(12 + headerLength + 16)), 0)  // sparse: costs no disk
        let r = try HostileRunner.run("effnet-convert", [HostileFixtures.fixture("core/tv_b0_w050_d050.effw"), scratch.path("o.effw"),
                                                          "--check-input", path, "--check-output", path])
        assertUnusable(r, source: path, mentions: ["too large"], what: "v2 100 MB header", maxRSS: 160 << 20)
        XCTAssertFalse(r.firstErrorLine.contains("exceeds the file"), r.firstErrorLine)
    }
}
