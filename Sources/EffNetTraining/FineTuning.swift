import EffNet
import Foundation

/// The whole of `effnet-finetune` as a library call: a frozen base model, a folder of labelled
/// images, a new head trained on the pooled features, the result written as .effw.
///
///     var s = FineTuning.Settings()
///     s.epochs = 20
///     let result = try FineTuning.run(base: "lite0.effw", data: "photos", output: "mine.effw", settings: s)
public enum FineTuning {
    public enum OptimizerKind: String, Sendable, CaseIterable { case sgd, adamw }

    public struct Settings: Sendable {
        public var epochs = 10
        /// nil: 0.01 for SGD, 0.001 for AdamW.
        public var learningRate: Double?
        public var batchSize = 32
        public var optimizer = OptimizerKind.sgd
        public var head = Head.Kind.linear
        public var augment = false
        /// Fraction of each class held out for validation when DATA_DIR has no val/ folder.
        public var validationFraction = 0.2
        public var seed: UInt64 = 0
        public var labelSmoothing = 0.0
        public var momentum = 0.9
        public var dampening = 0.0
        public var nesterov = false
        /// nil: 0 for SGD, 0.01 for AdamW (torch's defaults).
        public var weightDecay: Double?
        public var overwrite = false
        public init() {}

        public var effectiveLearningRate: Double { learningRate ?? (optimizer == .sgd ? 0.01 : 0.001) }
        public var effectiveWeightDecay: Double { weightDecay ?? (optimizer == .sgd ? 0 : 0.01) }

        /// - Throws: `TrainingError` naming the setting.
        public func validate() throws {
            guard (1 ... 100_000).contains(epochs) else { throw TrainingError("--epochs must be between 1 and 100000") }
            guard (1 ... 1_000_000).contains(batchSize) else { throw TrainingError("--batch must be between 1 and 1000000") }
            guard validationFraction >= 0, validationFraction < 1 else { throw TrainingError("--val must be at least 0 and below 1") }
            guard labelSmoothing >= 0, labelSmoothing <= 1 else { throw TrainingError("--label-smoothing must be between 0 and 1") }
            if case let .mlp(width, dropout) = head {
                guard (1 ... 65536).contains(width) else { throw TrainingError("--head mlp:W needs a width between 1 and 65536") }
                guard dropout >= 0, dropout < 1 else { throw TrainingError("the MLP's dropout must be in [0, 1)") }
            }
            _ = try makeOptimizer()
        }

        func makeOptimizer() throws -> Optimizer {
            switch optimizer {
            case .sgd:
                return try SGD(learningRate: effectiveLearningRate, momentum: momentum, dampening: dampening,
                               weightDecay: effectiveWeightDecay, nesterov: nesterov)
            case .adamw:
                return try AdamW(learningRate: effectiveLearningRate, weightDecay: effectiveWeightDecay)
            }
        }
    }

    /// What the caller is told along the way.
    public enum Event {
        /// A file left out (not an image).
        case skipped(path: String, reason: String)
        /// Feature extraction progress: images done, total, and the epoch (nil before training).
        case features(done: Int, total: Int, epoch: Int?)
        case epoch(Trainer.Epoch, of: Int)
    }

    public struct Result: Sendable {
        public var classes: [String]
        public var epochs: [Trainer.Epoch]
        /// Per class (correct, total) on the validation images.
        public var perClass: [(correct: Int, total: Int)]
        public var record: FineTuneRecord
    }

