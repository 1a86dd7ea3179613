import EffNet
import Foundation
import EffNetONNX
import XCTest

/// Tensor data from every place ONNX puts it, checked against ONNX Runtime's output for the same
/// tiny graph (y = Conv1x1(x, W, B), made by Fixtures/generate_onnx.py with onnx.helper).
final class ONNXReaderTests: XCTestCase {
    func run(_ model: ONNXModel) throws -> Tensor {
        let x = try ONNXFixtures.tensor("reader/x.npy")
        return try ONNXInterpreter(model: model).run(["x": ONNXArray(x)]).outputs[0].tensor
    }

    func testFloatDataAndRawData() throws {
        let model = try ONNXModel(path: ONNXFixtures.path("reader/float_data.onnx"))
        XCTAssertEqual(model.graph.initializer("W")?.dims, [3, 2, 1, 1])
        XCTAssertEqual(model.graph.initializer("B")?.dataType, .float)
        XCTAssertLessThanOrEqual(relativeError(try run(model), try ONNXFixtures.tensor("reader/float_data_ort.npy")), 1e-6)
    }

    func testTypedFieldsFloat16BFloat16DoubleIntegers() throws {
        let model = try ONNXModel(path: ONNXFixtures.path("reader/typed_fields.onnx"))
        let expected = try JSONDecoder().decode([String: [Float]].self,
                                                from: Data(contentsOf: URL(fileURLWithPath: ONNXFixtures.path("reader/typed_fields.json"))))
        let g = model.graph
        XCTAssertEqual(g.initializer("W16")?.dataType, .float16)
        XCTAssertEqual(g.initializer("W16")?.raw.floats(), expected["W16"])
        XCTAssertEqual(g.initializer("Bbf")?.dataType, .bfloat16)
        XCTAssertEqual(g.initializer("Bbf")?.raw.floats(), expected["Bbf"])
        XCTAssertEqual(g.initializer("D")?.raw.floats(), [0.5, -1.25, 3.0])
        XCTAssertEqual(g.initializer("I")?.raw.int64s(), [7, -9])
        XCTAssertEqual(g.initializer("I32")?.raw.int64s(), [5, -6])
        XCTAssertEqual(g.initializer("U8")?.raw.int64s(), [0, 200, 255])
        XCTAssertLessThanOrEqual(relativeError(try run(model), try ONNXFixtures.tensor("reader/typed_fields_ort.npy")), 1e-6)
    }

    func testConstantNodes() throws {
        let model = try ONNXModel(path: ONNXFixtures.path("reader/constants.onnx"))
        let constants = Dictionary(uniqueKeysWithValues: model.graph.constantNodeTensors.map { ($0.name, $0) })
        XCTAssertEqual(constants["W"]?.dims, [3, 2, 1, 1])
        XCTAssertEqual(constants["B"]?.dims, [3])
        XCTAssertEqual(constants["s"]?.raw.floats(), [2.5])
        XCTAssertEqual(constants["k"]?.raw.int64s(), [4])
        XCTAssertEqual(constants["ks"]?.raw.int64s(), [1, 2, 3])
        XCTAssertLessThanOrEqual(relativeError(try run(model), try ONNXFixtures.tensor("reader/constants_ort.npy")), 1e-6)
    }

    func testExternalDataWithOffset() throws {
        let model = try ONNXModel(path: ONNXFixtures.path("reader/external_ok.onnx"))
        guard case let .external(path, offset, length)? = model.graph.initializer("W")?.location else {
            return XCTFail("W should be external")
        }
        XCTAssertTrue(path.hasSuffix("/reader/weights.bin"))
        XCTAssertEqual(offset, 16)
        XCTAssertEqual(length, 24)
        XCTAssertLessThanOrEqual(relativeError(try run(model), try ONNXFixtures.tensor("reader/external_ok_ort.npy")), 1e-6)
    }

