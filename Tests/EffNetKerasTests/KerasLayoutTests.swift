import EffNet
import Foundation
import EffNetKeras
import XCTest
import EffNetZip

/// Every Keras layout, read from files real Keras wrote (Fixtures/generate_keras.py). Expected
/// values were read from the same files with h5py.
final class KerasLayoutTests: XCTestCase {
    private func sum(_ w: KerasWeight?) -> Double { w?.tensor.floats().reduce(0) { $0 + Double($1) } ?? .nan }

    func testKeras2FullModel() throws {
        let f = try KerasWeightsReader.read(path: FixturePaths.path("tfk_imagenet_style.h5"))
        XCTAssertEqual(f.layout, .fullModelH5)
        XCTAssertEqual(f.kerasVersion, "2.21.0")
        XCTAssertEqual(f.backend, "tensorflow")
        XCTAssertNotNil(f.modelConfig)
        XCTAssertEqual(Array(f.layerNames.prefix(5)), ["input_1", "rescaling", "normalization", "tf.math.multiply", "stem_conv_pad"])
        XCTAssertEqual(f.layerNames.count, 107)
        // In model order, ":0" removed.
        XCTAssertEqual(Array(f.weights.prefix(4).map(\.name)),
                       ["normalization/mean", "normalization/variance", "normalization/count", "stem_conv/kernel"])
        let stem = f.weight("stem_conv/kernel")
        XCTAssertEqual(stem?.tensor.shape, [3, 3, 3, 8])
        XCTAssertEqual(stem?.tensor.floats().first, -0.102120854)
        XCTAssertEqual(sum(stem), 5.718391691334546, accuracy: 1e-5)
        XCTAssertEqual(stem?.location, "/model_weights/stem_conv/stem_conv/kernel:0")
        XCTAssertEqual(f.weight("normalization/variance")?.tensor.floats(), [0.229, 0.224, 0.225])
        XCTAssertEqual(f.weight("normalization/count")?.tensor.dtype, .i64)
        XCTAssertEqual(f.weight("block1a_dwconv/depthwise_kernel")?.tensor.shape, [3, 3, 8, 1])
        XCTAssertEqual(f.weights.last?.name, "predictions/bias")
    }

    func testKeras2WeightsOnly() throws {
        let f = try KerasWeightsReader.read(path: FixturePaths.path("tfk_plain_weights.h5"))
        XCTAssertEqual(f.layout, .weightsH5)
        XCTAssertNil(f.modelConfig)
        XCTAssertEqual(f.kerasVersion, "2.21.0")
        XCTAssertEqual(Array(f.layerNames.prefix(4)), ["input_2", "rescaling_1", "normalization_1", "stem_conv_pad"])
        XCTAssertEqual(f.weight("predictions/kernel")?.tensor.shape, [128, 10])
        XCTAssertEqual(sum(f.weight("predictions/kernel")), -20.867027926506125, accuracy: 1e-4)
        XCTAssertEqual(sum(f.weight("block4b_se_reduce/bias")), 0.11005420237779617, accuracy: 1e-6)
        XCTAssertNotNil(f.weight("normalization_1/mean"))
    }

    func testKeras3LegacyFullModelHasNoIndexSuffixes() throws {
        let f = try KerasWeightsReader.read(path: FixturePaths.path("k3_legacy_odd.h5"))
        XCTAssertEqual(f.layout, .fullModelH5)
        XCTAssertEqual(f.kerasVersion, "3.15.1")
        XCTAssertEqual(Array(f.layerNames.prefix(4)), ["input_layer_5", "rescaling_7", "normalization_5", "stem_conv_pad"])
        let dw = f.weight("block1a_dwconv/kernel")
        XCTAssertEqual(dw?.tensor.shape, [3, 3, 8, 1])
        XCTAssertEqual(sum(dw), 2.9312802790664136, accuracy: 1e-5)
        XCTAssertFalse(f.weights.contains { $0.name.contains(":") })
        XCTAssertEqual(f.weight("block1a_bn/moving_variance")?.variable, "moving_variance")
    }

    func testKeras3WeightsH5UsesTheNameAttributes() throws {
        let f = try KerasWeightsReader.read(path: FixturePaths.path("k3_imagenet_style.weights.h5"))
        XCTAssertEqual(f.layout, .weightsV3)
        let stem = f.weight("stem_conv/kernel")
        XCTAssertEqual(stem?.layerClass, "conv2d")
        XCTAssertEqual(stem?.location, "/layers/conv2d/vars/0")
        XCTAssertEqual(sum(stem), -1.7530367777799256, accuracy: 1e-5)
        XCTAssertEqual(f.weight("normalization_3/variance")?.tensor.floats(), [0.229, 0.224, 0.225])
        XCTAssertEqual(f.weight("block1a_bn/moving_variance")?.layerClass, "batch_normalization")
        XCTAssertEqual(f.weight("predictions/kernel")?.tensor.shape, [128, 1000])
    }

