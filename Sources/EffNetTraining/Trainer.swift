import EffNet
import Foundation

/// The training loop: epochs of shuffled mini-batches through a `Head`, a loss and an optimiser,
/// with the validation set evaluated after each epoch. Batches follow torch's DataLoader with
/// shuffle = True and drop_last = False (the last batch may be smaller).
public final class Trainer {
    public let head: Head
    public let optimizer: Optimizer
    public let loss: SoftmaxCrossEntropy
    public let batchSize: Int
    public let seed: UInt64

    /// What one epoch did.
    public struct Epoch: Sendable, Equatable {
        public var index: Int
        public var trainLoss: Float
        /// Accuracy of the training batches' logits as they were trained on (training mode).
        public var trainAccuracy: Double
        /// nil without a validation set.
        public var validationAccuracy: Double?
        public var seconds: Double
    }

    /// - Precondition: batchSize >= 1.
    public init(head: Head, optimizer: Optimizer, loss: SoftmaxCrossEntropy, batchSize: Int, seed: UInt64) {
        precondition(batchSize >= 1, "batch size must be at least 1")
        self.head = head; self.optimizer = optimizer; self.loss = loss
        self.batchSize = batchSize; self.seed = seed
    }

    /// The order the rows of epoch `epoch` are visited in: a seeded permutation of 0 ..< count.
    public func order(epoch: Int, count: Int) -> [Int] {
        var g = SeededGenerator.stream(seed, 4, UInt64(epoch))
        return g.permutation(count)
    }

    /// One optimisation step on a batch; returns its mean loss and the training-mode logits.
    @discardableResult
    public func step(_ features: Tensor, labels: [Int]) -> (loss: Float, logits: Tensor) {
        let logits = head.forward(features, training: true)
        let (value, grad) = loss.loss(logits, labels: labels)
        head.zeroGradients()
        head.backward(grad)
        optimizer.step(head.parameters)
        return (value, logits)
    }

    /// One epoch over `features` ([N, F]) in `order(epoch:count:)`, then the validation accuracy.
    public func runEpoch(_ epoch: Int, features: Tensor, labels: [Int], validation: (features: Tensor, labels: [Int])?) -> Epoch {
        let start = Date()
        let n = features.shape[0], f = features.shape[1]
        let perm = order(epoch: epoch, count: n)
        var lossSum = 0.0, correct = 0
        var b0 = 0
        while b0 < n {
            let rows = Array(perm[b0 ..< min(n, b0 + batchSize)])
            let x = Self.gather(features, rows: rows, width: f)
            let y = rows.map { labels[$0] }
            let (l, logits) = step(x, labels: y)
            lossSum += Double(l) * Double(rows.count)
            correct += zip(Self.argmax(logits), y).filter { $0 == $1 }.count
            b0 += batchSize
        }
        let val = validation.map { accuracy(features: $0.features, labels: $0.labels) }
        return Epoch(index: epoch, trainLoss: Float(lossSum / Double(max(n, 1))), trainAccuracy: Double(correct) / Double(max(n, 1)),
                     validationAccuracy: val, seconds: Date().timeIntervalSince(start))
    }

    /// Predicted classes for [N, F] features (evaluation mode).
    public func predict(_ features: Tensor) -> [Int] {
        Self.argmax(head.forward(features, training: false))
    }

    /// The fraction of `labels` predicted right (0 for no examples).
    public func accuracy(features: Tensor, labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 0 }
        return Double(zip(predict(features), labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// Per class: (correct, total) over `labels`.
    public func perClass(features: Tensor, labels: [Int], classes: Int) -> [(correct: Int, total: Int)] {
        var r = [(correct: Int, total: Int)](repeating: (0, 0), count: classes)
        for (p, l) in zip(predict(features), labels) {
            r[l].total += 1
            if p == l { r[l].correct += 1 }
        }
        return r
    }

    /// Rows `rows` of a [N, width] matrix.
    public static func gather(_ m: Tensor, rows: [Int], width: Int) -> Tensor {
        var out = [Float](repeating: 0, count: rows.count * width)
        m.scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (k, r) in rows.enumerated() {
                    dst.baseAddress!.advanced(by: k * width).update(from: src.baseAddress!.advanced(by: r * width), count: width)
                }
            }
        }
        return Tensor(shape: [rows.count, width], scalars: out)
    }

    /// The index of each row's largest value (the first on ties, as torch.argmax).
    public static func argmax(_ logits: Tensor) -> [Int] {
        let n = logits.shape[0], k = logits.shape[1]
        return (0 ..< n).map { i in
            var best = 0
            for j in 1 ..< max(k, 1) where logits.scalars[i * k + j] > logits.scalars[i * k + best] { best = j }
            return best
        }
    }
}