    /// An offset past 2 GiB in a sparse external file: views into the mapped file, no size limit.
    func testExternalDataBeyond2GiB() throws {
        let dir = try ONNXFixtures.temporaryFolder(self)
        try FileManager.default.copyItem(atPath: ONNXFixtures.path("reader/external_beyond_2gb.onnx"), toPath: dir + "/m.onnx")
        let offset = Int(try String(contentsOfFile: ONNXFixtures.path("reader/big_offset.txt"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        XCTAssertGreaterThan(offset, Int(Int32.max))
        let w = try ONNXModel(path: ONNXFixtures.path("reader/float_data.onnx")).graph.initializer("W")!.raw.floats()
        let big = FileHandle(forWritingAtPath: dir + "/big.bin") ?? {
            FileManager.default.createFile(atPath: dir + "/big.bin", contents: nil)
            return FileHandle(forWritingAtPath: dir + "/big.bin")!
        }()
        try big.seek(toOffset: UInt64(offset))
        big.write(w.withUnsafeBytes { Data($0) })
        try big.close()
        let model = try ONNXModel(path: dir + "/m.onnx")
        XCTAssertEqual(model.graph.initializer("W")?.raw.floats(), w)
        XCTAssertLessThanOrEqual(relativeError(try run(model), try ONNXFixtures.tensor("reader/external_ok_ort.npy")), 1e-6)
    }

    func assertExternalDataRefused(_ file: String, _ fragment: String, file f: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ONNXModel(path: file), file: f, line: line) { error in
            guard case let ONNXError.externalData(_, tensor, _, detail) = error else {
                return XCTFail("expected an external-data error, got \(error)", file: f, line: line)
            }
            XCTAssertEqual(tensor, "W", file: f, line: line)
            XCTAssertTrue(detail.contains(fragment), "'\(detail)' should mention '\(fragment)'", file: f, line: line)
        }
    }

    func testExternalDataEscapesAreRefused() throws {
        assertExternalDataRefused(ONNXFixtures.path("reader/escape_dotdot.onnx"), "..")
        assertExternalDataRefused(ONNXFixtures.path("reader/escape_nested_dotdot.onnx"), "..")
        assertExternalDataRefused(ONNXFixtures.path("reader/escape_absolute.onnx"), "absolute")
    }

    func testSymbolicLinkOutOfTheFolderIsRefused() throws {
        let dir = try ONNXFixtures.temporaryFolder(self)
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/model", withIntermediateDirectories: true)
        try fm.copyItem(atPath: ONNXFixtures.path("reader/escape_symlink.onnx"), toPath: dir + "/model/m.onnx")
        fm.createFile(atPath: dir + "/secret.bin", contents: Data(count: 24))
        try fm.createSymbolicLink(atPath: dir + "/model/link.bin", withDestinationPath: "../secret.bin")
        assertExternalDataRefused(dir + "/model/m.onnx", "outside")
        // A link that stays inside the folder is fine.
        try fm.removeItem(atPath: dir + "/model/link.bin")
        fm.createFile(atPath: dir + "/model/real.bin", contents: Data(count: 24))
        try fm.createSymbolicLink(atPath: dir + "/model/link.bin", withDestinationPath: "real.bin")
        XCTAssertEqual(try ONNXModel(path: dir + "/model/m.onnx").graph.initializer("W")?.raw.floats(), [Float](repeating: 0, count: 6))
    }

    func testExternalLengthAndRangeAreChecked() {
        assertExternalDataRefused(ONNXFixtures.path("reader/external_bad_length.onnx"), "length 20")
        assertExternalDataRefused(ONNXFixtures.path("reader/external_past_end.onnx"), "outside the")
    }

    /// protobuf-c's allocations all go back: the budgeted allocator counts them.
    func testEverythingUnpackedIsFreed() throws {
        for name in ONNXFixtures.exportCases {
            let model = try ONNXModel(path: ONNXFixtures.path("\(name)/model.onnx"))
            XCTAssertGreaterThan(model.unpackPeakBytes, 0, name)
            XCTAssertEqual(model.unpackBytesNotFreed, 0, name)
        }
    }

    func testUnsupportedOperatorIsNamed() throws {
        let model = try ONNXModel(path: ONNXFixtures.path("reader/unsupported_op.onnx"))
        XCTAssertThrowsError(try run(model)) { error in
            XCTAssertEqual(error as? ONNXRuntimeError, .unsupportedOperator(op: "LpNormalization", domain: "", node: "the_lpnorm"))
            XCTAssertTrue("\(error)".contains("LpNormalization"))
        }
    }
}
