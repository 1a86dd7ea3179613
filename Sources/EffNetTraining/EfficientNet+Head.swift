import EffNet
import Foundation

extension EfficientNet {
    /// A copy of this model whose classifier is `head`'s linear layer (numClasses changed in
    /// the config); everything else shared by value. The provenance is kept.
    /// - Throws: `TrainingError` when the head is not linear or does not take this model's
    ///   features ("mlp heads cannot be stored in .effw yet": the config has no head chain).
    public func replacingClassifier(with head: Head) throws -> EfficientNet {
        guard head.kind == .linear, let dense = head.denseLayers.first, head.denseLayers.count == 1 else {
            throw TrainingError("mlp heads cannot be stored in .effw yet (the model config has no head chain); use --head linear")
        }
        guard head.inputFeatures == config.headChannels else {
            throw TrainingError("the head takes \(head.inputFeatures) features, the model gives \(config.headChannels)")
        }
        var c = config
        c.numClasses = head.classes
        let model = try EfficientNet(config: c)
        var tensors = parameters
        tensors["classifier.weight"] = dense.weight.value
        tensors["classifier.bias"] = dense.bias.value
        try model.load(tensors)
        model.provenance = provenance
        model.inferenceOptions = inferenceOptions
        return model
    }

    /// The metadata a fine-tuned model carries: class names and the training record, as JSON.
    public static func fineTuneMetadata(classes: [String], record: FineTuneRecord) throws -> [String: String] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return [EffwKeys.classNames: String(decoding: try enc.encode(classes), as: UTF8.self),
                EffwKeys.finetune: String(decoding: try enc.encode(record), as: UTF8.self)]
    }
}
