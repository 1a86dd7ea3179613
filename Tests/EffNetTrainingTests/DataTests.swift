import EffNet
import EffNetTraining
import Foundation
import XCTest

/// Shuffles, splits, the ImageFolder scan, the digest and pooled features.
final class DataTests: XCTestCase {
    func testGeneratorIsFixedAndPermutationsArePermutations() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        XCTAssertEqual((0 ..< 5).map { _ in a.next() }, (0 ..< 5).map { _ in b.next() })
        // SplitMix64's published first output for seed 0.
        var z = SeededGenerator(seed: 0)
        XCTAssertEqual(z.next(), 0xE220_A839_7B1D_CDAF)
        var g = SeededGenerator(seed: 3)
        let p = g.permutation(100)
        XCTAssertEqual(p.sorted(), Array(0 ..< 100))
        XCTAssertNotEqual(p, Array(0 ..< 100))
        let t = Trainer(head: Head(kind: .linear, inputFeatures: 2, classes: 2, seed: 0), optimizer: try! SGD(learningRate: 0.1),
                        loss: SoftmaxCrossEntropy(), batchSize: 4, seed: 9)
        XCTAssertEqual(t.order(epoch: 2, count: 30), t.order(epoch: 2, count: 30))
        XCTAssertNotEqual(t.order(epoch: 2, count: 30), t.order(epoch: 3, count: 30))
    }

    func testStratifiedSplitKeepsProportions() {
        let labels = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 10) + Array(repeating: 2, count: 3) + [3]
        let s = StratifiedSplit(labels: labels, fraction: 0.2, seed: 1)
        XCTAssertEqual(Set(s.train).union(s.validation), Set(labels.indices))
        XCTAssertTrue(Set(s.train).isDisjoint(with: s.validation))
        func count(_ ix: [Int], _ c: Int) -> Int { ix.filter { labels[$0] == c }.count }
        XCTAssertEqual(count(s.validation, 0), 10)
        XCTAssertEqual(count(s.validation, 1), 2)
        XCTAssertEqual(count(s.validation, 2), 1)
        XCTAssertEqual(count(s.validation, 3), 0)  // a lone example stays in training
        XCTAssertEqual(s, StratifiedSplit(labels: labels, fraction: 0.2, seed: 1))
        XCTAssertNotEqual(s, StratifiedSplit(labels: labels, fraction: 0.2, seed: 2))
    }

    func testSHA256KnownAnswers() {
        var h = SHA256()
        h.update(Array("abc".utf8))
        XCTAssertEqual(h.finalize(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var e = SHA256()
        XCTAssertEqual(e.finalize(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var l = SHA256()
        l.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        XCTAssertEqual(l.finalize(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// Sorted classes (code point order), nested files, non-images reported, the errors.
    func testImageFolderScan() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-imagefolder-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]
        let jpg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        func put(_ rel: String, _ bytes: [UInt8]) throws {
            let url = root.appendingPathComponent(rel)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        try put("b/2.png", png)
        try put("b/1.jpg", jpg)
        try put("b/sub/3.png", png)
        try put("B/x.png", png)
        try put("a/notes.txt", Array("hello".utf8))
        try put("a/z.jpg", jpg)
        let folder = try ImageFolder(root: root.path)
        XCTAssertEqual(folder.classes, ["B", "a", "b"])
        XCTAssertEqual(folder.samples.map(\.relativePath), ["B/x.png", "a/z.jpg", "b/1.jpg", "b/2.png", "b/sub/3.png"])
        XCTAssertEqual(folder.samples.map(\.label), [0, 1, 2, 2, 2])
        XCTAssertEqual(folder.skipped.map { ($0.path as NSString).lastPathComponent }, ["notes.txt"])
        let d1 = try folder.digest()
        try put("a/z.jpg", jpg + [1])
        XCTAssertNotEqual(try ImageFolder(root: root.path).digest(), d1)

        try put("c/readme.md", Array("no images".utf8))
        XCTAssertThrowsError(try ImageFolder(root: root.path)) { XCTAssertTrue("\($0)".contains("has no JPEG or PNG images"), "\($0)") }
        let one = root.appendingPathComponent("c")
        try put("c/sub/x.png", png)
        XCTAssertThrowsError(try ImageFolder(root: one.path)) { XCTAssertTrue("\($0)".contains("at least two"), "\($0)") }
        XCTAssertThrowsError(try ImageFolder(root: root.appendingPathComponent("missing").path)) { XCTAssertTrue("\($0)".contains("not a folder")) }

        // A val/ folder beside the classes holds the validation images.
        try put("val/a/v.png", png)
        let (train, val) = try ImageFolder.trainingAndValidation(root.path)
        XCTAssertEqual(train.classes, ["B", "a", "b", "c"])
        XCTAssertEqual(val?.samples.map(\.label), [1])
        try put("val/zz/v.png", png)
        XCTAssertThrowsError(try ImageFolder.trainingAndValidation(root.path)) { XCTAssertTrue("\($0)".contains("not among the training classes"), "\($0)") }
    }

    /// pooledFeatures is the classifier's input: features W^T + b gives the model's logits, on
    /// the fast path and the reference kernels alike.
    func testPooledFeaturesFeedTheClassifier() throws {
        var c = EfficientNetConfig.scaled(name: "tiny", width: 0.25, depth: 0.25, numClasses: 7, padding: .symmetric)
        c.headChannels = 40
        let model = try EfficientNet(config: c)
        var g = SeededGenerator(seed: 5)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in model.parameterShapes {
            let n = shape.reduce(1, *), fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            var v = (0 ..< n).map { _ in g.nextUniform(in: -1, 1) / Float(fanIn).squareRoot() }
            if name.hasSuffix("running_var") { v = v.map { 0.6 + abs($0) } }
            if name.hasSuffix("bn.weight") { v = v.map { 1 + $0 } }
            tensors[name] = Tensor(shape: shape, scalars: v)
        }
        try model.load(tensors)
        let x = Tensor(shape: [3, 3, 64, 64], scalars: (0 ..< 3 * 3 * 64 * 64).map { _ in g.nextUniform(in: -2, 2) })
        let features = try model.pooledFeatures(x)
        XCTAssertEqual(features.shape, [3, 40])
        let head = Head(kind: .linear, inputFeatures: 40, classes: 7, seed: 0)
        try head.load(["0.weight": model.classifier.weight, "0.bias": model.classifier.bias])
        let logits = try model(x)
        XCTAssertLessThan(Comparison(actual: head.forward(features), reference: logits).relativeError, 1e-5)
        model.inferenceOptions = InferenceOptions(kernels: .reference)
        let reference = try model.pooledFeatures(x)
        XCTAssertLessThan(Comparison(actual: features, reference: reference).relativeError, 1e-4)
        // One thread gives the same floats as two.
        model.inferenceOptions = InferenceOptions(threads: 1)
        XCTAssertEqual(try model.pooledFeatures(x), features)
    }

    /// The linear head becomes the classifier; class names and the record go in the metadata.
    func testWritesTheLinearHead() throws {
        var c = EfficientNetConfig.scaled(name: "tiny", width: 0.25, depth: 0.25, numClasses: 7, padding: .symmetric)
        c.headChannels = 24
        let model = try EfficientNet(config: c)
        let head = Head(kind: .linear, inputFeatures: 24, classes: 3, seed: 4)
        let tuned = try model.replacingClassifier(with: head)
        XCTAssertEqual(tuned.config.numClasses, 3)
        XCTAssertEqual(tuned.classifier.weight, head.denseLayers[0].weight.value)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-tuned-\(UUID().uuidString).effw")
        defer { try? FileManager.default.removeItem(at: url) }
        try tuned.write(to: url, extraMetadata: [EffwKeys.classNames: "[\"x\",\"y\",\"z\"]"])
        let file = try EffwFile(path: url.path)
        XCTAssertEqual(try file.classNames(classes: 3), ["x", "y", "z"])
        XCTAssertThrowsError(try file.classNames(classes: 4))
        let back = try EfficientNet(contentsOf: url)
        XCTAssertEqual(back.classifier.bias, head.denseLayers[0].bias.value)
    }

    /// An mlp head becomes the config's classifier chain (classifier.0 and classifier.3, as
    /// nn.Sequential names them): with the weights PyTorch reached after 50 AdamW steps
    /// (Fixtures/finetune), the stored model classifies the held-out features as PyTorch did,
    /// before and after an .effw round trip, and the full forward pass runs the chain.
    func testMLPHeadIsStoredAsAClassifierChain() throws {
        let fixture = try TorchStepTests.load()
        let heldout = try TorchStepTests.npy("heldout")
        let head = Head(kind: .mlp(width: fixture.width, dropout: 0), inputFeatures: heldout.shape[1], classes: fixture.classes, seed: 0)
        var tensors: [String: Tensor] = [:]
        for p in head.parameters { tensors[p.name] = try TorchStepTests.npy("mlp_adamw_ls0_\(p.name)") }
        try head.load(tensors)
        var c = EfficientNetConfig.scaled(name: "tiny", width: 0.25, depth: 0.25, numClasses: 7, padding: .symmetric)
        c.headChannels = heldout.shape[1]
        let tuned = try EfficientNet(config: c).replacingClassifier(with: head)
        XCTAssertEqual(tuned.config.classifierChain?.map(\.kind), [.linear, .relu, .dropout, .linear])
        XCTAssertNotNil(tuned.parameters["classifier.3.weight"])
        XCTAssertNil(tuned.parameters["classifier.weight"])
        let torch = try TorchStepTests.npy("mlp_adamw_ls0_logits")
        XCTAssertLessThan(TorchStepTests.relative(try tuned.classify(pooledFeatures: heldout), torch), 1e-5)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-mlp-\(UUID().uuidString).effw")
        defer { try? FileManager.default.removeItem(at: url) }
        try tuned.write(to: url)
        let back = try EfficientNet(contentsOf: url)
        XCTAssertEqual(back.config, tuned.config)
        XCTAssertLessThan(TorchStepTests.relative(try back.classify(pooledFeatures: heldout), torch), 1e-5)
        // The whole network ends in the chain on both paths: logits = classify(pooled features).
        let x = Tensor(shape: [2, 3, 64, 64], scalars: (0 ..< 2 * 3 * 64 * 64).map { Float(sin(Double($0) * 0.01)) })
        let expected = try back.classify(pooledFeatures: try back.pooledFeatures(x))
        for kernels in [InferenceOptions.Kernels.fast, .reference] {
            back.inferenceOptions.kernels = kernels
            XCTAssertLessThan(TorchStepTests.relative(try back(x), expected), 1e-4, "\(kernels)")
        }
    }
}
