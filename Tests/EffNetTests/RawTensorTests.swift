import EffNet
import XCTest

/// Views over raw bytes: the NaN/Inf scan every conversion runs, and the CRC hand-off.
final class RawTensorTests: XCTestCase {
    /// A float32 view of `values` starting `shift` bytes into its storage (file offsets need not
    /// be aligned).
    func view(_ values: [UInt32], shift: Int = 0) -> RawTensor {
        var bytes = [UInt8](repeating: 0xAB, count: shift)
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        let storage = ByteStorage(bytes)
        let raw = try! RawTensor(dtype: .f32, shape: [values.count], offset: 0,
                                 storage: ByteStorage(bytes: UnsafeRawBufferPointer(rebasing: storage.bytes[shift...]), owner: storage))
        return raw
    }

    func testAllFiniteFindsEveryNonFiniteBitPatternAnywhere() {
        let finite: [UInt32] = [0, 0x8000_0000, 0x7f7f_ffff, 0xff7f_ffff, 0x0000_0001, 0x3f80_0000, 0x807f_ffff]
        let nonFinite: [UInt32] = [0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0xffc0_0000, 0x7f80_0001, 0xffff_ffff]
        for count in [1, 15, 16, 17, 33, 100] {
            for shift in [0, 1, 3] {
                var values = (0 ..< count).map { finite[$0 % finite.count] }
                XCTAssertTrue(view(values, shift: shift).allFinite, "count \(count) shift \(shift)")
                for position in Set([0, count / 2, count - 1]) {
                    for bad in nonFinite {
                        let saved = values[position]
                        values[position] = bad
                        XCTAssertFalse(view(values, shift: shift).allFinite,
                                       "0x\(String(bad, radix: 16)) at \(position) of \(count), shift \(shift)")
                        values[position] = saved
                    }
                }
            }
        }
    }

    func testAllFiniteOfManyTensorsKeepsOrder() {
        let good = view([0x3f80_0000, 0])
        let bad = view([0x3f80_0000, 0x7fc0_0000])
        XCTAssertEqual(RawTensor.allFinite([good, bad, good, bad, bad]), [true, false, true, false, false])
        XCTAssertEqual(RawTensor.allFinite([]), [])
    }

    /// A storage's container CRC is handed on only when the view is the whole storage.
    func testContiguousCRCOnlyForWholeStorage() throws {
        let storage = ByteStorage([UInt8](repeating: 1, count: 16)).withCRC32(0x1234_5678)
        let whole = try RawTensor(dtype: .f32, shape: [4], storage: storage)
        XCTAssertEqual(whole.contiguousCRC32, 0x1234_5678)
        let part = try RawTensor(dtype: .f32, shape: [3], offset: 1, storage: storage)
        XCTAssertNil(part.contiguousCRC32)
        let strided = try RawTensor(dtype: .f32, shape: [2], strides: [2], storage: storage)
        XCTAssertNil(strided.contiguousCRC32)
        XCTAssertNil(try RawTensor(dtype: .f32, shape: [4], storage: ByteStorage([UInt8](repeating: 1, count: 16))).contiguousCRC32)
    }
}
