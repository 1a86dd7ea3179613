import EffNet
import EffNetInterchange
import Foundation
import XCTest

/// Detection and mapping of the real keras.applications EfficientNetB0-B7, from their layer
/// names and shapes (Fixtures/keras/manifest_efficientnetb<n>.json, recorded from Keras 3 with
/// weights=None). Tensors are zero-stride views over one float, so even B7 costs nothing; the
/// numbers themselves are checked by KerasEndToEndTests on small models.
final class KerasVariantTests: XCTestCase {
    enum Naming { case keras3, tfKeras2, classCounters }

    struct Manifest {
        var layers: [(name: String, group: String, shapes: [[Int]])]
    }

    static func manifest(_ n: Int) throws -> Manifest {
        let data = try Data(contentsOf: KerasFixtures.directory.appendingPathComponent("manifest_efficientnetb\(n).json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let layers = try XCTUnwrap(json["layers"] as? [[Any]])
        return Manifest(layers: try layers.map { l in
            (try XCTUnwrap(l[0] as? String), try XCTUnwrap(l[1] as? String), try XCTUnwrap(l[2] as? [[Int]]))
        })
    }

    /// Variable names Keras gives each class's variables, in stored order.
    static func variableNames(group: String, naming: Naming) -> [String] {
        let cls = group.split(separator: "_").filter { Int($0) == nil }.joined(separator: "_")
        switch cls {
        case "batch_normalization": return ["gamma", "beta", "moving_mean", "moving_variance"]
        case "normalization": return ["mean", "variance", "count"]
        case "depthwise_conv2d": return naming == .tfKeras2 ? ["depthwise_kernel"] : ["kernel"]
        default: return ["kernel", "bias"]
        }
    }

    /// A checkpoint with the manifest's names and shapes; Normalization gets `mean`/`variance`.
    static func checkpoint(_ m: Manifest, naming: Naming, prefix: String = "",
                           mean: [Float] = [0, 0, 0], variance: [Float] = [1, 1, 1]) throws -> SourceCheckpoint {
        let zero = ByteStorage([0, 0, 0, 0])
        var tensors: [SourceTensor] = []
        for layer in m.layers {
            let vars = variableNames(group: layer.group, naming: naming)
            for (i, shape) in layer.shapes.enumerated() {
                let base = naming == .classCounters ? layer.group : prefix + layer.name
                let name = "\(base)/\(vars[i])"
                let raw: RawTensor
                if vars[i] == "mean" || vars[i] == "variance" {
                    let values = vars[i] == "mean" ? mean : variance
                    raw = try RawTensor(dtype: .f32, shape: shape, storage: ByteStorage(values.withUnsafeBytes { [UInt8]($0) }))
                } else if vars[i] == "count" {
                    raw = try RawTensor(dtype: .i64, shape: shape, storage: ByteStorage([UInt8](repeating: 0, count: 8)))
                } else {
                    raw = try RawTensor(dtype: .f32, shape: shape, strides: shape.map { _ in 0 }, storage: zero)
                }
                tensors.append(SourceTensor(name: name, raw: raw))
            }
        }
        return SourceCheckpoint(path: "efficientnet.weights.h5", format: .kerasWeightsH5, tensors: tensors)
    }

    /// The canonical shape a source shape becomes under `transform`.
    static func transformed(_ s: [Int], _ transform: LayoutTransform) -> [Int] {
        switch transform {
        case .identity: return s
        case .hwioToOIHW: return [s[3], s[2], s[0], s[1]]
        case .depthwiseHWC1ToC1HW: return [s[2], s[3], s[0], s[1]]
        case .transpose2D: return [s[1], s[0]]
        case let .reshape(r): return r
        }
    }

    private func checkVariant(_ n: Int, naming: Naming, line: UInt = #line) throws {
        let checkpoint = try Self.checkpoint(Self.manifest(n), naming: naming)
        let detected = FamilyRegistry.detect(checkpoint)
        XCTAssertEqual(detected.first?.family, .keras, line: line)
        XCTAssertEqual(detected.filter { $0.score == detected.first?.score }.count, 1, "\(detected)", line: line)
        XCTAssertTrue(detected.first?.variant.contains("efficientnet_b\(n) ") ?? false, "\(detected.first?.variant ?? "")", line: line)
        let mapping = try XCTUnwrap(Converter.candidateMappings(checkpoint, family: nil).first)
        let expected = EfficientNetConfig.b(n, seRule: .quarterOfBlockInput)
        let c = mapping.config
        XCTAssertEqual(c.stem, expected.stem, line: line)
        XCTAssertEqual(c.blocks, expected.blocks, line: line)
        XCTAssertEqual(c.headChannels, expected.headChannels, line: line)
        XCTAssertEqual(c.numClasses, 1000, line: line)
        XCTAssertEqual(c.bnEpsilon, 1e-3, line: line)
        XCTAssertEqual(c.activation, .silu, line: line)
        XCTAssertTrue(c.finalSoftmax, line: line)
        let resolution = EfficientNetConfig.compoundScaling[n].resolution
        XCTAssertEqual(c.padding, .sameStatic(resolution), line: line)
        XCTAssertEqual(c.imagePreprocessing, .raw(size: resolution), line: line)
        // weights=None: Normalization is the identity, so only x / 255 remains.
        XCTAssertEqual(c.inputTransform?.scale, [1 / 255, 1 / 255, 1 / 255], line: line)
        XCTAssertEqual(c.inputTransform?.offset, [0, 0, 0], line: line)
        // Every parameter of the Swift model is assigned once, with the right shape.
        let model = try EfficientNet(config: c)
        let expectedShapes = Dictionary(uniqueKeysWithValues: model.parameterShapes.map { ($0.name, $0.shape) })
        var sources: [String: [Int]] = [:]
        for t in checkpoint.tensors { sources[t.name] = t.shape }
        XCTAssertEqual(Set(mapping.assignments.map(\.canonical)), Set(expectedShapes.keys), line: line)
        XCTAssertEqual(mapping.assignments.count, expectedShapes.count, line: line)
        for a in mapping.assignments {
            let source = try XCTUnwrap(sources[a.source], a.source, line: line)
            XCTAssertEqual(Self.transformed(source, a.transform), expectedShapes[a.canonical], a.canonical, line: line)
        }
        let unused = mapping.fates(for: checkpoint).filter { if case .unused = $0.fate { return true } else { return false } }
        XCTAssertEqual(unused.map(\.source), [], line: line)
    }

    func testB0ToB7WithKeras3Names() throws {
        for n in 0 ... 7 { try checkVariant(n, naming: .keras3) }
    }

    func testB0ToB7WithTFKeras2Names() throws {
        for n in 0 ... 7 { try checkVariant(n, naming: .tfKeras2) }
    }

    func testB0ToB7FromClassCountersAlone() throws {
        // No names and no config: roles from creation order and shapes, stages from the depth.
        for n in 0 ... 7 { try checkVariant(n, naming: .classCounters) }
    }

    func testImagenetNormalizationIsRecognisedFromStoredValues() throws {
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let c = try KerasFamily.mapping(for: Self.checkpoint(Self.manifest(0), naming: .keras3, mean: mean, variance: std)).config
        let t = try XCTUnwrap(c.inputTransform)
        for i in 0 ..< 3 {
            // (x / 255 - mean) / sqrt(std) / sqrt(std) = (x / 255 - mean) / std
            XCTAssertEqual(t.scale[i], 1 / (255 * std[i]), accuracy: 1e-6 * t.scale[i])
            XCTAssertEqual(t.offset[i], -mean[i] / std[i], accuracy: 1e-5)
        }
        // Variances that are real variances (std squared) get no extra rescaling.
        let plain = try KerasFamily.mapping(for: Self.checkpoint(Self.manifest(0), naming: .keras3, mean: mean, variance: std.map { $0 * $0 })).config
        let p = try XCTUnwrap(plain.inputTransform)
        XCTAssertEqual(p.scale[0], 1 / (255 * std[0]), accuracy: 1e-6 * p.scale[0])
        XCTAssertEqual(p.offset[0], -mean[0] / std[0], accuracy: 1e-5)
    }

    func testNestedModelAndOwnClassifier() throws {
        // A transfer-learning model: EfficientNetB0(include_top=False) inside, a Dense outside.
        let m = try Self.manifest(0)
        let layers = m.layers.filter { $0.name != "predictions" }
        let base = try Self.checkpoint(Manifest(layers: layers), naming: .keras3, prefix: "efficientnetb0/")
        var tensors = base.tensors
        let zero = ByteStorage([0, 0, 0, 0])
        tensors.append(SourceTensor(name: "dense/kernel", raw: try RawTensor(dtype: .f32, shape: [1280, 5], strides: [0, 0], storage: zero)))
        tensors.append(SourceTensor(name: "dense/bias", raw: try RawTensor(dtype: .f32, shape: [5], strides: [0], storage: zero)))
        let checkpoint = SourceCheckpoint(path: "transfer.h5", format: .kerasWeightsH5, tensors: tensors)
        let mapping = try KerasFamily.mapping(for: checkpoint)
        XCTAssertEqual(mapping.config.numClasses, 5)
        XCTAssertEqual(mapping.assignments.first { $0.canonical == "stem.conv.weight" }?.source, "efficientnetb0/stem_conv/kernel")
        XCTAssertEqual(mapping.assignments.first { $0.canonical == "classifier.weight" }?.source, "dense/kernel")
        XCTAssertTrue(KerasFamily.summary(checkpoint).contains("nested model: weights under 'efficientnetb0/'"), "\(KerasFamily.summary(checkpoint))")
    }

    func testIncludeTopFalseIsRefusedWithAReason() throws {
        let m = try Self.manifest(0)
        let checkpoint = try Self.checkpoint(Manifest(layers: m.layers.filter { $0.name != "predictions" }), naming: .keras3)
        XCTAssertThrowsError(try KerasFamily.mapping(for: checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("include_top=False"), "\(error)")
        }
    }

    func testImageSizeOverrideForWeightsOnlyFiles() throws {
        let checkpoint = try Self.checkpoint(Self.manifest(1), naming: .keras3)
        XCTAssertEqual(try KerasFamily.mapping(for: checkpoint).config.padding, .sameStatic(240))
        let c = try KerasFamily.mapping(for: checkpoint, imageSize: [256, 256]).config
        XCTAssertEqual(c.padding, .sameStatic(256))
        XCTAssertEqual(c.imagePreprocessing, .raw(size: 256))
    }
}
