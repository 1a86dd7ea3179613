import EffNet
import EffNetInterchange
import EffNetKeras
import Foundation
import XCTest

/// The Keras export: models from real Keras, timm and synthetic sources written as Keras 3
/// `.weights.h5` and Keras 2 `.h5`, read back as a conversion reads Keras files (weights
/// bit-identical), run on the source's reference input (Keras' or timm's own recorded output,
/// relative 1e-4), and the unfaithful ones refused.
///
/// With EFFNET_KERAS_EXPORT_DIR set, the written files and a JSON description of each case are
/// left there for Fixtures/export/check_keras_export.py, which loads them into real Keras.
final class KerasExportTests: XCTestCase {
    static let tolerance: Float = 1e-4
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    // MARK: Support

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-keras-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Writes `model` in `layout`, reads the file back through the project's Keras reader and
    /// family, and checks every weight is bit-identical. Returns the model read back.
    @discardableResult
    private func roundTrip(_ model: EfficientNet, _ layout: KerasExport.Layout, case name: String,
                           line: UInt = #line) throws -> EfficientNet {
        let plan = try KerasExport.check(model.config)
        let bytes = try KerasExport.fileBytes(model, layout: layout, name: name)
        let file = try temporaryDirectory().appendingPathComponent(name + (layout == .keras3WeightsH5 ? ".weights.h5" : ".h5"))
        try Data(bytes).write(to: file)
        if let dir = ProcessInfo.processInfo.environment["EFFNET_KERAS_EXPORT_DIR"] {
            try Data(bytes).write(to: URL(fileURLWithPath: dir).appendingPathComponent(file.lastPathComponent))
        }
        let checkpoint = try SourceReader.read(path: file.path)
        XCTAssertEqual(checkpoint.notes[SourceReader.KerasNotes.layout],
                       layout == .keras3WeightsH5 ? KerasLayout.weightsV3.rawValue : KerasLayout.weightsH5.rawValue, line: line)
        let mappings = try Converter.candidateMappings(checkpoint, family: nil, imageSize: plan.inputSize)
        XCTAssertEqual(mappings.map(\.family), ["keras"], line: line)
        let mapping = try XCTUnwrap(mappings.first)
        // Nothing in the file is left over.
        let unused = mapping.fates(for: checkpoint).filter { if case .unused = $0.fate { return true } else { return false } }
        XCTAssertEqual(unused.map(\.source), [], line: line)
        let back = try Converter.buildModel(checkpoint, mapping)
        XCTAssertTrue(Self.sameStructure(back.config, model.config), "\(name): structure changed", line: line)
        XCTAssertEqual(back.config.bnEpsilon, 1e-3, line: line)
        XCTAssertEqual(back.parameterShapes.map(\.name), model.parameterShapes.map(\.name), line: line)
        var differing: [String] = []
        for (slot, t) in zip(model.layout.slots, model.weights) where back.parameter(named: slot.name)?.scalars != t.scalars {
            differing.append(slot.name)
        }
        XCTAssertEqual(differing, [], "\(name) \(layout): weights not bit-identical", line: line)
        return back
    }

    static func sameStructure(_ a: EfficientNetConfig, _ b: EfficientNetConfig) -> Bool {
        a.stem == b.stem && a.headChannels == b.headChannels && a.numClasses == b.numClasses && a.blocks.count == b.blocks.count
            && zip(a.blocks, b.blocks).allSatisfy { x, y in
                x.kind == y.kind && x.inChannels == y.inChannels && x.outChannels == y.outChannels && x.expandedChannels == y.expandedChannels
                    && x.kernel == y.kernel && x.stride == y.stride && x.seChannels == y.seChannels && x.hasProjection == y.hasProjection
                    && x.hasResidual == y.hasResidual
            }
    }

    /// The bytes as storage an `HDF5File` can read in place.
    static func storage(_ bytes: [UInt8]) -> ByteStorage { bytes.withUnsafeBytes { ByteStorage(copying: $0) } }

    private func npy(_ relative: String) throws -> Tensor {
        try NPY.readTensor(path: Self.repository.appendingPathComponent(relative).path)
    }

