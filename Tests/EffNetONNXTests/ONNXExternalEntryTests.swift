import EffNet
import Foundation
import EffNetONNX
import XCTest

/// TensorProto.external_data entries are read as bytes (Schemas/onnx.proto declares
/// StringStringEntryProto's fields `bytes`), so what protobuf-c used to cut at a NUL now reaches
/// the reader whole: NULs, control characters, invalid UTF-8 and repeated keys are refused with an
/// error naming the file, the tensor and the key.
final class ONNXExternalEntryTests: XCTestCase {
    typealias M = ONNXMalformedTests

    /// A float [2, 2] initializer 'w' with data_location EXTERNAL and the given entries.
    static func model(_ entries: [([UInt8], [UInt8])]) -> [UInt8] {
        var t = M.int(1, 2) + M.int(1, 2) + M.int(2, 1) + M.string(8, "w") + M.int(14, 1)
        for (key, value) in entries { t += M.field(13, M.field(1, key) + M.field(2, value)) }
        return M.model(tensor: t)
    }

    var folder = ""

    override func setUpWithError() throws {
        folder = try ONNXFixtures.temporaryFolder(self)
        _ = FileManager.default.createFile(atPath: folder + "/weights.bin", contents: Data(count: 16))
    }

    func read(_ entries: [([UInt8], [UInt8])]) throws -> ONNXModel {
        try Self.model(entries).withUnsafeBytes { try ONNXModel(bytes: $0, path: "test.onnx", directory: folder) }
    }

    func assertRefused(_ entries: [([UInt8], [UInt8])], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(entries), file: file, line: line) { error in
            guard case ONNXError.externalData(path: "test.onnx", tensor: "w", _, _) = error else {
                return XCTFail("expected an external-data error for 'w', got \(error)", file: file, line: line)
            }
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n") || text.contains("\0"), "one printable line: \(text)", file: file, line: line)
            for f in fragments {
                XCTAssertTrue(text.contains(f), "'\(text)' should mention '\(f)'", file: file, line: line)
            }
        }
    }

    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The control: the same construction with a clean location reads the file.
    func testCleanEntriesRead() throws {
        let m = try read([(Self.b("location"), Self.b("weights.bin")), (Self.b("offset"), Self.b("0")), (Self.b("length"), Self.b("16"))])
        XCTAssertEqual(m.graph.initializer("w")?.raw.floats(), [0, 0, 0, 0])
    }

    func testNULInLocationIsRefused() {
        assertRefused([(Self.b("location"), Self.b("weights.bin") + [0] + Self.b("../../etc/hostname"))],
                      ["'weights.bin\\0../../etc/hostname'", "entry 'location'", "NUL byte at offset 11"])
        // A NUL at the very end would look harmless to a C reader; still not the name given.
        assertRefused([(Self.b("location"), Self.b("weights.bin") + [0])], ["'weights.bin\\0'", "NUL byte at offset 11"])
    }

    func testNULInKeyIsRefused() {
        // "location\0x" is not "location" to ONNX Runtime's std::string, but is to a C reader.
        assertRefused([(Self.b("location") + [0] + Self.b("x"), Self.b("weights.bin"))],
                      ["key 'location\\0x'", "NUL byte at offset 8"])
    }

    func testNULInOffsetIsRefused() {
        assertRefused([(Self.b("location"), Self.b("weights.bin")), (Self.b("offset"), Self.b("0") + [0] + Self.b("999"))],
                      ["'weights.bin'", "entry 'offset' = '0\\0999'", "NUL byte at offset 1"])
    }

    func testControlCharactersAndInvalidUTF8AreRefused() {
        assertRefused([(Self.b("location"), Self.b("weights.bin\n"))], ["'weights.bin\\x0a'", "control character 0xa"])
        assertRefused([(Self.b("location"), Self.b("weights") + [0xff, 0xfe] + Self.b(".bin"))],
                      ["'weights\\xff\\xfe.bin'", "not valid UTF-8"])
        assertRefused([(Self.b("location"), Self.b("weights.bin")), ([0xc3], Self.b("x"))], ["key '\\xc3'", "not valid UTF-8"])
    }

    /// Two locations: which one a reader honours is its own choice (first, last); refuse both.
    func testRepeatedKeyIsRefused() {
        assertRefused([(Self.b("location"), Self.b("weights.bin")), (Self.b("location"), Self.b("other.bin"))],
                      ["entry 'location' appears twice"])
        assertRefused([(Self.b("location"), Self.b("weights.bin")), (Self.b("offset"), Self.b("0")), (Self.b("offset"), Self.b("4"))],
                      ["entry 'offset' appears twice"])
    }

    /// A long hostile value is cut in the message, which stays one line.
    func testLongValueIsCutInTheMessage() {
        let value = [UInt8](repeating: 0x61, count: 5000) + [0]
        assertRefused([(Self.b("location"), value)], ["(5001 bytes)", "NUL byte at offset 5000"])
    }

    /// Non-ASCII UTF-8 names are fine.
    func testUTF8LocationReads() throws {
        _ = FileManager.default.createFile(atPath: folder + "/gewichte-ä.bin", contents: Data(count: 16))
        let m = try read([(Self.b("location"), Self.b("gewichte-ä.bin"))])
        XCTAssertEqual(m.graph.initializer("w")?.raw.floats(), [0, 0, 0, 0])
    }
}