    func testKeras3WeightsH5WithoutNamesKeepsClassCounters() throws {
        let f = try KerasWeightsReader.read(path: FixturePaths.path("k3_dynamic_noname.weights.h5"))
        XCTAssertEqual(f.layout, .weightsV3)
        XCTAssertEqual(sum(f.weight("depthwise_conv2d_2/kernel")), -10.272968409815803, accuracy: 1e-4)
        XCTAssertEqual(sum(f.weight("batch_normalization_3/moving_variance")), 19.03253336250782, accuracy: 1e-4)
        // Grouped by class, counters in numeric order (batch_normalization_2 before _10).
        let bns = f.weights.filter { $0.layerClass == "batch_normalization" && $0.variable == "gamma" }.map(\.layer)
        XCTAssertEqual(Array(bns.prefix(3)), ["batch_normalization", "batch_normalization_1", "batch_normalization_2"])
        XCTAssertEqual(f.weights.first?.name, "batch_normalization/gamma")
    }

    func testKeras3WeightsWithoutNamesAreNamedFromTheModelConfig() throws {
        // The same model as k3_dynamic.keras: the archive's config.json names the class counters.
        let archive = try ZipArchive(path: FixturePaths.path("k3_dynamic.keras"))
        let config = try XCTUnwrap(String(validating: try archive.data(for: XCTUnwrap(archive.entry(named: "config.json"))).bytes, as: UTF8.self))
        let named = try KerasWeightsReader.read(HDF5File(path: FixturePaths.path("k3_dynamic_noname.weights.h5")), config: config)
        let reference = try KerasArchive.read(archive)
        XCTAssertEqual(named.weights.map(\.name), reference.weights.map(\.name))
        for (a, b) in zip(named.weights, reference.weights) {
            XCTAssertEqual(a.tensor.floats(), b.tensor.floats(), a.name)
        }
        XCTAssertEqual(named.weight("block3a_dwconv/kernel")?.location, "/layers/depthwise_conv2d_2/vars/0")
    }

    func testKerasArchiveInModelOrder() throws {
        let f = try KerasArchive.read(ZipArchive(path: FixturePaths.path("k3_plain64.keras")))
        XCTAssertEqual(f.layout, .weightsV3)
        XCTAssertEqual(f.path, FixturePaths.path("k3_plain64.keras"))
        XCTAssertEqual(f.kerasVersion, "3.15.1")
        XCTAssertNotNil(f.modelConfig)
        XCTAssertEqual(Array(f.layerNames.prefix(5)), ["input_layer", "rescaling", "normalization", "stem_conv_pad", "stem_conv"])
        XCTAssertEqual(Array(f.weights.prefix(4).map(\.name)), ["normalization/mean", "normalization/variance", "normalization/count", "stem_conv/kernel"])
        XCTAssertEqual(sum(f.weight("stem_conv/kernel")), 1.9024335739668459, accuracy: 1e-5)
        XCTAssertEqual(f.weights.last?.name, "predictions/bias")
    }

    func testSplitAttributeLists() throws {
        let root = try HDF5File(path: FixturePaths.path("split_attributes.h5")).root()
        XCTAssertFalse(try root.hasAttribute("layer_names"))
        let names = try XCTUnwrap(KerasAttributes.stringList("layer_names", on: root))
        XCTAssertEqual(names.count, 3000)
        XCTAssertEqual(names.first, "layer_00000_" + String(repeating: "x", count: 40))
        XCTAssertEqual(names.last, "layer_02999_" + String(repeating: "x", count: 40))
        XCTAssertEqual(names, (0 ..< 3000).map { String(format: "layer_%05d_", $0) + String(repeating: "x", count: 40) })
        XCTAssertNil(try KerasAttributes.stringList("weight_names", on: root))
        // As a weights file it lists layers it does not hold.
        XCTAssertThrowsError(try KerasWeightsReader.read(path: FixturePaths.path("split_attributes.h5"))) { error in
            guard case let KerasFormatError.inconsistent(_, _, detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("layer_00000_"), detail)
        }
    }

    func testPlainHDF5IsNotAKerasFile() {
        XCTAssertThrowsError(try KerasWeightsReader.read(path: FixturePaths.path("hdf5_features.h5"))) { error in
            guard case KerasFormatError.unrecognisedLayout = error else { return XCTFail("\(error)") }
        }
    }

    func testOptimizerStateIsSkipped() throws {
        let k2 = try KerasWeightsReader.read(path: FixturePaths.path("tfk_compiled_dense.h5"))
        XCTAssertEqual(k2.layout, .fullModelH5)
        XCTAssertEqual(k2.weights.map(\.name), ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"])
        XCTAssertEqual(k2.skipped.map(\.name), ["optimizer_weights"])
        let k3 = try KerasArchive.read(ZipArchive(path: FixturePaths.path("k3_compiled_dense.keras")))
        XCTAssertEqual(k3.layout, .weightsV3)
        XCTAssertEqual(k3.weights.map(\.name), ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"])
        XCTAssertEqual(k3.weight("out/kernel")?.tensor.shape, [5, 3])
        XCTAssertEqual(k3.skipped.map(\.name), ["optimizer"])
        XCTAssertEqual(k3.skipped.map(\.reason), ["optimizer state"])
    }
}
