import EffNet
import Foundation
import EffNetONNX
import XCTest

/// Paths of the committed fixtures (Fixtures/onnx, made by Fixtures/generate_onnx*.py).
enum ONNXFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/onnx").standardized.path

    /// The exported models, each with input.npy and ONNX Runtime's output for it.
    static let exportCases = ["torchvision_ts13", "torchvision_dynamo18", "timm_ts17", "timm_tf_ts13", "timm_tf_dynamo18",
                              "lite_ts17", "lukemelas_ts13", "seed_unfolded_ts13", "seed_surgery_ts13", "seed_softmax_ts17", "keras_tf2onnx13"]

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func tensor(_ relative: String) throws -> Tensor { try NPY.readTensor(path: path(relative)) }

    /// A fresh temporary folder, removed at the end of the test.
    static func temporaryFolder(_ test: XCTestCase) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }
}

/// max |a - b| / max(1, max |reference|): the toolkit's tolerance measure.
func relativeError(_ a: Tensor, _ reference: Tensor) -> Float {
    Comparison(actual: a, reference: reference).relativeError
}
