import CEffNetCRC32
import CZlib
import EffNet
import XCTest

/// EffNet's CRC-32 (Sources/CEffNetCRC32) against zlib's `crc32`, the reference the zip format
/// and Python's zlib/zipfile agree with: the implementation chosen for this CPU through
/// `CRC32.checksum`, and every other one this CPU can run, called directly.
final class CRC32Tests: XCTestCase {
    private func zlibCRC(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32(uLong(seed), bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
    }

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
    func testMatchesZlibAtEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let data = (0 ..< (1 << 20) + 4096).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        data.withUnsafeBytes { all in
            for offset in 0 ..< 64 {
                for length in 0 ... 1024 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset ..< offset + length])
                    let theirs = zlibCRC(slice)
                    for (name, value) in ours(slice) where value != theirs {
                        XCTFail("\(name): offset \(offset) length \(length): \(value) != zlib \(theirs)")
                        return
                    }
                }
            }
            for length in [4095, 65_536, 65_537, 1 << 20, (1 << 20) + 4095] {
                let slice = UnsafeRawBufferPointer(rebasing: all[1 ..< 1 + length])
                let whole = zlibCRC(slice)
                // Chained: the CRC of the whole equals the CRC of the tail seeded with the head's.
                let cut = length / 3
                let head = UnsafeRawBufferPointer(rebasing: slice[slice.startIndex ..< slice.startIndex + cut])
                let tail = UnsafeRawBufferPointer(rebasing: slice[(slice.startIndex + cut)...])
                for (name, value) in ours(slice) { XCTAssertEqual(value, whole, "\(name), length \(length)") }
                for (name, value) in ours(tail, seed: CRC32.checksum(head)) {
                    XCTAssertEqual(value, whole, "\(name), chained, length \(length)")
                }
                for (name, value) in ours(tail, seed: 0x1234_5678) {
                    XCTAssertEqual(value, zlibCRC(tail, seed: 0x1234_5678), "\(name), seeded, length \(length)")
                }
            }
        }
    }
}
