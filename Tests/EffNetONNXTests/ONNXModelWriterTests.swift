import EffNet
import EffNetONNX
import XCTest

/// The format-level writer: what it serialises, the project's reader reads back exactly (names,
/// dims, raw_data values, attributes of every kind, symbolic dimensions, metadata), the interpreter
/// runs it, and graphs that break the IR's rules are refused before anything is packed.
final class ONNXModelWriterTests: XCTestCase {
    /// y = Relu(Conv(x, w, b, pads 1)) on a [batch, 2, 4, 4] input.
    private func tinyWriter() -> ONNXModelWriter {
        var w = ONNXModelWriter(graphName: "tiny", opsetVersion: 17)
        w.docString = "a test graph"
        w.metadata = [("k1", "v1"), ("k2", "ünïcode")]
        w.inputs = [.init(name: "x", dimensions: [.symbolic("batch"), .fixed(2), .fixed(4), .fixed(4)])]
        w.initializers = [
            .float("conv.weight", shape: [3, 2, 3, 3], (0 ..< 54).map { Float($0) / 54 - 0.5 }),
            .float("conv.bias", shape: [3], [0.25, -0.5, 1e-7]),
            .int64("shape", shape: [2], [-1, 48]),
        ]
        w.nodes = [
            .init("Conv", name: "conv", inputs: ["x", "conv.weight", "conv.bias"], outputs: ["c"],
                  attributes: [.ints("pads", [1, 1, 1, 1]), .ints("kernel_shape", [3, 3]), .int("group", 1),
                               .init("unused_floats", .floats([1.5, -2])), .float("unused_float", 0.125), .string("auto_pad", "NOTSET")]),
            .init("Relu", name: "relu", inputs: ["c"], outputs: ["r"]),
            .init("Reshape", name: "flat", inputs: ["r", "shape"], outputs: ["y"]),
        ]
        w.outputs = [.init(name: "y", dimensions: [.symbolic("batch"), .fixed(48)])]
        return w
    }

    func testWrittenModelReadsBackExactly() throws {
        let w = tinyWriter()
        let bytes = try w.serializedBytes()
        let m = try bytes.withUnsafeBytes { try ONNXModel(bytes: $0, path: "tiny.onnx", directory: ".") }
        XCTAssertEqual(m.unpackBytesNotFreed, 0)
        XCTAssertEqual(m.irVersion, 8)
        XCTAssertEqual(m.opsetVersion(), 17)
        XCTAssertEqual(m.producerName, "EffNetKit")
        XCTAssertEqual(m.producerVersion, EffNetKitVersion.string)
        XCTAssertEqual(m.docString, "a test graph")
        XCTAssertEqual(m.metadata.map(\.key), ["k1", "k2"])
        XCTAssertEqual(m.metadata.map(\.value), ["v1", "ünïcode"])
        XCTAssertEqual(m.graph.name, "tiny")
        XCTAssertEqual(m.graph.inputs.first?.shape, [.param("batch"), .value(2), .value(4), .value(4)])
        XCTAssertEqual(m.graph.inputs.first?.elementType, ONNXDataType.float.rawValue)
        XCTAssertEqual(m.graph.outputs.first?.shape, [.param("batch"), .value(48)])
        XCTAssertEqual(m.graph.nodes.map(\.opType), ["Conv", "Relu", "Reshape"])
        XCTAssertEqual(m.graph.nodes.map(\.name), ["conv", "relu", "flat"])
        XCTAssertEqual(m.graph.nodes[0].inputs, ["x", "conv.weight", "conv.bias"])
        let conv = m.graph.nodes[0]
        guard case let .ints(pads)? = conv.attribute("pads"), case let .int(group)? = conv.attribute("group"),
              case let .floats(fs)? = conv.attribute("unused_floats"), case let .float(f)? = conv.attribute("unused_float") else {
            return XCTFail("attributes: \(conv.attributes.map(\.name))")
        }
        XCTAssertEqual(pads, [1, 1, 1, 1]); XCTAssertEqual(group, 1); XCTAssertEqual(fs, [1.5, -2]); XCTAssertEqual(f, 0.125)
        XCTAssertEqual(conv.attribute("auto_pad")?.stringValue, "NOTSET")
        for t in w.initializers {
            let r = try XCTUnwrap(m.graph.initializer(t.name), t.name)
            XCTAssertEqual(r.dims, t.shape, t.name)
            switch t.values {
            case let .float(v): XCTAssertEqual(r.dataType, .float); XCTAssertEqual(r.raw.floats(), v, t.name)
            case let .int64(v): XCTAssertEqual(r.dataType, .int64); XCTAssertEqual(r.raw.int64s(), v, t.name)
            }
        }
        // And it runs: batch 2, the dynamic dimension.
        let x = (0 ..< 64).map { Float(($0 * 37) % 17) / 8 - 1 }
        let out = try ONNXInterpreter(model: m).run(["x": ONNXArray(floats: x, shape: [2, 2, 4, 4])]).outputs[0]
        XCTAssertEqual(out.shape, [2, 48])
        XCTAssertTrue(out.doubles.allSatisfy { $0 >= 0 })
        XCTAssertTrue(out.doubles.contains { $0 > 0 })
    }

    func testSerialisationIsDeterministic() throws {
        XCTAssertEqual(try tinyWriter().serializedBytes(), try tinyWriter().serializedBytes())
    }

    func testInvalidGraphsAreRefusedNamingThePlace() {
        func refused(_ change: (inout ONNXModelWriter) -> Void, _ expected: String, line: UInt = #line) {
            var w = tinyWriter()
            change(&w)
            XCTAssertThrowsError(try w.serializedBytes(), line: line) { e in
                guard case let ONNXWriteError.invalidGraph(graph, detail) = e else { return XCTFail("\(e)", line: line) }
                XCTAssertEqual(graph, "tiny", line: line)
                XCTAssertTrue(detail.contains(expected), detail, line: line)
            }
        }
        refused({ $0.nodes.swapAt(0, 1) }, "reads 'c' before anything defines it")
        refused({ $0.nodes[1].outputs = ["c"] }, "'c' (node 'relu') is defined twice")
        refused({ $0.initializers[1] = .float("conv.bias", shape: [4], [1, 2, 3]) }, "'conv.bias' of shape [4] holds 3 values")
        refused({ $0.initializers.append(.float("x", shape: [], [0])) }, "initializer 'x' is empty or defined twice")
        refused({ $0.outputs[0].name = "nothing" }, "no node produces the graph output 'nothing'")
        refused({ $0.nodes[0].opType = "" }, "node 'conv' has no operator")
        // Found by `effnet-fuzz onnxwriter`: each of these wrote a file the reader refuses or
        // reads back different.
        refused({ $0.nodes[0].name = "co\0nv" }, "holds a NUL byte")
        refused({ $0.initializers[0].name = "w\0" }, "holds a NUL byte")
        refused({ $0.nodes[0].attributes.append(.int("", 1)) }, "attribute named '' that is empty or given twice")
        refused({ $0.nodes[0].attributes.append(.int("group", 1)); $0.nodes[0].attributes.append(.int("group", 2)) },
                "attribute named 'group' that is empty or given twice")
    }
}
