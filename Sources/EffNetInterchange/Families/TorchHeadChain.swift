import EffNet

/// A PyTorch classifier replaced by an `nn.Sequential` (a fine-tuned head), read the same way for
/// every PyTorch family: `model.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 256),
/// nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 6))` stores `classifier.1.weight`/`.bias` and
/// `classifier.4.weight`/`.bias`, and nothing for positions 0, 2 and 3.
///
/// A position K under the container is a Linear when `<container>.K.weight` is 2-D, a
/// BatchNorm1d when `<container>.K.running_mean` exists (epsilon not stored: PyTorch's default
/// 1e-5 is assumed and said so). Everything else about the chain is `HeadAlternatives`'.
enum TorchHeadChain {
    /// The container's chain, or nil when the container is one Linear layer (bare, as timm's
    /// `classifier`, or the only weighted layer of a Sequential, as torchvision's own
    /// `classifier = Sequential(Dropout, Linear)`) or holds something else (nested modules:
    /// those tensors are then reported as unused).
    static func read(_ idx: TorchNames, container: String) -> HeadAlternatives? {
        if let s = idx.shape("\(container).weight"), s.count == 2 { return nil }
        var known: [Int: EfficientNetConfig.ClassifierLayer] = [:]
        var batchNorms = 0
        for k in idx.indices(after: "\(container).") {
            let p = "\(container).\(k)"
            if let w = idx.shape("\(p).weight"), w.count == 2, w[0] > 0 {
                known[k] = .linear(w[0])
            } else if let m = idx.shape("\(p).running_mean"), m.count == 1 {
                known[k] = .init(.batchNorm, epsilon: 1e-5)
                batchNorms += 1
            } else {
                return nil
            }
        }
        guard let lastLinear = known.filter({ $0.value.kind == .linear }).keys.max(), known.count > 1 || batchNorms > 0 else { return nil }
        // Layers after the last Linear hold no classes (a trailing BatchNorm1d is not a classifier).
        guard known.keys.allSatisfy({ $0 <= lastLinear }) else { return nil }
        let note = batchNorms > 0 ? ["\(container): BatchNorm1d epsilon 1e-5 assumed (PyTorch's default; not stored in the weights)"] : []
        return HeadAlternatives(source: container, known: known, assumptions: note)
    }

    /// Where a family's classifier lives when it may have been replaced: `parent` itself, or, for
    /// a classifier inside a larger Sequential (the seed's `head.6` after conv, bn, ...), the
    /// highest position of `parent` that holds a Linear or a Sequential of Linears.
    static func container(in parent: String, _ idx: TorchNames) -> String {
        if idx.has("\(parent).weight") { return parent }
        for k in idx.indices(after: "\(parent).").reversed() {
            let p = "\(parent).\(k)"
            if let s = idx.shape("\(p).weight"), s.count == 2 { return p }
            if !idx.indices(after: "\(p).").isEmpty, idx.names.contains(where: { $0.hasPrefix("\(p).") && idx.shape($0)?.count == 2 }) { return p }
        }
        return parent
    }
}
