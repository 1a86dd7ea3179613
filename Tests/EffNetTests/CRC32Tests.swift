import CEffNetCRC32
import EffNet
import Foundation
import XCTest

/// EffNet's CRC-32 (Sources/CEffNetCRC32): the implementation chosen for this CPU through
/// `CRC32.checksum`, and every other one this CPU can run, called directly. The oracle is
/// `ReferenceCRC32`, the bit-at-a-time definition, itself checked against the values Python's
/// zlib gives (Fixtures/core/zlib/crc32_vectors.json, the standard check value among them), so
/// these tests link no zlib.
final class CRC32Tests: XCTestCase {
    /// Every implementation the C target has on some CPU; the ones this CPU lacks are skipped.
    private static let names = ["vpclmul-avx512", "pclmul", "armv8-crc32", "table"]

    /// The CRCs by every implementation this CPU runs, plus CRC32.checksum's.
    private func ours(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> [(String, UInt32)] {
        var results = [("CRC32.checksum", CRC32.checksum(bytes, seed: seed))]
        for name in Self.names {
            var out: UInt32 = 0
            if effnet_crc32_using(name, seed, bytes.baseAddress, bytes.count, &out) != 0 { results.append((name, out)) }
        }
        return results
    }

    private struct Vector: Decodable {
        var name, hex, seed, crc32: String
    }

    /// zlib.crc32(bytes.fromhex(hex), seed) as Python computed it (generate_zlib_oracles.py).
    private func zlibVectors() throws -> [(name: String, bytes: [UInt8], seed: UInt32, crc: UInt32)] {
        struct File: Decodable { var vectors: [Vector] }
        let url = ForwardPassFixtures.directory.appendingPathComponent("zlib/crc32_vectors.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        return try file.vectors.map { v in
            let hex = Array(v.hex.utf8)
            let bytes = try stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
                guard let b = UInt8(String(decoding: hex[i ..< i + 2], as: UTF8.self), radix: 16) else {
                    throw FixtureError("\(url.path): \(v.name): bad hex")
                }
                return b
            }
            guard let seed = UInt32(v.seed, radix: 16), let crc = UInt32(v.crc32, radix: 16) else {
                throw FixtureError("\(url.path): \(v.name): bad seed or crc32")
            }
            return (v.name, bytes, seed, crc)
        }
    }

    func testReferenceAndEveryImplementationGiveZlibsValues() throws {
        let vectors = try zlibVectors()
        XCTAssertGreaterThanOrEqual(vectors.count, 10)
        XCTAssertTrue(vectors.contains { $0.bytes == Array("123456789".utf8) && $0.seed == 0 && $0.crc == 0xCBF4_3926 })
        for v in vectors {
            XCTAssertEqual(ReferenceCRC32.checksum(v.bytes, seed: v.seed), v.crc, "reference: \(v.name)")
            v.bytes.withUnsafeBytes { bytes in
                for (name, value) in ours(bytes, seed: v.seed) { XCTAssertEqual(value, v.crc, "\(name): \(v.name)") }
            }
        }
    }

    func testKnownValues() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)  // the CRC-32 check value
        XCTAssertEqual(CRC32.checksum([]), 0)
        XCTAssertEqual(CRC32.hex(0xCBF4_3926), "cbf43926")
        XCTAssertEqual(CRC32.hex(0x0000_00ab), "000000ab")
        XCTAssertTrue(Self.names.contains(CRC32.implementation), CRC32.implementation)
        // The table code runs everywhere; on x86-64 and arm64 a faster one is expected too.
        let check = Array("123456789".utf8)
        check.withUnsafeBytes { bytes in
            let all = ours(bytes)
            XCTAssertTrue(all.contains { $0.0 == "table" })
            for (name, value) in all { XCTAssertEqual(value, 0xCBF4_3926, name) }
        }
    }

    /// Every length up to 1 KiB at every alignment within 64 bytes (the vector code's head and
    /// tail paths), then large random buffers, chained through seeds as the zip check does.
    func testMatchesReferenceAtEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let data = (0 ..< (1 << 20) + 4096).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        data.withUnsafeBytes { all in
            for offset in 0 ..< 64 {
                // The reference register runs along the bytes, so each length costs one more byte.
                var register = ~UInt32(0)
                for length in 0 ... 1024 {
                    if length > 0 { register = ReferenceCRC32.step(register, all[offset + length - 1]) }
                    let theirs = ~register
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset ..< offset + length])
                    for (name, value) in ours(slice) where value != theirs {
                        XCTFail("\(name): offset \(offset) length \(length): \(value) != reference \(theirs)")
                        return
                    }
                }
            }
            for length in [4095, 65_536, 65_537, 1 << 20, (1 << 20) + 4095] {
                let slice = UnsafeRawBufferPointer(rebasing: all[1 ..< 1 + length])
                let whole = ReferenceCRC32.checksum(slice)
                // Chained: the CRC of the whole equals the CRC of the tail seeded with the head's.
                let cut = length / 3
                let head = UnsafeRawBufferPointer(rebasing: slice[slice.startIndex ..< slice.startIndex + cut])
                let tail = UnsafeRawBufferPointer(rebasing: slice[(slice.startIndex + cut)...])
                for (name, value) in ours(slice) { XCTAssertEqual(value, whole, "\(name), length \(length)") }
                for (name, value) in ours(tail, seed: ReferenceCRC32.checksum(head)) {
                    XCTAssertEqual(value, whole, "\(name), chained, length \(length)")
                }
                let seeded = ReferenceCRC32.checksum(tail, seed: 0x1234_5678)
                for (name, value) in ours(tail, seed: 0x1234_5678) {
                    XCTAssertEqual(value, seeded, "\(name), seeded, length \(length)")
                }
            }
        }
    }
}