    /// log-probabilities of either logits or probabilities.
    private func logProbabilities(_ t: Tensor, softmax: Bool) -> Tensor {
        softmax ? KerasFixtures.logProbabilities(t) : KerasFixtures.logSoftmax(t)
    }

    private func assertClose(_ output: Tensor, _ reference: Tensor, outputSoftmax: Bool, referenceSoftmax: Bool,
                             _ what: String, line: UInt = #line) {
        XCTAssertEqual(output.shape, reference.shape, line: line)
        let c = Comparison(actual: logProbabilities(output, softmax: outputSoftmax),
                           reference: logProbabilities(reference, softmax: referenceSoftmax))
        XCTAssertLessThan(c.relativeError, Self.tolerance, "\(what): \(c)", line: line)
        XCTAssertEqual(c.top1Agreement, 1, what, line: line)
        print("\(what): log-prob relative error \(c.relativeError) (max abs \(c.maxAbsError))")
    }

    /// A description of a written case for the Keras check script.
    private func describe(_ name: String, _ plan: KerasExport.Plan, _ config: EfficientNetConfig, input: String,
                          inputKind: String, expected: String, expectedSoftmax: Bool) throws {
        guard let dir = ProcessInfo.processInfo.environment["EFFNET_KERAS_EXPORT_DIR"] else { return }
        let p = config.imagePreprocessing
        var info: [String: Any] = [
            "case": name, "keras_model": plan.kerasModel, "model_name": plan.modelName, "v2": config.isV2,
            "width": plan.builder.width, "depth": plan.builder.depth, "classes": config.numClasses,
            "input": input.hasPrefix("/") ? input : Self.repository.appendingPathComponent(input).path, "input_kind": inputKind,
            "expected": expected.hasPrefix("/") ? expected : Self.repository.appendingPathComponent(expected).path,
            "expected_softmax": expectedSoftmax,
            "pixel_scale": Double(p.pixelScale), "mean": p.mean.map(Double.init), "std": p.std.map(Double.init),
            "files": ["\(name).weights.h5", "\(name).h5"],
        ]
        if let b = plan.builder.blocksArgs { info["blocks_args"] = b }
        if let s = plan.inputSize { info["input_size"] = s }
        let data = try JSONSerialization.data(withJSONObject: info, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: dir).appendingPathComponent("\(name).json"))
    }

    // MARK: Keras -> Keras (sources and reference outputs written by real Keras)

    /// Each committed Keras fixture, converted, exported in both layouts, read back and run on
    /// its own input: the output Keras recorded is reproduced.
    func testKerasSourcesRoundTripThroughBothLayouts() throws {
        let cases: [(file: String, model: String, softmax: Bool)] = [
            ("k3_imagenet_style.weights.h5", "k3_imagenet_style", true),  // extra Rescaling folded into Normalization
            ("k3_legacy_odd.h5", "k3_legacy_odd", false),                 // built for 66x66, logits
            ("tfk_plain_weights.h5", "tfk_plain", true),                  // tf_keras 2 source
            ("k3_plain64.keras", "k3_plain64", true),
        ]
        for c in cases {
            let source = try Converter.canonicalWeights(source: KerasFixtures.path(c.file)).model()
            let plan = try KerasExport.check(source.config)
            let input = try NPY.readTensor(path: KerasFixtures.path("\(c.model)_input.npy"))
            let reference = try NPY.readTensor(path: KerasFixtures.path("\(c.model)_output.npy"))
            for layout in KerasExport.Layout.allCases {
                let back = try roundTrip(source, layout, case: "keras_\(c.model)")
                assertClose(try back(input), reference, outputSoftmax: back.config.finalSoftmax, referenceSoftmax: c.softmax,
                            "\(c.file) -> \(layout)")
            }
            try describe("keras_\(c.model)", plan, source.config, input: "Fixtures/keras/\(c.model)_input.npy",
                         inputKind: "pixels", expected: "Fixtures/keras/\(c.model)_output.npy", expectedSoftmax: c.softmax)
        }
    }

    /// The sources Fixtures/export/generate_keras_export.py wrote (the committed small one, and
    /// with EFFNET_KERAS_EXPORT_SOURCES=DIR the real EfficientNetB0 / EfficientNetV2B0 it writes
    /// to DIR with --named): converted as effnet-convert reads them, exported in both layouts, read
    /// back, and run on the recorded input against Keras' own logits.
    func testGeneratedSources() throws {
        var folders = [Self.repository.appendingPathComponent("Fixtures/export")]
        if let extra = ProcessInfo.processInfo.environment["EFFNET_KERAS_EXPORT_SOURCES"] { folders.append(URL(fileURLWithPath: extra)) }
        var cases = 0
        for folder in folders {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".source.json") }.sorted()
            for name in names {
                let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) as? [String: Any])
                let path = { (key: String) in folder.appendingPathComponent(info[key] as? String ?? "").path }
                let label = info["case"] as? String ?? name
                let source = try Converter.canonicalWeights(source: path("file")).model()
                let plan = try KerasExport.check(source.config)
                let input = try NPY.readTensor(path: path("input")), reference = try NPY.readTensor(path: path("expected"))
                for layout in KerasExport.Layout.allCases {
                    let back = try roundTrip(source, layout, case: label)
                    // The sources give logits (classifier_activation=None), which a weights-only
                    // file does not record: compare logits, since a float32 softmax of B0's wide
                    // logits underflows to 0 and its log says nothing.
                    var config = back.config
                    config.finalSoftmax = false
                    let logits = try EfficientNet(config: config)
                    try logits.load(back.parameters)
                    assertClose(try logits(input), reference, outputSoftmax: false, referenceSoftmax: false,
                                "\(label) (\(plan.modelName)) -> \(layout)")
                }
                try describe(label, plan, source.config, input: path("input"), inputKind: "pixels", expected: path("expected"),
                             expectedSoftmax: false)
                cases += 1
            }
        }
        XCTAssertGreaterThan(cases, 0, "no generated sources found")
    }

    /// keras' EfficientNetV2 builder at width 0.125, depth 0.1 (Fixtures/v2/keras_b_like): the
    /// V2 layer list (dwconv2, fused blocks, no ZeroPadding2D, Normalization without variables).
    func testKerasV2SourceRoundTrip() throws {
        let source = try Converter.canonicalWeights(source: Self.repository.appendingPathComponent("Fixtures/v2/keras_b_like/model.weights.h5").path).model()
        let plan = try KerasExport.check(source.config)
        XCTAssertEqual(plan.builder.blocksArgs, "efficientnetv2-b0")
        XCTAssertEqual(plan.builder.width, 0.125)
        let input = try npy("Fixtures/v2/keras_b_like/input_64.npy")
        let reference = try npy("Fixtures/v2/keras_b_like/expected_64.npy")
        for layout in KerasExport.Layout.allCases {
            let back = try roundTrip(source, layout, case: "keras_v2_b_like")
            assertClose(try back(input), reference, outputSoftmax: back.config.finalSoftmax, referenceSoftmax: true, "keras V2 b-like -> \(layout)")
        }
        try describe("keras_v2_b_like", plan, source.config, input: "Fixtures/v2/keras_b_like/input_64.npy", inputKind: "pixels",
                     expected: "Fixtures/v2/keras_b_like/expected_64.npy", expectedSoftmax: true)
    }

    // MARK: PyTorch -> Keras

    /// timm's tf_efficientnet (TF SAME padding, eps 1e-3; width 0.1, depth 0.34) to Keras: the
    /// Keras model takes 0-255 pixels, its Normalization holding the ImageNet mean and std^2.
    func testTimmTFToKeras() throws {
        let source = try Converter.canonicalWeights(source: Self.repository.appendingPathComponent("Fixtures/torch/timm-tf/weights.safetensors").path,
                                                    family: .timmTF).model()
        let plan = try KerasExport.check(source.config)
        XCTAssertNil(plan.inputSize, "TF SAME from the actual input: any size")
        let input = try npy("Fixtures/torch/input_64.npy")
        let reference = try npy("Fixtures/torch/timm-tf/expected_64.npy")
        // The normalised tensor timm ran on, as the pixels a Keras user feeds.
        let p = source.config.imagePreprocessing
        let plane = input.count / (input.shape[0] * 3)
        let pixels = Tensor(shape: input.shape, scalars: input.scalars.enumerated().map { i, x in
            let ch = (i / plane) % 3
            return (x * p.std[ch] + p.mean[ch]) / p.pixelScale
        })
        for layout in KerasExport.Layout.allCases {
            let back = try roundTrip(source, layout, case: "timm_tf")
            XCTAssertEqual(back.config.imagePreprocessing.pixelScale, 1)
            let t = try XCTUnwrap(back.config.inputTransform)
            for ch in 0 ..< 3 {  // x / 255 then (x - mean) / std, read back from the file
                XCTAssertEqual(t.scale[ch], 1 / (255 * p.std[ch]), accuracy: 1e-6 * t.scale[ch])
                XCTAssertEqual(t.offset[ch], -p.mean[ch] / p.std[ch], accuracy: 1e-5)
            }
            assertClose(try back(pixels), reference, outputSoftmax: back.config.finalSoftmax, referenceSoftmax: false, "timm-tf -> \(layout)")
        }
        try describe("timm_tf", plan, source.config, input: "Fixtures/torch/input_64.npy", inputKind: "normalized",
                     expected: "Fixtures/torch/timm-tf/expected_64.npy", expectedSoftmax: false)
    }

    /// torchvision pads symmetrically: refused, naming the convention and where it can go.
    func testTorchvisionRefused() throws {
        let source = try Converter.canonicalWeights(source: Self.repository.appendingPathComponent("Fixtures/torch/torchvision/weights.safetensors").path,
                                                    family: .torchvision)
        XCTAssertThrowsError(try KerasExport.check(source.config)) { error in
            guard let e = error as? KerasExportError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.convention, .padding)
            XCTAssertTrue(e.description.contains("symmetric"), e.description)
            XCTAssertTrue(e.description.contains("--to torchvision"), e.description)
        }
        XCTAssertThrowsError(try KerasExport.fileBytes(try source.model(), layout: .keras3WeightsH5))
    }

    // MARK: Named variants and refusals (configs only)

    func testNamedVariantsResolve() throws {
        for n in 0 ... 7 {
            let plan = try KerasExport.check(.b(n, bnEpsilon: 1e-3, padding: .sameDynamic))
            XCTAssertEqual(plan.kerasModel, "keras.applications.EfficientNetB\(n)(weights=None, classes=1000)")
            XCTAssertEqual(plan.modelName, "efficientnetb\(n)")
            let r = EfficientNetConfig.compoundScaling[n].resolution
            XCTAssertEqual(plan.inputSize, [r, r])
        }
        // lukemelas' static SAME for the nominal size is keras' own padding.
        XCTAssertNoThrow(try KerasExport.check(.b(2, bnEpsilon: 1e-3, padding: .sameStatic(260))))
        let keras = ["efficientnet_v2_b0": "EfficientNetV2B0", "efficientnet_v2_b1": "EfficientNetV2B1", "efficientnet_v2_b2": "EfficientNetV2B2",
                     "efficientnet_v2_b3": "EfficientNetV2B3", "efficientnet_v2_s": "EfficientNetV2S", "efficientnet_v2_m": "EfficientNetV2M",
                     "efficientnet_v2_l": "EfficientNetV2L"]
        for v in EfficientNetConfig.v2Variants {
            var c = v.config()
            c.padding = .sameDynamic
            guard let kerasName = keras[v.name] else {
                XCTAssertNotNil(refusal(c), v.name)  // timm's efficientnetv2_rw_*
                continue
            }
            if !v.name.hasPrefix("efficientnet_v2_b") {
                // keras' S/M/L take x / 128 - 1: a model normalised that way fits.
                c.imagePreprocessing = .init(resizeShorterTo: v.resolution, cropSize: v.resolution, pixelScale: 1.0 / 128,
                                             mean: [1, 1, 1], std: [1, 1, 1])
            }
            let plan = try KerasExport.check(c)
            XCTAssertEqual(plan.kerasModel, "keras.applications.\(kerasName)(weights=None, classes=1000)")
            XCTAssertEqual(plan.inputSize, [v.resolution, v.resolution])
        }
    }

    private func refusal(_ config: EfficientNetConfig, line: UInt = #line) -> KerasExportError? {
        do {
            try KerasExport.check(config)
            XCTFail("\(config.name) was accepted", line: line)
            return nil
        } catch let e as KerasExportError {
            return e
        } catch {
            XCTFail("\(error)", line: line)
            return nil
        }
    }

    func testUnfaithfulConfigsRefused() throws {
        let b0 = EfficientNetConfig.b(0, bnEpsilon: 1e-3, padding: .sameDynamic)
        XCTAssertEqual(refusal(.b(0))?.convention, .padding)  // torchvision B0: symmetric (and eps 1e-5)
        XCTAssertEqual(refusal(.b(0, padding: .sameDynamic))?.convention, .batchNormEpsilon)  // timm efficientnet_b0's eps
        XCTAssertEqual(refusal(.lite(0))?.convention, .activation)
        var odd = b0
        odd.padding = .sameStatic(260)  // 65 at the third stride-2 conv: keras' B0 (224) pads differently
        XCTAssertEqual(refusal(odd)?.convention, .padding)
        var chain = b0
        chain.classifierChain = [.linear(256), .init(.relu), .init(.dropout), .linear(1000)]
        XCTAssertEqual(refusal(chain)?.convention, .classifier)
        var oneLinear = b0
        oneLinear.classifierChain = [.init(.dropout), .linear(1000)]
        XCTAssertNoThrow(try KerasExport.check(oneLinear))
        var seed = EfficientNetConfig.seedB0Mini()
        seed.padding = .sameDynamic
        seed.bnEpsilon = 1e-3
        XCTAssertEqual(refusal(seed)?.convention, .structure)  // SE width of the expanded channels
        var noSkip = b0
        noSkip.blocks[1].residual = false
        noSkip.blocks[2].residual = false
        XCTAssertEqual(refusal(noSkip)?.convention, .residual)
        // timm's tf_efficientnetv2_s normalises with mean = std = 0.5 (x / 127.5 - 1); keras'
        // EfficientNetV2S takes x / 128 - 1 inside: not the same model.
        var v2s = EfficientNetConfig.v2S()
        v2s.padding = .sameDynamic
        v2s.imagePreprocessing = .init(resizeShorterTo: 384, cropSize: 384, pixelScale: 1.0 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        let e = refusal(v2s)
        XCTAssertEqual(e?.convention, .preprocessing)
        XCTAssertTrue(e?.description.contains("x / 128 - 1") ?? false, e?.description ?? "")
        var flipped = b0
        flipped.imagePreprocessing.std = [-0.229, 0.224, 0.225]
        XCTAssertEqual(refusal(flipped)?.convention, .preprocessing)
    }

    // MARK: File layout

    /// What Keras 3.15's `save_weights` writes (checked with h5py on a real file): a `vars`
    /// group named after the model, a group per layer (with or without variables) named by class
    /// counter, each `vars` carrying the layer name; Keras 2: layer_names and weight_names.
    func testFileLayouts() throws {
        var c = EfficientNetConfig.scaled(name: "tiny", width: 0.1, depth: 0.34, numClasses: 5, bnEpsilon: 1e-3, padding: .sameDynamic)
        c.finalSoftmax = false
        let model = try EfficientNet(config: c)
        let v3 = try HDF5File(image: Self.storage(try KerasExport.fileBytes(model, layout: .keras3WeightsH5)), name: "v3")
        let root = try v3.root()
        XCTAssertEqual(try root.attributeNames(), [])
        XCTAssertEqual(try root.childNames(), ["layers", "vars"])
        XCTAssertEqual(try root.group("vars").attribute("name").string, "efficientnet")
        let layers = try root.group("layers")
        XCTAssertEqual(try layers.group("conv2d/vars").attribute("name").string, "stem_conv")
        XCTAssertEqual(try layers.group("batch_normalization/vars").childNames(), ["0", "1", "2", "3"])
        XCTAssertEqual(try layers.group("normalization/vars").childNames(), ["0", "1", "2"])
        XCTAssertEqual(try layers.group("normalization/vars").dataset("2").shape, [])
        XCTAssertEqual(try layers.group("dense/vars").dataset("0").shape, [c.headChannels, 5])
        XCTAssertEqual(try layers.group("activation/vars").childNames(), [])
        XCTAssertEqual(try layers.group("zero_padding2d/vars").attribute("name").string, "stem_conv_pad")

        let v2 = try HDF5File(image: Self.storage(try KerasExport.fileBytes(model, layout: .keras2H5)), name: "v2")
        let r2 = try v2.root()
        XCTAssertEqual(try r2.attribute("backend").string, "tensorflow")
        let names = try XCTUnwrap(KerasAttributes.stringList("layer_names", on: r2))
        XCTAssertEqual(Array(names.prefix(5)), ["input_1", "rescaling", "normalization", "stem_conv_pad", "stem_conv"])
        XCTAssertEqual(names.last, "predictions")
        XCTAssertEqual(try KerasAttributes.stringList("weight_names", on: r2.group("stem_conv")), ["stem_conv/kernel:0"])
        XCTAssertEqual(try KerasAttributes.stringList("weight_names", on: r2.group("block1a_dwconv")), ["block1a_dwconv/depthwise_kernel:0"])
        XCTAssertEqual(try KerasAttributes.stringList("weight_names", on: r2.group("stem_activation")), [])
        XCTAssertEqual(try r2.dataset("stem_conv/stem_conv/kernel:0").shape, [3, 3, 3, c.stem.outChannels])
    }

    /// A folded-BN source (ONNX) goes out with identity batch norms around the conv biases, and
    /// the Keras model read back computes what the folded one does.
    func testFoldedBatchNormBecomesIdentity() throws {
        // An ONNX source's epsilon is whatever was folded away (here PyTorch's 1e-5): irrelevant.
        var c = EfficientNetConfig.scaled(name: "folded", width: 0.1, depth: 0.34, numClasses: 3, bnEpsilon: 1e-5, padding: .sameDynamic)
        c.batchNormFolded = true
        let model = try EfficientNet(config: c)
        var state: UInt64 = 0x5eed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        var tensors: [String: Tensor] = [:]
        for (name, shape) in model.parameterShapes {
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 4
            tensors[name] = Tensor(shape: shape, scalars: (0 ..< shape.reduce(1, *)).map { _ in next() / Float(fanIn).squareRoot() })
        }
        try model.load(tensors)
        let plan = try KerasExport.check(c)
        XCTAssertTrue(plan.notes.contains { $0.contains("identity batch norms") })
        let bytes = try KerasExport.fileBytes(model, layout: .keras2H5)
        let variance = try HDF5File(image: Self.storage(bytes), name: "folded").root().dataset("stem_bn/stem_bn/moving_variance:0").read().floats()
        XCTAssertEqual(variance, [Float](repeating: 1 - 1e-3, count: c.stem.outChannels))

        let file = try temporaryDirectory().appendingPathComponent("folded.h5")
        try Data(bytes).write(to: file)
        let checkpoint = try SourceReader.read(path: file.path)
        let back = try Converter.buildModel(checkpoint, try XCTUnwrap(Converter.candidateMappings(checkpoint, family: .keras).first))
        XCTAssertFalse(back.config.batchNormFolded)
        // Pixels for the Keras model, the normalised tensor for the folded one.
        let p = c.imagePreprocessing
        let pixels = Tensor(shape: [1, 3, 32, 32], scalars: (0 ..< 3 * 32 * 32).map { _ in (next() + 1) * 127.5 })
        let normalised = Tensor(shape: pixels.shape, scalars: pixels.scalars.enumerated().map { i, x in
            (x * p.pixelScale - p.mean[i / 1024]) / p.std[i / 1024]
        })
        var logits = back.config
        logits.finalSoftmax = false
        let keras = try EfficientNet(config: logits)
        try keras.load(back.parameters)
        let c2 = Comparison(actual: try keras(pixels), reference: try model(normalised))
        XCTAssertLessThan(c2.relativeError, Self.tolerance, "\(c2)")
    }
}
