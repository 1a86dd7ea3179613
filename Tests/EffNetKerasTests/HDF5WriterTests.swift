import EffNet
import Foundation
import EffNetKeras
import XCTest

/// `HDF5Writer` read back by `HDF5File` (the Keras export's files are checked against real Keras in
/// Fixtures/export; these pin the writer's own contract, including what the hdf5writer fuzz
/// target found).
final class HDF5WriterTests: XCTestCase {
    func readBack(_ w: HDF5Writer) throws -> HDF5Group {
        let image = try w.image()
        return try image.withUnsafeBytes { try HDF5File(image: ByteStorage(copying: $0), name: "written.h5") }.root()
    }

    func testGroupsDatasetsAndAttributesReadBackAsWritten() throws {
        let w = try HDF5Writer(name: "t.h5")
        try w.dataset("/layers/conv/vars/0", float32: [1, -2.5, .infinity, 0], shape: [2, 2])
        try w.dataset("/layers/conv/vars/1", int64: [7], shape: [])
        try w.attribute("name", on: "/layers/conv", string: "stem_conv ∑")
        try w.attribute("layer_names", on: "/", strings: ["a", "bc", ""])
        try w.attribute("weight_names", on: "/layers", strings: [])
        let root = try readBack(w)
        let vars = try root.group("layers").group("conv").group("vars")
        XCTAssertEqual(try vars.dataset("0").read().shape, [2, 2])
        XCTAssertEqual(try vars.dataset("0").read().floats(), [1, -2.5, .infinity, 0])
        XCTAssertEqual(try vars.dataset("1").read().int64s(), [7])
        XCTAssertEqual(try root.group("layers").group("conv").attribute("name"), .strings(["stem_conv ∑"], scalar: true))
        XCTAssertEqual(try root.attribute("layer_names"), .strings(["a", "bc", ""], scalar: false))
        // h5py's np.asarray([]): an empty float64 array.
        XCTAssertEqual(try root.group("layers").attribute("weight_names"), .floats([], shape: [0]))
    }

    /// HDF5 strings end at a NUL: a name or value holding one would come back cut short
    /// (found by `effnet-fuzz hdf5writer`), so the writer refuses it, naming the object.
    func testTextHoldingANULIsRefusedNotCutShort() throws {
        let w = try HDF5Writer(name: "t.h5")
        try w.group("/g")
        for (what, attempt) in [
            ("strings", { try w.attribute("names", on: "/g", strings: ["ok", "a\0b"]) }),
            ("string", { try w.attribute("name", on: "/g", string: "x\0") }),
            ("attribute name", { try w.attribute("na\0me", on: "/g", string: "x") }),
            ("group", { try w.group("/g/h\0") }),
            ("dataset", { try w.dataset("/g/d\0", float32: [1], shape: [1]) }),
        ] as [(String, () throws -> Void)] {
            XCTAssertThrowsError(try attempt(), what) { error in
                XCTAssertTrue("\(error)".contains("NUL"), "\(what): \(error)")
                XCTAssertTrue("\(error)".contains("t.h5"), "\(what): \(error)")
            }
        }
        XCTAssertEqual(try readBack(w).attributeNames(), [])
    }
}
