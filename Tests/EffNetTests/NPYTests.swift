import EffNet
import Foundation
import XCTest

final class NPYTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testFloat32RoundTrip() throws {
        let t = TestSupport.randomInput([2, 3, 5, 4])
        let path = dir.appendingPathComponent("x.npy").path
        try NPY.write(t, to: path)
        XCTAssertEqual(try NPY.readTensor(path: path), t)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes[0 ..< 8]), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
    }

    /// Bytes as numpy 1.26 writes them: np.save(f, np.array([[1.5, -2.0, 3.25]], dtype='<f8')).
    func testReadsNumpyWrittenFloat64AndVersion2Headers() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }"
        var h = Array(header.utf8)
        h += [UInt8](repeating: 0x20, count: (64 - (10 + h.count + 1) % 64) % 64) + [0x0a]
        let data: [Double] = [1.5, -2.0, 3.25]
        let v1 = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count), 0] + h + data.withUnsafeBytes(Array.init)
        let p1 = dir.appendingPathComponent("v1.npy").path
        try Data(v1).write(to: URL(fileURLWithPath: p1))
        XCTAssertEqual(try NPY.readTensor(path: p1), Tensor(shape: [1, 3], scalars: [1.5, -2, 3.25]))
        let v2 = [0x93] + Array("NUMPY".utf8) + [2, 0, UInt8(h.count), 0, 0, 0] + h + data.withUnsafeBytes(Array.init)
        let p2 = dir.appendingPathComponent("v2.npy").path
        try Data(v2).write(to: URL(fileURLWithPath: p2))
        XCTAssertEqual(try NPY.read(path: p2).shape, [1, 3])
    }

    func testHalfAndInt64() throws {
        let p = dir.appendingPathComponent("h.npy").path
        let halves: [UInt16] = [0x3c00, 0xc000, 0x3555] // 1, -2, 0.33325
        try NPY.write(bytes: halves.withUnsafeBytes(Array.init), dtype: .f16, shape: [3], to: p)
        let t = try NPY.readTensor(path: p)
        XCTAssertEqual(t.scalars[0], 1)
        XCTAssertEqual(t.scalars[1], -2)
        XCTAssertEqual(t.scalars[2], 0.33325195, accuracy: 1e-7)
        let pi = dir.appendingPathComponent("i.npy").path
        try NPY.write(bytes: [Int64(-3), 1 << 40].withUnsafeBytes(Array.init), dtype: .i64, shape: [2], to: pi)
        XCTAssertEqual(try NPY.read(path: pi).raw.int64s(), [-3, 1 << 40])
    }

    func testMalformedFilesAreRefusedWithTheFileName() throws {
        func refuse(_ bytes: [UInt8], _ fragment: String) throws {
            let p = dir.appendingPathComponent("bad-\(UUID().uuidString).npy").path
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try NPY.read(path: p)) { e in
                XCTAssertTrue("\(e)".hasPrefix(p) && "\(e)".contains(fragment), "\(e)")
            }
        }
        let good = [0x93] + Array("NUMPY".utf8) + [1, 0]
        func h(_ s: String) -> [UInt8] { let b = Array(s.utf8); return [UInt8(b.count & 0xff), UInt8(b.count >> 8)] + b }
        try refuse([], "bad magic")
        try refuse(Array("NOTNUMPY00".utf8), "bad magic")
        try refuse(good + [0xff, 0xff], "header length")
        try refuse(good + h("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"), "not supported")
        try refuse(good + h("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }"), "fortran_order")
        try refuse(good + h("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }") + [0, 0, 0, 0], "truncated")
        try refuse(good + h("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }"), "overflows")
        try refuse(good + h("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "invalid dimension")
    }
}
