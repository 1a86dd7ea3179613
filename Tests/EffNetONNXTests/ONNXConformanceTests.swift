import Foundation
import EffNetONNX
import XCTest

/// ONNX's own node conformance tests (the onnx package's case definitions, written by onnx's
/// test-data writer: Fixtures/generate_onnx_conformance.py, run by scripts/onnx-conformance.sh into
/// .cache/onnx-conformance) for every operator the reference interpreter implements.
///
/// Each test must either match onnx's expected outputs (element type, shape, and values within the
/// case's rtol/atol, as onnx's backend runner compares them) or be refused with a typed error that
/// names the operator and what is unsupported. The refused tests are listed, with the reason, in
/// docs/ONNX_CONFORMANCE.md; a refusal missing from that list, or a listed test that now passes,
/// fails this test so the list stays true. None may trap (a trap ends the whole test process).
final class ONNXConformanceTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    struct Manifest: Decodable {
        struct Case: Decodable {
            var name: String
            var `operator`: String
            var opset: Int?
            var rtol: Double
            var atol: Double
            var expanded: Bool
        }
        var onnx_version: String
        var operators: [String]
        var cases: [Case]
    }

    enum Outcome {
        case passed
        case refused(String)
        case mismatch(String)
    }

    func testEveryNodeTestOfEveryImplementedOperator() throws {
        let env = ProcessInfo.processInfo.environment
        let dir = env["ONNX_CONFORMANCE_DIR"] ?? Self.repo + "/.cache/onnx-conformance"
        let manifestPath = dir + "/manifest.json"
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            if env["EFFNET_REQUIRE_ONNX_CONFORMANCE"] == "1" { return XCTFail("\(manifestPath) is missing") }
            throw XCTSkip("no ONNX node tests in \(dir): run scripts/onnx-conformance.sh (pip installs onnx into .cache/)")
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        XCTAssertEqual(Set(manifest.operators), ONNXInterpreter.supportedOperators,
                       "the node tests were generated for another operator list: run scripts/onnx-conformance.sh again")

        var passed = 0, refusals: [String: String] = [:], failures: [String] = []
        var worst: (error: Double, name: String) = (0, "")
        for c in manifest.cases {
            switch try run(c, in: dir + "/node/" + c.name, worst: &worst) {
            case .passed: passed += 1
            case let .refused(reason): refusals[c.name] = reason
            case let .mismatch(detail): failures.append("\(c.name): \(detail)")
            }
        }
        for f in failures { XCTFail(f) }

        let listed = try Self.listedRefusals()
        for (name, reason) in refusals.sorted(by: { $0.key < $1.key }) where listed[name] == nil {
            XCTFail("\(name) is refused but not listed in docs/ONNX_CONFORMANCE.md: \(reason)")
        }
        let generated = Set(manifest.cases.map(\.name))
        for name in listed.keys.sorted() where generated.contains(name) && refusals[name] == nil {
            XCTFail("\(name) is listed as refused in docs/ONNX_CONFORMANCE.md but no longer is")
        }
        print("ONNX node tests (onnx \(manifest.onnx_version)): \(manifest.cases.count) cases, \(passed) passed, "
            + "\(refusals.count) refused, \(failures.count) failed; largest error of a passing float output, |a - e| / max(1, |e|), "
            + String(format: "%.3g", worst.error) + " (\(worst.name))")
        for (name, reason) in refusals.sorted(by: { $0.key < $1.key }) { print("refused: \(name): \(reason)") }
    }

    /// Runs one case: model.onnx on test_data_set_N/input_*.pb against output_*.pb.
    func run(_ c: Manifest.Case, in dir: String, worst: inout (error: Double, name: String)) throws -> Outcome {
        let model: ONNXModel
        do {
            model = try ONNXModel(path: dir + "/model.onnx")
        } catch let e as ONNXError {
            if case .unsupportedDataType = e { return .refused("\(e)") }
            return .mismatch("the reader refuses the model: \(e)")
        }
        let sets = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("test_data_set_") }.sorted()
        guard !sets.isEmpty else { return .mismatch("no test_data_set_*") }
        for set in sets {
            let folder = dir + "/" + set
            let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            let inputs = try (0 ..< files.filter { $0.hasPrefix("input_") }.count).map { try TensorProtoFile(path: folder + "/input_\($0).pb") }
            let outputs = try (0 ..< files.filter { $0.hasPrefix("output_") }.count).map { try TensorProtoFile(path: folder + "/output_\($0).pb") }
            let interpreter = try ONNXInterpreter(model: model)
            // Feeds in graph-input order; values of types the interpreter cannot hold are left out,
            // and the interpreter must then refuse the graph for that type (checked first in run).
            var feeds: [String: ONNXArray] = [:]
            for (info, t) in zip(model.graph.dataInputs, inputs) where info.nonTensor != true {
                if let a = try t.array() { feeds[info.name] = a }
            }
            let result: ONNXInterpreter.Result
            do {
                result = try interpreter.run(feeds)
            } catch let e as ONNXRuntimeError {
                switch e {
                case let .unsupportedOperator(op, _, _): return .refused("\(op): \(e)")
                case let .unsupportedFeature(op, _, _): return .refused("\(op): \(e)")
                default: return .mismatch("error \(e)")
                }
            }
            guard result.outputs.count == outputs.count else {
                return .mismatch("\(result.outputs.count) outputs, expected \(outputs.count)")
            }
            for (k, (actual, file)) in zip(result.outputs, outputs).enumerated() {
                guard model.graph.outputs[k].nonTensor != true, let expected = try file.array() else { return .mismatch("output \(k): expected type \(file.dataType) is unreadable") }
                if let d = Self.difference(actual, expected, rtol: c.rtol, atol: c.atol, worst: &worst, name: c.name) {
                    return .mismatch("output \(k): \(d)")
                }
            }
        }
        return .passed
    }

    /// nil when `actual` matches `expected` as numpy.testing.assert_allclose(actual, expected,
    /// rtol, atol) does (NaN equals NaN, infinities must match), with the same element type and
    /// shape; else what differs.
    static func difference(_ actual: ONNXArray, _ expected: ONNXArray, rtol: Double, atol: Double,
                           worst: inout (error: Double, name: String), name: String) -> String? {
        guard actual.elementType == expected.elementType else {
            return "element type \(actual.elementType.name), expected \(expected.elementType.name)"
        }
        guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
        if !expected.isFloat {
            for i in 0 ..< expected.count where actual.ints[i] != expected.ints[i] {
                return "element \(i) is \(actual.ints[i]), expected \(expected.ints[i])"
            }
            return nil
        }
        for i in 0 ..< expected.count {
            let a = actual.doubles[i], e = expected.doubles[i]
            if a.isNaN || e.isNaN {
                if a.isNaN != e.isNaN { return "element \(i) is \(a), expected \(e)" }
                continue
            }
            if a.isInfinite || e.isInfinite {
                if a != e { return "element \(i) is \(a), expected \(e)" }
                continue
            }
            let err = abs(a - e)
            if err > atol + rtol * abs(e) { return "element \(i) is \(a), expected \(e) (rtol \(rtol), atol \(atol))" }
            let relative = err / max(abs(e), 1)  // the toolkit's measure: absolute below 1
            if relative > worst.error { worst = (relative, name) }
        }
        return nil
    }

    /// The refused tests of docs/ONNX_CONFORMANCE.md: table rows "| `test_name` | reason |".
    static func listedRefusals() throws -> [String: String] {
        let text = try String(contentsOfFile: repo + "/docs/ONNX_CONFORMANCE.md", encoding: .utf8)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `test_") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            out[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
        }
        return out
    }
}