    /// Trains and writes `output`. Nothing is written unless everything succeeds.
    /// - Throws: `TrainingError`, `EffwError`, `FileError`, `ImageError` (each naming its file).
    public static func run(base: String, data: String, output: String, settings: Settings,
                           events: (Event) -> Void = { _ in }) throws -> Result {
        try settings.validate()
        if !settings.overwrite && FileManager.default.fileExists(atPath: output) {
            throw TrainingError("\(output): exists (use --force to replace it)")
        }
        guard URL(fileURLWithPath: output).standardizedFileURL != URL(fileURLWithPath: base).standardizedFileURL else {
            throw TrainingError("\(output): is the base model itself")
        }
        let model: EfficientNet
        do {
            model = try EfficientNet(contentsOf: URL(fileURLWithPath: base))
        } catch let e as EffwError {
            throw TrainingError("\(base): not a usable .effw model: \(e.message)")
        }
        let (trainFolder, valFolder) = try ImageFolder.trainingAndValidation(data)
        for s in trainFolder.skipped + (valFolder?.skipped ?? []) { events(.skipped(path: s.path, reason: s.reason)) }
        let classes = trainFolder.classes

        var trainSamples = trainFolder.samples, valSamples = valFolder?.samples ?? []
        if valFolder == nil && settings.validationFraction > 0 {
            let split = StratifiedSplit(labels: trainSamples.map(\.label), fraction: settings.validationFraction, seed: settings.seed)
            valSamples = split.validation.map { trainSamples[$0] }
            trainSamples = split.train.map { trainSamples[$0] }
        }
        var hasher = SHA256()
        hasher.update(Array(try trainFolder.digest().utf8))
        if let valFolder { hasher.update(Array(try valFolder.digest().utf8)) }
        let digest = hasher.finalize()

        let extractor = try FeatureExtractor(model: model)
        let trainPaths = trainSamples.map(\.path), valPaths = valSamples.map(\.path)
        let total = trainPaths.count + valPaths.count
        var trainFeatures = try extractor.features(of: trainPaths) { done, _ in events(.features(done: done, total: total, epoch: nil)) }
        let valFeatures = try extractor.features(of: valPaths) { done, _ in events(.features(done: trainPaths.count + done, total: total, epoch: nil)) }
        let trainLabels = trainSamples.map(\.label), valLabels = valSamples.map(\.label)

        let head = Head(kind: settings.head, inputFeatures: model.config.headChannels, classes: classes.count, seed: settings.seed)
        let trainer = Trainer(head: head, optimizer: try settings.makeOptimizer(),
                              loss: SoftmaxCrossEntropy(labelSmoothing: Float(settings.labelSmoothing)),
                              batchSize: settings.batchSize, seed: settings.seed)
        var epochs: [Trainer.Epoch] = []
        for e in 0 ..< settings.epochs {
            let start = Date()
            if settings.augment {
                var g = SeededGenerator.stream(settings.seed, 6, UInt64(e))
                trainFeatures = try extractor.features(of: trainPaths, augmentSeed: g.next()) { done, _ in
                    events(.features(done: done, total: trainPaths.count, epoch: e))
                }
            }
            var epoch = trainer.runEpoch(e, features: trainFeatures, labels: trainLabels,
                                         validation: valLabels.isEmpty ? nil : (valFeatures, valLabels))
            epoch.seconds = Date().timeIntervalSince(start)  // with the augmented features' extraction
            epochs.append(epoch)
            events(.epoch(epoch, of: settings.epochs))
        }
        let perClass = trainer.perClass(features: valFeatures, labels: valLabels, classes: classes.count)

        let last = epochs.last!
        let record = FineTuneRecord(
            baseModel: model.config.name, baseFile: (base as NSString).lastPathComponent,
            data: .init(sha256: digest, trainImages: trainSamples.count, validationImages: valSamples.count,
                        validation: valFolder != nil ? "val/ folder" : "split \(settings.validationFraction)"),
            hyperparameters: .init(head: settings.head.description, optimizer: settings.optimizer.rawValue,
                                   learningRate: settings.effectiveLearningRate, epochs: settings.epochs, batchSize: settings.batchSize,
                                   momentum: settings.optimizer == .sgd ? settings.momentum : nil,
                                   dampening: settings.optimizer == .sgd ? settings.dampening : nil,
                                   nesterov: settings.optimizer == .sgd ? settings.nesterov : nil,
                                   weightDecay: settings.effectiveWeightDecay, labelSmoothing: settings.labelSmoothing,
                                   dropout: nil, augment: settings.augment, seed: settings.seed),
            finalTrainLoss: Double(last.trainLoss), finalTrainAccuracy: last.trainAccuracy,
            finalValidationAccuracy: last.validationAccuracy, tool: "effnetkit \(EffNetKitVersion.string) effnet-finetune")
        let tuned = try model.replacingClassifier(with: head)
        try tuned.write(to: URL(fileURLWithPath: output), overwrite: settings.overwrite,
                        extraMetadata: try EfficientNet.fineTuneMetadata(classes: classes, record: record))
        return Result(classes: classes, epochs: epochs, perClass: perClass, record: record)
    }
}
