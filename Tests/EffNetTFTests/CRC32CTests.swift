import EffNetTF
import XCTest

final class CRC32CTests: XCTestCase {
    /// The check value of the CRC-32C catalogue entry ("123456789") and RFC 3720's (iSCSI) vectors.
    func testKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0 ..< 32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum([]), 0)
    }

    /// The instruction path and the table agree on every length and alignment, and chaining
    /// equals one pass.
    func testImplementationsAgree() {
        var rng = SystemRandomNumberGenerator()
        let data = (0 ..< 4099).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        for start in 0 ..< 9 {
            for length in [0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4090] {
                let slice = Array(data[start ..< start + length])
                XCTAssertEqual(CRC32C.checksum(slice), CRC32C.portableChecksum(slice), "start \(start) length \(length)")
            }
        }
        let whole = CRC32C.checksum(data)
        let chained = CRC32C.checksum(Array(data[1000...]), seed: CRC32C.checksum(Array(data[..<1000])))
        XCTAssertEqual(whole, chained)
        XCTAssertNotEqual(CRC32C.implementation, "")
    }

    /// Buffers of three 8 KB blocks and more take the three-chain path (x86-64), whose CRCs are
    /// combined by a shift table: it must agree with the table at and around every block edge.
    func testThreeChainPathAgreesOnLongBuffers() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let data = (0 ..< (3 * 8192 * 3 + 100)).map { _ -> UInt8 in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        for length in [3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 8, 6 * 8192 + 5, 9 * 8192, data.count - 3] {
            for start in [0, 3] {
                let slice = Array(data[start ..< start + length])
                XCTAssertEqual(CRC32C.checksum(slice, seed: 7), CRC32C.portableChecksum(slice, seed: 7), "start \(start) length \(length)")
            }
        }
    }

    /// Values computed by Python's `crc32c` package (Fixtures/generate_tf_checkpoints.py).
    func testAgainstPythonCRC32C() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fixtures/tf/crc32c_vectors.json")
        let data = try Data(contentsOf: url)
        let vectors = try JSONDecoder().decode([Vector].self, from: data)
        XCTAssertGreaterThan(vectors.count, 3)
        for v in vectors {
            let bytes = Array(v.text.utf8) + [UInt8](repeating: UInt8(v.pad), count: v.padCount)
            XCTAssertEqual(CRC32C.checksum(bytes), v.crc32c, v.text)
            XCTAssertEqual(CRC32C.mask(CRC32C.checksum(bytes)), v.masked, v.text)
            XCTAssertEqual(CRC32C.unmask(v.masked), v.crc32c)
        }
    }

    struct Vector: Decodable {
        var text: String
        var pad: Int
        var padCount: Int
        var crc32c: UInt32
        var masked: UInt32
    }
}
