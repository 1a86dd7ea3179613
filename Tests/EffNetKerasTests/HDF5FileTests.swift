import EffNet
import Foundation
import EffNetKeras
import XCTest

/// The HDF5 layer against `hdf5_features.h5` (written by h5py, see Fixtures/generate_keras.py).
final class HDF5FileTests: XCTestCase {
    let path = FixturePaths.path("hdf5_features.h5")

    func testListsLinksInNameOrder() throws {
        let root = try HDF5File(path: path).root()
        XCTAssertEqual(try root.childNames(), ["big_endian_f32", "chunked_gzip_f32", "contiguous_f32", "empty", "external",
                                               "f16", "f64", "i32", "outer", "scalar_i64", "soft", "strings", "u8"])
        XCTAssertEqual(try root.group("empty").childNames(), [])
        XCTAssertEqual(try root.kind(of: "outer"), .group)
        XCTAssertEqual(try root.kind(of: "outer/inner/value"), .dataset)
        XCTAssertNil(try root.kind(of: "missing"))
        XCTAssertNil(try root.kind(of: "outer/missing/value"))
    }

    func testReadsContiguousChunkedCompressedAndBigEndianFloats() throws {
        let root = try HDF5File(path: path).root()
        let expected = (0 ..< 24).map { Float($0) / 8 }
        for name in ["contiguous_f32", "big_endian_f32"] {
            let t = try root.dataset(name).read()
            XCTAssertEqual(t.dtype, .f32, name)
            XCTAssertEqual(t.shape, [2, 3, 4], name)
            XCTAssertEqual(t.floats(), expected, name)
        }
        let chunked = try root.dataset("chunked_gzip_f32")
        XCTAssertEqual(chunked.shape, [10, 100])
        XCTAssertEqual(chunked.elementType, .float(bytes: 4))
        XCTAssertEqual(try chunked.read().floats(), (0 ..< 1000).map { Float($0) * 0.5 })
    }

    func testReadsOtherNumberTypes() throws {
        let root = try HDF5File(path: path).root()
        let f64 = try root.dataset("f64").read()
        XCTAssertEqual(f64.dtype, .f64)
        XCTAssertEqual(f64.floats(), [Float(1.0 / 3), -2.5])
        let f16 = try root.dataset("f16")
        XCTAssertEqual(f16.elementType, .float(bytes: 2))
        XCTAssertEqual(try f16.read().floats(), [0.5, -1.25, 65504])
        let i32 = try root.dataset("i32").read()
        XCTAssertEqual(i32.dtype, .i64)
        XCTAssertEqual(i32.shape, [2, 2])
        XCTAssertEqual(i32.int64s(), [-1, 2, 3, -4])
        XCTAssertEqual(try root.dataset("u8").read().int64s(), [0, 255])
        let scalar = try root.dataset("scalar_i64").read()
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.int64s(), [-7])
        XCTAssertEqual(try root.group("outer").dataset("inner/value").read().int64s(), [42])
    }

    func testReadsStringAttributesOfEveryKind() throws {
        let root = try HDF5File(path: path).root()
        XCTAssertEqual(try root.attribute("fixed_ascii").string, "hello")
        XCTAssertEqual(try root.attribute("vlen_utf8").string, "gr\u{fc}\u{df}e \u{2713}")
        XCTAssertEqual(try root.attribute("fixed_array"), .strings(["one", "three", ""], scalar: false))
        XCTAssertEqual(try root.attribute("vlen_array").stringList, ["alpha", "beta"])
        XCTAssertEqual(try root.attribute("space_padded").string, "pad")
        XCTAssertEqual(try root.attribute("ints"), .integers([1, -2, 3], shape: [3]))
        XCTAssertEqual(try root.attribute("double"), .floats([2.5], shape: []))
        XCTAssertEqual(try root.attributeNames(), ["double", "fixed_array", "fixed_ascii", "ints", "space_padded", "vlen_array", "vlen_utf8"])
        XCTAssertTrue(try root.hasAttribute("ints"))
        XCTAssertFalse(try root.hasAttribute("nope"))
    }

    func testRefusesLinksOutOfTheFileAndWrongKinds() throws {
        let root = try HDF5File(path: path).root()
        for name in ["soft", "external"] {
            XCTAssertThrowsError(try root.kind(of: name), name) { error in
                guard case HDF5Error.unsupportedType(_, let object, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(object, "/\(name)")
            }
        }
        XCTAssertThrowsError(try root.group("contiguous_f32")) { error in
            XCTAssertEqual(error as? HDF5Error, .wrongKind(file: path, object: "/contiguous_f32", expected: "group", actual: "dataset"))
        }
        XCTAssertThrowsError(try root.dataset("outer/nothing")) { error in
            XCTAssertEqual(error as? HDF5Error, .notFound(file: path, object: "/outer/nothing"))
        }
        XCTAssertThrowsError(try root.dataset("strings").read()) { error in
            guard case HDF5Error.unsupportedType = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try root.attribute("nope")) { error in
            XCTAssertEqual(error as? HDF5Error, .notFound(file: path, object: "/@nope"))
        }
        XCTAssertThrowsError(try root.kind(of: "outer//inner")) { error in
            guard case HDF5Error.malformed = error else { return XCTFail("\(error)") }
        }
    }

    func testOpensAnImageInMemory() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let file = try HDF5File(image: ByteStorage(bytes), name: "memory.h5")
        let t = try file.root().dataset("chunked_gzip_f32").read()
        XCTAssertEqual(t.floats().last, 499.5)
        XCTAssertEqual(file.byteCount, bytes.count)
    }

    func testNotHDF5GivesTheLibraryErrorStackAndTheFile() throws {
        let junk = FixturePaths.temporary("junk.h5")
        try Data((0 ..< 4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(to: URL(fileURLWithPath: junk))
        defer { try? FileManager.default.removeItem(atPath: junk) }
        XCTAssertThrowsError(try HDF5File(path: junk)) { error in
            guard case let HDF5Error.library(file, object, operation, stack) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, junk)
            XCTAssertEqual(object, "/")
            XCTAssertEqual(operation, "H5Fopen")
            XCTAssertFalse(stack.isEmpty)
            XCTAssertTrue("\(error)".hasPrefix("\(junk): HDF5 error at '/' in H5Fopen: "), "\(error)")
        }
        XCTAssertThrowsError(try HDF5File(image: ByteStorage([1, 2, 3]), name: "tiny")) { error in
            guard case HDF5Error.library = error else { return XCTFail("\(error)") }
        }
    }

    func testHandlesOutliveTheFileVariable() throws {
        var dataset: HDF5Dataset?
        do {
            let file = try HDF5File(path: path)
            dataset = try file.root().group("outer").dataset("inner/value")
        }
        XCTAssertEqual(try dataset?.read().int64s(), [42])
    }
}
