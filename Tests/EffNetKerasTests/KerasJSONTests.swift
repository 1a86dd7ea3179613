import EffNetKeras
import XCTest

/// KerasJSON's values: numbers, booleans (never numbers), nulls, nesting, and Python's bare NaN
/// (JSON5) beside strict JSON giving the same values elsewhere.
final class KerasJSONTests: XCTestCase {
    func testStrictAndJSON5PathsGiveTheSameValues() throws {
        let strict = #"{"a": [1, 2.5, -3e2, true, false, null, "x\"y"], "b": {"c": {"d": []}}, "e": 0, "f": 1}"#
        let v = try KerasJSON.parse(strict, source: "strict")
        XCTAssertEqual(v["a"], .array([.number(1), .number(2.5), .number(-300), .bool(true), .bool(false), .null, .string("x\"y")]))
        XCTAssertEqual(v["b"]?["c"]?["d"], .array([]))
        XCTAssertEqual(v["e"], .number(0))
        XCTAssertEqual(v["f"], .number(1))
        // The same document with a bare NaN goes through the decoder and agrees elsewhere.
        let loose = try KerasJSON.parse(strict.replacingOccurrences(of: #""e": 0"#, with: #""e": NaN"#), source: "json5")
        XCTAssertEqual(loose["a"], v["a"])
        XCTAssertEqual(loose["b"], v["b"])
        XCTAssertTrue(loose["e"]?.number?.isNaN ?? false)
        XCTAssertThrowsError(try KerasJSON.parse("{\"a\": [1, }", source: "bad"))
    }
}
