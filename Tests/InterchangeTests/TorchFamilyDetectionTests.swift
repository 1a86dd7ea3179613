import EffNet
import EffNetInterchange
import XCTest

/// Detection and Config derivation against the names and shapes of the real full-size models
/// (Fixtures/torch/manifests, written from torchvision, timm, efficientnet_pytorch,
/// efficientnet_lite_pytorch and the seed notebook's class), plus the small fixtures.
final class TorchFamilyDetectionTests: XCTestCase {
    /// Detects, maps, and checks that the mapping fits a model built from its Config exactly:
    /// every canonical parameter assigned once from a source tensor of the same shape, every
    /// source tensor mapped or skipped with a reason.
    @discardableResult
    func checkFullModel(_ m: TorchFixtures.Manifest, expectFamilies: Set<String>, family: FamilyName,
                        file: StaticString = #filePath, line: UInt = #line) throws -> (WeightMapping, FamilyDetection) {
        let checkpoint = try TorchFixtures.shapeOnlyCheckpoint(path: "\(m.family)/\(m.variant)", tensors: m.namedShapes)
        let detected = FamilyRegistry.detect(checkpoint)
        let top = detected.filter { $0.score == detected.first?.score }
        XCTAssertEqual(Set(top.map(\.family.rawValue)), expectFamilies, "\(m.variant)", file: file, line: line)
        let candidates = try Converter.candidateMappings(checkpoint, family: nil)
        XCTAssertEqual(Set(candidates.map(\.family)), expectFamilies, "\(m.variant)", file: file, line: line)
        let mapping = try XCTUnwrap(candidates.first { $0.family == family.rawValue }, file: file, line: line)
        let detection = try XCTUnwrap(top.first { $0.family == family }, file: file, line: line)

        let model = try EfficientNet(config: mapping.config)
        let expected = Dictionary(uniqueKeysWithValues: model.parameterShapes.map { ($0.name, $0.shape) })
        let sources = Dictionary(uniqueKeysWithValues: m.namedShapes)
        var assigned = Set<String>()
        for a in mapping.assignments {
            XCTAssertTrue(assigned.insert(a.canonical).inserted, "\(a.canonical) assigned twice", file: file, line: line)
            XCTAssertEqual(sources[a.source], expected[a.canonical], "\(m.variant): \(a.canonical) <- \(a.source)", file: file, line: line)
        }
        XCTAssertEqual(assigned, Set(expected.keys), "\(m.variant): canonical names", file: file, line: line)
        for (source, fate) in mapping.fates(for: checkpoint) {
            if case .unused = fate { XCTFail("\(m.variant): \(source) unused", file: file, line: line) }
            if case let .skipped(reason) = fate { XCTAssertTrue(reason.contains("num_batches_tracked"), file: file, line: line) }
        }
        // The framework's own epsilon (read from the model's BatchNorm modules by the generator).
        XCTAssertEqual(m.bn_eps.count, 1, file: file, line: line)
        XCTAssertEqual(Double(mapping.config.bnEpsilon), m.bn_eps.first ?? 0, accuracy: 1e-9, "\(m.variant) eps", file: file, line: line)
        XCTAssertTrue(detection.variant.contains("\(mapping.config.numClasses) classes"), detection.variant, file: file, line: line)
        return (mapping, detection)
    }

    func testSeedFullSize() throws {
        let m = try XCTUnwrap(try TorchFixtures.manifests("seed").first)
        let (mapping, detection) = try checkFullModel(m, expectFamilies: ["seed"], family: .seed)
        XCTAssertEqual(mapping.config.blocks, EfficientNetConfig.seedB0Mini().blocks)
        XCTAssertEqual(mapping.config.padding, .symmetric)
        XCTAssertEqual(mapping.config.activation, .silu)
        XCTAssertEqual(mapping.config.numClasses, 1000)
        XCTAssertTrue(detection.variant.hasPrefix("seed_b0_mini"), detection.variant)
    }

    func testTorchvisionB0ToB7() throws {
        let all = try TorchFixtures.manifests("torchvision")
        XCTAssertEqual(all.count, 8)
        for (i, m) in all.enumerated() {
            let (mapping, detection) = try checkFullModel(m, expectFamilies: ["torchvision"], family: .torchvision)
            XCTAssertEqual(mapping.config.blocks, EfficientNetConfig.b(i).blocks, m.variant)
            XCTAssertEqual(mapping.config.headChannels, EfficientNetConfig.b(i).headChannels)
            XCTAssertEqual(mapping.config.name, "efficientnet_b\(i)")
            XCTAssertEqual(mapping.config.bnEpsilon, i >= 5 ? 1e-3 : 1e-5, m.variant)
            XCTAssertEqual(mapping.config.padding, .symmetric)
            XCTAssertTrue(detection.variant.hasPrefix("efficientnet_b\(i) "), detection.variant)
            // torchvision's EfficientNet_B*_Weights.DEFAULT.transforms() (printed by torchvision 0.29)
            let p = mapping.config.imagePreprocessing
            let expected = [(256, 224), (255, 240), (288, 288), (320, 300), (384, 380), (456, 456), (528, 528), (600, 600)][i]
            XCTAssertEqual([p.resizeShorterTo, p.cropSize], [expected.0, expected.1], m.variant)
            XCTAssertEqual(p.interpolation, i == 1 ? .bilinear : .bicubic, m.variant)
            XCTAssertEqual(p.resizeMode, .shorterSide)
        }
    }

