import EffNet
import Foundation

extension EfficientNet {
    /// A copy of this model whose classifier is `head`: a linear head replaces `classifier.weight`
    /// and `.bias` (numClasses changed in the config); an mlp head becomes the config's
    /// classifier chain (Linear-ReLU-Dropout-Linear, tensors `classifier.0.*` and `classifier.3.*`
    /// as `nn.Sequential` names them). Everything else is shared by value; the provenance is kept.
    /// - Throws: `TrainingError` when the head does not take this model's features.
    public func replacingClassifier(with head: Head) throws -> EfficientNet {
        guard head.inputFeatures == config.headChannels else {
            throw TrainingError("the head takes \(head.inputFeatures) features, the model gives \(config.headChannels)")
        }
        var c = config
        c.numClasses = head.classes
        var tensors = parameters.filter { !$0.key.hasPrefix("classifier.") }
        switch head.kind {
        case .linear:
            guard let dense = head.denseLayers.first else { throw TrainingError("a linear head without its layer") }
            c.classifierChain = nil
            tensors["classifier.weight"] = dense.weight.value
            tensors["classifier.bias"] = dense.bias.value
        case let .mlp(width, _):
            // The chain mirrors the head's layers one for one, so layer k is classifier.k.
            var chain: [EfficientNetConfig.ClassifierLayer] = []
            for (k, layer) in head.layers.enumerated() {
                switch layer {
                case let dense as DenseLayer:
                    chain.append(.linear(dense.weight.value.shape[0]))
                    tensors["classifier.\(k).weight"] = dense.weight.value
                    tensors["classifier.\(k).bias"] = dense.bias.value
                case is ReLULayer: chain.append(.init(.relu))
                case is DropoutLayer: chain.append(.init(.dropout))
                default: throw TrainingError("mlp:\(width): layer \(k) has no .effw form")
                }
            }
            c.classifierChain = chain
        }
        let model = try EfficientNet(config: c)
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
