import EffNet
import EffNetONNX
import XCTest

/// The reference interpreter against ONNX Runtime on real exports (relative 1e-4).
final class ONNXInterpreterTests: XCTestCase {
    func testMatchesONNXRuntimeOnEveryExport() throws {
        for name in ONNXFixtures.exportCases {
            let model = try ONNXModel(path: ONNXFixtures.path("\(name)/model.onnx"))
            let interpreter = try ONNXInterpreter(model: model)
            var input = try ONNXFixtures.tensor("\(name)/input.npy")
            let expected = try ONNXFixtures.tensor("\(name)/ort_output.npy")
            guard let info = interpreter.inputs.first else { return XCTFail("\(name): no input") }
            if info.shape?.last?.fixed == 3 && info.shape?[1].fixed != 3 {
                // tf2onnx graphs take NHWC; the fixture input is stored NCHW.
                let x = input
                input = Tensor(shape: [x.shape[0], x.shape[2], x.shape[3], x.shape[1]], scalars: permuteNCHWtoNHWC(x))
            }
            let out = try interpreter.run([info.name: ONNXArray(input)]).outputs[0]
            XCTAssertEqual(out.shape, expected.shape, name)
            let err = relativeError(out.tensor, expected)
            XCTAssertLessThanOrEqual(err, 1e-4, "\(name): relative error \(err) against ONNX Runtime")
        }
    }

    func permuteNCHWtoNHWC(_ x: Tensor) -> [Float] {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = [Float](repeating: 0, count: x.count)
        for i in 0 ..< n { for k in 0 ..< c { for y in 0 ..< h { for z in 0 ..< w {
            out[((i * h + y) * w + z) * c + k] = x.scalars[((i * c + k) * h + y) * w + z]
        } } } }
        return out
    }
}
