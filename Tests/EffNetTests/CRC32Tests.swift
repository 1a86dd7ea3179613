import CZlib
import EffNet
import XCTest

/// EffNet's CRC-32 (libdeflate) against zlib's `crc32`, the reference the zip format and
/// Python's zlib/zipfile agree with.
final class CRC32Tests: XCTestCase {
    private func zlibCRC(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32(uLong(seed), bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
    }

    func testKnownValues() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)  // the CRC-32 check value
        XCTAssertEqual(CRC32.checksum([]), 0)
        XCTAssertEqual(CRC32.hex(0xCBF4_3926), "cbf43926")
        XCTAssertEqual(CRC32.hex(0x0000_00ab), "000000ab")
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
                    let ours = CRC32.checksum(slice), theirs = zlibCRC(slice)
                    if ours != theirs { XCTFail("offset \(offset) length \(length): \(ours) != zlib \(theirs)"); return }
                }
            }
            for length in [4095, 65_536, 65_537, 1 << 20, (1 << 20) + 4095] {
                let slice = UnsafeRawBufferPointer(rebasing: all[1 ..< 1 + length])
                XCTAssertEqual(CRC32.checksum(slice), zlibCRC(slice), "length \(length)")
                // Chained: the CRC of the whole equals the CRC of the tail seeded with the head's.
                let cut = length / 3
                let head = UnsafeRawBufferPointer(rebasing: slice[slice.startIndex ..< slice.startIndex + cut])
                let tail = UnsafeRawBufferPointer(rebasing: slice[(slice.startIndex + cut)...])
                XCTAssertEqual(CRC32.checksum(tail, seed: CRC32.checksum(head)), zlibCRC(slice), "chained, length \(length)")
                XCTAssertEqual(CRC32.checksum(tail, seed: 0x1234_5678), zlibCRC(tail, seed: 0x1234_5678))
            }
        }
    }
}
