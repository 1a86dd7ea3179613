import EffNet
import Foundation
import EffNetONNX
import XCTest

/// Malformed protobufs as byte literals: every one is a typed error, never a trap.
final class ONNXMalformedTests: XCTestCase {
    // A minimal protobuf encoder for hand-made messages.
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            out.append(UInt8(v & 0x7f) | (v > 0x7f ? 0x80 : 0))
            v >>= 7
        } while v > 0
        return out
    }
    static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(UInt64(number << 3 | 2)) + varint(UInt64(payload.count)) + payload
    }
    static func int(_ number: Int, _ value: Int64) -> [UInt8] {
        varint(UInt64(number << 3)) + varint(UInt64(bitPattern: value))
    }
    static func string(_ number: Int, _ s: String) -> [UInt8] { field(number, Array(s.utf8)) }

    /// ModelProto { ir_version 8, graph { initializer tensor } }.
    static func model(tensor: [UInt8]) -> [UInt8] {
        int(1, 8) + field(7, field(5, tensor))
    }

    func read(_ bytes: [UInt8], budget: Int? = nil) throws -> ONNXModel {
        var options = ONNXModel.ReadOptions()
        options.unpackBudget = budget
        return try bytes.withUnsafeBytes { try ONNXModel(bytes: $0, path: "test.onnx", directory: "/nonexistent", options: options) }
    }

    func assertMalformed(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(bytes), file: file, line: line) { error in
            XCTAssertEqual(error as? ONNXError, .malformedProtobuf(path: "test.onnx"), file: file, line: line)
        }
    }

    func testTruncatedVarint() { assertMalformed([0x08]) }
    func testUnterminatedVarint() { assertMalformed([0x08] + [UInt8](repeating: 0xff, count: 11)) }
    func testLengthBeyondEnd() { assertMalformed([0x3a, 0x05, 0x01]) }
    func testInvalidWireType() { assertMalformed([0x0f, 0x00]) }
    func testWrongWireTypeForKnownField() { assertMalformed([0x0d, 0, 0, 0, 0]) } // ir_version as fixed32

    func testEmptyMessageHasNoGraph() {
        XCTAssertThrowsError(try read([])) { XCTAssertEqual($0 as? ONNXError, .missingGraph(path: "test.onnx")) }
    }

    func testTruncatedRealModel() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: ONNXFixtures.path("torchvision_ts13/model.onnx")))
        for cut in [data.count / 2, data.count - 3, 100] {
            XCTAssertThrowsError(try read(Array(data.prefix(cut))), "cut at \(cut)")
        }
    }

    func testRawDataLengthMismatch() {
        let t = Self.int(1, 2) + Self.int(2, 1) + Self.string(8, "w") + Self.field(9, [0, 0, 0, 0])
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            guard case let ONNXError.tensorData(_, tensor, detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(tensor, "w")
            XCTAssertTrue(detail.contains("raw_data holds 4 bytes"), detail)
        }
    }

    func testNegativeDimension() {
        let t = Self.int(1, -2) + Self.int(2, 1) + Self.string(8, "w")
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            guard case ONNXError.tensorData(_, "w", _) = error else { return XCTFail("\(error)") }
        }
    }

    func testOverflowingShape() {
        let t = Self.int(1, 1 << 40) + Self.int(1, 1 << 40) + Self.int(2, 1) + Self.string(8, "w")
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            guard case let ONNXError.tensorData(_, "w", detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("overflow"), detail)
        }
    }

    func testUnsupportedDataType() {
        let t = Self.int(1, 1) + Self.int(2, 8) + Self.string(8, "s") + Self.field(6, Array("x".utf8))
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            XCTAssertEqual(error as? ONNXError, .unsupportedDataType(path: "test.onnx", tensor: "s", dataType: 8))
        }
    }

    func testTypedValueOutOfRange() {
        // UINT8 tensor whose int32_data holds 300.
        let t = Self.int(1, 1) + Self.int(2, 2) + Self.string(8, "u") + Self.field(5, Self.varint(300))
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            guard case let ONNXError.tensorData(_, "u", detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("300"), detail)
        }
    }

    func testDataInTwoPlaces() {
        let t = Self.int(1, 1) + Self.int(2, 1) + Self.string(8, "w") + Self.field(9, [0, 0, 0, 0]) + Self.field(4, [0, 0, 0, 0])
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            guard case ONNXError.tensorData(_, "w", _) = error else { return XCTFail("\(error)") }
        }
    }

    func testMissingData() {
        let t = Self.int(1, 3) + Self.int(2, 1) + Self.string(8, "w")
        XCTAssertThrowsError(try read(Self.model(tensor: t))) { error in
            guard case let ONNXError.tensorData(_, "w", detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("no data"), detail)
        }
    }

    func testDuplicateInitializer() {
        let t = Self.int(1, 1) + Self.int(2, 1) + Self.string(8, "w") + Self.field(9, [0, 0, 0, 0])
        let bytes = Self.int(1, 8) + Self.field(7, Self.field(5, t) + Self.field(5, t))
        XCTAssertThrowsError(try read(bytes)) { error in
            guard case ONNXError.invalid(_, "initializer 'w'", _) = error else { return XCTFail("\(error)") }
        }
    }

    /// Forty thousand empty nodes are 80 KB of file but several MB unpacked: the budget refuses.
    func testUnpackingIsBudgeted() {
        let nodes = [UInt8]((0 ..< 40000).flatMap { _ in [0x0a, 0x00] })
        let bytes = Self.int(1, 8) + Self.field(7, nodes)
        XCTAssertThrowsError(try read(bytes, budget: 1 << 20)) { error in
            XCTAssertEqual(error as? ONNXError, .memoryBudgetExceeded(path: "test.onnx", budget: 1 << 20))
        }
    }

    func testNodeWithoutOpType() {
        let bytes = Self.int(1, 8) + Self.field(7, Self.field(1, Self.string(3, "n")))
        XCTAssertThrowsError(try read(bytes)) { error in
            guard case ONNXError.invalid(_, "node 'n'", _) = error else { return XCTFail("\(error)") }
        }
    }
}