    func testTimmAndTimmTFComeBackTogether() throws {
        for m in try TorchFixtures.manifests("timm") {
            let tf = m.variant.hasPrefix("tf_")
            let n = try XCTUnwrap(Int(String(m.variant.last ?? "x")))
            let (mapping, detection) = try checkFullModel(m, expectFamilies: ["timm", "timm-tf"], family: tf ? .timmTF : .timm)
            XCTAssertEqual(mapping.config.blocks, EfficientNetConfig.b(n, seRule: .quarterOfBlockInputRounded).blocks, m.variant)
            XCTAssertEqual(mapping.config.padding, tf ? .sameDynamic : .symmetric)
            XCTAssertEqual(mapping.config.name, m.variant)
            XCTAssertTrue(detection.variant.hasPrefix("\(m.variant) "), detection.variant)
        }
    }

    func testLukemelasB0ToB8() throws {
        let all = try TorchFixtures.manifests("lukemelas")
        XCTAssertEqual(all.count, 9)
        for (i, m) in all.enumerated() {
            let (mapping, _) = try checkFullModel(m, expectFamilies: ["lukemelas"], family: .lukemelas)
            // B8 (width 2.2, depth 3.6, 672) is lukemelas' advprop-only extra.
            let (width, depth, size) = i < 8 ? EfficientNetConfig.compoundScaling[i] : (2.2, 3.6, 672)
            XCTAssertEqual(mapping.config.blocks, EfficientNetConfig.scaled(name: "", width: width, depth: depth).blocks, m.variant)
            XCTAssertEqual(mapping.config.name, "efficientnet-b\(i)")
            XCTAssertEqual(mapping.config.padding, .sameStatic(size))
            XCTAssertEqual(mapping.config.imagePreprocessing.cropSize, size)
        }
    }

    func testLite0ToLite4() throws {
        let all = try TorchFixtures.manifests("lite")
        XCTAssertEqual(all.count, 5)
        for (i, m) in all.enumerated() {
            let (mapping, detection) = try checkFullModel(m, expectFamilies: ["lite"], family: .lite)
            XCTAssertEqual(mapping.config.blocks, EfficientNetConfig.lite(i).blocks, m.variant)
            XCTAssertEqual(mapping.config.stem.outChannels, 32)
            XCTAssertEqual(mapping.config.headChannels, 1280)
            XCTAssertEqual(mapping.config.activation, .relu6)
            XCTAssertEqual(mapping.config.padding, .sameStatic([224, 240, 260, 280, 300][i]))
            XCTAssertTrue(detection.variant.hasPrefix("efficientnet-lite\(i) "), detection.variant)
        }
    }

    /// The small fixtures: custom width/depth, 10 classes, conventions per family.
    func testSmallFixturesDetection() throws {
        for (folder, family) in TorchFixtures.families {
            let checkpoint = try SourceReader.read(path: TorchFixtures.path(folder, TorchFixtures.Format.safetensors.rawValue))
            let detection = try XCTUnwrap(FamilyRegistry.detect(checkpoint).first { $0.family == family }, folder)
            XCTAssertTrue(detection.variant.contains("10 classes"), detection.variant)
            let mapping = try TorchFixtures.mapping(checkpoint, family)
            XCTAssertEqual(mapping.config.numClasses, 10)
            switch family {
            case .seed:
                XCTAssertEqual(mapping.config.blocks.count, 16)
                XCTAssertEqual(mapping.config.bnEpsilon, 1e-5)
            case .torchvision, .timm, .timmTF, .lukemelas, .lite:
                // Generated with width 0.1: every range given must contain it.
                XCTAssertTrue(detection.variant.hasPrefix("custom: width 0.0"), detection.variant)
            default: break
            }
            let eps: Float = [.lukemelas, .lite, .timmTF].contains(family) ? 1e-3 : 1e-5
            XCTAssertEqual(mapping.config.bnEpsilon, eps, folder)
            print("\(folder): \(detection.variant)")
        }
    }

    func testUnrelatedNamesAreNotDetected() throws {
        let checkpoint = try TorchFixtures.shapeOnlyCheckpoint(path: "resnet.pth", tensors: [
            ("conv1.weight", [64, 3, 7, 7]), ("bn1.weight", [64]), ("layer1.0.conv1.weight", [64, 64, 3, 3]), ("fc.weight", [1000, 2048]),
        ])
        XCTAssertEqual(FamilyRegistry.detect(checkpoint).map(\.family), [])
        XCTAssertThrowsError(try Converter.candidateMappings(checkpoint, family: nil)) { e in
            guard case MappingError.unknownFamily = e else { return XCTFail("\(e)") }
        }
    }
}
