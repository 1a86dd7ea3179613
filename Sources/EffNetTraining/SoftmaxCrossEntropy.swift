import EffNet
import Foundation

/// torch.nn.functional.cross_entropy with mean reduction and optional label smoothing: the target
/// is (1 - eps) one-hot + eps / classes, the loss -sum(target * log_softmax(logits)) averaged
/// over the batch, and its gradient (softmax - target) / N.
public struct SoftmaxCrossEntropy: Sendable {
    public var labelSmoothing: Float

    /// - Precondition: 0 <= labelSmoothing <= 1 (torch's range).
    public init(labelSmoothing: Float = 0) {
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing \(labelSmoothing) outside [0, 1]")
        self.labelSmoothing = labelSmoothing
    }

    /// - Parameters:
    ///   - logits: [N, classes].
    ///   - labels: N class indices in 0 ..< classes.
    /// - Returns: the mean loss and d loss / d logits.
    public func loss(_ logits: Tensor, labels: [Int]) -> (loss: Float, gradient: Tensor) {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count && logits.shape[0] > 0,
                     "cross-entropy: logits \(logits.shape) for \(labels.count) labels")
        let n = logits.shape[0], k = logits.shape[1]
        let eps = Double(labelSmoothing)
        var total = 0.0
        var grad = [Float](repeating: 0, count: n * k)
        for i in 0 ..< n {
            let row = logits.scalars[i * k ..< (i + 1) * k]
            let label = labels[i]
            precondition(label >= 0 && label < k, "cross-entropy: label \(label) outside 0..<\(k)")
            let m = Double(row.max() ?? 0)
            var sum = 0.0
            for v in row { sum += exp(Double(v) - m) }
            let logSum = m + log(sum)
            var smooth = 0.0
            for (j, v) in row.enumerated() {
                let logp = Double(v) - logSum
                smooth -= logp
                let target = (j == label ? 1 - eps : 0) + eps / Double(k)
                grad[i * k + j] = Float((exp(logp) - target) / Double(n))
            }
            let nll = logSum - Double(row[row.startIndex + label])
            total += (1 - eps) * nll + eps * smooth / Double(k)
        }
        return (Float(total / Double(n)), Tensor(shape: [n, k], scalars: grad))
    }
}
